/** Number and text formatting shared by the Web UI details, `.status` messages and the plain-text reports. */

/** One decimal, no float noise: 812.34 → 812.3. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A fraction as a percentage with one decimal: 0.0123 → "1.2%". */
export function percent(fraction: number): string {
  return `${round1(fraction * 100)}%`;
}

const LABEL_WIDTH = 12;

/** One line of a plain-text report: the label padded to a common width, then the text. */
export function row(label: string, text: string): string {
  return `${label.padEnd(LABEL_WIDTH)}${text}`;
}

/** "200 × 48, 503 × 2" (sorted by key), or "none" when empty. */
export function counts(entries: Record<string, number>): string {
  const parts = Object.entries(entries)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, count]) => `${key} × ${count}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
