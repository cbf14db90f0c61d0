import assert from 'node:assert/strict';
import { TERMINATION_MESSAGE_LIMIT, type RunnerSummary } from '../../src/runner/contract.js';
import { ERROR_KINDS } from '../../src/runner/error-kind.js';
import { decodeHistogram } from '../../src/runner/histogram.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import { acceptedStatusTable } from '../../src/runner/plan.js';
import { Recorder } from '../../src/runner/recorder.js';
import { fitSummary, statusClasses, summaryBytes } from '../../src/runner/summary-fit.js';
import { logUniformSamplesMs, seededRandom } from './samples.js';

/**
 * The largest summary a runner can produce: open model (two histograms), latencies from 1 µs to a minute
 * at full precision, every status code from 100 to 599, every error kind.
 */
function worstCaseSummary(): RunnerSummary {
  const recorder = new Recorder(acceptedStatusTable(['2xx']), true);
  const random = seededRandom(7);
  const latencies = logUniformSamplesMs(300_000, 0.001, 60_000, 8);
  latencies.forEach((latencyMs, index) => {
    const status = 100 + (index % 500);
    recorder.recordResponse(status, 0, latencyMs * random(), latencyMs);
  });
  for (const kind of ERROR_KINDS) for (let i = 0; i < 1234; i++) recorder.recordFailure(kind, 0);
  for (let i = 0; i < 99; i++) recorder.recordDrop(0);
  const summary = recorder.toSummary({ startMs: 0, endMs: 60_000, bytesRead: 123_456_789_012, pipelining: 256 });
  recorder.destroy();
  return summary;
}

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

describe('fitSummary', () => {
  it('leaves a summary that fits alone', () => {
    const recorder = new Recorder(acceptedStatusTable(['2xx']), false);
    for (const latencyMs of logUniformSamplesMs(100_000, 5, 20, 1)) recorder.recordResponse(200, 0, 0, latencyMs);
    const summary = recorder.toSummary({ startMs: 0, endMs: 1, bytesRead: 0 });
    recorder.destroy();
    assert.ok(summaryBytes(summary) <= TERMINATION_MESSAGE_LIMIT);
    assert.equal(fitSummary(summary), summary);
  });

  it('brings the worst-case summary within the termination message limit without losing a count', () => {
    const full = worstCaseSummary();
    assert.ok(summaryBytes(full) > TERMINATION_MESSAGE_LIMIT, `worst case is ${summaryBytes(full)} bytes`);
    const fitted = fitSummary(full);
    assert.ok(summaryBytes(fitted) <= TERMINATION_MESSAGE_LIMIT, `fitted is ${summaryBytes(fitted)} bytes`);
    assert.equal(fitted.truncated, true);
    for (const key of ['sent', 'completed', 'failed', 'dropped', 'bytesRead', 'start', 'end', 'pipelining'] as const) {
      assert.equal(fitted[key], full[key], key);
    }
    assert.deepEqual(fitted.errors, full.errors);
    assert.equal(total(fitted.status), total(full.status));
    assert.deepEqual(statusClasses(fitted.status), statusClasses(full.status));
    assert.equal(decodeHistogram(fitted.latency).totalCount, full.completed);
    assert.equal(decodeHistogram(fitted.service!).totalCount, full.completed);
  });

  it('keeps the fitted latencies within the reduced precision of the full ones', () => {
    const full = worstCaseSummary();
    const exact = mergeSummaries([full]).latencyMs;
    const reduced = mergeSummaries([fitSummary(full)]).latencyMs;
    // Fewer significant digits only ever round a value up to the end of its (wider) bucket.
    for (const key of ['p50', 'p90', 'p99', 'max'] as const) {
      assert.ok(reduced[key] >= exact[key] * 0.999 && reduced[key] <= exact[key] * 2.01, `${key}`);
    }
  });

  it('fits any size limit down to what counts alone need, reducing more as the limit shrinks', () => {
    const full = worstCaseSummary();
    let previous = Number.POSITIVE_INFINITY;
    for (const limit of [16_384, 8192, 4096, 2048]) {
      const fitted = fitSummary(full, limit);
      assert.ok(summaryBytes(fitted) <= limit, `${summaryBytes(fitted)} bytes for a ${limit}-byte limit`);
      assert.ok(summaryBytes(fitted) <= previous);
      previous = summaryBytes(fitted);
    }
  });
});
