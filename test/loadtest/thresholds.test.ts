import assert from 'node:assert/strict';
import type { LoadTestResults } from '../../src/loadtest/spec.js';
import { evaluateThresholds, parseThreshold, thresholdMessage } from '../../src/loadtest/thresholds.js';

const results: LoadTestResults = {
  requests: 1000,
  completed: 990,
  errors: 15,
  dropped: 0,
  errorRate: 0.015,
  rps: 1234.5,
  statusCodes: { '200': 985, '500': 5 },
  errorsByKind: { timeout: 10 },
  bytesRead: 1,
  latencyMs: { p50: 12.5, p90: 80, p95: 120, p99: 312.4, p999: 900, max: 1500, mean: 30 },
  startTime: '2026-01-01T00:00:00.000Z',
  endTime: '2026-01-01T00:00:01.000Z',
};

describe('thresholds', () => {
  it('parses metric, operator, value and unit', () => {
    assert.deepEqual(parseThreshold(' p99.9 <= 1.5s '), {
      text: 'p99.9 <= 1.5s',
      metric: 'p99.9',
      operator: '<=',
      value: 1.5,
      unit: 's',
    });
  });

  it('rejects text that is not a threshold, and units that do not fit the metric', () => {
    assert.throws(() => parseThreshold('p98 < 1ms'), /thresholds look like/);
    assert.throws(() => parseThreshold('p99 < 5%'), /take ms, s or us/);
    assert.throws(() => parseThreshold('errorRate < 5ms'), /percentage or a fraction/);
    assert.throws(() => parseThreshold('rps > 5s'), /no unit/);
  });

  it('compares latencies in the unit written, milliseconds by default', () => {
    assert.deepEqual(evaluateThresholds(results, ['p99 < 250ms', 'p99 < 0.5s', 'p50 < 13', 'max <= 1500000us']), [
      { threshold: 'p99 < 250ms', actual: 312.4, passed: false },
      { threshold: 'p99 < 0.5s', actual: 0.3124, passed: true },
      { threshold: 'p50 < 13', actual: 12.5, passed: true },
      { threshold: 'max <= 1500000us', actual: 1_500_000, passed: true },
    ]);
  });

  it('reads errorRate as a percentage with % and as a fraction without', () => {
    assert.deepEqual(evaluateThresholds(results, ['errorRate < 1%', 'errorRate < 0.02']), [
      { threshold: 'errorRate < 1%', actual: 1.5, passed: false },
      { threshold: 'errorRate < 0.02', actual: 0.015, passed: true },
    ]);
  });

  it('compares rps and every operator', () => {
    const passed = (threshold: string) => evaluateThresholds(results, [threshold])[0]!.passed;
    assert.equal(passed('rps > 1000'), true);
    assert.equal(passed('rps >= 1234.5'), true);
    assert.equal(passed('rps > 1234.5'), false);
    assert.equal(passed('mean <= 30'), true);
    assert.equal(passed('mean < 30'), false);
  });

  it('fails latency thresholds when no request completed', () => {
    const empty = { ...results, completed: 0, latencyMs: { ...results.latencyMs, p99: 0 } };
    const [result] = evaluateThresholds(empty, ['p99 < 250ms']);
    assert.equal(result!.passed, false);
    assert.equal(thresholdMessage(result!, empty), 'threshold "p99 < 250ms" breached: no request completed');
  });

  it('names the breached threshold and the measured value', () => {
    const [breached, met] = evaluateThresholds(results, ['p99 < 250ms', 'errorRate < 2%']);
    assert.equal(thresholdMessage(breached!), 'threshold "p99 < 250ms" breached: p99 was 312.4ms');
    assert.equal(thresholdMessage(met!), 'threshold "errorRate < 2%" met: errorRate was 1.5%');
  });
});
