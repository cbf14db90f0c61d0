/** Thresholds on one request of a mix, k6's tag syntax: "p99{name:checkout} < 300ms". */
import assert from 'node:assert/strict';
import type { LoadTestResults, RequestResults } from '../../src/loadtest/spec.js';
import {
  evaluateThresholds,
  parseThreshold,
  thresholdMessage,
  thresholdProblem,
} from '../../src/loadtest/thresholds.js';

const latency = (p99: number) => ({ p50: p99 / 2, p90: p99, p95: p99, p99, p999: p99, max: p99, mean: p99 / 2 });
const request = (p99: number, errors = 0): RequestResults => ({
  requests: 100,
  completed: 100,
  errors,
  errorRate: errors / 100,
  rps: 50,
  statusCodes: { '200': 100 },
  errorsByKind: {},
  latencyMs: latency(p99),
});

const RESULTS: LoadTestResults = {
  requests: 200,
  completed: 200,
  errors: 0,
  dropped: 0,
  errorRate: 0,
  rps: 100,
  statusCodes: { '200': 200 },
  errorsByKind: {},
  bytesRead: 0,
  latencyMs: latency(120),
  startTime: '2026-11-30T00:00:00.000Z',
  endTime: '2026-11-30T00:00:02.000Z',
  byRequest: { home: request(20), checkout: request(450) },
};

describe('thresholds on a named request', () => {
  it('parses the request tag and keeps the metric, operator, number and unit', () => {
    assert.deepEqual(parseThreshold('p99{name:checkout} < 300ms'), {
      text: 'p99{name:checkout} < 300ms',
      metric: 'p99',
      operator: '<',
      value: 300,
      unit: 'ms',
      request: 'checkout',
    });
    assert.equal(parseThreshold('p99 < 300ms').request, undefined);
    assert.equal(thresholdProblem('errorRate{name:home} < 1%'), undefined);
    assert.match(thresholdProblem('p99{name:Checkout} < 300ms') ?? '', /thresholds look like/);
    assert.match(thresholdProblem('rps{name:home} > 10ms') ?? '', /rps takes no unit/);
  });

  it('decides the verdict by that request alone: the totals pass, checkout does not', () => {
    const verdicts = evaluateThresholds(RESULTS, [
      'p99 < 300ms',
      'p99{name:home} < 300ms',
      'p99{name:checkout} < 300ms',
    ]);
    assert.deepEqual(
      verdicts.map((verdict) => [verdict.passed, verdict.actual]),
      [
        [true, 120],
        [true, 20],
        [false, 450],
      ],
    );
    assert.equal(
      thresholdMessage(verdicts[2]!, RESULTS),
      'threshold "p99{name:checkout} < 300ms" breached: p99 was 450ms',
    );
  });

  it('fails a threshold on a request without results, and says so', () => {
    const [verdict] = evaluateThresholds(RESULTS, ['rps{name:search} > 0']);
    assert.equal(verdict!.passed, false);
    assert.equal(
      thresholdMessage(verdict!, RESULTS),
      'threshold "rps{name:search} > 0" breached: no results for request "search"',
    );
  });
});
