/**
 * One workflow per LoadTest object, alive as long as the object. Each run is a workflow of its own (run.ts) whose
 * close status is the verdict: this workflow starts one as a child for each generation applied, and with
 * spec.schedule keeps a Temporal Schedule that starts one per tick. Runs report here as they go, so the `status`
 * query, the applySpec Update and `.status.history` stay whole.
 *
 * - `update` with a newer generation: cancel the run, delete its runners, continue as new with the new spec.
 * - `delete`: cancel the run (and the schedule's runs), delete the schedule and the runners, complete.
 * - With spec.ttlSecondsAfterFinished the LoadTest itself is deleted that long after its run settles.
 * - History stays small: every generation starts a fresh run (continueAsNew), and an idle workflow that has
 *   gathered many signals continues as new carrying its settled outcome and run history.
 *
 * Histories recorded before RUN_WORKFLOW_PATCH ran each generation inline; they still replay that way.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { LOADTEST_GONE } from '../activities/types.js';
import { loadTestDetails, loadTestSummary } from '../src/loadtest/describe.js';
import {
  DEFAULT_HISTORY_LIMIT,
  headlineNumbers,
  withRunRecord,
  type RunRecord,
  type RunVerdict,
} from '../src/loadtest/run-history.js';
import { loadTestSearchAttributes } from '../src/loadtest/search-attributes.js';
import { loadTestWorkflowId } from '../src/loadtest/workflow-id.js';
import type { LoadTestSpec } from '../src/loadtest/spec.js';
import { fanOut, quickCall, scheduleCall } from './activity-options.js';
import {
  applySpecReplySignal,
  applySpecRequestSignal,
  applySpecUpdate,
  deleteSignal,
  LOADTEST_RUN_FAILED,
  LOADTEST_RUN_WORKFLOW_TYPE,
  replicasOf,
  runReportSignal,
  SPEC_NEEDS_RESTART,
  SPEC_REJECTED,
  specRejectedSignal,
  statusQuery,
  updateSignal,
  validSpecOf,
  type ApplySpecReply,
  type DesiredRun,
  type LoadTestMemo,
  type LoadTestWorkflowInput,
  type LoadTestWorkflowResult,
  type LoadTestWorkflowStatus,
  type RunReport,
  type RunWorkflowInput,
  type ScheduleView,
  type SettledRun,
  type ValidRun,
} from './definitions.js';
import { Generation, isLoadTestGone, LEAN_RUN_PATCH, timingWithDefaults } from './generation.js';
import type { loadTestRunWorkflow } from './run.js';

/** Workflow patch: spec.ttlSecondsAfterFinished deletes the LoadTest; taken only by runs whose spec has a TTL. */
export const LOADTEST_TTL_PATCH = 'loadtest-ttl';
/** Workflow patch: each run is a workflow of its own (run.ts); the run history is kept. */
export const RUN_WORKFLOW_PATCH = 'run-workflow-per-run';

