/**
 * Pass/fail thresholds over merged results: "p99 < 250ms", "errorRate < 1%", "rps > 1000". With a request
 * mix, a threshold may name one request in k6's tag syntax, "p99{name:checkout} < 300ms": it is then held to
 * that request's results (LoadTestResults.byRequest) alone.
 * Latency metrics take ms (default), s or us; errorRate takes % or a plain fraction; rps takes no unit.
 * A ThresholdResult's `actual` is expressed in the unit the threshold was written in, so it can be read next
 * to the threshold's own number.
 *
 * THRESHOLD_RULES is the one statement of what a threshold may be: the zod schema, the evaluator and the CRD's
 * CEL rules (crds/loadtest.yaml, kept equal to celRule() by test/loadtest/thresholds.test.ts) all read it, so
 * whatever `kubectl apply` or `run --local` accepts, the run can evaluate.
 */
import type { LoadTestResults, RequestResults, ThresholdResult } from './spec.js';

const LATENCY_METRICS = '(p50|p90|p95|p99|p99\\.9|max|mean)';
const OPERATOR = '\\s*(<=|>=|<|>)\\s*';
const NUMBER = '([0-9]+(\\.[0-9]+)?)';
/** The optional request tag, `{name:checkout}` (a request name as in spec.test.requests). */
const TAG = '(\\{name:([a-z0-9]([-a-z0-9_.]*[a-z0-9])?)\\})?';

export interface ThresholdRule {
  /**
   * RE2/ECMAScript regex source: the thresholds the rule is about, among those of THRESHOLD_SHAPE; undefined
   * for the shape rule itself. So each threshold breaks at most one rule, and says one thing.
   */
  appliesTo?: string;
  /** RE2/ECMAScript regex source a threshold it applies to must match. */
  pattern: string;
  /** What is wrong when it does not. */
  message: string;
}

/** Any metric, operator, number and unit: the first rule, which every other rule presumes. */
const THRESHOLD_SHAPE = `^\\s*(p50|p90|p95|p99|p99\\.9|max|mean|errorRate|rps)${TAG}${OPERATOR}${NUMBER}\\s*(ms|s|us|%)?\\s*$`;

export const THRESHOLD_RULES: readonly ThresholdRule[] = [
  {
    pattern: THRESHOLD_SHAPE,
    message: 'thresholds look like "p99 < 250ms", "errorRate < 1%", "rps > 1000" or "p99{name:checkout} < 300ms"',
  },
  {
    appliesTo: `^\\s*${LATENCY_METRICS}${TAG}\\s*[<>]`,
    pattern: `^\\s*${LATENCY_METRICS}${TAG}${OPERATOR}${NUMBER}\\s*(ms|s|us)?\\s*$`,
    message: 'latency thresholds (p50, p90, p95, p99, p99.9, max, mean) take ms, s or us, e.g. "p99 < 250ms"',
  },
  {
    appliesTo: `^\\s*errorRate${TAG}\\s*[<>]`,
    pattern: `^\\s*errorRate${TAG}${OPERATOR}${NUMBER}\\s*%?\\s*$`,
    message: 'errorRate takes a percentage or a fraction, e.g. "errorRate < 1%" or "errorRate < 0.01"',
  },
  {
    appliesTo: `^\\s*rps${TAG}\\s*[<>]`,
    pattern: `^\\s*rps${TAG}${OPERATOR}${NUMBER}\\s*$`,
    message: 'rps takes no unit, e.g. "rps > 1000"',
  },
];

const SHAPE = new RegExp(THRESHOLD_SHAPE);
const COMPILED_RULES = THRESHOLD_RULES.map((rule) => ({
  appliesTo: rule.appliesTo === undefined ? undefined : new RegExp(rule.appliesTo),
  pattern: new RegExp(rule.pattern),
  message: rule.message,
}));

/** What is wrong with a threshold (the one rule it breaks), or undefined when it is one. */
export function thresholdProblem(text: string): string | undefined {
  for (const rule of COMPILED_RULES) {
    const applies = rule.appliesTo === undefined || (SHAPE.test(text) && rule.appliesTo.test(text));
    if (applies && !rule.pattern.test(text)) return rule.message;
  }
  return undefined;
}

/** A rule as the CRD states it: a CEL expression over the threshold string `self`. */
export function celRule(rule: ThresholdRule): string {
  const matches = (source: string) => `self.matches('${source.replace(/\\/g, '\\\\')}')`;
  if (rule.appliesTo === undefined) return matches(rule.pattern);
  return `!${matches(THRESHOLD_SHAPE)} || !${matches(rule.appliesTo)} || ${matches(rule.pattern)}`;
}

export type ThresholdMetric = 'p50' | 'p90' | 'p95' | 'p99' | 'p99.9' | 'max' | 'mean' | 'errorRate' | 'rps';
export type ThresholdOperator = '<' | '<=' | '>' | '>=';
export type ThresholdUnit = 'ms' | 's' | 'us' | '%' | '';

export interface Threshold {
  text: string;
  metric: ThresholdMetric;
  operator: ThresholdOperator;
  value: number;
  /** As written ('' when none). */
  unit: ThresholdUnit;
  /** The request of a mix the threshold is about (`{name:...}`); undefined for the merged totals. */
  request?: string;
}

const LATENCY_UNITS_PER_MS: Record<string, number> = { '': 1, ms: 1, s: 0.001, us: 1000 };
const LATENCY_KEYS = {
  p50: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
  'p99.9': 'p999',
  max: 'max',
  mean: 'mean',
} as const;

function isLatencyMetric(metric: ThresholdMetric): metric is keyof typeof LATENCY_KEYS {
  return metric in LATENCY_KEYS;
}

