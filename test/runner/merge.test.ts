import assert from 'node:assert/strict';
import type { RunnerSummary } from '../../src/runner/contract.js';
import { decodeHistogram, type LatencyStatsMs } from '../../src/runner/histogram.js';
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

/**
 * The oracle, independent of the histogram code: percentiles of the raw samples, sorted. The recorder keeps
 * whole microseconds; percentile p is the sample of rank ceil(p/100 × n) (HdrHistogram's definition), max the
 * largest sample, mean the plain mean.
 */
function exactStatsUs(samplesMs: readonly number[]): Record<keyof LatencyStatsMs, number> {
  const sorted = samplesMs.map((ms) => Math.round(ms * 1000)).sort((a, b) => a - b);
  // 1e-9 absorbs floating-point noise in p × n (99.9 × 35 000 is not exactly 3 496 500).
  const at = (p: number) => sorted[Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9)) - 1]!;
  return {
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: sorted.at(-1)!,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

/**
 * How far above a sample HdrHistogram may report it: a percentile is the top of the sample's bucket, and a
 * bucket spans at most 1/(half its sub-bucket count) of its values. With d significant digits the sub-bucket
 * count is the power of two at or above 2 × 10^d: 2048, 256, 32 and 2 for d = 3, 2, 1, 0.
 */
const BUCKET_WIDTH = { 3: 1 / 1024, 2: 1 / 128, 1: 1 / 16, 0: 1 } as const;

/** Every statistic at or above the exact one and within one bucket of it; the mean within one bucket either way. */
function assertWithinBuckets(actual: LatencyStatsMs, samplesMs: readonly number[], digits: 0 | 1 | 2 | 3): void {
  const exact = exactStatsUs(samplesMs);
  const width = BUCKET_WIDTH[digits];
  for (const key of ['p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) {
    const [valueUs, exactUs] = [Math.round(actual[key] * 1000), exact[key]];
    assert.ok(
      valueUs >= exactUs && valueUs <= exactUs * (1 + width),
      `${key}: ${valueUs} µs, the samples' is ${exactUs} µs (at most ${(width * 100).toFixed(2)} % above)`,
    );
  }
  const meanUs = actual.mean * 1000;
  assert.ok(Math.abs(meanUs - exact.mean) <= exact.mean * width + 1, `mean ${meanUs} µs vs ${exact.mean} µs`);
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

  it('reports the percentiles of all samples together, not of each runner', () => {
    const merged = mergeSummaries(runners.map(summaryOf));
    assert.equal(merged.completed, 35_000);
    assertWithinBuckets(
      merged.latencyMs,
      runners.flatMap((runner) => runner.latenciesMs),
      3,
    );
  });

  it('sums counts, takes rps over the common window and errorRate as failed / sent', () => {
    const merged = mergeSummaries(runners.map(summaryOf));
    assert.equal(merged.requests, 35_003);
    assert.equal(merged.errors, 500 + 3);
    assert.equal(merged.errorRate, 503 / 35_003);
    assert.deepEqual(merged.statusCodes, { '200': 34_500, '503': 500 });
    assert.deepEqual(merged.errorsByKind, { timeout: 2, reset: 1 });
    assert.equal(merged.bytesRead, 3000);
    // Earliest start 999 000, latest end 1 010 500: 35 000 completed in 11.5 s = 3043.478… per second.
    assert.equal(merged.rps, 3043.5);
    assert.equal(merged.startTime, new Date(999_000).toISOString());
    assert.equal(merged.endTime, new Date(1_010_500).toISOString());
  });

  it('merges service times separately when runners report them (open model)', () => {
    const latenciesMs = logUniformSamplesMs(1000, 10, 1000, 4);
    const serviceMs = latenciesMs.map((latency) => latency / 10);
    const merged = mergeSummaries([summaryOf({ latenciesMs, serviceMs, start: 0, end: 1000 })]);
    assert.ok(merged.serviceTimeMs !== undefined);
    assertWithinBuckets(merged.serviceTimeMs, serviceMs, 3);
    assertWithinBuckets(merged.latencyMs, latenciesMs, 3);
    assert.equal(mergeSummaries(runners.map(summaryOf)).serviceTimeMs, undefined);
  });

  it('merges a truncated summary with full ones at the coarser precision, keeping every count', () => {
    const summaries = runners.map(summaryOf);
    const truncated = fitSummary(summaries[0]!, 1500);
    const digits = decodeHistogram(truncated.latency).numberOfSignificantValueDigits;
    assert.ok(truncated.truncated === true && digits < 3);
    const merged = mergeSummaries([truncated, summaries[1]!, summaries[2]!]);
    assert.equal(merged.completed, 35_000);
    assert.deepEqual(merged.statusCodes, { '200': 34_500, '503': 500 });
    // A coarser bucket only moves a percentile up to the end of that bucket, never down.
    assertWithinBuckets(
      merged.latencyMs,
      runners.flatMap((runner) => runner.latenciesMs),
      digits as 0 | 1 | 2,
    );
  });

  it('refuses to merge nothing', () => {
    assert.throws(() => mergeSummaries([]), /at least one/);
  });
});
