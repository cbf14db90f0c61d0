/**
 * Per-request results of a request mix in the 4096-byte termination message: counts always arrive; latency
 * histograms shrink with the totals' and, for the largest mixes, are left out (then the merge says so).
 */
import assert from 'node:assert/strict';
import { TERMINATION_MESSAGE_LIMIT, type RunnerSummary } from '../../src/runner/contract.js';
import { mergeRunnerSummaries, mergeSummaries } from '../../src/runner/merge.js';
import { acceptedStatusTable } from '../../src/runner/plan.js';
import { Recorder } from '../../src/runner/recorder.js';
import { fitSummary, summaryBytes } from '../../src/runner/summary-fit.js';
import { logUniformSamplesMs } from './samples.js';

/**
 * A mix's summary: 32-character names, latencies from 1 µs to a minute (or a narrow range up to `slowestMs`), seven
 * statuses, some timeouts, sends spread over `seconds`.
 */
function mixSummary(requestCount: number, seconds: number, slowestMs = 60_000): RunnerSummary {
  const names = Array.from(
    { length: requestCount },
    (_, index) => `request-${String(index).padStart(2, '0')}-${'x'.repeat(21)}`,
  );
  const recorder = new Recorder(acceptedStatusTable(['2xx']), true, names);
  recorder.startMs = 0;
  logUniformSamplesMs(200_000, slowestMs === 60_000 ? 0.001 : slowestMs * 0.95, slowestMs, 3).forEach(
    (latencyMs, index) => {
      recorder.recordSend((index % seconds) * 1000);
      recorder.recordResponse(200 + (index % 7) * 50, 0, 0, latencyMs, index % requestCount);
    },
  );
  for (let index = 0; index < 100; index++) recorder.recordFailure('timeout', 0, index % requestCount);
  const summary = recorder.toSummary({ startMs: 0, endMs: seconds * 1000, bytesRead: 1 });
  recorder.destroy();
  return summary;
}

const counts = (summary: RunnerSummary) =>
  Object.fromEntries(
    Object.entries(summary.byRequest ?? {}).map(([name, r]) => [name, [r.sent, r.completed, r.failed]]),
  );

describe('per-request results in the termination message', () => {
  it('drops the per-second send counts first, keeping everything else as it was', () => {
    const full = mixSummary(2, 3600, 2);
    const fitted = fitSummary(full);
    assert.ok(summaryBytes(full) > TERMINATION_MESSAGE_LIMIT);
    assert.ok(summaryBytes(fitted) <= TERMINATION_MESSAGE_LIMIT, `${summaryBytes(fitted)} bytes`);
    assert.equal(fitted.sentPerSecond, undefined);
    assert.deepEqual({ ...fitted, sentPerSecond: full.sentPerSecond }, full);
  });

  it('fits a 16-request mix in 4096 bytes with every per-request count, and the merge marks latency it lacks', () => {
    const full = mixSummary(16, 10);
    const fitted = fitSummary(full);
    assert.ok(summaryBytes(fitted) <= TERMINATION_MESSAGE_LIMIT, `${summaryBytes(fitted)} bytes`);
    assert.equal(fitted.truncated, true);
    assert.deepEqual(counts(fitted), counts(full));
    const results = mergeSummaries([fitted, full]);
    const first = results.byRequest?.['request-00-xxxxxxxxxxxxxxxxxxxxx'];
    assert.equal(first?.requests, 2 * full.byRequest!['request-00-xxxxxxxxxxxxxxxxxxxxx']!.sent);
    // 16 wide histograms cannot fit at any precision: they were left out, and the merge says its percentiles
    // for the request come from the other runner only.
    assert.ok(Object.values(fitted.byRequest!).every((request) => request.latency === undefined));
    assert.equal(first?.latencyPartial, true);
    assert.ok(first?.latencyMs !== undefined);
  });

  it('adds the summaries of threads exactly, per request and per second', () => {
    const [a, b] = [mixSummary(3, 5), mixSummary(3, 2)];
    const merged = mergeRunnerSummaries([a, b]);
    assert.equal(merged.sent, a.sent + b.sent);
    assert.deepEqual(
      merged.sentPerSecond,
      a.sentPerSecond!.map((count, second) => count + (b.sentPerSecond![second] ?? 0)),
    );
    for (const name of Object.keys(a.byRequest!)) {
      assert.equal(merged.byRequest![name]!.sent, a.byRequest![name]!.sent + b.byRequest![name]!.sent);
      assert.equal(merged.byRequest![name]!.failed, a.byRequest![name]!.failed + b.byRequest![name]!.failed);
    }
  });
});
