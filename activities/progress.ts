/**
 * Live progress of a running LoadTest: what the activity that waits for the runners puts in its heartbeat
 * details, and what the client reads back from `describe()` (pending activities). Heartbeats are the one
 * channel from a running activity to a client that adds nothing to workflow history, so a long run with a
 * snapshot every second costs no history events. Part of the activities' contract: pure, no I/O.
 */
import { round1 } from '../src/loadtest/format.js';
import { isRunnerProgress, type RunnerProgress } from '../src/runner/contract.js';

/** The runners' progress snapshots combined (sums, except p99). */
export interface LiveProgress {
  /** Epoch ms of the newest runner snapshot. */
  at: number;
  /** Runners that have reported at least once, out of `runners`. */
  reporting: number;
  runners: number;
  sent: number;
  completed: number;
  failed: number;
  /** Completions per second over the runners' last interval, summed. */
  rps: number;
  /**
   * The highest p99 so far (ms) among the runners: percentiles cannot be merged from percentiles, so this is an
   * upper bound of the true p99 until the final results merge the histograms.
   */
  p99Ms: number;
}

/** Heartbeat details of an activity that reports live progress (one argument to `heartbeat()`). */
export interface ProgressHeartbeat {
  progress: LiveProgress;
}

/** Combines the latest snapshot of every runner; `runners` counts those that have not reported yet too. */
export function combineRunnerProgress(snapshots: readonly RunnerProgress[], runners: number): LiveProgress {
  const live: LiveProgress = {
    at: 0,
    reporting: snapshots.length,
    runners,
    sent: 0,
    completed: 0,
    failed: 0,
    rps: 0,
    p99Ms: 0,
  };
  for (const snapshot of snapshots) {
    live.at = Math.max(live.at, snapshot.at);
    live.sent += snapshot.sent;
    live.completed += snapshot.completed;
    live.failed += snapshot.failed;
    live.rps += snapshot.rps;
    live.p99Ms = Math.max(live.p99Ms, snapshot.p99Ms);
  }
  live.rps = round1(live.rps);
  return live;
}

/** Whether heartbeat details (decoded, of any activity) carry live progress. */
export function isProgressHeartbeat(details: unknown): details is ProgressHeartbeat {
  if (typeof details !== 'object' || details === null) return false;
  return isRunnerProgress((details as { progress?: unknown }).progress);
}

/**
 * Heartbeat details of awaitRunnersRunning once it has chosen the run's start instant (it was given `startDelayMs`),
 * before any runner hears of it: a retried attempt reads them back (Context.info.heartbeatDetails) and sends the
 * same instant, so no runner is told two.
 */
export interface StartHeartbeat {
  startAtMs: number;
}

/** The start instant in an earlier attempt's heartbeat details (StartHeartbeat), if there is one. */
export function heartbeatStartAtMs(details: unknown): number | undefined {
  const startAtMs = (details as Partial<StartHeartbeat> | null | undefined)?.startAtMs;
  return typeof startAtMs === 'number' && Number.isFinite(startAtMs) ? startAtMs : undefined;
}
