/**
 * Closed model: every connection sends its next request as soon as a response (or failure) frees a slot,
 * so the load adapts to the target's speed. Ends after `requests` requests in total, or when stopped
 * (duration elapsed, or aborted) and the requests in flight have finished.
 *
 * With closed-model stages a ConnectionRamp says how many connections are in use over time (k6's ramping-vus):
 * connections 0 .. active-1 send; one taken out of use sends nothing more, and is closed once its requests in
 * flight are answered (they count as any other); one put back in use reconnects on its next send.
 */
import type { Connection, ConnectionEvents } from './connection.js';
import type { ErrorKind } from './error-kind.js';
import type { Recorder } from './recorder.js';
import type { WeightedRoundRobin } from './request-mix.js';

/** Closed-model stages: how many of this thread's connections are in use `ms` after the start. */
export interface ConnectionRamp {
  activeAt(ms: number): number;
}

/** How often a ConnectionRamp is read: connections follow the ramp within this many ms. */
export const RAMP_CHECK_MS = 10;

export class ClosedModel implements ConnectionEvents {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Requests not yet sent; Infinity when the run is bounded by time. */
  private unsent: number;
  /** Requests handed back by a closing connection, to send again. */
  private retries = 0;
  private inFlight = 0;
  private stopped = false;
  private connections: readonly Connection[] = [];
  /** Connections 0 .. active-1 are in use (all of them without a ramp). */
  private active = Number.POSITIVE_INFINITY;
  private startMs = 0;
  private rampTimer: NodeJS.Timeout | undefined;

  /**
   * @param requests total requests across connections; undefined runs until stop()
   * @param mix picks which request of a mix each send is (a retried request is picked anew)
   * @param ramp closed-model stages: how many connections are in use over time; default all of them throughout
   */
  constructor(
    private readonly recorder: Recorder,
    private readonly pipelining: number,
    requests: number | undefined,
    private readonly mix: WeightedRoundRobin,
    private readonly ramp?: ConnectionRamp,
  ) {
    this.unsent = requests ?? Number.POSITIVE_INFINITY;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(connections: readonly Connection[], nowMs: number): void {
    this.connections = connections;
    this.startMs = nowMs;
    if (this.ramp !== undefined) {
      this.active = this.ramp.activeAt(0);
      this.rampTimer = setInterval(() => this.followRamp(performance.now()), RAMP_CHECK_MS);
    }
    for (const connection of connections) this.fill(connection, nowMs);
    this.checkDone();
  }

  /** Sends nothing more; done once the requests in flight have finished. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.rampTimer);
    this.checkDone();
  }

  /** Puts connections into use or takes them out, as the ramp says for `nowMs`. */
  private followRamp(nowMs: number): void {
    if (this.stopped) return;
    const before = this.active;
    const after = Math.min(this.ramp!.activeAt(nowMs - this.startMs), this.connections.length);
    if (after === before) return;
    this.active = after;
    for (let id = Math.min(before, after); id < Math.max(before, after) && id < this.connections.length; id++) {
      const connection = this.connections[id]!;
      if (after > before) this.fill(connection, nowMs);
      else if (connection.inFlight === 0) this.closeLater(connection);
    }
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
    if (connection.id < this.active) this.fill(connection, nowMs);
    else if (connection.inFlight === 0) this.closeLater(connection);
    this.checkDone();
  }

  /** Closes a connection out of use once the I/O callback that reported its last response has returned. */
  private closeLater(connection: Connection): void {
    queueMicrotask(() => {
      if (connection.id >= this.active && connection.inFlight === 0) connection.close();
    });
  }

  private fill(connection: Connection, nowMs: number): void {
    while (connection.inFlight < this.pipelining && connection.id < this.active && !this.stopped) {
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
