/**
 * One generation of a LoadTest, run once: pending → executing → finished | failed. It keeps the view the
 * `status` query and the Web UI show, publishes each state through the backend's activities, and posts Events.
 * The workflow entry (loadtest.ts) decides when a generation runs, is interrupted, or is carried over.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type {
  ConfigChange,
  LoadTestEvent,
  RunnerFailure,
  RunnersCompleted,
  RunnersRef,
  StatusReport,
  ThresholdAbort,
} from '../activities/types.js';
import { LOADTEST_GONE } from '../activities/types.js';
import { currentDetails, describeResults, describeTarget, expectedRunMs } from '../src/loadtest/describe.js';
import { loadTestSearchAttributes } from '../src/loadtest/search-attributes.js';
import type { LoadTestResults, LoadTestSpec, LoadTestState, ThresholdResult } from '../src/loadtest/spec.js';
import { parseDurationMs } from '../src/loadtest/duration.js';
import { abortRules, evaluateThresholds, thresholdMessage, thresholdTexts } from '../src/loadtest/thresholds.js';
import type { LoadTestRef } from '../src/loadtest/workflow-id.js';
import { fanOut, quickCall, quickLocal, runnerCreation, runnerWait } from './activity-options.js';
import {
  replicasOf,
  SPEC_NEEDS_RESTART,
  SPEC_REJECTED,
  validSpecOf,
  type DesiredRun,
  type SpecApplied,
  type ValidRun,
  type LoadTestWorkflowStatus,
  type RunProgress,
  type RunStep,
  type RunTiming,
  type SettledRun,
} from './definitions.js';

const runnersLabel = (count: number) => (count === 1 ? '1 runner' : `${count} runners`);

/**
 * Workflow patch: runners are started, watched and stopped through their control endpoints; the wait for them
 * returns the live view every REPORT_EVERY so the query and the Web UI show it, and live spec changes apply.
 */
export const RUNNER_CONTROL_PATCH = 'runner-control-endpoint';
/** Workflow patch: spec.timeout bounds the whole run; taken only by runs whose spec has a timeout. */
export const RUN_TIMEOUT_PATCH = 'run-timeout';
/** Workflow patch: runner pods are deleted once the run settles, per spec.cleanup (README "Lifecycle"). */
export const RUN_CLEANUP_PATCH = 'run-cleanup';
/**
 * Workflow patch (run.ts and loadtest.ts): the lean run. Quick calls are local activities, a state and its Event
 * are one call, runners are created with the cleanup of older ones and started by the wait for them, search
 * attributes change only with the state, and a generation's run reports only what its parent cannot know.
 */
export const LEAN_RUN_PATCH = 'lean-run';
/** How long runners told to stop (spec.timeout) have to end and report before the run ends without their results. */
const COLLECT_AFTER_STOP_MS = 30_000;
/**
 * Up to this many runners, the lean run deletes them in a local activity: ten at a time, well within its 15 s.
 * More go through the fan-out activity, which heartbeats per runner.
 */
const LOCAL_CLEANUP_MAX_RUNNERS = 50;
/** Longer timers than this (about 10 years) are cut to it: a timeout that long means none. */
const MAX_TIMER_MS = 315_360_000_000;
/** The least time between two live views the workflow takes in (each costs a few history events). */
const REPORT_EVERY_MS = 10_000;
/** At most this many live views per run, so a long soak test's history stays bounded. */
const REPORTS_PER_RUN = 30;

const DEFAULT_TIMING: Required<RunTiming> = {
  runningTimeoutMs: 300_000,
  startDelayMs: 3000,
  idleHistoryLimit: 2000,
};

/** `timing` with every unset field at the default that suits a real cluster. */
export function timingWithDefaults(timing: RunTiming | undefined): Required<RunTiming> {
  return {
    runningTimeoutMs: timing?.runningTimeoutMs ?? DEFAULT_TIMING.runningTimeoutMs,
    startDelayMs: timing?.startDelayMs ?? DEFAULT_TIMING.startDelayMs,
    idleHistoryLimit: timing?.idleHistoryLimit ?? DEFAULT_TIMING.idleHistoryLimit,
  };
}

