/**
 * `run FILE` in a cluster: apply the LoadTest (what `kubectl apply --server-side -f FILE` does), wait for the
 * operator's watcher to start its workflow, then follow the generation just applied until it settles.
 * Interrupting stops following only: the LoadTest is declared in the cluster and keeps running there.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { apiStatusCode, describeApiError } from '../k8s/index.js';
import { parseDurationMs } from '../loadtest/duration.js';
import type { LoadTestRun } from '../client/run.js';
import { CliError, EXIT, interruptSignal, unavailableError, usageError, type TemporalFlags } from './common.js';
import { connectEither } from './connect.js';
import { follow, reportKubernetesOutcome, reportOutcome, type OutputFormat } from './follow.js';
import { watchKubernetes } from './from-kubernetes.js';
import { connectKubernetes } from './kubernetes.js';
import type { LoadTestManifest } from './load-file.js';

export interface ClusterRunSettings extends TemporalFlags {
  manifest: LoadTestManifest;
  output: OutputFormat;
  /** Apply and return without following. */
  detach?: boolean;
  /** How long the operator may take to start the workflow, e.g. "60s". */
  startTimeout?: string;
}

export async function runInCluster(settings: ClusterRunSettings): Promise<number> {
  const { manifest, output } = settings;
  const say = (line: string) => (output === 'json' ? process.stderr : process.stdout).write(`${line}\n`);
  const startTimeoutMs = durationOption('--start-timeout', settings.startTimeout ?? '60s');
  const kubernetes = connectKubernetes(settings);
  let object;
  try {
    object = await kubernetes.apply(manifest);
  } catch (error) {
    const code = apiStatusCode(error);
    const reason = describeApiError(error);
    const message = `cannot apply LoadTest ${manifest.namespace}/${manifest.name}: ${reason}`;
    // Bad input: the API server (CRD schema, CEL rules) rejected the object (422/400), or its namespace does
    // not exist or is being deleted. Anything else means the cluster could not be reached or could not take it.
    const badInput =
      code === 422 ||
      code === 400 ||
      (code === 404 && /^namespaces ".*" not found$/.test(reason)) ||
      (code === 403 && /because it is being terminated$/.test(reason));
    throw badInput ? usageError(message) : unavailableError(message);
  }
  const ref = { namespace: manifest.namespace, name: manifest.name, uid: object.metadata.uid };
  const generation = object.metadata.generation ?? 1;
  say(`loadtest.example.org/${manifest.name} applied in namespace ${manifest.namespace} (generation ${generation})`);
  if (settings.detach === true) {
    if (output === 'json') process.stdout.write(`${JSON.stringify({ ref, generation }, null, 2)}\n`);
    return EXIT.ok;
  }

  const source = await connectEither(settings);
  const interrupt = interruptSignal();
  try {
    if (source.kubernetes !== undefined) {
      // Temporal unreachable from here (the operator may still reach it): follow `.status` instead.
      const progress = output === 'json' ? process.stderr : process.stdout;
      const settled = await watchKubernetes(kubernetes, manifest.namespace, manifest.name, {
        generation,
        signal: interrupt.signal,
        progress,
        startTimeout: { ms: startTimeoutMs, why: `is it running? (from here: ${source.temporalError.message})` },
      });
      return reportKubernetesOutcome(settled, output);
    }
    const run = source.runs.get(ref, { generation });
    await awaitWorkflow(run, startTimeoutMs, interrupt.signal);
    say(`Workflow  ${run.workflowId}`);
    const outcome = await follow(run, { output, generation, signal: interrupt.signal });
    return reportOutcome(outcome, output, { workflowId: run.workflowId });
  } catch (error) {
    if (interrupt.signal.aborted) {
      say(
        `Stopped following; the LoadTest keeps running. Follow it again: kubectl loadtest watch ${manifest.name} -n ${manifest.namespace}`,
      );
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    interrupt.dispose();
    await source.runs?.close();
  }
}

/** Waits until the watcher has started the LoadTest's workflow (it reacts to the object's creation). */
async function awaitWorkflow(run: LoadTestRun, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await run.handle.describe();
      return;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `the operator did not start LoadTest ${run.ref.namespace}/${run.ref.name} within ${timeoutMs / 1000}s; ` +
          'is its watcher running and connected to this Temporal server?',
        EXIT.unavailable,
      );
    }
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function durationOption(flag: string, text: string): number {
  try {
    return parseDurationMs(text);
  } catch {
    throw usageError(`${flag} "${text}" is not a duration such as 30s or 2m`);
  }
}
