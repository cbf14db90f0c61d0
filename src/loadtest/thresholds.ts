/**
 * Pass/fail thresholds over merged results: "p99 < 250ms", "errorRate < 1%", "rps > 1000".
 * Latency metrics take ms (default), s or us; errorRate takes % or a plain fraction; rps takes no unit.
 * A ThresholdResult's `actual` is expressed in the unit the threshold was written in, so it can be read next
 * to the threshold's own number.
 *
 * THRESHOLD_RULES is the one statement of what a threshold may be: the zod schema, the evaluator and the CRD's
 * CEL rules (crds/loadtest.yaml, kept equal to celRule() by test/loadtest/thresholds.test.ts) all read it, so
 * whatever `kubectl apply` or `run --local` accepts, the run can evaluate.
 */
import type { LoadTestResults, ThresholdResult } from './spec.js';

const LATENCY_METRICS = '(p50|p90|p95|p99|p99\\.9|max|mean)';
const OPERATOR = '\\s*(<=|>=|<|>)\\s*';
const NUMBER = '([0-9]+(\\.[0-9]+)?)';

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
const THRESHOLD_SHAPE = `^\\s*(p50|p90|p95|p99|p99\\.9|max|mean|errorRate|rps)${OPERATOR}${NUMBER}\\s*(ms|s|us|%)?\\s*$`;

export const THRESHOLD_RULES: readonly ThresholdRule[] = [
  {
    pattern: THRESHOLD_SHAPE,
    message: 'thresholds look like "p99 < 250ms", "errorRate < 1%" or "rps > 1000"',
  },
  {
    appliesTo: `^\\s*${LATENCY_METRICS}\\s*[<>]`,
    pattern: `^\\s*${LATENCY_METRICS}${OPERATOR}${NUMBER}\\s*(ms|s|us)?\\s*$`,
    message: 'latency thresholds (p50, p90, p95, p99, p99.9, max, mean) take ms, s or us, e.g. "p99 < 250ms"',
  },
  {
    appliesTo: '^\\s*errorRate\\s*[<>]',
    pattern: `^\\s*errorRate${OPERATOR}${NUMBER}\\s*%?\\s*$`,
    message: 'errorRate takes a percentage or a fraction, e.g. "errorRate < 1%" or "errorRate < 0.01"',
  },
  {
    appliesTo: '^\\s*rps\\s*[<>]',
    pattern: `^\\s*rps${OPERATOR}${NUMBER}\\s*$`,
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
  const unit = (match[5] ?? '') as ThresholdUnit;
  return { text: text.trim(), metric, operator: match[2] as ThresholdOperator, value: Number(match[3]), unit };
}

/** The measured value of a threshold's metric, in the threshold's unit. */
export function measuredValue(results: LoadTestResults, threshold: Threshold): number {
  if (isLatencyMetric(threshold.metric)) {
    return results.latencyMs[LATENCY_KEYS[threshold.metric]] * LATENCY_UNITS_PER_MS[threshold.unit]!;
  }
  if (threshold.metric === 'errorRate') return threshold.unit === '%' ? results.errorRate * 100 : results.errorRate;
  return results.rps;
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
    const actual = roundForDisplay(measuredValue(results, threshold));
    const measurable = !isLatencyMetric(threshold.metric) || results.completed > 0;
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
  if (isLatencyMetric(threshold.metric) && results?.completed === 0) {
    return `threshold "${result.threshold}" ${verdict}: no request completed`;
  }
  const unit = threshold.unit === '' && isLatencyMetric(threshold.metric) ? 'ms' : threshold.unit;
  return `threshold "${result.threshold}" ${verdict}: ${threshold.metric} was ${roundForDisplay(result.actual)}${unit}`;
}
