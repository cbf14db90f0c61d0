/** Reaching Temporal and the LoadTest a NAME argument means, with failures as one-line CliErrors. */
import { LoadTestRuns } from '../client/runs.js';
import type { LoadTestRun } from '../client/run.js';
import { parseLoadTestWorkflowId } from '../loadtest/workflow-id.js';
import { CliError, EXIT, oneLine, temporalTarget, unavailableError, usageError, type TemporalFlags } from './common.js';
import { connectKubernetes, type LoadTestWriter } from './kubernetes.js';

/**
 * How long the CLI tries to reach Temporal before it says it cannot (or falls back to the Kubernetes API):
 * shorter than the SDK's 10 s, since a kubectl user without a route to Temporal waits this long each time.
 */
export const TEMPORAL_CONNECT_TIMEOUT_MS = 4000;

/** gRPC UNAUTHENTICATED and PERMISSION_DENIED: the server answered, and said no to who we are. */
const REFUSED_CODES = new Set([16, 7]);

/** What the server said when the SDK's connection failed because it refused the credentials, else undefined. */
function refusedCredentials(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const { code, details } = cause as Error & { code?: unknown; details?: unknown };
    if (typeof code === 'number' && REFUSED_CODES.has(code)) {
      return typeof details === 'string' && details !== '' ? details : oneLine(cause);
    }
  }
  return undefined;
}

/** Connects to Temporal, or fails with one line naming the address and how to change it. */
export async function connectRuns(flags: TemporalFlags): Promise<LoadTestRuns> {
  const target = temporalTarget(flags);
  try {
    return await LoadTestRuns.connect({ ...target, connectTimeoutMs: TEMPORAL_CONNECT_TIMEOUT_MS });
  } catch (error) {
    const refused = refusedCredentials(error);
    if (refused !== undefined) {
      throw unavailableError(
        `Temporal at ${target.address} refused the credentials (${refused}); check TEMPORAL_API_KEY or the TEMPORAL_TLS_* client certificate`,
      );
    }
    throw unavailableError(
      `cannot reach Temporal at ${target.address} (${oneLine(error)}); set TEMPORAL_ADDRESS or --temporal-address`,
    );
  }
}

/**
 * Temporal when it can be reached, else the Kubernetes API alone (the kubectl-plugin mode). Exit 3 only when
 * neither can; a bad --kubeconfig or --context is bad input either way.
 */
export async function connectEither(
  flags: TemporalFlags,
): Promise<
  | { runs: LoadTestRuns; kubernetes?: undefined }
  | { runs?: undefined; kubernetes: LoadTestWriter; temporalError: CliError }
> {
  let temporalError: CliError;
  try {
    return { runs: await connectRuns(flags) };
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== EXIT.unavailable) throw error;
    temporalError = error;
  }
  try {
    const kubernetes = connectKubernetes(flags);
    if (flags.verbose === true) process.stderr.write(`${temporalError.message}; using the Kubernetes API only\n`);
    return { kubernetes, temporalError };
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== EXIT.unavailable) throw error;
    const kubernetesError = error.message.replace(' to run in', '').replace(/; use --local.*$/, '');
    throw unavailableError(`${temporalError.message}; and ${kubernetesError}`);
  }
}

/** The LoadTest a NAME argument means: a workflow id as is, else the newest LoadTest of that name. */
export async function locate(runs: LoadTestRuns, name: string, namespace: string): Promise<LoadTestRun> {
  if (parseLoadTestWorkflowId(name) !== undefined) return runs.get(name);
  const found = await runs.find(namespace, name);
  if (found === undefined) throw usageError(`no LoadTest "${name}" in namespace "${namespace}" (see: list -A)`);
  return found;
}
