/**
 * Pass/fail thresholds over merged results: "p99 < 250ms", "errorRate < 1%", "rps > 1000".
 * Latency metrics take ms (default), s or us; errorRate takes % or a plain fraction; rps takes no unit.
 * A ThresholdResult's `actual` is expressed in the unit the threshold was written in, so it can be read next
 * to the threshold's own number.
 */
import { THRESHOLD_PATTERN, type LoadTestResults, type ThresholdResult } from './spec.js';

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
  const match = THRESHOLD_PATTERN.exec(text);
  if (match === null) {
    throw new Error(`threshold "${text}" does not look like "p99 < 250ms", "errorRate < 1%" or "rps > 1000"`);
  }
  const metric = match[1] as ThresholdMetric;
  const unit = (match[5] ?? '') as ThresholdUnit;
  if (isLatencyMetric(metric) && unit === '%') throw new Error(`threshold "${text}": ${metric} takes ms, s or us`);
  if (metric === 'errorRate' && unit !== '' && unit !== '%') {
    throw new Error(`threshold "${text}": errorRate takes a percentage or a fraction`);
  }
  if (metric === 'rps' && unit !== '') throw new Error(`threshold "${text}": rps takes no unit`);
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
