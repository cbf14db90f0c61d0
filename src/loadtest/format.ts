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

/** One request of a mix as a line of text: "checkout: 700 requests, 0 errors (0%), 70 req/s, p50 1.2 / p99 4.1 ms". */
export function requestLine(
  name: string,
  results: {
    requests: number;
    errors: number;
    errorRate: number;
    rps: number;
    latencyMs?: { p50: number; p99: number };
  },
): string {
  const latency =
    results.latencyMs === undefined
      ? 'latency not reported'
      : `p50 ${round1(results.latencyMs.p50)} / p99 ${round1(results.latencyMs.p99)} ms`;
  return `${name}: ${results.requests} requests, ${results.errors} errors (${percent(results.errorRate)}), ${round1(results.rps)} req/s, ${latency}`;
}

/** Stages as text: "30s→100, 1m→100, 30s→0 req/s", or "... connections" for closed-model stages. */
export function stagesText(
  stages: readonly { duration: string; target: number }[],
  model: 'open' | 'closed' = 'open',
): string {
  return `${stages.map((stage) => `${stage.duration}→${stage.target}`).join(', ')} ${model === 'closed' ? 'connections' : 'req/s'}`;
}
