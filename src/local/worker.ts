/**
 * The in-process worker of local mode: the LoadTest workflow (the same code the operator's worker runs) with
 * the local activities, on a task queue of its own so that no other worker picks up its runs.
 */
import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createLocalActivities, LocalRunners, LocalStatusBoard } from '../../activities/local/index.js';
import { WORKFLOWS_PATH } from '../temporal/workflow-bundle.js';
import { clientOverWorker, workerDataConverter } from '../temporal/connection.js';
import { createScheduleActivities } from '../../activities/schedules.js';

export interface LocalWorkerOptions {
  connection: NativeConnection;
  /** Temporal namespace. */
  namespace: string;
  /** Default: `loadtest-local-<random>`, unique to this worker. */
  taskQueue?: string;
  /** Runner processes; default a new pool with its own temporary directory. */
  runners?: LocalRunners;
  board?: LocalStatusBoard;
  logger?: Logger;
  /** How often live progress reaches Temporal (heartbeats), ms. Default 1000. */
  progressIntervalMs?: number;
}

export interface LocalWorker {
  taskQueue: string;
  runners: LocalRunners;
  board: LocalStatusBoard;
  /** Stops polling, lets running activities end (runners are stopped), and waits until the worker is done. */
  shutdown(): Promise<void>;
}

export function localTaskQueue(): string {
  return `loadtest-local-${randomUUID().slice(0, 8)}`;
}

export async function startLocalWorker(options: LocalWorkerOptions): Promise<LocalWorker> {
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  const taskQueue = options.taskQueue ?? localTaskQueue();
  const runners = options.runners ?? new LocalRunners({ progressIntervalMs, logger: options.logger });
  const board = options.board ?? new LocalStatusBoard();
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue,
    dataConverter: workerDataConverter(),
    workflowBundle: await workflowBundle(),
    activities: {
      // spec.schedule works locally too: the dev server keeps the Schedule while local mode runs.
      ...createScheduleActivities(clientOverWorker(options.connection, options.namespace)),
      ...createLocalActivities({
        runners,
        board,
        logger: options.logger,
        heartbeatIntervalMs: progressIntervalMs,
      }),
    },
    // Heartbeats carry live progress: send them as often as they are made, not at 80% of the heartbeat timeout.
    maxHeartbeatThrottleInterval: progressIntervalMs,
    shutdownGraceTime: '10s',
  });
  const running = worker.run();
  return {
    taskQueue,
    runners,
    board,
    shutdown: async () => {
      // Runners first: activities waiting on them then end, and the worker can drain.
      await runners.stopAll();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * The workflow code bundled once per process (a few seconds of webpack), shared by every local worker. Calling
 * it early (while a server starts) takes the bundling off the critical path.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return bundle;
}

const ignore = () => {};
/** The bundler reports its progress at info; local mode keeps quiet (errors reach the caller as exceptions). */
const quietBundlerLogger = { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };
