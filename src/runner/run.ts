/**
 * Runs one runner programmatically: plan (validate), wait for the synchronised start, send (on as many threads
 * as the plan says, src/runner/threads.ts), summarise.
 * The `runner` CLI command is a thin layer over this.
 */
import type { LoadTestResults } from '../loadtest/spec.js';
import { progressLine, RUNNER_EXIT, type RunnerSummary } from './contract.js';
import { executePlan } from './engine.js';
import { mergeSummaries } from './merge.js';
import { planRun, type RunOptions, type RunPlan } from './plan.js';
import { waitForControlledStart, type LiveRun } from './run-control.js';
import { waitForStart } from './start-sync.js';
import { runThreads } from './threads.js';

export interface RunnerResult {
  plan: RunPlan;
  /** Full summary, histograms at recording precision (see fitSummary() for the termination message). */
  summary: RunnerSummary;
  /** The summary decoded into percentiles (a merge of this one runner). */
  results: LoadTestResults;
  /** RUNNER_EXIT.ok, or RUNNER_EXIT.requestsFailed when any request failed or was dropped. */
  exitCode: number;
}

/** 0 when every request got an accepted status; 1 when any failed or (open model) could not be sent. */
export function exitCodeFor(summary: RunnerSummary): number {
  return summary.failed > 0 || summary.dropped > 0 ? RUNNER_EXIT.requestsFailed : RUNNER_EXIT.ok;
}

/** Throws UsageError (before sending anything) when the options are invalid. */
export async function runRunner(options: RunOptions): Promise<RunnerResult> {
  const plan = planRun(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const control = options.control;
  if (control !== undefined) return runControlled(options, plan, control, log);
  const start = () =>
    waitForStart({
      startAtMs: options.startAtMs,
      startAtFile: options.startAtFile,
      waitLimitMs: options.startAtWaitLimitMs,
      signal: options.signal,
      log,
    });
  const onProgress = options.onProgress ?? ((progress) => process.stderr.write(progressLine(progress)));
  let summary: RunnerSummary;
  if (plan.threads > 1) {
    summary = await runThreads(options, plan.threads, onProgress, start);
  } else {
    summary = await executePlan(plan, {
      // The model and connections are set up while waiting: work done after the start instant made runners that
      // were told one instant begin up to ~200 ms apart on a busy node (bench:start-skew).
      startAt: start().then(() => performance.now()),
      signal: options.signal,
      progressIntervalMs: options.progressIntervalMs,
      onProgress,
    });
  }
  return { plan, summary, results: mergeSummaries([summary]), exitCode: exitCodeFor(summary) };
}

/**
 * A run with a control endpoint (run-control.ts): its start comes from the controller too, POST /v1/stop stops
 * it like the abort signal, and the controller sees the live run for snapshots and changes.
 */
async function runControlled(
  options: RunOptions,
  plan: RunPlan,
  control: NonNullable<RunOptions['control']>,
  log: (line: string) => void,
): Promise<RunnerResult> {
  control.bind(plan);
  const signal =
    options.signal === undefined ? control.stopSignal : AbortSignal.any([options.signal, control.stopSignal]);
  const start = () => waitForControlledStart(options, control, signal, log);
  const onProgress = options.onProgress ?? ((progress) => process.stderr.write(progressLine(progress)));
  let summary: RunnerSummary;
  if (plan.threads > 1) {
    summary = await runThreads({ ...options, signal }, plan.threads, onProgress, start, {
      onLive: (live) => control.attach(live),
    });
  } else {
    summary = await executePlan(plan, {
      startAt: start().then(() => performance.now()),
      signal,
      progressIntervalMs: options.progressIntervalMs,
      onProgress,
      onLive: (engine) => {
        const live: LiveRun = {
          startedAtMs: engine.startedAtMs,
          snapshot: () => Promise.resolve(engine.snapshot()),
          change: (change) => Promise.resolve(engine.change(change, engine.elapsedMs())),
        };
        control.attach(live);
      },
    });
  }
  control.ended(summary);
  return { plan, summary, results: mergeSummaries([summary]), exitCode: exitCodeFor(summary) };
}
