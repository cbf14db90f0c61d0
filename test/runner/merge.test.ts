import assert from 'node:assert/strict';
import type { RunnerSummary } from '../../src/runner/contract.js';
import { createMergeHistogram, decodeHistogram, latencyStatsMs } from '../../src/runner/histogram.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import { acceptedStatusTable } from '../../src/runner/plan.js';
import { Recorder } from '../../src/runner/recorder.js';
import { fitSummary } from '../../src/runner/summary-fit.js';
import { logUniformSamplesMs } from './samples.js';

interface FakeRunner {
  latenciesMs: number[];
  serviceMs?: number[];
  statuses?: number[];
  failures?: ('timeout' | 'reset')[];
  start: number;
  end: number;
}

/** A summary made by the real Recorder and encoder, from known samples. */
function summaryOf(runner: FakeRunner): RunnerSummary {
  const recorder = new Recorder(acceptedStatusTable(['2xx']), runner.serviceMs !== undefined);
  runner.latenciesMs.forEach((latencyMs, index) => {
    const serviceMs = runner.serviceMs?.[index] ?? latencyMs;
    recorder.recordResponse(runner.statuses?.[index] ?? 200, 0, latencyMs - serviceMs, latencyMs);
  });
  for (const kind of runner.failures ?? []) recorder.recordFailure(kind, 0);
  const summary = recorder.toSummary({ startMs: 0, endMs: 0, bytesRead: 1000 });
  recorder.destroy();
  return { ...summary, start: runner.start, end: runner.end };
}

function histogramOf(samplesMs: number[]) {
  const histogram = createMergeHistogram();
  for (const sample of samplesMs) histogram.recordValue(Math.round(sample * 1000));
  return histogram;
}

describe('mergeSummaries', () => {
  const runners: FakeRunner[] = [
    { latenciesMs: logUniformSamplesMs(10_000, 0.05, 50, 1), start: 1_000_000, end: 1_010_000 },
    {
      latenciesMs: logUniformSamplesMs(5_000, 1, 5_000, 2),
      statuses: Array.from({ length: 5_000 }, (_, i) => (i % 10 === 0 ? 503 : 200)),
      failures: ['timeout', 'timeout', 'reset'],
      start: 1_000_500,
      end: 1_010_500,
    },
    { latenciesMs: logUniformSamplesMs(20_000, 0.2, 2, 3), start: 999_000, end: 1_009_000 },
  ];

  it('equals the histogram of all samples together, percentile for percentile', () => {
    const merged = mergeSummaries(runners.map(summaryOf));
    const everything = histogramOf(runners.flatMap((runner) => runner.latenciesMs));
    assert.deepEqual(merged.latencyMs, latencyStatsMs(everything));
    assert.equal(merged.completed, 35_000);
  });

  it('sums counts, takes rps over the common window and errorRate as failed / sent', () => {
    const merged = mergeSummaries(runners.map(summaryOf));
    assert.equal(merged.requests, 35_003);
    assert.equal(merged.errors, 500 + 3);
    assert.equal(merged.errorRate, 503 / 35_003);
    assert.deepEqual(merged.statusCodes, { '200': 34_500, '503': 500 });
    assert.deepEqual(merged.errorsByKind, { timeout: 2, reset: 1 });
    assert.equal(merged.bytesRead, 3000);
    // Earliest start 999 000, latest end 1 010 500: 11.5 s.
    assert.equal(merged.rps, Math.round((35_000 / 11.5) * 10) / 10);
    assert.equal(merged.startTime, new Date(999_000).toISOString());
    assert.equal(merged.endTime, new Date(1_010_500).toISOString());
  });

  it('merges service times separately when runners report them (open model)', () => {
    const latenciesMs = logUniformSamplesMs(1000, 10, 1000, 4);
    const serviceMs = latenciesMs.map((latency) => latency / 10);
    const merged = mergeSummaries([summaryOf({ latenciesMs, serviceMs, start: 0, end: 1000 })]);
    assert.deepEqual(merged.serviceTimeMs, latencyStatsMs(histogramOf(serviceMs)));
    assert.ok(merged.latencyMs.p50 > merged.serviceTimeMs.p50);
    assert.equal(mergeSummaries(runners.map(summaryOf)).serviceTimeMs, undefined);
  });

  it('merges a truncated summary with full ones at the coarser precision, keeping every count', () => {
    const summaries = runners.map(summaryOf);
    const truncated = fitSummary(summaries[0]!, 1500);
    const digits = decodeHistogram(truncated.latency).numberOfSignificantValueDigits;
    assert.ok(truncated.truncated === true && digits < 3);
    const merged = mergeSummaries([truncated, summaries[1]!, summaries[2]!]);
    const exact = mergeSummaries(summaries);
    assert.equal(merged.completed, exact.completed);
    assert.deepEqual(merged.statusCodes, exact.statusCodes);
    // A coarser bucket only moves a percentile up to the end of that bucket, never down.
    const slack = digits === 2 ? 1.01 : digits === 1 ? 1.07 : 2.01;
    for (const key of ['p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) {
      const [value, reference] = [merged.latencyMs[key], exact.latencyMs[key]];
      assert.ok(value >= reference * 0.999 && value <= reference * slack, `${key} ${value} vs ${reference}`);
    }
  });

  it('refuses to merge nothing', () => {
    assert.throws(() => mergeSummaries([]), /at least one/);
  });
});
