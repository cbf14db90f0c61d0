/**
 * One generation of a LoadTest, run once: pending → executing → finished | failed. It keeps the view the
 * `status` query and the Web UI show, publishes each state through the backend's activities, and posts Events.
 * The workflow entry (loadtest.ts) decides when a generation runs, is interrupted, or is carried over.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { LoadTestEvent, RunnerFailure, StatusReport } from '../activities/types.js';
import { LOADTEST_GONE } from '../activities/types.js';
import { currentDetails, describeResults, describeTarget, expectedRunMs } from '../src/loadtest/describe.js';
import { loadTestSearchAttributes } from '../src/loadtest/search-attributes.js';
import type { LoadTestSpec, LoadTestState, ThresholdResult } from '../src/loadtest/spec.js';
import { evaluateThresholds, thresholdMessage, thresholdTexts } from '../src/loadtest/thresholds.js';
import type { LoadTestRef } from '../src/loadtest/workflow-id.js';
import { quickCall, runnerCreation, runnerWait } from './activity-options.js';
import {
  replicasOf,
  validSpecOf,
  type DesiredRun,
  type LoadTestWorkflowStatus,
  type RunStep,
  type RunTiming,
  type SettledRun,
} from './definitions.js';

const runnersLabel = (count: number) => (count === 1 ? '1 runner' : `${count} runners`);

export class Generation {
  /** What the `status` query answers. */
  readonly view: LoadTestWorkflowStatus;
  private startTime?: string;
  private completionTime?: string;
  private readonly spec: LoadTestSpec | undefined;

  constructor(
    private readonly loadTest: LoadTestRef,
    private readonly desired: DesiredRun,
    private readonly timing: Required<RunTiming>,
    /** The outcome carried over by continueAsNew when this generation has already run. */
    settled?: SettledRun,
  ) {
    this.spec = validSpecOf(desired);
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

  enterStep(step: RunStep): void {
    this.view.progress.step = step;
    this.showDetails();
  }

  /** Runs the generation; an activity that failed for good (not retryable) ends it failed, naming the step. */
  async runOrFail(): Promise<void> {
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
    // Leftovers of earlier generations (a cleanup interrupted by a crash) must not run alongside this one.
    await quickCall('delete runners of earlier generations').deleteRunners({ loadTest, exceptGeneration: generation });

    this.enterStep('checking-target');
    const target = await quickCall(`check the target ${describeTarget(spec, loadTest.namespace)}`).checkTarget({
      loadTest,
      spec,
    });
    if (!target.ok) return this.fail(target.reason);

    this.enterStep('creating-runners');
    view.children = await runnerCreation(`create ${runnersLabel(spec.replicas)}`).createRunners({
      loadTest,
      generation,
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
    const runners = { loadTest, generation, runners: view.children };
    const running = await runnerWait(
      `wait for ${runnersLabel(view.children.length)} to start`,
      timing.runningTimeoutMs + 60_000,
    ).awaitRunnersRunning({ ...runners, timeoutMs: timing.runningTimeoutMs });
    if (running.kind === 'failed') return this.runnerFailed(running);

    this.enterStep('starting-runners');
    const startAtMs = now().getTime() + timing.startDelayMs;
    const expectedMs = expectedRunMs(spec);
    view.progress.startAt = new Date(startAtMs).toISOString();
    view.progress.expectedEnd = expectedMs === undefined ? undefined : new Date(startAtMs + expectedMs).toISOString();
    await quickCall(`start ${runnersLabel(view.children.length)} at ${view.progress.startAt}`).startRunners({
      ...runners,
      startAtMs,
    });
    await this.publish('executing', `${view.children.length} runner(s) start at ${view.progress.startAt}`);
    await this.record({ type: 'Normal', reason: 'Executing', message: `runners start at ${view.progress.startAt}` });

    this.enterStep('running');
    const completed = await runnerWait(
      `wait for ${runnersLabel(view.children.length)} to finish and merge their results`,
      expectedMs === undefined ? '24h' : timing.startDelayMs + expectedMs + 3_600_000,
    ).awaitRunnersCompleted(runners);
    if (completed.kind === 'failed') return this.runnerFailed(completed);

    this.completionTime = now().toISOString();
    view.results = completed.results;
    let thresholds: ThresholdResult[];
    try {
      thresholds = evaluateThresholds(completed.results, thresholdTexts(spec.thresholds));
    } catch (error) {
      return this.fail(`invalid thresholds: ${error instanceof Error ? error.message : String(error)}`);
    }
    view.thresholds = thresholds.length > 0 ? thresholds : undefined;
    const breached = thresholds.filter((threshold) => !threshold.passed);
    if (breached.length > 0) {
      return this.fail(breached.map((threshold) => thresholdMessage(threshold, completed.results)).join('; '));
    }
    const summary = describeResults(completed.results);
    await this.publish('finished', summary);
    await this.record({ type: 'Normal', reason: 'Finished', message: summary });
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
      }),
    );
  }

  private async publish(state: LoadTestState, message: string): Promise<void> {
    const { loadTest, view } = this;
    view.state = state;
    view.message = message;
    if (state === 'finished' || state === 'failed') view.progress.step = 'settled';
    this.showDetails();
    upsertSearchAttributes(loadTestSearchAttributes(loadTest, state, this.desired.generation));
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
    };
    await quickCall(`set state ${state}`).publishStatus({ loadTest, status });
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
    await this.publish('failed', message);
    await this.record({ type: 'Warning', reason: 'Failed', message });
  }

  private async runnerFailed(failure: RunnerFailure): Promise<void> {
    // Stop the runners still sending: their results no longer count. Finished ones stay for inspection.
    await quickCall('delete the runners still sending').deleteRunners({ loadTest: this.loadTest, keepFinished: true });
    await this.fail(`runner ${failure.runner} ${failure.reason}`);
  }
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
