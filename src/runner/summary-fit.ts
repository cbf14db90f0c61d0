/**
 * Fits a RunnerSummary into the pod's termination message (TERMINATION_MESSAGE_LIMIT bytes; Kubernetes cuts
 * anything longer, which would make the JSON unreadable). Counts are never dropped: when the summary is too
 * long, histograms are re-encoded with fewer significant digits and, if needed, status codes are summed per
 * class ("5xx"), and the summary is marked `truncated`.
 *
 * The last step always fits: at 0 significant digits a histogram has one bucket per power of two (at most
 * 54 buckets of at most 9 bytes, about 700 bytes in base64), and at most ten status classes remain.
 */
import type { Histogram } from 'hdr-histogram-js';
import { TERMINATION_MESSAGE_LIMIT, type RunnerSummary } from './contract.js';
import { decodeHistogram, encodeHistogram, withPrecision, type SignificantDigits } from './histogram.js';

interface Reduction {
  digits: SignificantDigits;
  statusClasses: boolean;
}

/** From the least to the most information lost. */
const REDUCTIONS: readonly Reduction[] = [
  { digits: 2, statusClasses: false },
  { digits: 2, statusClasses: true },
  { digits: 1, statusClasses: false },
  { digits: 1, statusClasses: true },
  { digits: 0, statusClasses: true },
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

function reduce(summary: RunnerSummary, latency: Histogram, service: Histogram | undefined, step: Reduction) {
  const reduced: RunnerSummary = {
    ...summary,
    status: step.statusClasses ? statusClasses(summary.status) : summary.status,
    latency: encodeHistogram(withPrecision(latency, step.digits)),
    truncated: true,
  };
  if (service !== undefined) reduced.service = encodeHistogram(withPrecision(service, step.digits));
  return reduced;
}

/** Returns the summary itself when it fits in `limitBytes`, otherwise the least reduced version that does. */
export function fitSummary(summary: RunnerSummary, limitBytes = TERMINATION_MESSAGE_LIMIT): RunnerSummary {
  if (summaryBytes(summary) <= limitBytes) return summary;
  const latency = decodeHistogram(summary.latency);
  const service = summary.service === undefined ? undefined : decodeHistogram(summary.service);
  let reduced = summary;
  for (const step of REDUCTIONS) {
    reduced = reduce(summary, latency, service, step);
    if (summaryBytes(reduced) <= limitBytes) return reduced;
  }
  return reduced;
}
