/**
 * One workflow per LoadTest object, alive as long as the object: it runs the current generation of the spec
 * (pending → executing → finished | failed), then waits for the next generation or for deletion.
 *
 * - `update` with a newer generation: stop the run, delete its runners, continue as new with the new spec.
 * - `delete`: stop the run, delete the runners, complete.
 * - History stays small: every generation starts a fresh run (continueAsNew), and an idle workflow that has
 *   gathered many signals continues as new carrying its settled outcome.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LoadTestActivities, LoadTestEvent, RunnerFailure, StatusReport } from '../activities/types.js';
import { LOADTEST_GONE } from '../activities/types.js';
import { currentDetails, describeTarget } from '../src/loadtest/describe.js';
import type { LoadTestState, ThresholdResult } from '../src/loadtest/spec.js';
import { evaluateThresholds, thresholdMessage } from '../src/runner/thresholds.js';
import {
  LOADTEST_GENERATION,
  LOADTEST_NAME,
  LOADTEST_NAMESPACE,
  LOADTEST_STATE,
} from '../src/temporal/search-attributes.js';
import {
  deleteSignal,
  statusQuery,
  updateSignal,
  type DesiredRun,
  type LoadTestWorkflowInput,
  type LoadTestWorkflowResult,
  type LoadTestWorkflowStatus,
  type SettledRun,
} from './definitions.js';
import { describeResults, expectedRunMs } from './messages.js';

const DEFAULT_RUNNING_TIMEOUT_MS = 300_000;
const DEFAULT_START_DELAY_MS = 3000;
const DEFAULT_IDLE_HISTORY_LIMIT = 2000;

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' };

/**
 * Quick calls to the backend's API. Every call carries a summary that says what the step does, shown for the
 * activity in the Temporal Web UI.
 */
const quick = (summary: string) => proxyActivities<LoadTestActivities>({ startToCloseTimeout: '1m', retry, summary });
/** Creating runners can take a while for many replicas; cancellation waits so no runner appears after cleanup. */
const creation = (summary: string) =>
  proxyActivities<LoadTestActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
    summary,
  });
const runnersLabel = (count: number) => (count === 1 ? '1 runner' : `${count} runners`);

