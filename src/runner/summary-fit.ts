/**
 * Fits a RunnerSummary into the pod's termination message (TERMINATION_MESSAGE_LIMIT bytes; Kubernetes cuts
 * anything longer, which would make the JSON unreadable). Counts are never dropped: when the summary is too
 * long, histograms are re-encoded with fewer significant digits and, if needed, status codes are summed per
 * class ("5xx"), and the summary is marked `truncated`.
 *
 * The per-second send counts (sentPerSecond) go first: they are for the runner's own report and tests, and a
 * long run's list would crowd out everything else. A request mix's per-request results (byRequest) shrink with
 * the totals (same digits, same status classes); as a last step their latency histograms are left out, so
 * every per-request count still arrives and the merge gives those requests' percentiles from the runners that
 * had room (`latencyPartial`, src/runner/merge.ts).
 *
 * The last step always fits: at 0 significant digits a histogram has one bucket per power of two (at most
 * 54 buckets of at most 9 bytes, about 700 bytes in base64), at most ten status classes remain, and a mix has
 * at most 16 requests whose counts (names of at most 32 characters) take well under 200 bytes each.
 */
import type { Histogram } from 'hdr-histogram-js';
import { TERMINATION_MESSAGE_LIMIT, type RequestSummary, type RunnerSummary } from './contract.js';
import { decodeHistogram, encodeHistogram, withPrecision, type SignificantDigits } from './histogram.js';

interface Reduction {
  digits: SignificantDigits;
  statusClasses: boolean;
  /** Leave out the per-request latency histograms of a mix. */
  noRequestLatency?: boolean;
}

/** From the least to the most information lost. */
const REDUCTIONS: readonly Reduction[] = [
  { digits: 2, statusClasses: false },
  { digits: 2, statusClasses: true },
  { digits: 1, statusClasses: false },
  { digits: 1, statusClasses: true },
  { digits: 0, statusClasses: true },
  { digits: 0, statusClasses: true, noRequestLatency: true },
];

export function summaryBytes(summary: RunnerSummary): number {
  return Buffer.byteLength(JSON.stringify(summary), 'utf8');
}

/** Sums status counts per class: {"200": 3, "204": 1} → {"2xx": 4}. */
export function statusClasses(status: Record<string, number>): Record<string, number> {
  const classes: Record<string, number> = {};
  for (const [code, count] of Object.entries(status)) {
    const name = code.length === 3 ? `${code[0]}xx` : code;
    classes[name] = (classes[name] ?? 0) + count;
  }
  return classes;
}

function reduceRequest(request: RequestSummary, latency: Histogram | undefined, step: Reduction): RequestSummary {
  const reduced: RequestSummary = {
    ...request,
    status: step.statusClasses ? statusClasses(request.status) : request.status,
  };
  delete reduced.latency;
  if (latency !== undefined && step.noRequestLatency !== true) {
    reduced.latency = encodeHistogram(withPrecision(latency, step.digits));
  }
  return reduced;
}

function reduce(
  summary: RunnerSummary,
  latency: Histogram,
  service: Histogram | undefined,
  requestLatency: Map<string, Histogram | undefined>,
  step: Reduction,
) {
  const reduced: RunnerSummary = {
    ...summary,
    status: step.statusClasses ? statusClasses(summary.status) : summary.status,
    latency: encodeHistogram(withPrecision(latency, step.digits)),
    truncated: true,
  };
  if (service !== undefined) reduced.service = encodeHistogram(withPrecision(service, step.digits));
  if (summary.byRequest !== undefined) {
    reduced.byRequest = Object.fromEntries(
      Object.entries(summary.byRequest).map(([name, request]) => [
        name,
        reduceRequest(request, requestLatency.get(name), step),
      ]),
    );
  }
  return reduced;
}

/** Returns the summary itself when it fits in `limitBytes`, otherwise the least reduced version that does. */
export function fitSummary(summary: RunnerSummary, limitBytes = TERMINATION_MESSAGE_LIMIT): RunnerSummary {
  if (summaryBytes(summary) <= limitBytes) return summary;
  const { sentPerSecond, ...withoutTimeline } = summary;
  if (sentPerSecond !== undefined && summaryBytes(withoutTimeline) <= limitBytes) return withoutTimeline;
  const latency = decodeHistogram(summary.latency);
  const service = summary.service === undefined ? undefined : decodeHistogram(summary.service);
  const requestLatency = new Map(
    Object.entries(summary.byRequest ?? {}).map(([name, request]) => [
      name,
      request.latency === undefined ? undefined : decodeHistogram(request.latency),
    ]),
  );
  let reduced: RunnerSummary = withoutTimeline;
  for (const step of REDUCTIONS) {
    reduced = reduce(withoutTimeline, latency, service, requestLatency, step);
    if (summaryBytes(reduced) <= limitBytes) return reduced;
  }
  return reduced;
}
