/**
 * A handle on one LoadTest's workflow: read its status (the `status` query), its live progress (heartbeat
 * details of the activity waiting on the runners), change its spec, delete it, and await its outcome.
 * The handle names the workflow by id only, so it follows the workflow across continue-as-new.
 */
import {
  isGrpcDeadlineError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { isProgressHeartbeat, type LiveProgress } from '../../activities/progress.js';
import {
  PUBLISH_STATUS_ACTIVITY,
  type LoadTestActivities,
  type RunHistoryReport,
  type StatusReport,
} from '../../activities/types.js';
import {
  deleteSignal,
  LOADTEST_RUN_FAILED,
  statusQuery,
  updateSignal,
  type LoadTestWorkflowInput,
  type LoadTestWorkflowResult,
  type LoadTestWorkflowStatus,
  type ScheduleView,
  replicasOf,
  runReportSignal,
  type RunReport,
  type SettledRun,
} from '../../workflows/definitions.js';
import type { RunRecord } from '../loadtest/run-history.js';
import {
  validateLoadTestSpec,
  type LoadTestResults,
  type LoadTestState,
  type ThresholdResult,
} from '../loadtest/spec.js';
import { loadTestWorkflowId, type LoadTestRef } from '../loadtest/workflow-id.js';
import { LOADTEST_GENERATION, LOADTEST_STATE } from '../loadtest/search-attributes.js';

/** The workflow function's signature, for typed handles without importing workflow code. */
export type LoadTestWorkflowFunction = (input: LoadTestWorkflowInput) => Promise<LoadTestWorkflowResult>;

/** Thrown when a spec would be rejected by the CRD; `problems` has one line per problem. */
export class InvalidLoadTestSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid LoadTest spec: ${problems.join('; ')}`);
    this.name = 'InvalidLoadTestSpecError';
  }
}

/** Thrown by result() when the workflow closed (deleted, terminated) before the awaited run settled. */
export class LoadTestRunEndedError extends Error {
  constructor(
    readonly workflowId: string,
    readonly execution: WorkflowExecutionStatusName,
  ) {
    super(
      execution === 'COMPLETED'
        ? `the LoadTest was deleted before its run settled (workflow ${workflowId})`
        : `the workflow ${workflowId} ended (${execution.toLowerCase()}) before the LoadTest's run settled`,
    );
    this.name = 'LoadTestRunEndedError';
  }
}

/** Everything known about a LoadTest at one moment. */
export interface LoadTestSnapshot {
  /** When the snapshot was taken. */
  at: Date;
  /** The workflow execution's status: RUNNING while the LoadTest exists, COMPLETED once it was deleted. */
  execution: WorkflowExecutionStatusName;
  /** Start of the current workflow run (each generation starts a new run). */
  runStartTime: Date;
  /** The state: from the status query, else from the LoadTestState search attribute. */
  state?: LoadTestState;
  generation?: number;
  /**
   * The workflow's own view; when no worker answered the query (see `unanswered`), the settled outcome its
   * history records, else undefined.
   */
  status?: LoadTestWorkflowStatus;
  /** Why the status query of a running workflow got no answer. */
  unanswered?: string;
  /** Combined progress of the runners while they send, when the backend reports it. */
  live?: LiveProgress;
  /** Whether `state` is final (finished or failed). */
  settled: boolean;
}

/** How a generation's run ended. */
export interface LoadTestOutcome {
  ref: LoadTestRef;
  generation: number;
  state: 'finished' | 'failed';
  /** Why it failed, or a one-line summary of the results. */
  message: string;
  results?: LoadTestResults;
  thresholds?: ThresholdResult[];
  /** Thresholds that were not met (the run then ends failed). */
  breached: ThresholdResult[];
  /** True when finished: every runner succeeded and every threshold held. */
  passed: boolean;
}

