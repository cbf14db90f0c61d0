/**
 * One workflow per LoadTest object, alive as long as the object: it runs the current generation of the spec
 * (generation.ts), then waits for the next generation or for deletion.
 *
 * - `update` with a newer generation: stop the run, delete its runners, continue as new with the new spec.
 * - `delete`: stop the run, delete the runners, complete.
 * - Once the run settles: its runners are deleted per spec.cleanup, and with spec.ttlSecondsAfterFinished the
 *   LoadTest itself is deleted that long after (then the workflow completes as for any delete).
 * - History stays small: every generation starts a fresh run (continueAsNew), and an idle workflow that has
 *   gathered many signals continues as new carrying its settled outcome.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { quickCall } from './activity-options.js';
import {
  applySpecUpdate,
  deleteSignal,
  specRejectedSignal,
  statusQuery,
  updateSignal,
  type DesiredRun,
  type LoadTestWorkflowInput,
  type LoadTestWorkflowResult,
  type RunTiming,
  type ValidRun,
} from './definitions.js';
import { Generation, isLoadTestGone } from './generation.js';

/** Workflow patch: spec.ttlSecondsAfterFinished deletes the LoadTest; taken only by runs whose spec has a TTL. */
export const LOADTEST_TTL_PATCH = 'loadtest-ttl';

const DEFAULT_TIMING: Required<RunTiming> = {
  runningTimeoutMs: 300_000,
  startDelayMs: 3000,
  idleHistoryLimit: 2000,
};

export async function loadTestWorkflow(input: LoadTestWorkflowInput): Promise<LoadTestWorkflowResult> {
  const { loadTest } = input;
  const timing: Required<RunTiming> = {
    runningTimeoutMs: input.timing?.runningTimeoutMs ?? DEFAULT_TIMING.runningTimeoutMs,
    startDelayMs: input.timing?.startDelayMs ?? DEFAULT_TIMING.startDelayMs,
    idleHistoryLimit: input.timing?.idleHistoryLimit ?? DEFAULT_TIMING.idleHistoryLimit,
  };
  /**
   * The generation this run of the workflow handles; a newer one means continue as new, unless it was applied
   * to the running runners (applySpec), which makes it current.
   */
  let current = input.desired;
  let desired: DesiredRun = input.desired;
  let deleteRequested = input.deleteRequested ?? false;

  setHandler(updateSignal, (next) => {
    if (next.generation > desired.generation) desired = next;
  });
  setHandler(deleteSignal, () => {
    deleteRequested = true;
  });
  const generation = new Generation(loadTest, current, timing, input.settled);
  setHandler(statusQuery, () => generation.view);
  setHandler(
    applySpecUpdate,
    async (next) => {
      // Taken at once, so a signal of the same generation arriving meanwhile is not mistaken for a restart.
      current = next;
      if (next.generation > desired.generation) desired = next;
      return generation.applyLive(next as ValidRun);
    },
    { validator: (next: DesiredRun) => generation.checkLive(next) },
  );
  setHandler(specRejectedSignal, async ({ generation: rejected, reason }) => {
    if (rejected > current.generation && generation.view.progress.step === 'running') {
      await generation.reportRejected(rejected, reason);
    }
  });

  const interrupted = () => deleteRequested || desired.generation > current.generation;

  try {
    if (input.settled === undefined || input.settled.generation !== current.generation) {
      if (!interrupted() && (await untilInterrupted(() => generation.runOrFail(), interrupted))) {
        await generation.cleanUp();
      }
    }
    generation.enterStep('settled');
    // Idle: wait for the next generation or deletion; keep history short meanwhile.
    const idleOver = () =>
      interrupted() || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > timing.idleHistoryLimit;
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
  } catch (error) {
    if (!isLoadTestGone(error)) throw error;
    log.info('LoadTest is gone; cleaning up');
    deleteRequested = true;
  }

  if (deleteRequested) {
    generation.enterStep('cleaning-up');
    const deletedRunners = await CancellationScope.nonCancellable(() =>
      quickCall('delete all runners: the LoadTest was deleted').deleteRunners({ loadTest }),
    );
    log.info('LoadTest deleted; runners deleted', { deletedRunners });
    return { reason: 'deleted', deletedRunners };
  }
  if (desired.generation > current.generation) {
    generation.enterStep('cleaning-up');
    await CancellationScope.nonCancellable(() =>
      quickCall(`delete all runners: generation ${desired.generation} replaces them`).deleteRunners({ loadTest }),
    );
    log.info('new generation; continuing as new', { from: current.generation, to: desired.generation });
    return continueAsNew<typeof loadTestWorkflow>({ loadTest, desired, deleteRequested, timing: input.timing });
  }
  return continueAsNew<typeof loadTestWorkflow>({
    loadTest,
    desired: current,
    settled: generation.settled(),
    deleteRequested,
    timing: input.timing,
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
