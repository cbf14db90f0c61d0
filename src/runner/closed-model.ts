/**
 * Closed model: every connection sends its next request as soon as a response (or failure) frees a slot,
 * so the load adapts to the target's speed. Ends after `requests` requests in total, or when stopped
 * (duration elapsed, or aborted) and the requests in flight have finished.
 */
import type { Connection, ConnectionEvents } from './connection.js';
import type { ErrorKind } from './error-kind.js';
import type { Recorder } from './recorder.js';
import type { WeightedRoundRobin } from './request-mix.js';

export class ClosedModel implements ConnectionEvents {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Requests not yet sent; Infinity when the run is bounded by time. */
  private unsent: number;
  /** Requests handed back by a closing connection, to send again. */
  private retries = 0;
  private inFlight = 0;
  private stopped = false;

  /**
   * @param requests total requests across connections; undefined runs until stop()
   * @param mix picks which request of a mix each send is (a retried request is picked anew)
   */
  constructor(
    private readonly recorder: Recorder,
    private readonly pipelining: number,
    requests: number | undefined,
    private readonly mix: WeightedRoundRobin,
  ) {
    this.unsent = requests ?? Number.POSITIVE_INFINITY;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(connections: readonly Connection[], nowMs: number): void {
    for (const connection of connections) this.fill(connection, nowMs);
    this.checkDone();
  }

  /** Sends nothing more; done once the requests in flight have finished. */
  stop(): void {
    this.stopped = true;
    this.checkDone();
  }

  /** Called periodically by the engine; nothing is time-driven in the closed model. */
  tick(): void {}

  onResponse(status: number, intendedMs: number, sentMs: number, nowMs: number, request: number): void {
    this.inFlight--;
    this.recorder.recordResponse(status, intendedMs, sentMs, nowMs, request);
  }

  onFailure(kind: ErrorKind, nowMs: number, request: number): void {
    this.inFlight--;
    this.recorder.recordFailure(kind, nowMs, request);
  }

  onRetry(): void {
    this.inFlight--;
    this.retries++;
  }

  onCapacity(connection: Connection, nowMs: number): void {
    this.fill(connection, nowMs);
    this.checkDone();
  }

  private fill(connection: Connection, nowMs: number): void {
    while (connection.inFlight < this.pipelining && !this.stopped) {
      if (this.retries > 0) this.retries--;
      else if (this.unsent > 0) this.unsent--;
      else return;
      this.inFlight++;
      this.recorder.recordSend(nowMs);
      connection.send(nowMs, nowMs, this.mix.next());
    }
  }

  private checkDone(): void {
    if (this.inFlight > 0) return;
    if (this.stopped || (this.unsent === 0 && this.retries === 0)) this.resolveDone();
  }
}