export async function loadTestWorkflow(input: LoadTestWorkflowInput): Promise<LoadTestWorkflowResult> {
  const { loadTest } = input;
  const timing = {
    runningTimeoutMs: input.timing?.runningTimeoutMs ?? DEFAULT_RUNNING_TIMEOUT_MS,
    startDelayMs: input.timing?.startDelayMs ?? DEFAULT_START_DELAY_MS,
    idleHistoryLimit: input.timing?.idleHistoryLimit ?? DEFAULT_IDLE_HISTORY_LIMIT,
  };
  /** The generation this run of the workflow handles; a newer one means continue as new. */
  const current = input.desired;
  let desired: DesiredRun = input.desired;
  let deleteRequested = input.deleteRequested ?? false;

  const view: LoadTestWorkflowStatus = input.settled
    ? { ...input.settled, progress: { step: 'settled', replicas: current.spec.replicas, created: 0 } }
    : {
        state: 'pending',
        generation: current.generation,
        children: [],
        message: '',
        progress: { step: 'validating', replicas: current.spec.replicas, created: 0 },
      };
  let startTime = input.settled?.startTime;
  let completionTime = input.settled?.completionTime;

  setHandler(updateSignal, (next) => {
    if (next.generation > desired.generation) desired = next;
  });
  setHandler(deleteSignal, () => {
    deleteRequested = true;
  });
  setHandler(statusQuery, () => view);

  /** Keeps the Web UI's "current details" in step with the status query. */
  const showDetails = () =>
    setCurrentDetails(
      currentDetails(loadTest, current.spec, {
        state: view.state,
        generation: view.generation,
        step: view.progress.step,
        message: view.message,
        children: view.children,
        results: view.results,
        thresholds: view.thresholds,
      }),
    );
  const enterStep = (step: LoadTestWorkflowStatus['progress']['step']) => {
    view.progress.step = step;
    showDetails();
  };
  showDetails();

  const interrupted = () => deleteRequested || desired.generation > current.generation;

  const publish = async (state: LoadTestState, message: string, extra: Partial<StatusReport> = {}) => {
    view.state = state;
    view.message = message;
    if (state === 'finished' || state === 'failed') view.progress.step = 'settled';
    showDetails();
    upsertSearchAttributes([
      { key: LOADTEST_NAMESPACE, value: loadTest.namespace },
      { key: LOADTEST_NAME, value: loadTest.name },
      { key: LOADTEST_STATE, value: state },
      { key: LOADTEST_GENERATION, value: current.generation },
    ]);
    await quick(`set state ${state}`).publishStatus({
      loadTest,
      status: {
        state,
        generation: current.generation,
        children: view.children,
        message,
        startTime,
        completionTime,
        results: view.results,
        thresholds: view.thresholds,
        transitionTime: now().toISOString(),
        ...extra,
      },
    });
  };
  const record = (event: Omit<LoadTestEvent, 'generation'>) =>
    quick(`post ${event.type} event ${event.reason}`).recordEvent({
      loadTest,
      event: { ...event, generation: current.generation },
    });

  const fail = async (message: string) => {
    completionTime = now().toISOString();
    log.warn('LoadTest failed', { message });
    await publish('failed', message);
    await record({ type: 'Warning', reason: 'Failed', message });
  };

  const runnerFailed = async (failure: RunnerFailure) => {
    // Stop the runners still sending: their results no longer count. Finished ones stay for inspection.
    await quick('delete the runners still sending').deleteRunners({ loadTest, keepFinished: true });
    await fail(`runner ${failure.runner} ${failure.reason}`);
  };

  /** Runs the current generation once: pending → executing → finished | failed. */
  const run = async (): Promise<void> => {
    const { spec, generation } = current;
    startTime = now().toISOString();
    completionTime = undefined;
    await publish('pending', `starting ${spec.replicas} runner(s) for generation ${generation}`);
    if (current.problems !== undefined && current.problems.length > 0) {
      return fail(`invalid spec: ${current.problems.join('; ')}`);
    }
    // Leftovers of earlier generations (a cleanup interrupted by a crash) must not run alongside this one.
    await quick('delete runners of earlier generations').deleteRunners({ loadTest, exceptGeneration: generation });

    enterStep('checking-target');
    const target = await quick(`check the target ${describeTarget(spec, loadTest.namespace)}`).checkTarget({
      loadTest,
      spec,
    });
    if (!target.ok) return fail(target.reason);

    enterStep('creating-runners');
    view.children = await creation(`create ${runnersLabel(spec.replicas)}`).createRunners({
      loadTest,
      generation,
      spec,
    });
    view.progress.created = view.children.length;
    await publish('pending', `waiting for ${view.children.length} runner(s) to start`);
    await record({ type: 'Normal', reason: 'RunnersCreated', message: `created runners ${view.children.join(', ')}` });

    enterStep('awaiting-runners');
    const runners = { loadTest, generation, runners: view.children };
    const running = await proxyActivities<LoadTestActivities>({
      startToCloseTimeout: timing.runningTimeoutMs + 60_000,
      heartbeatTimeout: '30s',
      retry,
      summary: `wait for ${runnersLabel(view.children.length)} to start`,
    }).awaitRunnersRunning({ ...runners, timeoutMs: timing.runningTimeoutMs });
    if (running.kind === 'failed') return runnerFailed(running);

    enterStep('starting-runners');
    const startAtMs = now().getTime() + timing.startDelayMs;
    const expectedMs = expectedRunMs(spec);
    view.progress.startAt = new Date(startAtMs).toISOString();
    view.progress.expectedEnd = expectedMs === undefined ? undefined : new Date(startAtMs + expectedMs).toISOString();
    await quick(`start ${runnersLabel(view.children.length)} at ${view.progress.startAt}`).startRunners({
      ...runners,
      startAtMs,
    });
    await publish('executing', `${view.children.length} runner(s) start at ${view.progress.startAt}`);
    await record({ type: 'Normal', reason: 'Executing', message: `runners start at ${view.progress.startAt}` });

    enterStep('running');
    const completed = await proxyActivities<LoadTestActivities>({
      // A heartbeat every few seconds notices a lost worker; the overall limit only catches runaway runs.
      startToCloseTimeout: expectedMs === undefined ? '24h' : timing.startDelayMs + expectedMs + 3_600_000,
      heartbeatTimeout: '30s',
      retry,
      summary: `wait for ${runnersLabel(view.children.length)} to finish and merge their results`,
    }).awaitRunnersCompleted(runners);
    if (completed.kind === 'failed') return runnerFailed(completed);

    completionTime = now().toISOString();
    view.results = completed.results;
    let thresholds: ThresholdResult[];
    try {
      thresholds = evaluateThresholds(completed.results, spec.thresholds ?? []);
    } catch (error) {
      return fail(`invalid thresholds: ${error instanceof Error ? error.message : String(error)}`);
    }
    view.thresholds = thresholds.length > 0 ? thresholds : undefined;
    const breached = thresholds.filter((threshold) => !threshold.passed);
    if (breached.length > 0) {
      return fail(breached.map((threshold) => thresholdMessage(threshold, completed.results)).join('; '));
    }
    const summary = describeResults(completed.results);
    await publish('finished', summary);
    await record({ type: 'Normal', reason: 'Finished', message: summary });
  };

  /** Runs `work` until it ends or the workflow is interrupted (update or delete); true when it ended by itself. */
  const untilInterrupted = async (work: () => Promise<void>): Promise<boolean> => {
    const scope = new CancellationScope();
    const done = scope.run(work);
    const finished = await Promise.race([done.then(() => true), condition(interrupted).then(() => false)]);
    if (finished) return true;
    scope.cancel();
    try {
      await done;
    } catch (error) {
      if (!isCancellation(error)) throw error;
    }
    return false;
  };

  /** A run whose activity failed for good (not retryable) ends failed, saying which step failed and why. */
  const runOrFail = async () => {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof ActivityFailure) || isGone(error) || isCancellation(error)) throw error;
      await fail(`${error.activityType} failed: ${error.cause?.message ?? error.message}`);
    }
  };

  try {
    if (input.settled === undefined || input.settled.generation !== current.generation) {
      if (!interrupted()) await untilInterrupted(runOrFail);
    }
    enterStep('settled');
    // Idle: wait for the next generation or deletion; keep history short meanwhile.
    await condition(
      () =>
        interrupted() ||
        workflowInfo().continueAsNewSuggested ||
        workflowInfo().historyLength > timing.idleHistoryLimit,
    );
  } catch (error) {
    if (!isGone(error)) throw error;
    log.info('LoadTest is gone; cleaning up');
    deleteRequested = true;
  }

  if (deleteRequested) {
    enterStep('cleaning-up');
    const deletedRunners = await CancellationScope.nonCancellable(() =>
      quick('delete all runners: the LoadTest was deleted').deleteRunners({ loadTest }),
    );
    log.info('LoadTest deleted; runners deleted', { deletedRunners });
    return { reason: 'deleted', deletedRunners };
  }
  if (desired.generation > current.generation) {
    enterStep('cleaning-up');
    await CancellationScope.nonCancellable(() =>
      quick(`delete all runners: generation ${desired.generation} replaces them`).deleteRunners({ loadTest }),
    );
    log.info('new generation; continuing as new', { from: current.generation, to: desired.generation });
    return continueAsNew<typeof loadTestWorkflow>({ loadTest, desired, deleteRequested, timing: input.timing });
  }
  const settled: SettledRun = {
    generation: current.generation,
    state: view.state,
    children: view.children,
    message: view.message,
    startTime,
    completionTime,
    results: view.results,
    thresholds: view.thresholds,
  };
  return continueAsNew<typeof loadTestWorkflow>({
    loadTest,
    desired: current,
    settled,
    deleteRequested,
    timing: input.timing,
  });
}

/** Workflow time: inside the workflow sandbox `Date` is Temporal's deterministic clock, so replays agree. */
function now(): Date {
  return new Date();
}

function isGone(error: unknown): boolean {
  return (
    error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === LOADTEST_GONE
  );
}
