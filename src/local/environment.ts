/**
 * Everything local mode needs in one call: a Temporal server (the given one, or an embedded dev server), an
 * in-process worker running the LoadTest workflow with local activities, and a client bound to that worker's
 * task queue. Nothing here calls Runtime.install: a program that wants the worker's logs elsewhere does so first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LoadTestRuns } from '../client/runs.js';
import { connectClient, connectWorker } from '../temporal/connection.js';
import { localTemporal, type LocalTemporal } from './temporal.js';
import { startLocalWorker, workflowBundle, type LocalWorker } from './worker.js';
import { LocalRunners } from '../../activities/local/index.js';

export interface LocalEnvironmentOptions {
  /** An existing Temporal server, host:port; default: start an embedded dev server. */
  temporalAddress?: string;
  /** Temporal namespace. Default `default`. */
  temporalNamespace?: string;
  /** Web UI of an existing server, for links. */
  uiUrl?: string;
  /** Whether an embedded server serves the Web UI. Default true. */
  ui?: boolean;
  /** Where logs, runner summaries and start-at files go. Default: a new temporary directory, removed by close(). */
  workDir?: string;
  /** How often runners report progress and the worker heartbeats it, ms. Default 1000. */
  progressIntervalMs?: number;
  /** Executable and leading arguments that run `loadtest-operator`. Default: this package's CLI on this Node. */
  runnerCommand?: readonly string[];
  logger?: Logger;
}

export interface LocalEnvironment {
  temporal: LocalTemporal;
  /** A client whose start() puts LoadTests on this environment's worker. */
  runs: LoadTestRuns;
  worker: LocalWorker;
  workDir: string;
  /** Stops the worker (and any runner still running), closes connections and stops an embedded server. */
  close(): Promise<void>;
}

export async function startLocalEnvironment(options: LocalEnvironmentOptions = {}): Promise<LocalEnvironment> {
  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'loadtest-local-')));
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
  };
  try {
    // Bundle the workflow code while the server starts; startLocalWorker picks the bundle up.
    const bundled = workflowBundle();
    bundled.catch(() => {}); // awaited (and reported) by startLocalWorker
    const temporal = await localTemporal({
      address: options.temporalAddress,
      namespace: options.temporalNamespace,
      uiUrl: options.uiUrl,
      ui: options.ui,
      logDir: workDir,
    });
    cleanups.push(() => temporal.stop());
    // An embedded dev server speaks plain gRPC, whatever TLS settings the environment has for another server.
    const security = options.temporalAddress === undefined ? {} : undefined;
    const target = { address: temporal.address, namespace: temporal.namespace, security };
    const connection = await connectWorker(target);
    cleanups.push(() => connection.close());
    const runners = new LocalRunners({
      command: options.runnerCommand,
      workDir,
      progressIntervalMs: options.progressIntervalMs,
      logger: options.logger,
    });
    const worker = await startLocalWorker({
      connection,
      namespace: temporal.namespace,
      runners,
      logger: options.logger,
      progressIntervalMs: options.progressIntervalMs,
    });
    cleanups.push(() => worker.shutdown());
    const client = await connectClient(target);
    cleanups.push(() => client.connection.close());
    const runs = new LoadTestRuns(client, { taskQueue: worker.taskQueue });
    return { temporal, runs, worker, workDir, close };
  } catch (error) {
    await close();
    throw error;
  }
}
