/**
 * The typed client for LoadTest workflows: start one without kubectl, find and list them by namespace and name
 * through their search attributes, and get a handle (LoadTestRun) to query, update, delete and await one.
 * It drives the same workflows the watcher starts: same workflow type, ids and input.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config.js';
import {
  LOADTEST_GENERATION,
  LOADTEST_NAME,
  LOADTEST_NAMESPACE,
  LOADTEST_STATE,
} from '../loadtest/search-attributes.js';
import { validateLoadTestSpec, type LoadTestState } from '../loadtest/spec.js';
import { parseLoadTestWorkflowId, type LoadTestRef } from '../loadtest/workflow-id.js';
import { connectClient, type TemporalTarget } from '../temporal/connection.js';
import { LOADTEST_WORKFLOW_TYPE, type RunTiming } from '../../workflows/definitions.js';
import { loadTestStartOptions } from '../../workflows/start.js';
import type { RunRecord } from '../loadtest/run-history.js';
import { parseLoadTestMemo, type LastRun } from './memo.js';
import { InvalidLoadTestSpecError, LoadTestRun, type LoadTestWorkflowFunction } from './run.js';

export interface LoadTestRunsOptions {
  /** Task queue new workflows are started on. Default: TASK_QUEUE, else `loadtest-operator` (the operator's). */
  taskQueue?: string;
}

export interface StartLoadTestOptions {
  /** Namespace of the LoadTest (a label only, when it exists nowhere but in Temporal as in local mode). */
  namespace: string;
  name: string;
  /** uid of the LoadTest object; default a new random one (a LoadTest that has no Kubernetes object). */
  uid?: string;
  /** The spec; validated as the CRD would (InvalidLoadTestSpecError otherwise). */
  spec: unknown;
  /** metadata.generation of the spec. Default 1. */
  generation?: number;
  /** Default: the client's task queue. */
  taskQueue?: string;
  /** Timing overrides for tests and local runs; defaults suit a cluster. */
  timing?: RunTiming;
}

/** A LoadTest workflow as visibility lists it (no call to any worker). */
export interface LoadTestRunInfo {
  ref: LoadTestRef;
  workflowId: string;
  /** Workflow execution status: RUNNING while the LoadTest exists. */
  execution: WorkflowExecutionStatusName;
  state?: LoadTestState;
  generation?: number;
  /** Start of the current run (every generation starts a new one). */
  startTime: Date;
  closeTime?: Date;
  taskQueue: string;
  /** spec.schedule, with " (suspended)" while spec.suspend is true; absent without a schedule (or memo). */
  schedule?: string;
  /** The latest settled run; absent before the first one, and for workflows older than the memo. */
  lastRun?: LastRun;
}

/** Thrown when no workflow (running or closed) is known for a LoadTest's namespace and name. */
export class LoadTestNotFoundError extends Error {
  constructor(
    readonly namespace: string,
    readonly loadTestName: string,
  ) {
    super(
      `no LoadTest workflow for ${namespace}/${loadTestName} in Temporal (never applied here, or not yet visible: ` +
        'visibility lags a workflow just started by a moment)',
    );
    this.name = 'LoadTestNotFoundError';
  }
}

export interface ListOptions {
  /** Only this Kubernetes namespace; default every namespace. */
  namespace?: string;
  name?: string;
  state?: LoadTestState;
  /** Include LoadTests whose workflow has completed (deleted). Default false. */
  includeClosed?: boolean;
  /** At most this many. Default 1000. */
  limit?: number;
}

export class LoadTestRuns {
  readonly taskQueue: string;
  private ownsConnection = false;

  constructor(
    readonly client: Client,
    options: LoadTestRunsOptions = {},
  ) {
    this.taskQueue = options.taskQueue ?? loadConfig().taskQueue;
  }

  /** Connects to Temporal (default: TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE); close() closes the connection. */
  static async connect(target: Partial<TemporalTarget> = {}, options: LoadTestRunsOptions = {}): Promise<LoadTestRuns> {
    const config = loadConfig();
    const client = await connectClient({
      address: target.address ?? config.temporalAddress,
      namespace: target.namespace ?? config.temporalNamespace,
      connectTimeoutMs: target.connectTimeoutMs,
    });
    const runs = new LoadTestRuns(client, options);
    runs.ownsConnection = true;
    return runs;
  }

  /**
   * Starts a LoadTest's workflow, as the watcher does for a new object. Searchable by namespace and name from
   * the start. Throws InvalidLoadTestSpecError for a spec the CRD would reject, and
   * WorkflowExecutionAlreadyStartedError when this LoadTest (same uid) already has a workflow.
   */
  async start(options: StartLoadTestOptions): Promise<LoadTestRun> {
    const { spec, problems } = validateLoadTestSpec(options.spec);
    if (spec === undefined) throw new InvalidLoadTestSpecError(problems);
    const ref: LoadTestRef = { namespace: options.namespace, name: options.name, uid: options.uid ?? randomUUID() };
    const generation = options.generation ?? 1;
    const input = { loadTest: ref, desired: { generation, spec }, timing: options.timing };
    await this.client.workflow.start<LoadTestWorkflowFunction>(
      LOADTEST_WORKFLOW_TYPE,
      loadTestStartOptions(input, options.taskQueue ?? this.taskQueue),
    );
    return new LoadTestRun(this.client, ref, { generation });
  }

  /**
   * A handle on a LoadTest's workflow by its ref or workflow id (no call is made). `generation`: the one its
   * result() awaits, e.g. the metadata.generation of an object just applied.
   */
  get(refOrWorkflowId: LoadTestRef | string, options: { generation?: number } = {}): LoadTestRun {
    const ref = typeof refOrWorkflowId === 'string' ? parseLoadTestWorkflowId(refOrWorkflowId) : refOrWorkflowId;
    if (ref === undefined) throw new Error(`"${refOrWorkflowId as string}" is not a LoadTest workflow id`);
    return new LoadTestRun(this.client, ref, options);
  }

  /**
   * The LoadTest named `name` in `namespace`: the one whose workflow runs, else (with includeClosed, the
   * default here) the most recently started one. Visibility is eventually consistent: a workflow started a
   * moment ago may not be found yet.
   */
  async find(
    namespace: string,
    name: string,
    options: { includeClosed?: boolean } = {},
  ): Promise<LoadTestRun | undefined> {
    const found = await this.list({ namespace, name, includeClosed: options.includeClosed ?? true });
    const best = found.find((info) => info.execution === 'RUNNING') ?? found[0];
    return best === undefined ? undefined : new LoadTestRun(this.client, best.ref);
  }

  /**
   * The last runs of the LoadTest `name` in `namespace`, newest first (see find() for which workflow, and
   * LoadTestRun.history()). Throws LoadTestNotFoundError when it has no workflow.
   */
  async history(namespace: string, name: string, options: { timeoutMs?: number } = {}): Promise<RunRecord[]> {
    const run = await this.find(namespace, name);
    if (run === undefined) throw new LoadTestNotFoundError(namespace, name);
    return run.history(options);
  }

  /** LoadTest workflows, newest first, one entry per LoadTest, with their schedule and last run (the memo). */
  async list(options: ListOptions = {}): Promise<LoadTestRunInfo[]> {
    const limit = options.limit ?? 1000;
    const seen = new Map<string, LoadTestRunInfo>();
    for await (const info of this.client.workflow.list({ query: listQuery(options) })) {
      const ref = parseLoadTestWorkflowId(info.workflowId);
      if (ref === undefined || seen.has(info.workflowId)) continue;
      const { schedule, lastRun } = parseLoadTestMemo(info.memo);
      seen.set(info.workflowId, {
        ref,
        workflowId: info.workflowId,
        execution: info.status.name,
        state: info.typedSearchAttributes.get(LOADTEST_STATE) as LoadTestState | undefined,
        generation: info.typedSearchAttributes.get(LOADTEST_GENERATION),
        startTime: info.startTime,
        closeTime: info.closeTime,
        taskQueue: info.taskQueue,
        ...(schedule === undefined ? {} : { schedule }),
        ...(lastRun === undefined ? {} : { lastRun }),
      });
      if (seen.size >= limit) break;
    }
    return [...seen.values()].sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  }

  /** Closes the connection when connect() opened it; a Client passed in is left to its owner. */
  async close(): Promise<void> {
    if (this.ownsConnection) await this.client.connection.close();
  }
}

export { WorkflowExecutionAlreadyStartedError };

/** A visibility query for LoadTest workflows; values are quoted, so names cannot change its meaning. */
export function listQuery(options: ListOptions): string {
  const clauses = [`WorkflowType = ${quote(LOADTEST_WORKFLOW_TYPE)}`];
  if (options.namespace !== undefined) clauses.push(`${LOADTEST_NAMESPACE.name} = ${quote(options.namespace)}`);
  if (options.name !== undefined) clauses.push(`${LOADTEST_NAME.name} = ${quote(options.name)}`);
  if (options.state !== undefined) clauses.push(`${LOADTEST_STATE.name} = ${quote(options.state)}`);
  // Every generation is a run that continued as new; only the newest run of a workflow says where it is.
  clauses.push(options.includeClosed === true ? `ExecutionStatus != 'ContinuedAsNew'` : `ExecutionStatus = 'Running'`);
  return clauses.join(' AND ');
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
