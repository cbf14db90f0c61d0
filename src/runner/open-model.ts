/**
 * Open model: requests are due at fixed intended times (start + i / rate) whether or not the target keeps up.
 * Latency is measured from the intended time, so a stalled target shows up in the latency histogram instead
 * of silently lowering the request rate (coordinated omission). A due request waits for a free connection;
 * if it cannot be sent within the request timeout of its intended time, it is dropped. The intended times come
 * from an ArrivalSchedule (a constant rate, or ramping stages), so the correction holds through a ramp too.
 */
import type { Connection, ConnectionEvents } from './connection.js';
import type { ErrorKind } from './error-kind.js';
import type { Recorder } from './recorder.js';
import type { WeightedRoundRobin } from './request-mix.js';
import type { ArrivalSchedule } from './schedule.js';
import { TimeQueue } from './time-queue.js';

export class OpenModel implements ConnectionEvents {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private startMs = 0;
  /** Index of the next request to become due. */
  private nextIndex = 0;
  /** Due (or retried) requests waiting for a connection, by intended time. */
  private readonly waiting = new TimeQueue();
  /** Connections with room for another request. */
  private readonly free: Connection[] = [];
  private readonly isFree: Uint8Array;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private finished = false;
  private stopped = false;

  private total: number;

  /**
   * @param schedule when each request is due, ms after the start
   * @param timeoutMs how long a due request may wait for a connection before it is dropped
   * @param mix picks which request of a mix each send is
   */
  constructor(
    private readonly recorder: Recorder,
    private readonly pipelining: number,
    private readonly schedule: ArrivalSchedule,
    private readonly timeoutMs: number,
    connectionCount: number,
    private readonly mix: WeightedRoundRobin,
  ) {
    this.total = schedule.total;
    this.isFree = new Uint8Array(connectionCount);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(connections: readonly Connection[], nowMs: number): void {
    this.startMs = nowMs;
    for (const connection of connections) this.markFree(connection);
    this.dispatch(nowMs);
  }

  /** Schedules nothing more; requests already waiting are dropped. */
  stop(): void {
    this.stopped = true;
    this.total = this.nextIndex;
    const nowMs = performance.now();
    while (this.waiting.length > 0) {
      this.waiting.shift();
      this.recorder.recordDrop(nowMs);
    }
    this.checkDone();
  }

  /**
   * Takes up a change of the schedule (its rate or total, see adjustable-rate.ts) from now on. Returns false,
   * changing nothing, once the model is stopped or done.
   */
  reschedule(nowMs: number): boolean {
    if (this.finished || this.stopped) return false;
    // Requests already due stay due; a shorter schedule cannot take them back.
    this.total = Math.max(this.nextIndex, this.schedule.total);
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.dispatch(nowMs);
    return true;
  }

  /** Called periodically by the engine, so that waiting requests are dropped on time even when all is quiet. */
  tick(nowMs: number): void {
    this.dispatch(nowMs);
  }

  onResponse(status: number, intendedMs: number, sentMs: number, nowMs: number, request: number): void {
    this.inFlight--;
    this.recorder.recordResponse(status, intendedMs, sentMs, nowMs, request);
  }

  onFailure(kind: ErrorKind, nowMs: number, request: number): void {
    this.inFlight--;
    this.recorder.recordFailure(kind, nowMs, request);
  }

  onRetry(intendedMs: number): void {
    this.inFlight--;
    this.waiting.unshift(intendedMs);
  }

  onCapacity(connection: Connection, nowMs: number): void {
    this.markFree(connection);
    this.dispatch(nowMs);
  }

  private dispatch(nowMs: number): void {
    if (this.finished) return;
    while (this.nextIndex < this.total) {
      const intendedMs = this.startMs + this.schedule.timeOfMs(this.nextIndex);
      if (intendedMs > nowMs) break;
      this.waiting.push(intendedMs);
      this.nextIndex++;
    }
    while (this.waiting.length > 0) {
      const intendedMs = this.waiting.peek();
      if (nowMs - intendedMs >= this.timeoutMs) {
        this.waiting.shift();
        this.recorder.recordDrop(nowMs);
        continue;
      }
      const connection = this.free.pop();
      if (connection === undefined) break;
      this.isFree[connection.id] = 0;
      this.waiting.shift();
      this.inFlight++;
      this.recorder.recordSend(nowMs);
      connection.send(intendedMs, nowMs, this.mix.next());
      this.markFree(connection);
    }
    this.armTimer(nowMs);
    this.checkDone();
  }

  private markFree(connection: Connection): void {
    if (this.isFree[connection.id] === 1 || connection.inFlight >= this.pipelining) return;
    this.isFree[connection.id] = 1;
    this.free.push(connection);
  }

  private armTimer(nowMs: number): void {
    if (this.timer !== null || this.nextIndex >= this.total) return;
    const dueMs = this.startMs + this.schedule.timeOfMs(this.nextIndex);
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.dispatch(performance.now());
      },
      Math.max(0, dueMs - nowMs),
    );
  }

  private checkDone(): void {
    if (this.finished || this.inFlight > 0 || this.waiting.length > 0 || this.nextIndex < this.total) return;
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.resolveDone();
  }
}
