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
 * - byRequest (a request mix): the same per request name, each adding up to the totals (requests, completed,
 *   errors); rps over the same window. A request whose latency a runner had to leave out of its termination
 *   message (summary-fit.ts) gets its percentiles from the other runners and `latencyPartial: true`.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { LoadTestResults, RequestResults } from '../loadtest/spec.js';
import type { RequestSummary, RunnerSummary } from './contract.js';
import {
  createMergeHistogram,
  decodeHistogram,
  encodeHistogram,
  latencyStatsMs,
  type SignificantDigits,
} from './histogram.js';

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

function addRequestSummaries(parts: readonly RequestSummary[]): RequestSummary {
  const merged: RequestSummary = { sent: 0, completed: 0, failed: 0, status: {}, errors: {} };
  for (const part of parts) {
    merged.sent += part.sent;
    merged.completed += part.completed;
    merged.failed += part.failed;
    addCounts(merged.status, part.status);
    addCounts(merged.errors, part.errors);
  }
  if (parts.every((part) => part.latency !== undefined)) {
    merged.latency = encodeHistogram(addHistograms(parts.map((part) => part.latency!)));
  }
  return merged;
}

/** Request names of the summaries, in the order they first appear. */
function requestNames(summaries: readonly RunnerSummary[]): string[] {
  return [...new Set(summaries.flatMap((summary) => Object.keys(summary.byRequest ?? {})))];
}

/**
 * Adds the summaries of the threads of one runner into one summary, exactly: counts and per-second send counts
 * add up, histograms are added bucket by bucket, the run spans the earliest start to the latest end.
 */
export function mergeRunnerSummaries(summaries: readonly RunnerSummary[]): RunnerSummary {
  if (summaries.length === 0) throw new RangeError('mergeRunnerSummaries needs at least one summary');
  if (summaries.length === 1) return summaries[0]!;
  const merged: RunnerSummary = {
    v: 1,
    sent: 0,
    completed: 0,
    failed: 0,
    dropped: 0,
    status: {},
    errors: {},
    bytesRead: 0,
    start: Math.min(...summaries.map((summary) => summary.start)),
    end: Math.max(...summaries.map((summary) => summary.end)),
    latency: encodeHistogram(addHistograms(summaries.map((summary) => summary.latency))),
  };
  for (const summary of summaries) {
    merged.sent += summary.sent;
    merged.completed += summary.completed;
    merged.failed += summary.failed;
    merged.dropped += summary.dropped;
    merged.bytesRead += summary.bytesRead;
    addCounts(merged.status, summary.status);
    addCounts(merged.errors, summary.errors);
    merged.pipelining ??= summary.pipelining;
    if (summary.truncated === true) merged.truncated = true;
    summary.sentPerSecond?.forEach((count, second) => {
      merged.sentPerSecond ??= [];
      while (merged.sentPerSecond.length <= second) merged.sentPerSecond.push(0);
      merged.sentPerSecond[second] = merged.sentPerSecond[second]! + count;
    });
  }
  const service = summaries.flatMap((summary) => (summary.service === undefined ? [] : [summary.service]));
  if (service.length > 0) merged.service = encodeHistogram(addHistograms(service));
  const names = requestNames(summaries);
  if (names.length > 0) {
    merged.byRequest = Object.fromEntries(
      names.map((name) => [name, addRequestSummaries(summaries.flatMap((summary) => summary.byRequest?.[name] ?? []))]),
    );
  }
  return merged;
}

function requestResults(parts: readonly RequestSummary[], windowSeconds: number): RequestResults {
  let requests = 0;
  let completed = 0;
  let errors = 0;
  const statusCodes: Record<string, number> = {};
  const errorsByKind: Record<string, number> = {};
  for (const part of parts) {
    requests += part.sent;
    completed += part.completed;
    errors += part.failed;
    addCounts(statusCodes, part.status);
    addCounts(errorsByKind, part.errors);
  }
  const latencies = parts.flatMap((part) => (part.latency === undefined ? [] : [part.latency]));
  const results: RequestResults = {
    requests,
    completed,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    rps: Math.round((completed / windowSeconds) * 10) / 10,
    statusCodes,
    errorsByKind,
  };
  if (latencies.length > 0) results.latencyMs = latencyStatsMs(addHistograms(latencies));
  if (latencies.length < parts.length) results.latencyPartial = true;
  return results;
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
  const names = requestNames(summaries);
  if (names.length > 0) {
    results.byRequest = Object.fromEntries(
      names.map((name) => [
        name,
        requestResults(
          summaries.flatMap((summary) => summary.byRequest?.[name] ?? []),
          windowSeconds,
        ),
      ]),
    );
  }
  return results;
}