export async function loadTestWorkflow(input: LoadTestWorkflowInput): Promise<LoadTestWorkflowResult> {
  const { loadTest } = input;
  const timing = timingWithDefaults(input.timing);
  // From the input, not workflowInfo(): replays of recorded histories run under other workflow ids.
  const selfId = loadTestWorkflowId(loadTest);
  /**
   * The generation this run of the workflow handles; a newer one means continue as new, unless it was applied
   * to the running runners (applySpec), which makes it current.
   */
  let current = input.desired;
  let desired: DesiredRun = input.desired;
  let deleteRequested = input.deleteRequested ?? false;
  let history: RunRecord[] = input.history ?? [];
  let schedule: ScheduleView | undefined;
  const activeRuns = new Set(input.activeRuns ?? []);
  /** The run this workflow shows and forwards live changes to: its child, or the newest scheduled run. */
  let shownRun: { workflowId: string; scheduledTime?: string } | undefined;
  const reports: RunReport[] = [];
  const replies = new Map<string, ApplySpecReply>();
  const runsAsWorkflows = patched(RUN_WORKFLOW_PATCH);
  const spec = validSpecOf(current);
  const scheduled = runsAsWorkflows && spec?.schedule !== undefined;

  setHandler(updateSignal, (next) => {
    if (next.generation > desired.generation) desired = next;
  });
  setHandler(deleteSignal, () => {
    deleteRequested = true;
  });
  const generation = new Generation(loadTest, current, timing, input.settled);
  setHandler(statusQuery, (): LoadTestWorkflowStatus => ({
    ...generation.view,
    ...(runsAsWorkflows ? { history } : {}),
    ...(schedule === undefined ? {} : { schedule }),
  }));
  setHandler(runReportSignal, (report) => {
    reports.push(report);
    const newer =
      shownRun === undefined ||
      report.workflowId === shownRun.workflowId ||
      (report.scheduledTime !== undefined && report.scheduledTime > (shownRun.scheduledTime ?? ''));
    if (report.trigger === 'schedule' && newer && report.final === undefined) {
      shownRun = { workflowId: report.workflowId, scheduledTime: report.scheduledTime };
    }
    if (shownRun?.workflowId === report.workflowId) {
      generation.mirror(report);
      if (report.applied !== undefined && report.applied.generation > current.generation) current = report.applied;
    }
  });
  setHandler(applySpecReplySignal, (reply) => {
    replies.set(reply.requestId, reply);
  });
  setHandler(
    applySpecUpdate,
    async (next) => {
      // Taken at once, so a signal of the same generation arriving meanwhile is not mistaken for a restart.
      const [previous, previousDesired] = [current, desired];
      current = next;
      if (next.generation > desired.generation) desired = next;
      if (!runsAsWorkflows) return generation.applyLive(next as ValidRun);
      try {
        return await forwardLiveChange(next as ValidRun);
      } catch (error) {
        // The run refused it, as the validator would have: the run goes on as it was, and the sender signals
        // `update` (a restart) or `specRejected`, as the applySpec contract says.
        current = previous;
        if (desired === next) desired = previousDesired;
        throw error;
      }
    },
    {
      validator: (next: DesiredRun) => {
        if (scheduled || validSpecOf(next)?.schedule !== undefined) {
          throw ApplicationFailure.create({
            type: SPEC_NEEDS_RESTART,
            message: 'the LoadTest runs on a schedule: a new spec takes effect from the next tick',
            nonRetryable: true,
          });
        }
        if (!runsAsWorkflows) return generation.checkLive(next);
        if (next.generation <= current.generation) {
          throw ApplicationFailure.create({
            type: SPEC_REJECTED,
            message: `generation ${next.generation} is not newer than ${current.generation}`,
            nonRetryable: true,
          });
        }
        // The run itself decides (its view here may be a report behind); it answers through applySpecReply.
        if (shownRun === undefined) {
          throw ApplicationFailure.create({ type: SPEC_NEEDS_RESTART, message: 'no run is going', nonRetryable: true });
        }
      },
    },
  );
  setHandler(specRejectedSignal, async ({ generation: rejected, reason }) => {
    // With runs as workflows, the mirrored view changes per published state, not per step.
    const sending = runsAsWorkflows
      ? generation.view.state === 'executing'
      : generation.view.progress.step === 'running';
    if (rejected > current.generation && sending) {
      await generation.reportRejected(rejected, reason);
    }
  });

  /** Sends a live change the validator accepted to the run, and answers with what the run made of it. */
  async function forwardLiveChange(next: ValidRun) {
    const run = shownRun?.workflowId;
    const requestId = `spec-${next.generation}`;
    if (run !== undefined) {
      await getExternalWorkflowHandle(run).signal(applySpecRequestSignal, { requestId, next });
      await condition(() => replies.has(requestId) || shownRun?.workflowId !== run);
    }
    const reply = replies.get(requestId);
    replies.delete(requestId);
    if (reply?.applied !== undefined) return reply.applied;
    throw ApplicationFailure.create({
      type: reply?.refused?.type ?? SPEC_NEEDS_RESTART,
      message: reply?.refused?.message ?? 'the run ended before it could take the change',
      nonRetryable: true,
    });
  }

  const historyLimit = () => validSpecOf(current)?.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  /**
   * Writes `.status.history` (and the schedule's times), and the memo `list` reads. `timesFresh`: the schedule's
   * times were just read (upsertSchedule returns them), so the lean run does not read them again.
   */
  async function publishHistory(timesFresh = false): Promise<void> {
    if (schedule !== undefined && !(timesFresh && patched(LEAN_RUN_PATCH))) {
      const times = await scheduleCall("read the schedule's next tick").describeSchedule({
        scheduleId: schedule.scheduleId,
      });
      schedule.nextScheduleTime = times?.nextScheduleTime;
    }
    const last = history[0];
    const memo: LoadTestMemo = {
      schedule:
        schedule === undefined ? undefined : `${schedule.expression}${schedule.suspended ? ' (suspended)' : ''}`,
      lastRun:
        last === undefined
          ? undefined
          : {
              state: last.state,
              completionTime: last.completionTime,
              message: last.message,
              workflowId: last.workflowId,
            },
    };
    upsertMemo(memo as Record<string, unknown>);
    await quickCall('write the run history').publishRunHistory({
      loadTest,
      report: {
        history,
        ...(schedule === undefined
          ? {}
          : {
              lastScheduleTime: schedule.lastScheduleTime ?? null,
              nextScheduleTime: schedule.nextScheduleTime ?? null,
            }),
      },
    });
  }

  function record(
    report: Pick<RunReport, 'workflowId' | 'trigger' | 'scheduledTime'>,
    run: SettledRun,
    state: RunVerdict,
    message?: string,
  ) {
    history = withRunRecord(
      history,
      {
        workflowId: report.workflowId,
        trigger: report.trigger,
        generation: run.generation,
        ...(report.scheduledTime === undefined ? {} : { scheduledTime: report.scheduledTime }),
        ...(run.startTime === undefined ? {} : { startTime: run.startTime }),
        ...(run.completionTime === undefined ? {} : { completionTime: run.completionTime }),
        state,
        message: message ?? run.message,
        ...headlineNumbers(run.results),
      },
      historyLimit(),
    );
  }

  /** Takes in the scheduled runs' reports: a run's first report marks the tick, its last one enters the history. */
  async function takeScheduledReports(): Promise<void> {
    let changed = false;
    for (let report = reports.shift(); report !== undefined; report = reports.shift()) {
      if (report.trigger !== 'schedule') continue;
      if (report.final === undefined) {
        if (activeRuns.has(report.workflowId)) continue;
        activeRuns.add(report.workflowId);
        if (schedule !== undefined && (schedule.lastScheduleTime ?? '') < (report.scheduledTime ?? '')) {
          schedule.lastScheduleTime = report.scheduledTime;
        }
      } else {
        activeRuns.delete(report.workflowId);
        record(report, report.run, report.final);
      }
      changed = true;
    }
    if (changed) await publishHistory();
  }

  /** Runs the current generation as a child workflow and records its verdict; cancelled when interrupted. */
  async function runChild(spec: LoadTestSpec | undefined): Promise<void> {
    const childInput: RunWorkflowInput = { loadTest, desired: current, trigger: 'apply', timing: input.timing };
    const workflowId = `${selfId}/g${current.generation}`;
    // The lean run (generation.ts) reports neither its start nor its end: this workflow shows both itself.
    const lean = patched(LEAN_RUN_PATCH);
    const replicas = replicasOf(current);
    if (lean) {
      shownRun = { workflowId };
      generation.mirror({
        run: {
          generation: current.generation,
          state: 'pending',
          children: [],
          message: `starting ${replicas} runner(s) for generation ${current.generation}`,
        },
        progress: { step: 'validating', replicas, created: 0 },
      });
    }
    const settledView = (run: SettledRun) => {
      if (lean) generation.mirror({ run, progress: { step: 'settled', replicas, created: run.children.length } });
    };
    const child = await startChild<typeof loadTestRunWorkflow>(LOADTEST_RUN_WORKFLOW_TYPE, {
      workflowId,
      args: [childInput],
      typedSearchAttributes: loadTestSearchAttributes(loadTest, 'pending', current.generation),
      staticSummary: loadTestSummary(loadTest, spec),
      staticDetails: loadTestDetails(loadTest, spec),
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      // A terminated LoadTest workflow still lets its run stop and delete its runners.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    shownRun = { workflowId };
    const ref = { workflowId, trigger: 'apply' as const };
    try {
      const settled = await child.result();
      settledView(settled);
      record(ref, settled, 'finished');
    } catch (error) {
      const cause = error instanceof ChildWorkflowFailure ? error.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || cause.type !== LOADTEST_RUN_FAILED) {
        if (isCancellation(error) || (error instanceof ChildWorkflowFailure && isCancellation(error.cause))) {
          record(ref, generation.settled(), 'cancelled', cancelledBecause());
          throw error;
        }
        if (cause instanceof ApplicationFailure && cause.type === LOADTEST_GONE) {
          // The run found the LoadTest deleted: complete as for any delete.
          deleteRequested = true;
          return;
        }
        throw error;
      }
      const settled = (cause.details?.[0] as SettledRun | undefined) ?? generation.settled();
      settledView(settled);
      record(ref, settled, 'failed');
    } finally {
      shownRun = undefined;
    }
    reports.length = 0;
    await publishHistory();
  }

  const cancelledBecause = () =>
    deleteRequested
      ? 'cancelled: the LoadTest was deleted'
      : `cancelled: generation ${desired.generation} replaced generation ${current.generation}`;

  /** Keeps the Temporal Schedule as spec says, then takes in its runs' reports until interrupted or idle over. */
  async function runScheduled(spec: LoadTestSpec & { schedule: string }, idleOver: () => boolean): Promise<void> {
    const scheduleId = selfId;
    const runInput: RunWorkflowInput = {
      loadTest,
      desired: current,
      trigger: 'schedule',
      concurrencyPolicy: spec.concurrencyPolicy ?? 'Forbid',
      timing: input.timing,
    };
    const times = await scheduleCall(`create or update the schedule "${spec.schedule}"`).upsertSchedule({
      scheduleId,
      loadTest,
      generation: current.generation,
      expression: spec.schedule,
      concurrencyPolicy: spec.concurrencyPolicy ?? 'Forbid',
      suspended: spec.suspend ?? false,
      action: {
        workflowType: LOADTEST_RUN_WORKFLOW_TYPE,
        workflowIdPrefix: `${selfId}/scheduled`,
        args: [runInput],
      },
      note: `LoadTest ${loadTest.namespace}/${loadTest.name}, generation ${current.generation}`,
    });
    schedule = {
      expression: spec.schedule,
      scheduleId,
      concurrencyPolicy: spec.concurrencyPolicy ?? 'Forbid',
      suspended: spec.suspend ?? false,
      lastScheduleTime: input.lastScheduleTime ?? times.lastScheduleTime,
      nextScheduleTime: times.nextScheduleTime,
    };
    if (input.settled === undefined || input.settled.generation !== current.generation) {
      const next = schedule.suspended ? 'suspended' : `next run at ${schedule.nextScheduleTime ?? 'none'}`;
      await generation.announce(`scheduled "${spec.schedule}": ${next}`);
    }
    await publishHistory(true);
    for (;;) {
      await condition(() => reports.length > 0 || idleOver());
      if (reports.length === 0) return;
      await takeScheduledReports();
    }
  }

  const interrupted = () => deleteRequested || desired.generation > current.generation;
  // Idle: wait for the next generation or deletion; keep history short meanwhile.
  const idleOver = () =>
    interrupted() || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > timing.idleHistoryLimit;

  try {
    if (scheduled) {
      await runScheduled(spec as LoadTestSpec & { schedule: string }, idleOver);
    } else {
      if (input.settled === undefined || input.settled.generation !== current.generation) {
        if (runsAsWorkflows) {
          if (!interrupted()) await untilInterrupted(() => runChild(spec), interrupted);
        } else if (!interrupted() && (await untilInterrupted(() => generation.runOrFail(), interrupted))) {
          await generation.cleanUp();
        }
      }
      generation.enterStep('settled');
      const ttlMs = generation.ttlRemainingMs();
      if (ttlMs === undefined || !patched(LOADTEST_TTL_PATCH)) {
        await condition(idleOver);
      } else if (!(ttlMs > 0 ? await condition(idleOver, ttlMs) : idleOver())) {
        // spec.ttlSecondsAfterFinished passed: delete the LoadTest, then complete as for any delete.
        generation.enterStep('cleaning-up');
        const deleted = await quickCall('delete the LoadTest: its ttlSecondsAfterFinished passed').deleteLoadTest({
          loadTest,
        });
        log.info('LoadTest deleted after its ttlSecondsAfterFinished', { deleted });
        deleteRequested = true;
      }
    }
  } catch (error) {
    if (!isLoadTestGone(error)) throw error;
    log.info('LoadTest is gone; cleaning up');
    deleteRequested = true;
  }

  const stopSchedule = async (why: string) => {
    if (schedule === undefined) return;
    await CancellationScope.nonCancellable(async () => {
      await scheduleCall(`delete the schedule: ${why}`).deleteSchedule({ scheduleId: schedule!.scheduleId });
      for (const run of activeRuns) {
        await getExternalWorkflowHandle(run)
          .cancel()
          .catch(() => undefined);
      }
      activeRuns.clear();
    });
  };

  if (deleteRequested) {
    generation.enterStep('cleaning-up');
    await stopSchedule('the LoadTest was deleted');
    const deletedRunners = await CancellationScope.nonCancellable(() =>
      fanOut('delete all runners: the LoadTest was deleted').deleteRunners({ loadTest }),
    );
    log.info('LoadTest deleted; runners deleted', { deletedRunners });
    return { reason: 'deleted', deletedRunners };
  }
  const carried = { timing: input.timing, ...(runsAsWorkflows ? { history } : {}) };
  if (desired.generation > current.generation) {
    const nextScheduled = validSpecOf(desired)?.schedule !== undefined;
    if (!(scheduled && nextScheduled)) {
      await stopSchedule(`generation ${desired.generation} has no schedule`);
      generation.enterStep('cleaning-up');
      await CancellationScope.nonCancellable(() =>
        fanOut(`delete all runners: generation ${desired.generation} replaces them`).deleteRunners({ loadTest }),
      );
    } else {
      // The schedule's runs in flight finish with the spec they started with; later ticks take the new one.
      await takeScheduledReports();
    }
    if (runsAsWorkflows && !scheduled) await publishHistory();
    log.info('new generation; continuing as new', { from: current.generation, to: desired.generation });
    return continueAsNew<typeof loadTestWorkflow>({
      loadTest,
      desired,
      deleteRequested,
      ...carried,
      ...(scheduled && nextScheduled
        ? { lastScheduleTime: schedule?.lastScheduleTime, activeRuns: [...activeRuns] }
        : {}),
    });
  }
  if (scheduled) await takeScheduledReports();
  return continueAsNew<typeof loadTestWorkflow>({
    loadTest,
    desired: current,
    settled: generation.settled(),
    deleteRequested,
    ...carried,
    ...(scheduled ? { lastScheduleTime: schedule?.lastScheduleTime, activeRuns: [...activeRuns] } : {}),
  });
}

/** Runs `work` until it ends or `interrupted()` holds (update or delete); true when it ended by itself. */
async function untilInterrupted(work: () => Promise<void>, interrupted: () => boolean): Promise<boolean> {
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
}
