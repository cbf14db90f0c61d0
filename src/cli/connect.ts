/** Reaching Temporal and the LoadTest a NAME argument means, with failures as one-line CliErrors. */
import { LoadTestRuns } from '../client/runs.js';
import type { LoadTestRun } from '../client/run.js';
import { parseLoadTestWorkflowId } from '../loadtest/workflow-id.js';
import { oneLine, temporalTarget, unavailableError, usageError, type TemporalFlags } from './common.js';

/** Connects to Temporal, or fails with one line naming the address and how to change it. */
export async function connectRuns(flags: TemporalFlags): Promise<LoadTestRuns> {
  const target = temporalTarget(flags);
  try {
    return await LoadTestRuns.connect(target);
  } catch (error) {
    throw unavailableError(
      `cannot reach Temporal at ${target.address} (${oneLine(error)}); set TEMPORAL_ADDRESS or --temporal-address`,
    );
  }
}

/** The LoadTest a NAME argument means: a workflow id as is, else the newest LoadTest of that name. */
export async function locate(runs: LoadTestRuns, name: string, namespace: string): Promise<LoadTestRun> {
  if (parseLoadTestWorkflowId(name) !== undefined) return runs.get(name);
  const found = await runs.find(namespace, name);
  if (found === undefined) throw usageError(`no LoadTest "${name}" in namespace "${namespace}" (see: list -A)`);
  return found;
}