/** Parses a threshold; throws an Error naming the problem when it is not one. */
export function parseThreshold(text: string): Threshold {
  const problem = thresholdProblem(text);
  const match = SHAPE.exec(text);
  if (problem !== undefined || match === null) throw new Error(`threshold "${text}": ${problem}`);
  const metric = match[1] as ThresholdMetric;
  const unit = (match[8] ?? '') as ThresholdUnit;
  const parsed: Threshold = {
    text: text.trim(),
    metric,
    operator: match[5] as ThresholdOperator,
    value: Number(match[6]),
    unit,
  };
  if (match[3] !== undefined) parsed.request = match[3];
  return parsed;
}

/** The request names thresholds refer to (`{name:...}`), for checking them against the request mix. */
export function thresholdRequestNames(thresholds: readonly string[]): string[] {
  return thresholds.flatMap((text) => {
    const match = SHAPE.exec(text);
    return match?.[3] === undefined ? [] : [match[3]];
  });
}

/** The results a threshold is held to: the totals, or its request's (undefined when there are none). */
function resultsFor(results: LoadTestResults, threshold: Threshold): LoadTestResults | RequestResults | undefined {
  return threshold.request === undefined ? results : results.byRequest?.[threshold.request];
}

/** The measured value of a threshold's metric, in the threshold's unit (NaN when there is nothing to measure). */
export function measuredValue(results: LoadTestResults, threshold: Threshold): number {
  const measured = resultsFor(results, threshold);
  if (measured === undefined) return Number.NaN;
  if (isLatencyMetric(threshold.metric)) {
    if (measured.latencyMs === undefined) return Number.NaN;
    return measured.latencyMs[LATENCY_KEYS[threshold.metric]] * LATENCY_UNITS_PER_MS[threshold.unit]!;
  }
  if (threshold.metric === 'errorRate') return threshold.unit === '%' ? measured.errorRate * 100 : measured.errorRate;
  return measured.rps;
}

function compare(actual: number, operator: ThresholdOperator, limit: number): boolean {
  switch (operator) {
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
  }
}

/** Rounds for display and for `actual`: enough digits to compare with the threshold, no float noise. */
function roundForDisplay(value: number): number {
  return Number(value.toPrecision(6));
}

/**
 * Evaluates every threshold. A latency threshold fails when no request completed: there is no latency to
 * hold to it, and passing it would hide a run that sent nothing useful.
 */
export function evaluateThresholds(results: LoadTestResults, thresholds: readonly string[]): ThresholdResult[] {
  return thresholds.map((text) => {
    const threshold = parseThreshold(text);
    const measured = measuredValue(results, threshold);
    const completed = resultsFor(results, threshold)?.completed ?? 0;
    const measurable = !Number.isNaN(measured) && (!isLatencyMetric(threshold.metric) || completed > 0);
    // `actual` is a number in the status (a JSON null would not be): 0 when nothing could be measured.
    const actual = Number.isNaN(measured) ? 0 : roundForDisplay(measured);
    return {
      threshold: threshold.text,
      actual,
      passed: measurable && compare(actual, threshold.operator, threshold.value),
    };
  });
}

/**
 * `threshold "p99 < 250ms" breached: p99 was 312.4ms` (or "met: ..."). Pass the results to have a latency
 * threshold that failed for lack of responses say so.
 */
export function thresholdMessage(result: ThresholdResult, results?: LoadTestResults): string {
  const threshold = parseThreshold(result.threshold);
  const verdict = result.passed ? 'met' : 'breached';
  const measured = results === undefined ? undefined : resultsFor(results, threshold);
  if (results !== undefined && measured === undefined) {
    return `threshold "${result.threshold}" ${verdict}: no results for request "${threshold.request}"`;
  }
  if (isLatencyMetric(threshold.metric) && measured?.completed === 0) {
    return `threshold "${result.threshold}" ${verdict}: no request completed`;
  }
  const unit = threshold.unit === '' && isLatencyMetric(threshold.metric) ? 'ms' : threshold.unit;
  return `threshold "${result.threshold}" ${verdict}: ${threshold.metric} was ${roundForDisplay(result.actual)}${unit}`;
}

/**
 * A threshold as `spec.thresholds` holds it: the expression alone, or k6's object form that may also stop the
 * run as soon as the merged live results breach it (`abortOnFail`), not before `delayAbortEval` into the run.
 */
export type ThresholdEntry = string | ThresholdObject;

export interface ThresholdObject {
  threshold: string;
  /** Stop every runner and fail the run as soon as the merged live results breach the threshold. */
  abortOnFail?: boolean;
  /** How long into the run before a breach may abort it (Go duration, e.g. "10s"): early numbers are noisy. */
  delayAbortEval?: string;
}

/** The expressions of `spec.thresholds`, object entries included: what the verdict at the end evaluates. */
export function thresholdTexts(entries: readonly ThresholdEntry[] | undefined): string[] {
  return (entries ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.threshold));
}

/** A threshold that stops the run when the merged live results breach it, from `delayMs` into the run on. */
export interface AbortRule {
  threshold: string;
  delayMs: number;
}

/** The thresholds with `abortOnFail: true`; delays are parsed (they were validated with the spec). */
export function abortRules(
  entries: readonly ThresholdEntry[] | undefined,
  parseDelayMs: (text: string) => number,
): AbortRule[] {
  return (entries ?? []).flatMap((entry) =>
    typeof entry !== 'string' && entry.abortOnFail === true
      ? [
          {
            threshold: entry.threshold,
            delayMs: entry.delayAbortEval === undefined ? 0 : parseDelayMs(entry.delayAbortEval),
          },
        ]
      : [],
  );
}
