/**
 * One run of a LoadTest as a workflow of its own, whose close status is the verdict: Completed when the run
 * finished, Failed (its message is `.status.message`) when it failed, Cancelled when a newer generation, a delete
 * or a Replace schedule cut it short. The LoadTest's workflow starts one as a child for each generation applied;
 * the LoadTest's Temporal Schedule starts one for each tick. Either way the run reports to the LoadTest's
 * workflow as it goes, which keeps the `status` query, `.status.history` and the applySpec Update whole.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { LOADTEST_GONE } from '../activities/types.js';
import type { RunVerdict } from '../src/loadtest/run-history.js';
import { loadTestWorkflowId } from '../src/loadtest/workflow-id.js';
import { fanOut } from './activity-options.js';
import {
  applySpecReplySignal,
  applySpecRequestSignal,
  LOADTEST_RUN_FAILED,
  runReportSignal,
  statusQuery,
  type ApplySpecReply,
  type RunReport,
  type RunWorkflowInput,
  type SettledRun,
  type ValidRun,
} from './definitions.js';
import { Generation, isLoadTestGone, LEAN_RUN_PATCH, timingWithDefaults } from './generation.js';

/** Set by Temporal on every workflow a Schedule starts: the tick's time. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export async function loadTestRunWorkflow(input: RunWorkflowInput): Promise<SettledRun> {
  const { loadTest, desired, trigger } = input;
  const { workflowId } = workflowInfo();
  const scheduledTime = trigger === 'schedule' ? scheduledTimeOf() : undefined;
  // A tick's runners are named by its time, so overlapping runs (Allow) never meet; a generation's by its number.
  const runnersKey = scheduledTime === undefined ? desired.generation : Math.floor(Date.parse(scheduledTime) / 1000);
  let changed = false;
  let applied: ValidRun | undefined;
  const lean = patched(LEAN_RUN_PATCH);
  /**
   * A generation's run in the lean way reports only its executing state and live changes: its parent knows it
   * started it (pending) and reads its verdict from its result; live views are read from the run itself (the
   * client reads its heartbeats). A scheduled run's parent knows nothing else of it, so it reports every state.
   */
  const reportsOnlyWhatParentCannotKnow = lean && trigger === 'apply';
  const generation = new Generation(loadTest, desired, timingWithDefaults(input.timing), undefined, {
    runnersKey,
    overlapping: input.concurrencyPolicy === 'Allow',
    lean,
    onChange: (what) => {
      if (!reportsOnlyWhatParentCannotKnow || (what === 'state' && generation.view.state === 'executing')) {
        changed = true;
      }
    },
  });
  setHandler(statusQuery, () => generation.view);

  const loadTestWorkflow = getExternalWorkflowHandle(loadTestWorkflowId(loadTest));
  let loadTestWorkflowGone = false;
  const tell = async (send: () => Promise<void>) => {
    if (loadTestWorkflowGone) return;
    try {
      await send();
    } catch (error) {
      // The LoadTest's workflow has completed (the LoadTest was deleted): nobody is left to tell.
      loadTestWorkflowGone = true;
      log.info('the LoadTest workflow is gone; the run reports no more', { error: String(error) });
    }
  };
  const report = (final?: RunVerdict): RunReport => {
    const taken = applied;
    applied = undefined;
    return {
      workflowId,
      trigger,
      scheduledTime,
      run: generation.settled(),
      progress: generation.view.progress,
      startAtMs: generation.startedSendingAtMs,
      ...(taken === undefined ? {} : { applied: taken }),
      ...(final === undefined ? {} : { final }),
    };
  };

  setHandler(applySpecRequestSignal, async ({ requestId, next }) => {
    let reply: ApplySpecReply;
    try {
      generation.checkLive(next);
      reply = { requestId, applied: await generation.applyLive(next) };
      applied = next;
      changed = true;
    } catch (error) {
      const type = error instanceof ApplicationFailure ? (error.type ?? 'Error') : 'Error';
      reply = { requestId, refused: { type, message: error instanceof Error ? error.message : String(error) } };
    }
    await tell(() => loadTestWorkflow.signal(applySpecReplySignal, reply));
  });

  // Reports coalesce: one signal in flight at a time carries every change made meanwhile.
  let over = false;
  const reporting = CancellationScope.nonCancellable(async () => {
    for (;;) {
      await condition(() => changed || over);
      if (over) return;
      changed = false;
      await tell(() => loadTestWorkflow.signal(runReportSignal, report()));
    }
  });
  const finish = async (verdict: RunVerdict) => {
    over = true;
    await reporting;
    if (reportsOnlyWhatParentCannotKnow) return;
    await tell(() => loadTestWorkflow.signal(runReportSignal, report(verdict)));
  };

  try {
    await generation.runOrFail();
    await generation.cleanUp();
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(async () => {
        // A generation's run is cancelled by the LoadTest's workflow, which then deletes every runner itself;
        // a scheduled run is cancelled by its Schedule (Replace), and nobody else would.
        if (trigger === 'schedule') {
          await fanOut("delete the run's runners: the run was cancelled").deleteRunners({
            loadTest,
            onlyGeneration: runnersKey,
          });
        }
        await finish('cancelled');
      });
      throw error;
    }
    if (isLoadTestGone(error)) {
      await CancellationScope.nonCancellable(() => finish('cancelled'));
      throw ApplicationFailure.create({
        type: LOADTEST_GONE,
        message: 'the LoadTest was deleted during the run',
        nonRetryable: true,
      });
    }
    throw error;
  }
  const settled = generation.settled();
  const verdict: RunVerdict = settled.state === 'finished' ? 'finished' : 'failed';
  await finish(verdict);
  if (verdict === 'failed') {
    throw ApplicationFailure.create({
      type: LOADTEST_RUN_FAILED,
      message: settled.message,
      nonRetryable: true,
      details: [settled],
    });
  }
  return settled;
}

/** The tick a Schedule started this run for (ISO); the run's start when Temporal did not say. */
function scheduledTimeOf(): string {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  return (scheduled ?? info.startTime).toISOString();
}
