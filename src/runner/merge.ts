/**
 * Merges the summaries of all runners of one run into LoadTestResults. Latency histograms are added count by
 * count (never averaged), so merged percentiles are those of all requests together.
 *
 * Definitions:
 * - requests = Σ sent; completed = Σ completed; errors = Σ failed (unaccepted statuses + no response);
 *   dropped = Σ dropped (open model; not part of requests).
 * - errorRate = errors / requests, a fraction in [0, 1] (0 when nothing was sent). Dropped requests are
 *   reported separately and not counted in it.
 * - rps = completed / window, where the window runs from the earliest start to the latest end of all runners.
 * - statusCodes and errorsByKind are summed per key.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { LoadTestResults } from '../loadtest/spec.js';
import type { RunnerSummary } from './contract.js';
import { createMergeHistogram, decodeHistogram, latencyStatsMs, type SignificantDigits } from './histogram.js';

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

/**
 * Adds histograms at the precision of the least precise one (a runner whose summary was truncated): coarser
 * buckets contain finer ones, so every count lands exactly; the other way round would move counts to the
 * bottom of their buckets and bias percentiles low.
 */
function addHistograms(encoded: readonly string[]): Histogram {
  const histograms = encoded.map(decodeHistogram);
  const digits = Math.min(3, ...histograms.map((histogram) => histogram.numberOfSignificantValueDigits));
  const sum = createMergeHistogram(digits as SignificantDigits);
  for (const histogram of histograms) sum.add(histogram);
  return sum;
}

export function mergeSummaries(summaries: readonly RunnerSummary[]): LoadTestResults {
  if (summaries.length === 0) throw new RangeError('mergeSummaries needs at least one runner summary');
  let requests = 0;
  let completed = 0;
  let errors = 0;
  let dropped = 0;
  let bytesRead = 0;
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  let pipelining: number | undefined;
  const statusCodes: Record<string, number> = {};
  const errorsByKind: Record<string, number> = {};
  for (const summary of summaries) {
    requests += summary.sent;
    completed += summary.completed;
    errors += summary.failed;
    dropped += summary.dropped;
    bytesRead += summary.bytesRead;
    start = Math.min(start, summary.start);
    end = Math.max(end, summary.end);
    pipelining ??= summary.pipelining;
    addCounts(statusCodes, summary.status);
    addCounts(errorsByKind, summary.errors);
  }
  const windowSeconds = Math.max(end - start, 1) / 1000;
  const results: LoadTestResults = {
    requests,
    completed,
    errors,
    dropped,
    errorRate: requests === 0 ? 0 : errors / requests,
    rps: Math.round((completed / windowSeconds) * 10) / 10,
    statusCodes,
    errorsByKind,
    bytesRead,
    latencyMs: latencyStatsMs(addHistograms(summaries.map((summary) => summary.latency))),
    startTime: new Date(start).toISOString(),
    endTime: new Date(end).toISOString(),
  };
  const service = summaries.flatMap((summary) => (summary.service === undefined ? [] : [summary.service]));
  if (service.length > 0) results.serviceTimeMs = latencyStatsMs(addHistograms(service));
  if (pipelining !== undefined) results.pipelining = pipelining;
  return results;
}