export interface WaitOptions {
  /** Generation to await; default the newest this handle started or sent, else whichever settles first. */
  generation?: number;
  /** How often to ask the workflow, ms. Default 1000. */
  pollIntervalMs?: number;
  /** Stops waiting (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** How long a status query may wait for a worker to answer, ms. */
const QUERY_TIMEOUT_MS = 10_000;

/** The activity whose input is the run history the LoadTest's workflow published (`.status.history`). */
const PUBLISH_RUN_HISTORY_ACTIVITY = 'publishRunHistory' satisfies keyof LoadTestActivities;

export class LoadTestRun {
  readonly workflowId: string;
  readonly handle: WorkflowHandle<LoadTestWorkflowFunction>;
  /** The newest generation this handle started or sent; result() awaits it by default. */
  private expectedGeneration?: number;

  constructor(
    readonly client: Client,
    readonly ref: LoadTestRef,
    options: { generation?: number } = {},
  ) {
    this.workflowId = loadTestWorkflowId(ref);
    this.handle = client.workflow.getHandle<LoadTestWorkflowFunction>(this.workflowId);
    this.expectedGeneration = options.generation;
  }

  /** The workflow's status query; rejects when no worker answers within `timeoutMs` (default 10 000). */
  status(options: { timeoutMs?: number } = {}): Promise<LoadTestWorkflowStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? QUERY_TIMEOUT_MS);
    return this.client.withDeadline(deadline, () => this.handle.query(statusQuery));
  }

  /**
   * The LoadTest's last runs, newest first (at most spec.historyLimit, default 10): the status query's
   * `history`, `[]` before any run settled. When no worker answers, the history the workflow last published
   * (recorded in its Temporal history); when it published none either, the query's error.
   */
  async history(options: { timeoutMs?: number } = {}): Promise<RunRecord[]> {
    try {
      return (await this.status(options)).history ?? [];
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw error;
      const recorded = await this.historyFromEvents().catch(() => undefined);
      if (recorded === undefined) throw error;
      return recorded.history;
    }
  }

  /** The LoadTest's Temporal Schedule (status query), or undefined when spec.schedule is not set. */
  async schedule(options: { timeoutMs?: number } = {}): Promise<ScheduleView | undefined> {
    return (await this.status(options)).schedule;
  }

  /** Live progress reported by the runners through the waiting activity's heartbeats, if any. */
  async liveProgress(description?: WorkflowExecutionDescription): Promise<LiveProgress | undefined> {
    const described = description ?? (await this.handle.describe());
    const own = await this.progressOf(described);
    if (own !== undefined) return own;
    // Each run is a child workflow of its own (workflows/run.ts): the waiting activity heartbeats there.
    for (const child of described.raw.pendingChildren ?? []) {
      if (child.workflowId === null || child.workflowId === undefined) continue;
      const run = await this.client.workflow
        .getHandle(child.workflowId)
        .describe()
        .catch(() => undefined);
      const progress = run === undefined ? undefined : await this.progressOf(run);
      if (progress !== undefined) return progress;
    }
    return undefined;
  }

  /** The live progress a pending activity of `described` last heartbeated, if any. */
  private async progressOf(described: WorkflowExecutionDescription): Promise<LiveProgress | undefined> {
    for (const activity of described.raw.pendingActivities ?? []) {
      const payloads = activity.heartbeatDetails?.payloads;
      if (payloads === null || payloads === undefined || payloads.length === 0) continue;
      const details = await this.decode(payloads);
      if (isProgressHeartbeat(details)) return details.progress;
    }
    return undefined;
  }

  /** One look at the LoadTest: execution status, state, the workflow's view and live progress. */
  async snapshot(): Promise<LoadTestSnapshot> {
    const description = await this.handle.describe();
    const execution = description.status.name;
    let status: LoadTestWorkflowStatus | undefined;
    let unanswered: string | undefined;
    if (execution === 'RUNNING') {
      try {
        status = await this.status();
      } catch (error) {
        // describe() just answered, so Temporal is there: no worker polls this LoadTest's task queue (or none
        // answered in time). A settled run's outcome is in the history; otherwise the search attributes tell
        // the state.
        unanswered = isGrpcDeadlineError(error)
          ? `timed out after ${QUERY_TIMEOUT_MS / 1000} s`
          : (error as Error).message;
        const recorded = await this.statusFromHistory();
        if (recorded?.state === 'finished' || recorded?.state === 'failed') status = recorded;
      }
    } else {
      // A closed workflow is answered only by a worker replaying it; its history needs none.
      status = await this.statusFromHistory();
    }
    const state = status?.state ?? (description.typedSearchAttributes.get(LOADTEST_STATE) as LoadTestState | undefined);
    return {
      at: new Date(),
      execution,
      runStartTime: description.startTime,
      state,
      generation: status?.generation ?? description.typedSearchAttributes.get(LOADTEST_GENERATION),
      status,
      live: execution === 'RUNNING' ? await this.liveProgress(description) : undefined,
      unanswered,
      settled: state === 'finished' || state === 'failed',
    };
  }

  /**
   * Runs a new generation of the spec (what editing the LoadTest does): the current run stops, its runners are
   * deleted, the new spec runs. Returns the new generation (default: the current one plus one).
   */
  async update(spec: unknown, options: { generation?: number } = {}): Promise<number> {
    const { spec: valid, problems } = validateLoadTestSpec(spec);
    if (valid === undefined) throw new InvalidLoadTestSpecError(problems);
    const generation = options.generation ?? (await this.status()).generation + 1;
    await this.handle.signal(updateSignal, { generation, spec: valid });
    this.expectedGeneration = generation;
    return generation;
  }

  /** Deletes the LoadTest's run (what deleting the object does): runners are stopped and the workflow completes. */
  async delete(): Promise<void> {
    await this.handle.signal(deleteSignal);
  }

  /** Resolves once the workflow has completed after delete(), with the runners it deleted. */
  deleted(): Promise<LoadTestWorkflowResult> {
    return this.handle.result();
  }

  /** Yields a snapshot every `pollIntervalMs` until the awaited generation has settled (that one included). */
  async *watch(options: WaitOptions = {}): AsyncGenerator<LoadTestSnapshot> {
    const interval = options.pollIntervalMs ?? 1000;
    for (;;) {
      options.signal?.throwIfAborted();
      const snapshot = await this.snapshot();
      yield snapshot;
      if (this.isAwaitedSettled(snapshot, options.generation)) return;
      if (snapshot.execution !== 'RUNNING') throw new LoadTestRunEndedError(this.workflowId, snapshot.execution);
      await pause(interval, options.signal);
    }
  }

  /** Waits until the awaited generation has finished or failed, and returns how it ended. */
  async result(options: WaitOptions = {}): Promise<LoadTestOutcome> {
    let last: LoadTestSnapshot | undefined;
    for await (const snapshot of this.watch(options)) last = snapshot;
    return outcomeOf(this.ref, last!);
  }

  private isAwaitedSettled(snapshot: LoadTestSnapshot, generation = this.expectedGeneration): boolean {
    if (!snapshot.settled) return false;
    return generation === undefined || (snapshot.generation ?? 0) >= generation;
  }

  /**
   * The last status the latest run published (the input of its last publishStatus activity), else the outcome
   * it carried over from the run before (its input's `settled`): what a closed workflow shows without a worker.
   */
  async statusFromHistory(): Promise<LoadTestWorkflowStatus | undefined> {
    const { input, published, runHistory } = await this.publishedInHistory();
    const source = published ?? input?.settled;
    if (source === undefined) return undefined;
    const replicas = input === undefined ? source.children.length : replicasOf(input.desired);
    return {
      ...(runHistory === undefined ? {} : { history: runHistory.history }),
      state: source.state,
      generation: source.generation,
      children: source.children,
      message: source.message,
      results: source.results,
      thresholds: source.thresholds,
      progress: { step: 'settled', replicas, created: source.children.length },
    };
  }

  /** The run history the latest workflow run last published, if it published one. */
  private async historyFromEvents(): Promise<RunHistoryReport | undefined> {
    return (await this.publishedInHistory()).runHistory;
  }

  /** What the latest workflow run started with, and the last status and run history it published. */
  private async publishedInHistory(): Promise<{
    input?: LoadTestWorkflowInput;
    published?: StatusReport;
    runHistory?: RunHistoryReport;
  }> {
    const history = await this.handle.fetchHistory();
    let published: StatusReport | undefined;
    let input: LoadTestWorkflowInput | undefined;
    let runHistory: RunHistoryReport | undefined;
    for (const event of history.events ?? []) {
      const started = event.workflowExecutionStartedEventAttributes?.input?.payloads;
      if (started !== null && started !== undefined) input = (await this.decode(started)) as LoadTestWorkflowInput;
      // Each run is a workflow of its own that reports to this one (workflows/run.ts): its reports carry the
      // status it published, in this history.
      const signaled = event.workflowExecutionSignaledEventAttributes;
      const signalPayloads = signaled?.input?.payloads;
      if (signaled?.signalName === runReportSignal.name && signalPayloads !== null && signalPayloads !== undefined) {
        const report = (await this.decode(signalPayloads)) as RunReport | undefined;
        if (report?.run !== undefined) published = { ...report.run, transitionTime: '' };
      }
      // A generation's run reports no verdict (the lean run): its result, or its failure's details, carry it.
      const completed = event.childWorkflowExecutionCompletedEventAttributes?.result?.payloads;
      if (completed !== null && completed !== undefined) {
        const run = (await this.decode(completed)) as SettledRun | undefined;
        if (run?.state !== undefined) published = { ...run, transitionTime: '' };
      }
      const failure = event.childWorkflowExecutionFailedEventAttributes?.failure;
      const failureDetails = failure?.applicationFailureInfo?.details?.payloads;
      if (failure?.applicationFailureInfo?.type === LOADTEST_RUN_FAILED && failureDetails) {
        const run = (await this.decode(failureDetails)) as SettledRun | undefined;
        if (run?.state !== undefined) published = { ...run, transitionTime: '' };
      }
      const scheduled = event.activityTaskScheduledEventAttributes;
      const payloads = scheduled?.input?.payloads;
      if (payloads === null || payloads === undefined) continue;
      if (scheduled?.activityType?.name === PUBLISH_STATUS_ACTIVITY) {
        published = ((await this.decode(payloads)) as { status: StatusReport }).status;
      } else if (scheduled?.activityType?.name === PUBLISH_RUN_HISTORY_ACTIVITY) {
        const report = ((await this.decode(payloads)) as { report?: RunHistoryReport }).report;
        if (Array.isArray(report?.history)) runHistory = report;
      }
    }
    return { input, published, runHistory };
  }

  private async decode(payloads: Payload[]): Promise<unknown> {
    const converter = this.client.options.loadedDataConverter;
    let decoded = payloads;
    for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    return decoded[0] === undefined ? undefined : converter.payloadConverter.fromPayload(decoded[0]);
  }
}

/** The outcome shown by a settled snapshot. */
export function outcomeOf(ref: LoadTestRef, snapshot: LoadTestSnapshot): LoadTestOutcome {
  const state = snapshot.state === 'finished' ? 'finished' : 'failed';
  const thresholds = snapshot.status?.thresholds;
  return {
    ref,
    generation: snapshot.generation ?? 0,
    state,
    message: snapshot.status?.message ?? `${state} (no worker answered with details)`,
    results: snapshot.status?.results,
    thresholds,
    breached: (thresholds ?? []).filter((threshold) => !threshold.passed),
    passed: state === 'finished',
  };
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      resolve();
    };
    const aborted = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
