/**
 * Durations as Kubernetes users write them, Go style: "500ms", "10s", "1m30s". One set of units for the CRD
 * pattern (crds/loadtest.yaml carries the same expression), the zod schema, the runner's flags and the workflow.
 */

/** The units a duration may use, and their length in ms. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A whole duration: one or more number-unit parts. Same expression as the CRD's `pattern`. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DURATION_PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;

/** Parses a duration into milliseconds; throws naming the text when it is not one. */
export function parseDurationMs(text: string): number {
  if (!DURATION_PATTERN.test(text)) throw new Error(`invalid duration "${text}" (use ms, s, m or h, e.g. "30s")`);
  let total = 0;
  for (const match of text.matchAll(DURATION_PART))
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return total;
}
