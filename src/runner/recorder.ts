/**
 * Counts and latency histograms of one runner, and their compact encoding (RunnerSummary).
 * recordResponse() is on the hot path: typed-array counters and integer µs histogram values only.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { RequestSummary, RunnerSummary } from './contract.js';
import { ERROR_KINDS, type ErrorKind } from './error-kind.js';
import { createRecordingHistogram, encodeHistogram } from './histogram.js';

/** Status codes are three digits, so they index a fixed table. */
const STATUS_TABLE_SIZE = 1000;

export class Recorder {
  /** Latency from the intended send time, µs. In the closed model intended = actual send time. */
  readonly latency: Histogram = createRecordingHistogram();
  /** Service time from the actual send, µs; open model only. */
  readonly service: Histogram | null;
  completed = 0;
  /** Responses with a status that was not accepted. */
  rejected = 0;
  /** Requests that got no response. */
  unanswered = 0;
  dropped = 0;
  /** performance.now() of the last response, failure or drop. */
  lastDoneMs = Number.NaN;
  /** performance.now() of the start of the run: second 0 of sentPerSecond. */
  startMs = 0;
  /** Requests written per second of the run. */
  readonly sentPerSecond: number[] = [];
  private readonly statusCounts = new Float64Array(STATUS_TABLE_SIZE);
  private readonly errorCounts = new Float64Array(ERROR_KINDS.length);
  /** One recorder per request of a mix, by index; null without a mix. */
  private readonly byRequest: Recorder[] | null;

  /**
   * @param accepted 1 at the index of each accepted status code, 0 elsewhere (see acceptedStatusTable)
   * @param requestNames the names of a mix's requests, to record each one's results too
   */
  constructor(
    private readonly accepted: Uint8Array,
    recordServiceTime: boolean,
    private readonly requestNames?: readonly string[],
  ) {
    this.service = recordServiceTime ? createRecordingHistogram() : null;
    this.byRequest = requestNames === undefined ? null : requestNames.map(() => new Recorder(accepted, false));
  }

  /** A request was written (for the per-second send counts). */
  recordSend(nowMs: number): void {
    const second = Math.floor((nowMs - this.startMs) / 1000);
    if (second < 0) return;
    while (this.sentPerSecond.length <= second) this.sentPerSecond.push(0);
    this.sentPerSecond[second]!++;
  }

  recordResponse(status: number, intendedMs: number, sentMs: number, nowMs: number, request = 0): void {
    if (this.byRequest !== null) this.byRequest[request]!.recordResponse(status, intendedMs, sentMs, nowMs);
    this.completed++;
    this.statusCounts[status] = this.statusCounts[status]! + 1;
    if (this.accepted[status] === 0) this.rejected++;
    this.latency.recordValue(Math.round((nowMs - intendedMs) * 1000));
    if (this.service !== null) this.service.recordValue(Math.round((nowMs - sentMs) * 1000));
    this.lastDoneMs = nowMs;
  }

  recordFailure(kind: ErrorKind, nowMs: number, request = 0): void {
    if (this.byRequest !== null) this.byRequest[request]!.recordFailure(kind, nowMs);
    this.unanswered++;
    const index = ERROR_KINDS.indexOf(kind);
    this.errorCounts[index] = this.errorCounts[index]! + 1;
    this.lastDoneMs = nowMs;
  }

  recordDrop(nowMs: number): void {
    this.dropped++;
    this.lastDoneMs = nowMs;
  }

  /** This recorder's counts and latency as one request's share of a summary. */
  toRequestSummary(): RequestSummary {
    return {
      sent: this.completed + this.unanswered,
      completed: this.completed,
      failed: this.rejected + this.unanswered,
      status: this.statusRecord(),
      errors: this.errorRecord(),
      latency: encodeHistogram(this.latency),
    };
  }

  private statusRecord(): Record<string, number> {
    const status: Record<string, number> = {};
    this.statusCounts.forEach((count, code) => {
      if (count > 0) status[String(code)] = count;
    });
    return status;
  }

  private errorRecord(): Record<string, number> {
    const errors: Record<string, number> = {};
    this.errorCounts.forEach((count, index) => {
      if (count > 0) errors[ERROR_KINDS[index]!] = count;
    });
    return errors;
  }

  /** The full summary (histograms at recording precision); see fitSummary() for the size-limited one. */
  toSummary(run: { startMs: number; endMs: number; bytesRead: number; pipelining?: number }): RunnerSummary {
    const status = this.statusRecord();
    const errors = this.errorRecord();
    const summary: RunnerSummary = {
      v: 1,
      sent: this.completed + this.unanswered,
      completed: this.completed,
      failed: this.rejected + this.unanswered,
      dropped: this.dropped,
      status,
      errors,
      bytesRead: run.bytesRead,
      start: Math.round(performance.timeOrigin + run.startMs),
      end: Math.round(performance.timeOrigin + run.endMs),
      latency: encodeHistogram(this.latency),
    };
    if (this.service !== null) summary.service = encodeHistogram(this.service);
    if (run.pipelining !== undefined) summary.pipelining = run.pipelining;
    if (this.byRequest !== null) {
      summary.byRequest = Object.fromEntries(
        this.byRequest.map((recorder, index) => [this.requestNames![index]!, recorder.toRequestSummary()]),
      );
    }
    if (this.sentPerSecond.length > 0) summary.sentPerSecond = [...this.sentPerSecond];
    return summary;
  }

  /** Frees the WebAssembly memory of the histograms. */
  destroy(): void {
    for (const recorder of this.byRequest ?? []) recorder.destroy();
    this.latency.destroy();
    this.service?.destroy();
  }
}
