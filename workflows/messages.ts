/** Pure helpers that turn results into the one-line messages shown in `.status.message` and Events. */
import type { LoadTestResults, LoadTestSpec } from '../src/loadtest/spec.js';
import { parseDurationMs } from '../src/runner/contract.js';

/** "50 requests, 0 errors, 812.3 req/s, p99 4.1ms". */
export function describeResults(results: LoadTestResults): string {
  const errors = results.errors === 1 ? '1 error' : `${results.errors} errors`;
  return `${results.requests} requests, ${errors}, ${round(results.rps)} req/s, p99 ${round(results.latencyMs.p99)}ms`;
}

/** How long the runners should send for, when the spec says (duration-based tests); undefined otherwise. */
export function expectedRunMs(spec: LoadTestSpec): number | undefined {
  return spec.test.duration === undefined ? undefined : parseDurationMs(spec.test.duration);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