export class Generation {
  /** What the `status` query answers. */
  readonly view: LoadTestWorkflowStatus;
  private startTime?: string;
  private completionTime?: string;
  private spec: LoadTestSpec | undefined;
  /**
   * The generation the runners were created for (their names and labels); live changes do not change it. A
   * scheduled run uses its own key (the tick time in epoch seconds), so overlapping runs never share a runner.
   */
  private readonly runnersGeneration: number;
  /** Runs of this LoadTest may overlap (schedule, Allow): leave other runs' runners alone. */
  private readonly overlapping: boolean;
  private readonly onChange?: (what: 'state' | 'live') => void;
  /** The lean run (LEAN_RUN_PATCH): fewer activities and history events; see run(). */
  private readonly lean: boolean;
  /** The search attributes last set (`state/generation`): the lean run sets them only when they change. */
  private shownSearchAttributes?: string;
  /** When the runners start (or started) sending, epoch ms. */
  private startAtMs?: number;
  /** Live changes apply one at a time, in order. */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly loadTest: LoadTestRef,
    private desired: DesiredRun,
    private readonly timing: Required<RunTiming>,
    /** The outcome carried over by continueAsNew when this generation has already run. */
    settled?: SettledRun,
    /**
     * `onChange`: the view changed in a way the LoadTest's workflow shows (a published state, a live view).
     * `lean`: run the lean way (LEAN_RUN_PATCH); the run starts with search attributes pending/its generation.
     */
    options: {
      runnersKey?: number;
      overlapping?: boolean;
      onChange?: (what: 'state' | 'live') => void;
      lean?: boolean;
    } = {},
  ) {
    this.spec = validSpecOf(desired);
    this.runnersGeneration = options.runnersKey ?? desired.generation;
    this.overlapping = options.overlapping ?? false;
    this.onChange = options.onChange;
    this.lean = options.lean ?? false;
    if (this.lean) this.shownSearchAttributes = `pending/${desired.generation}`;
    const replicas = replicasOf(desired);
    this.view = settled
      ? { ...settled, progress: { step: 'settled', replicas, created: 0 } }
      : {
          state: 'pending',
          generation: desired.generation,
          children: [],
          message: '',
          progress: { step: 'validating', replicas, created: 0 },
        };
    this.startTime = settled?.startTime;
    this.completionTime = settled?.completionTime;
    this.showDetails();
  }

  /** When the runners start (or started) sending, epoch ms. */
  get startedSendingAtMs(): number | undefined {
    return this.startAtMs;
  }

  /**
   * Takes in what a run workflow reported (workflows/run.ts), so the LoadTest workflow's query, Web UI details,
   * applySpec validator and carried outcome show the run as it is.
   */
  mirror(report: { run: SettledRun; progress: RunProgress; startAtMs?: number; applied?: ValidRun }): void {
    const { run } = report;
    if (run.state !== this.view.state || run.generation !== this.view.generation) {
      upsertSearchAttributes(loadTestSearchAttributes(this.loadTest, run.state, run.generation));
    }
    if (report.applied !== undefined) {
      this.desired = report.applied;
      this.spec = report.applied.spec;
    }
    Object.assign(this.view, {
      state: run.state,
      generation: run.generation,
      children: run.children,
      message: run.message,
      results: run.results,
      thresholds: run.thresholds,
      progress: report.progress,
    });
    this.startTime = run.startTime;
    this.completionTime = run.completionTime;
    this.startAtMs = report.startAtMs;
    this.showDetails();
  }

  /** Which runners a cleanup may delete: this run's alone when runs overlap, else every runner of the LoadTest. */
  private ownRunners(): { onlyGeneration?: number } {
    return this.overlapping ? { onlyGeneration: this.runnersGeneration } : {};
  }

  /** The outcome to carry across continueAsNew: the last status this generation reported. */
  settled(): SettledRun {
    const { view } = this;
    return {
      generation: this.desired.generation,
      state: view.state,
      children: view.children,
      message: view.message,
      startTime: this.startTime,
      completionTime: this.completionTime,
      results: view.results,
      thresholds: view.thresholds,
    };
  }

  /** A scheduled LoadTest between runs: shows `message` in `.status` (state pending until its first run). */
  async announce(message: string): Promise<void> {
    this.view.progress.step = 'settled';
    await this.publish('pending', message);
  }

  enterStep(step: RunStep): void {
    this.view.progress.step = step;
    this.showDetails();
  }

  /**
   * Runs the generation within `spec.timeout` when it has one (workflow time from the run's start): when it
   * passes, the run is cut short and ends failed (timedOut).
   */
  async runOrFail(): Promise<void> {
    const timeout = this.spec?.timeout;
    // The lean run is newer than these patches: it has no need to ask (and a patch marker costs two events).
    if (timeout === undefined || !(this.lean || patched(RUN_TIMEOUT_PATCH))) return this.runCatching();
    const scope = new CancellationScope();
    const running = scope.run(() => this.runCatching());
    const timer = new CancellationScope();
    const timedOut = await Promise.race([
      running.then(() => false),
      timer.run(() => sleep(Math.min(parseDurationMs(timeout), MAX_TIMER_MS))).then(() => true),
    ]);
    if (!timedOut) {
      timer.cancel();
      return;
    }
    const step = this.view.progress.step;
    // Already settled, only recording it: the outcome stands.
    if (step === 'settled') return running;
    scope.cancel();
    try {
      await running;
    } catch (error) {
      if (!isCancellation(error)) throw error;
    }
    await this.timedOut(timeout, step);
  }

  /** Runs the generation; an activity that failed for good (not retryable) ends it failed, naming the step. */
  private async runCatching(): Promise<void> {
    try {
      await this.run();
    } catch (error) {
      if (!(error instanceof ActivityFailure) || isLoadTestGone(error) || isCancellation(error)) throw error;
      await this.fail(`${error.activityType} failed: ${error.cause?.message ?? error.message}`);
    }
  }

  private async run(): Promise<void> {
    const { loadTest, view, timing } = this;
    const { generation } = this.desired;
    this.startTime = now().toISOString();
    this.completionTime = undefined;
    await this.publish('pending', `starting ${replicasOf(this.desired)} runner(s) for generation ${generation}`);
    const spec = this.spec;
    if (spec === undefined) return this.fail(`invalid spec: ${(this.desired.problems ?? []).join('; ')}`);
    if (this.lean) return this.runLean(spec);
    // Leftovers of earlier generations (a cleanup interrupted by a crash) must not run alongside this one.
    if (!this.overlapping) {
      await fanOut('delete runners of earlier generations').deleteRunners({
        loadTest,
        exceptGeneration: this.runnersGeneration,
      });
    }

    if (!(await this.targetReachable(spec, quickCall))) return;

    this.enterStep('creating-runners');
    view.children = await runnerCreation(`create ${runnersLabel(spec.replicas)}`).createRunners({
      loadTest,
      generation: this.runnersGeneration,
      spec,
    });
    view.progress.created = view.children.length;
    await this.publish('pending', `waiting for ${view.children.length} runner(s) to start`);
    await this.record({
      type: 'Normal',
      reason: 'RunnersCreated',
      message: `created runners ${view.children.join(', ')}`,
    });

    this.enterStep('awaiting-runners');
    const runners = { loadTest, generation: this.runnersGeneration, runners: view.children };
    const running = await runnerWait(
      `wait for ${runnersLabel(view.children.length)} to start`,
      timing.runningTimeoutMs + 60_000,
    ).awaitRunnersRunning({ ...runners, timeoutMs: timing.runningTimeoutMs });
    if (running.kind === 'failed') return this.runnerFailed(running);

    this.enterStep('starting-runners');
    const startAtMs = now().getTime() + timing.startDelayMs;
    this.startAtMs = startAtMs;
    const expectedMs = expectedRunMs(spec);
    view.progress.startAt = new Date(startAtMs).toISOString();
    view.progress.expectedEnd = expectedMs === undefined ? undefined : new Date(startAtMs + expectedMs).toISOString();
    await fanOut(`start ${runnersLabel(view.children.length)} at ${view.progress.startAt}`).startRunners({
      ...runners,
      startAtMs,
    });
    // Running from here on: the executing state is published (and reported) with the step it is in.
    this.enterStep('running');
    await this.publish('executing', `${view.children.length} runner(s) start at ${view.progress.startAt}`);
    await this.record({ type: 'Normal', reason: 'Executing', message: `runners start at ${view.progress.startAt}` });

    const completed = patched(RUNNER_CONTROL_PATCH)
      ? await this.watchRunners(runners, startAtMs, expectedMs)
      : await runnerWait(
          `wait for ${runnersLabel(view.children.length)} to finish and merge their results`,
          expectedMs === undefined ? '24h' : timing.startDelayMs + expectedMs + 3_600_000,
        ).awaitRunnersCompleted(runners);
    if (completed.kind === 'failed') return this.runnerFailed(completed);
    if (completed.kind === 'progress') throw new Error('unreachable: watchRunners returns a settled outcome');
    await this.settle(spec, completed);
  }

  /** The runners succeeded: records their merged results and ends finished, or failed on a breached threshold. */
  private async settle(spec: LoadTestSpec, completed: Extract<RunnersCompleted, { kind: 'succeeded' }>): Promise<void> {
    const { view } = this;
    // Live changes may have replaced the spec (thresholds, duration) while the runners sent.
    const settledSpec = this.spec ?? spec;
    this.completionTime = now().toISOString();
    view.results = completed.results;
    let thresholds: ThresholdResult[];
    try {
      thresholds = evaluateThresholds(completed.results, thresholdTexts(settledSpec.thresholds));
    } catch (error) {
      return this.fail(`invalid thresholds: ${error instanceof Error ? error.message : String(error)}`);
    }
    view.thresholds = thresholds.length > 0 ? thresholds : undefined;
    if (completed.aborted !== undefined) return this.fail(abortMessage(completed.aborted, completed.results));
    const breached = thresholds.filter((threshold) => !threshold.passed);
    if (breached.length > 0) {
      return this.fail(breached.map((threshold) => thresholdMessage(threshold, completed.results)).join('; '));
    }
    const summary = describeResults(completed.results);
    await this.publishWithEvent('finished', summary, { type: 'Normal', reason: 'Finished', message: summary });
  }

  /**
   * The run, lean (LEAN_RUN_PATCH): the same steps and states as run(), in fewer calls. createRunners also clears
   * older generations' runners and posts RunnersCreated; the wait for the runners also starts them; each state is
   * published with its Event in one local activity. A short run's history is about a third of run()'s.
   */
  private async runLean(spec: LoadTestSpec): Promise<void> {
    const { loadTest, view, timing } = this;
    if (!(await this.targetReachable(spec, quickLocal))) return;

    this.enterStep('creating-runners');
    view.children = await runnerCreation(`create ${runnersLabel(spec.replicas)}`).createRunners({
      loadTest,
      generation: this.runnersGeneration,
      spec,
      // Leftovers of earlier generations (a cleanup interrupted by a crash) must not run alongside this one.
      replaceOthers: !this.overlapping,
      createdEvent: { generation: this.desired.generation },
    });
    view.progress.created = view.children.length;

    this.enterStep('awaiting-runners');
    const runners = { loadTest, generation: this.runnersGeneration, runners: view.children };
    const running = await runnerWait(
      `wait for ${runnersLabel(view.children.length)} to start, then start them`,
      timing.runningTimeoutMs + 60_000,
    ).awaitRunnersRunning({ ...runners, timeoutMs: timing.runningTimeoutMs, startDelayMs: timing.startDelayMs });
    if (running.kind === 'failed') return this.runnerFailed(running);
    let startAtMs = running.startAtMs;
    if (startAtMs === undefined) {
      // A worker older than the lean run answered (a rolling upgrade): it only waited, so start them as before.
      startAtMs = now().getTime() + timing.startDelayMs;
      await fanOut(`start ${runnersLabel(view.children.length)}`).startRunners({ ...runners, startAtMs });
    }
    this.startAtMs = startAtMs;
    const expectedMs = expectedRunMs(spec);
    view.progress.startAt = new Date(startAtMs).toISOString();
    view.progress.expectedEnd = expectedMs === undefined ? undefined : new Date(startAtMs + expectedMs).toISOString();
    this.enterStep('running');
    await this.publish('executing', `${view.children.length} runner(s) start at ${view.progress.startAt}`, undefined, {
      type: 'Normal',
      reason: 'Executing',
      message: `runners start at ${view.progress.startAt}`,
    });

    const completed = await this.watchRunners(runners, startAtMs, expectedMs);
    if (completed.kind === 'failed') return this.runnerFailed(completed);
    await this.settle(spec, completed);
  }

  /** Checks the test's target (through `call`); when it cannot be reached, the run ends failed saying why. */
  private async targetReachable(spec: LoadTestSpec, call: typeof quickCall): Promise<boolean> {
    this.enterStep('checking-target');
    const target = await call(`check the target ${describeTarget(spec, this.loadTest.namespace)}`).checkTarget({
      loadTest: this.loadTest,
      spec,
    });
    if (!target.ok) await this.fail(target.reason);
    return target.ok;
  }

  /**
   * Waits for the runners in rounds: each round ends with the merged live view (shown in the query and the Web
   * UI), or with the outcome. The activity itself polls the runners, writes `.status.progress` and stops every
   * runner on a breached abortOnFail threshold.
   */
  private async watchRunners(
    runners: RunnersRef,
    startAtMs: number,
    expectedMs: number | undefined,
  ): Promise<Exclude<RunnersCompleted, { kind: 'progress' }>> {
    const reportAfterMs = Math.max(REPORT_EVERY_MS, Math.round((expectedMs ?? 0) / REPORTS_PER_RUN));
    let lost: string[] = [];
    for (;;) {
      const spec = this.spec!;
      const outcome = await runnerWait(
        `watch ${runnersLabel(runners.runners.length)}: live results, abort thresholds, final merge`,
        reportAfterMs + 600_000,
      ).awaitRunnersCompleted({
        ...runners,
        watch: {
          startAtMs,
          reportAfterMs,
          abort: abortRules(spec.thresholds, parseDurationMs),
          onRunnerFailure: spec.onRunnerFailure,
          lost,
        },
      });
      if (outcome.kind !== 'progress') return outcome;
      lost = outcome.lost;
      this.view.progress.live = outcome.live;
      this.showDetails();
      this.onChange?.('live');
    }
  }

  /**
   * spec.timeout passed at `step`: stops every runner, collects what they measured when they were sending (the
   * waiting activity merges their summaries as usual, leaving out a runner that left none), deletes whatever did
   * not end, and ends failed `timed out after <timeout> (<step>)` with the results so far.
   */
  private async timedOut(timeout: string, step: RunStep): Promise<void> {
    const { loadTest, view } = this;
    log.warn('spec.timeout passed: stopping the run', { timeout, step });
    const runners: RunnersRef = { loadTest, generation: this.runnersGeneration, runners: view.children };
    let results: LoadTestResults | undefined;
    if (runners.runners.length > 0) {
      const count = runnersLabel(runners.runners.length);
      await fanOut(`stop ${count}: spec.timeout ${timeout} passed`).stopRunners(runners);
      if (step === 'running' && this.startAtMs !== undefined) {
        const collected = await runnerWait(
          `collect what ${count} measured up to the stop`,
          COLLECT_AFTER_STOP_MS + 60_000,
        ).awaitRunnersCompleted({
          ...runners,
          watch: {
            startAtMs: this.startAtMs,
            reportAfterMs: COLLECT_AFTER_STOP_MS,
            onRunnerFailure: 'continue',
            stopped: true,
          },
        });
        if (collected.kind === 'succeeded') results = collected.results;
      }
    }
    // A runner that had not started (no endpoint yet) or did not answer the stop must not send on.
    await fanOut('delete the runners that did not end').deleteRunners({
      loadTest,
      keepFinished: true,
      ...this.ownRunners(),
    });
    view.results = results;
    view.thresholds = undefined;
    const measured = results === undefined ? '' : `; ${describeResults(results)}`;
    await this.fail(`timed out after ${timeout} (${step})${measured}`);
  }

  /**
   * Runner pods once the run settled, per spec.cleanup (unset: delete them when the run finished, keep them when
   * it failed, for inspection). Returns the runners it deleted.
   */
  async cleanUp(): Promise<string[]> {
    const { view } = this;
    if (view.state !== 'finished' && view.state !== 'failed') return [];
    const policy = this.spec?.cleanup ?? (view.state === 'finished' ? 'delete' : 'keep');
    if (policy === 'keep' || view.children.length === 0 || !(this.lean || patched(RUN_CLEANUP_PATCH))) return [];
    const why = this.spec?.cleanup === undefined ? `the run ${view.state}` : `spec.cleanup ${policy}`;
    // A few runners are deleted in a second: a local activity (one event) instead of a fan-out (six).
    const call = this.lean && view.children.length <= LOCAL_CLEANUP_MAX_RUNNERS ? quickLocal : fanOut;
    return call(`delete the runners: ${why}`).deleteRunners({ loadTest: this.loadTest, ...this.ownRunners() });
  }

  /**
   * How long until spec.ttlSecondsAfterFinished deletes the LoadTest, ms (0: now), counted from when the run
   * settled; undefined without a TTL, or when the run has not settled.
   */
  ttlRemainingMs(): number | undefined {
    const ttl = this.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined || (this.view.state !== 'finished' && this.view.state !== 'failed')) return undefined;
    const settledAt = this.completionTime === undefined ? now().getTime() : Date.parse(this.completionTime);
    return Math.max(0, settledAt + ttl * 1000 - now().getTime());
  }

  /**
   * The applySpec validator: throws SPEC_NEEDS_RESTART when the run cannot take `next` live (the sender then
   * restarts it), SPEC_REJECTED when `next` cannot be applied at all; returns when it can be applied.
   */
  checkLive(next: DesiredRun): void {
    const restart = (why: string) => {
      throw ApplicationFailure.create({ type: SPEC_NEEDS_RESTART, message: why, nonRetryable: true });
    };
    if (next.generation <= this.desired.generation) {
      throw ApplicationFailure.create({
        type: SPEC_REJECTED,
        message: `generation ${next.generation} is not newer than ${this.desired.generation}`,
        nonRetryable: true,
      });
    }
    const current = this.spec;
    const spec = validSpecOf(next);
    if (current === undefined || spec === undefined) return restart('the spec is not valid');
    if (this.view.progress.step !== 'running' || this.startAtMs === undefined) {
      return restart(`the run is not sending (step ${this.view.progress.step})`);
    }
    const others = (s: LoadTestSpec) =>
      stableJson({ ...s, thresholds: undefined, test: { ...s.test, rate: undefined, duration: undefined } });
    if (others(current) !== others(spec)) {
      return restart('fields other than test.rate, test.duration and thresholds changed');
    }
    if (spec.test.rate !== current.test.rate && (spec.test.rate === undefined || current.test.rate === undefined)) {
      return restart('test.rate was added or removed: that changes the load model');
    }
    if (spec.test.duration !== current.test.duration) {
      if (spec.test.duration === undefined || current.test.duration === undefined) {
        return restart('test.duration was added or removed: that changes how the run ends');
      }
      const elapsedMs = now().getTime() - this.startAtMs;
      const durationMs = parseDurationMs(spec.test.duration);
      if (durationMs <= elapsedMs) {
        throw ApplicationFailure.create({
          type: SPEC_REJECTED,
          message:
            `test.duration ${spec.test.duration} is not longer than the ${Math.round(elapsedMs / 1000)}s the run ` +
            'has already lasted',
          nonRetryable: true,
        });
      }
    }
  }

  /** The applySpec handler: applies a change checkLive accepted to the running runners. */
  applyLive(next: ValidRun): Promise<SpecApplied> {
    const applying = this.applying.then(() => this.applyNow(next));
    this.applying = applying.catch(() => undefined);
    return applying;
  }

  private async applyNow(next: ValidRun): Promise<SpecApplied> {
    const current = this.spec!;
    const change: ConfigChange = {};
    const what: string[] = [];
    if (next.spec.test.rate !== current.test.rate) {
      change.rate = next.spec.test.rate;
      what.push(`test.rate ${current.test.rate} → ${next.spec.test.rate}`);
    }
    if (next.spec.test.duration !== current.test.duration) {
      change.durationMs = parseDurationMs(next.spec.test.duration!);
      what.push(`test.duration ${current.test.duration} → ${next.spec.test.duration}`);
    }
    if (stableJson(next.spec.thresholds ?? []) !== stableJson(current.thresholds ?? [])) what.push('thresholds');
    let runners = this.view.children.length;
    let refused = '';
    if (change.rate !== undefined || change.durationMs !== undefined) {
      const result = await fanOut(`apply ${what.join(', ')} to the running runners`).changeRunners({
        loadTest: this.loadTest,
        generation: this.runnersGeneration,
        runners: this.view.children,
        change,
      });
      runners = result.applied.length;
      if (result.refused.length > 0) {
        refused = `; refused by ${result.refused.map((r) => `${r.runner} (${r.reason})`).join(', ')}`;
      }
    }
    this.desired = next;
    this.spec = next.spec;
    const expectedMs = expectedRunMs(next.spec);
    if (expectedMs !== undefined && this.startAtMs !== undefined) {
      this.view.progress.expectedEnd = new Date(this.startAtMs + expectedMs).toISOString();
    }
    this.view.generation = next.generation;
    const message = `generation ${next.generation} applied without a restart: ${what.join(', ') || 'no change'}${refused}`;
    await this.publishWithEvent(
      this.view.state,
      this.view.message,
      { type: refused === '' ? 'Normal' : 'Warning', reason: 'SpecApplied', message },
      {
        status: refused === '' ? 'True' : 'False',
        reason: refused === '' ? 'AppliedLive' : 'PartlyApplied',
        message,
        generation: next.generation,
      },
    );
    return { generation: next.generation, runners, message };
  }

  /** A live change the validator refused for good: the run goes on untouched; the condition says why. */
  async reportRejected(generation: number, reason: string): Promise<void> {
    const message = `generation ${generation} was not applied: ${reason}; the run goes on with generation ${this.desired.generation}`;
    await this.publishWithEvent(
      this.view.state,
      this.view.message,
      { type: 'Warning', reason: 'SpecRejected', message },
      { status: 'False', reason: 'Rejected', message, generation },
    );
  }

  /** Keeps the Web UI's "current details" in step with the status query. */
  private showDetails(): void {
    const { view } = this;
    setCurrentDetails(
      currentDetails(this.loadTest, this.spec, {
        state: view.state,
        generation: view.generation,
        step: view.progress.step,
        message: view.message,
        children: view.children,
        results: view.results,
        thresholds: view.thresholds,
        live: view.state === 'executing' ? view.progress.live : undefined,
      }),
    );
  }

  /** Publishes a state and records its Event: one call in the lean run, two before it. */
  private async publishWithEvent(
    state: LoadTestState,
    message: string,
    event: Omit<LoadTestEvent, 'generation'>,
    specApplied?: StatusReport['specApplied'],
  ): Promise<void> {
    if (this.lean) return this.publish(state, message, specApplied, event);
    await this.publish(state, message, specApplied);
    await this.record(event);
  }

  private async publish(
    state: LoadTestState,
    message: string,
    specApplied?: StatusReport['specApplied'],
    event?: Omit<LoadTestEvent, 'generation'>,
  ): Promise<void> {
    const { loadTest, view } = this;
    view.state = state;
    view.message = message;
    if (state === 'finished' || state === 'failed') view.progress.step = 'settled';
    this.showDetails();
    // What the LoadTest's workflow mirrors changes with each published state and live view, not each step:
    // one report per state keeps a run's history short (a report is two events).
    this.onChange?.('state');
    const searchAttributes = `${state}/${this.desired.generation}`;
    if (!this.lean || searchAttributes !== this.shownSearchAttributes) {
      this.shownSearchAttributes = searchAttributes;
      upsertSearchAttributes(loadTestSearchAttributes(loadTest, state, this.desired.generation));
    }
    const status: StatusReport = {
      state,
      generation: this.desired.generation,
      children: view.children,
      message,
      startTime: this.startTime,
      completionTime: this.completionTime,
      results: view.results,
      thresholds: view.thresholds,
      transitionTime: now().toISOString(),
      ...(specApplied === undefined ? {} : { specApplied }),
    };
    if (!this.lean) return quickCall(`set state ${state}`).publishStatus({ loadTest, status });
    await quickLocal(
      event === undefined ? `set state ${state}` : `set state ${state}, post ${event.reason}`,
    ).publishStatus({
      loadTest,
      status,
      ...(event === undefined ? {} : { event: { ...event, generation: this.desired.generation } }),
    });
  }

  private record(event: Omit<LoadTestEvent, 'generation'>): Promise<void> {
    return quickCall(`post ${event.type} event ${event.reason}`).recordEvent({
      loadTest: this.loadTest,
      event: { ...event, generation: this.desired.generation },
    });
  }

  private async fail(message: string): Promise<void> {
    this.completionTime = now().toISOString();
    log.warn('LoadTest failed', { message });
    await this.publishWithEvent('failed', message, { type: 'Warning', reason: 'Failed', message });
  }

  private async runnerFailed(failure: RunnerFailure): Promise<void> {
    // Stop the runners still sending: their results no longer count. Finished ones stay for inspection.
    await fanOut('delete the runners still sending').deleteRunners({
      loadTest: this.loadTest,
      keepFinished: true,
      ...this.ownRunners(),
    });
    await this.fail(`runner ${failure.runner} ${failure.reason}`);
  }
}

/** `threshold "p99 < 250ms" breached 12.3s into the run (p99 was 1203ms): every runner stopped; ...`. */
function abortMessage(aborted: ThresholdAbort, results: LoadTestResults): string {
  const [metric] = aborted.threshold.split(/[\s<>{]/);
  return (
    `threshold "${aborted.threshold}" breached ${Math.round(aborted.afterMs / 100) / 10}s into the run ` +
    `(${metric} was ${aborted.actual}${unitOf(aborted.threshold)}): every runner stopped (abortOnFail); ` +
    describeResults(results)
  );
}

function unitOf(threshold: string): string {
  return /(ms|us|s|%)\s*$/.exec(threshold)?.[1] ?? '';
}

/** JSON with sorted keys, so two equal specs compare equal whatever their key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field !== null && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => a.localeCompare(b)))
      : field,
  );
}

/** Workflow time: inside the workflow sandbox `Date` is Temporal's deterministic clock, so replays agree. */
function now(): Date {
  return new Date();
}

/** The activity found the LoadTest gone (deleted, or recreated with another uid): clean up and complete. */
export function isLoadTestGone(error: unknown): boolean {
  return (
    error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === LOADTEST_GONE
  );
}
