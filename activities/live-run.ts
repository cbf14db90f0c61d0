/**
 * A run while its runners send: every few seconds the waiting activity reads each runner's cumulative snapshot
 * from its control endpoint, merges them exactly (histograms added, src/runner/merge.ts), shows the merged view
 * (heartbeat details every poll, `.status.progress` at most every PROGRESS_PATCH_MS), and checks the abortOnFail
 * thresholds on it. Runners that ended report through their termination message instead; runners lost under
 * `onRunnerFailure: continue` are left out.
 */
import type { LoadTestProgress, LoadTestResults } from '../src/loadtest/spec.js';
import { evaluateThresholds, type AbortRule } from '../src/loadtest/thresholds.js';
import type { RunnerSummary } from '../src/runner/contract.js';
import type { RunnerSnapshot } from '../src/runner/control-api.js';
import { mergeSummaries } from '../src/runner/merge.js';
import type { LiveProgress } from './progress.js';
import type { ThresholdAbort } from './types.js';

/** How often runners are polled while they send. */
export const LIVE_POLL_MS = 2000;
/** `.status.progress` is written at most this often, so API load does not grow with the request rate. */
export const PROGRESS_PATCH_MS = 10_000;

/** The latest cumulative summary of every runner that reported, merged. */
export class LiveMerge {
  private readonly latest = new Map<string, RunnerSummary>();
  private previous?: { requests: number; at: number };
  private lastRps = 0;

  /** Records a runner's newest cumulative summary (a snapshot or its final summary). */
  record(runner: string, summary: RunnerSummary | undefined): void {
    if (summary !== undefined) this.latest.set(runner, summary);
  }

  forget(runner: string): void {
    this.latest.delete(runner);
  }

  get reporting(): number {
    return this.latest.size;
  }

  /** The merged results so far; undefined before any runner reported. */
  merged(): LoadTestResults | undefined {
    return this.latest.size === 0 ? undefined : mergeSummaries([...this.latest.values()]);
  }

  /**
   * The live view for heartbeats and `.status.progress`. Requests per second over the time since the previous
   * view (a current rate, not the average since the start).
   */
  view(results: LoadTestResults, runners: number, running: number, nowMs: number): LiveProgress & { running: number } {
    if (this.previous !== undefined && nowMs > this.previous.at) {
      this.lastRps = ((results.requests - this.previous.requests) * 1000) / (nowMs - this.previous.at);
    } else {
      this.lastRps = results.rps;
    }
    this.previous = { requests: results.requests, at: nowMs };
    return {
      at: nowMs,
      reporting: this.latest.size,
      runners,
      running,
      sent: results.requests,
      completed: results.completed,
      failed: results.errors,
      rps: Math.round(this.lastRps * 10) / 10,
      p99Ms: results.completed === 0 ? 0 : results.latencyMs.p99,
    };
  }
}

export function statusProgress(view: LiveProgress & { running: number }): LoadTestProgress {
  return {
    requests: view.sent,
    errors: view.failed,
    rps: view.rps,
    p99Ms: view.p99Ms,
    runnersRunning: view.running,
    updated: new Date(view.at).toISOString(),
  };
}

/**
 * The first abortOnFail threshold the merged results breach, once its delay into the run has passed. A latency
 * threshold with nothing completed yet is not judged: there is nothing to hold to it, and aborting on no data
 * would stop a test whose target is merely slow to answer the first request.
 */
export function breachedAbortRule(
  results: LoadTestResults,
  rules: readonly AbortRule[],
  startAtMs: number,
  nowMs: number,
): ThresholdAbort | undefined {
  const afterMs = Math.max(0, Math.round(nowMs - startAtMs));
  for (const rule of rules) {
    if (afterMs < rule.delayMs) continue;
    const [verdict] = evaluateThresholds(results, [rule.threshold]);
    if (verdict === undefined || verdict.passed) continue;
    if (results.completed === 0) continue;
    return { threshold: verdict.threshold, actual: verdict.actual, afterMs };
  }
  return undefined;
}

/** The latest first send minus the earliest, over the runners' summaries (ms); undefined with fewer than two. */
export function startSkewMs(summaries: readonly RunnerSummary[]): number | undefined {
  const starts = summaries.map((summary) => summary.start).filter((start) => start > 0);
  if (starts.length < 2) return starts.length === 1 ? 0 : undefined;
  return Math.max(...starts) - Math.min(...starts);
}

/** A snapshot's summary when the runner has begun sending. */
export function snapshotSummary(snapshot: RunnerSnapshot): RunnerSummary | undefined {
  return snapshot.state === 'waiting' ? undefined : snapshot.summary;
}
