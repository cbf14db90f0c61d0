/**
 * When the open model's requests are due: at a constant rate, or through stages that ramp the arrival rate
 * linearly from one target to the next (k6's `ramping-arrival-rate`, starting from 0 requests per second).
 *
 * Request k (counting from 0) is due when the number of arrivals so far, N(t) = ∫ rate, reaches k. Within a
 * stage the rate is linear, so N is quadratic and its inverse has a closed form: the schedule is exact, with
 * no per-tick rounding that could drift.
 *
 * Threads share one schedule: thread t of n sends requests t, t + n, t + 2n, ... (threadShare), so together they
 * send exactly the runner's schedule, each at 1/n of its rate and phase-shifted, whatever n is.
 */

/** One stage: ramp linearly to `target` requests per second over `durationMs`. */
export interface Stage {
  durationMs: number;
  target: number;
}

export interface ArrivalSchedule {
  /** Requests the schedule yields. */
  readonly total: number;
  /** Intended send time of request `index` (0 ≤ index < total), ms after the start. */
  timeOfMs(index: number): number;
}

export function constantRate(rate: number, total: number): ArrivalSchedule {
  const intervalMs = 1000 / rate;
  return { total, timeOfMs: (index) => index * intervalMs };
}

interface Segment {
  startMs: number;
  durationMs: number;
  /** Arrivals before the segment. */
  before: number;
  /** Rate at the start of the segment, per ms, and its change per ms². */
  rate: number;
  slope: number;
}

/** Arrivals due by `ms` into the stages (N(t)); exported for tests that compare sent counts with it. */
export function arrivalsBy(stages: readonly Stage[], ms: number): number {
  let arrivals = 0;
  let fromRate = 0;
  let startMs = 0;
  for (const stage of stages) {
    const toRate = stage.target / 1000;
    const inStage = Math.min(Math.max(ms - startMs, 0), stage.durationMs);
    arrivals += fromRate * inStage + ((toRate - fromRate) * inStage * inStage) / (2 * stage.durationMs);
    fromRate = toRate;
    startMs += stage.durationMs;
  }
  return arrivals;
}

export function rampingRate(stages: readonly Stage[]): ArrivalSchedule {
  const segments: Segment[] = [];
  let before = 0;
  let fromRate = 0;
  let startMs = 0;
  for (const stage of stages) {
    const toRate = stage.target / 1000;
    segments.push({
      startMs,
      durationMs: stage.durationMs,
      before,
      rate: fromRate,
      slope: (toRate - fromRate) / stage.durationMs,
    });
    before += ((fromRate + toRate) / 2) * stage.durationMs;
    fromRate = toRate;
    startMs += stage.durationMs;
  }
  // Requests due strictly before the end; the float sum may land a hair off a whole number.
  const total = Math.max(0, Math.ceil(before - 1e-9));
  let cursor = 0;
  return {
    total,
    timeOfMs(index: number): number {
      // Indices arrive in order, so the segment cursor only moves forward (back only on a retry, rarely).
      while (cursor > 0 && index < segments[cursor]!.before) cursor--;
      while (cursor < segments.length - 1 && index >= segments[cursor + 1]!.before - 1e-9) cursor++;
      const segment = segments[cursor]!;
      const arrivals = index - segment.before;
      if (arrivals <= 0) return segment.startMs;
      // Solves rate·τ + slope·τ²/2 = arrivals in the form that stays exact for slope → 0 and for rate = 0.
      const root = Math.sqrt(segment.rate * segment.rate + 2 * segment.slope * arrivals);
      const tau = (2 * arrivals) / (segment.rate + root);
      return segment.startMs + Math.min(tau, segment.durationMs);
    },
  };
}

/** Thread `index` of `count`: requests index, index + count, ... of `schedule`. */
export function threadShare(schedule: ArrivalSchedule, index: number, count: number): ArrivalSchedule {
  if (count === 1) return schedule;
  return {
    // A getter: an adjustable schedule (adjustable-rate.ts) changes its total mid-run.
    get total() {
      return schedule.total > index ? Math.ceil((schedule.total - index) / count) : 0;
    },
    timeOfMs: (local) => schedule.timeOfMs(index + local * count),
  };
}

/** Splits `total` into `count` parts that differ by at most one (the first ones get the remainder). */
export function splitEvenly(total: number, index: number, count: number): number {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

/**
 * The stages' target at `ms` into them: linear from 0 through each stage's target (k6 ramps the same way); the
 * last target after the end.
 */
export function targetAt(stages: readonly Stage[], ms: number): number {
  let from = 0;
  let startMs = 0;
  for (const stage of stages) {
    if (ms < startMs + stage.durationMs)
      return from + ((stage.target - from) * Math.max(0, ms - startMs)) / stage.durationMs;
    from = stage.target;
    startMs += stage.durationMs;
  }
  return from;
}

/**
 * Closed-model stages: connections open at `ms` into the stages, the ramp's value rounded down (connection k,
 * counting from 1, is open while the ramp is at k or above, as with k6's ramping-vus). Thread t of n keeps the
 * connections t, t + n, ... of them open: splitEvenly(connectionsAt(...), t, n), which add up to this.
 */
export function connectionsAt(stages: readonly Stage[], ms: number): number {
  // The ramp's float value may land a hair under the whole number it stands for.
  return Math.floor(targetAt(stages, ms) + 1e-9);
}
