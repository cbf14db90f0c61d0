/**
 * An open-model constant-rate schedule whose rate and duration can change mid-run (the control endpoint's
 * PATCH /v1/config, see control-api.ts). Until the first change it yields exactly what constantRate() and the
 * plan's scheduledRequests yield. A rate change at t0 keeps every arrival due before t0 and continues from there
 * at the new rate: N(t) = N(t0) + rate'·(t - t0), so the schedule stays continuous and every thread, sharing it
 * through threadShare(), computes the same runner-wide schedule from the same (t0, rate').
 */
import type { ArrivalSchedule } from './schedule.js';

interface RateSegment {
  /** ms after the start at which this rate took over. */
  startMs: number;
  /** Arrivals before startMs (fractional). */
  before: number;
  /** Requests per second. */
  rate: number;
  intervalMs: number;
}

export class AdjustableRate implements ArrivalSchedule {
  private readonly segments: RateSegment[];

  /**
   * @param rate requests per second from the start
   * @param durationMs run length, ms: the schedule ends there (unless fixedTotal is given)
   * @param fixedTotal a request count instead of a duration (open model with --requests): never changes
   */
  constructor(
    rate: number,
    private durationMs: number | undefined,
    private readonly fixedTotal?: number,
  ) {
    this.segments = [{ startMs: 0, before: 0, rate, intervalMs: 1000 / rate }];
  }

  get total(): number {
    if (this.fixedTotal !== undefined || this.durationMs === undefined) return this.fixedTotal ?? 1;
    // As planRun() computes scheduledRequests, so that an unchanged schedule is the plan's.
    return Math.max(1, Math.ceil(this.arrivalsBy(this.durationMs)));
  }

  get rate(): number {
    return this.segments[this.segments.length - 1]!.rate;
  }

  timeOfMs(index: number): number {
    let at = this.segments.length - 1;
    while (at > 0 && index < this.segments[at]!.before) at--;
    const segment = this.segments[at]!;
    return segment.startMs + (index - segment.before) * segment.intervalMs;
  }

  /** Arrivals due by `ms` after the start (fractional). */
  arrivalsBy(ms: number): number {
    let at = this.segments.length - 1;
    while (at > 0 && ms < this.segments[at]!.startMs) at--;
    const segment = this.segments[at]!;
    return segment.before + ((ms - segment.startMs) * segment.rate) / 1000;
  }

  /** From `atMs` after the start on, `rate` requests per second. */
  setRate(rate: number, atMs: number): void {
    const last = this.segments[this.segments.length - 1]!;
    const startMs = Math.max(atMs, last.startMs);
    this.segments.push({ startMs, before: this.arrivalsBy(startMs), rate, intervalMs: 1000 / rate });
  }

  /** Ends the schedule `durationMs` after the start (no effect on a request-count schedule). */
  setDurationMs(durationMs: number): void {
    this.durationMs = durationMs;
  }
}
