/**
 * What the LoadTest workflow asks of the world, independent of where runners run. The Kubernetes
 * implementation (activities/kubernetes/) runs them as pods; a local one runs them as processes. The workflow
 * imports this file for types and constants only, so it stays free of I/O and Node built-ins (a lint rule in
 * eslint.config.js holds it to that).
 */
import type {
  ConcurrencyPolicy,
  LoadTestResults,
  LoadTestSpec,
  LoadTestState,
  ThresholdResult,
} from '../src/loadtest/spec.js';
import type { AbortRule } from '../src/loadtest/thresholds.js';
import type { RunRecord } from '../src/loadtest/run-history.js';
import type { LoadTestRef } from '../src/loadtest/workflow-id.js';
import type { ConfigChange } from '../src/runner/control-api.js';
import type { LiveProgress } from './progress.js';

export type { LoadTestRef, ConfigChange };

/**
 * ApplicationFailure type thrown (non-retryable) when the LoadTest an activity works for no longer exists, or
 * exists with another uid: the workflow cleans up and completes as if it had been deleted.
 */
export const LOADTEST_GONE = 'LoadTestGone';
/** ApplicationFailure type thrown (non-retryable) when a spec cannot be turned into runners. */
export const INVALID_SPEC = 'InvalidSpec';
/** ApplicationFailure type thrown (non-retryable) when a runner's name is taken by something not a runner. */
export const RUNNER_NAME_TAKEN = 'RunnerNameTaken';
/**
 * ApplicationFailure type thrown (non-retryable) when the cluster refuses a runner pod for a reason a retry does
 * not change: a ResourceQuota, Pod Security admission, a missing permission, an invalid pod (from spec.runner).
 */
export const RUNNER_POD_REJECTED = 'RunnerPodRejected';

/** The runners of one run (one generation of one LoadTest). */
export interface RunnersRef {
  loadTest: LoadTestRef;
  generation: number;
  /** Runner names as createRunners returned them. */
  runners: string[];
}

/** A runner that failed, and why, in words a person can act on (exit code, reason, what the runner said). */
export interface RunnerFailure {
  kind: 'failed';
  runner: string;
  reason: string;
}

export type TargetCheck = { ok: true } | { ok: false; reason: string };
/** `startAtMs`: set when the wait also started the runners (`startDelayMs` given): when they start sending. */
export type RunnersRunning = { kind: 'running'; startAtMs?: number } | RunnerFailure;
/**
 * All runners succeeded: their summaries merged (src/runner/merge.ts). Merging happens inside the activity
 * because a thousand runners' summaries with their histograms can exceed Temporal's payload size limit.
 */
export type RunnersCompleted =
  | {
      kind: 'succeeded';
      results: LoadTestResults;
      runners: number;
      /** Set when an abortOnFail threshold stopped the runners: the results are those up to the stop. */
      aborted?: ThresholdAbort;
    }
  | RunnersProgress
  | RunnerFailure;

/** Nothing settled within `reportAfterMs`: the merged live view so far, for the workflow's query and Web UI. */
export interface RunnersProgress {
  kind: 'progress';
  live: LiveProgress;
  /** Runners lost so far (onRunnerFailure: continue), to carry into the next wait. */
  lost: string[];
}

/** An abortOnFail threshold the merged live results breached. */
export interface ThresholdAbort {
  threshold: string;
  /** The measured value, in the threshold's unit. */
  actual: number;
  /** How far into the run it was breached, ms. */
  afterMs: number;
}

/**
 * What the activity that waits for runners to finish also does while they send (absent in histories recorded
 * before runner control endpoints): reads their progress, merges it exactly, shows it live, and stops every
 * runner when an abortOnFail threshold is breached.
 */
export interface RunWatch {
  /** When the runners started sending (epoch ms): abort delays count from here. */
  startAtMs: number;
  /** Answer with the live view after this long when nothing settled, ms. */
  reportAfterMs?: number;
  abort?: AbortRule[];
  /** `spec.onRunnerFailure`: with 'continue' a lost runner is left out and the others still merge. */
  onRunnerFailure?: 'fail' | 'continue';
  /** Runners already lost in earlier rounds. */
  lost?: string[];
  /**
   * Every runner was told to stop (spec.timeout): a runner that ended failed but left its summary (its requests
   * failed) counts, as after an abort.
   */
  stopped?: boolean;
}

/** How a live change went: runners that took it, and those that refused it (with what they said). */
export interface RunnersChanged {
  applied: string[];
  refused: { runner: string; reason: string }[];
}

/** What the workflow wants shown about a LoadTest (`.status` in Kubernetes). */
export interface StatusReport {
  state: LoadTestState;
  /** The metadata.generation this run is for (`.status.observedGeneration`). */
  generation: number;
  children: string[];
  message: string;
  /** ISO time the run started, and when it reached finished/failed. */
  startTime?: string;
  completionTime?: string;
  results?: LoadTestResults;
  thresholds?: ThresholdResult[];
  /** ISO time of this transition (workflow time, so replays agree). */
  transitionTime: string;
  /** How the latest live change of the spec went (the SpecApplied condition); absent: leave it as it is. */
  specApplied?: { status: 'True' | 'False'; reason: string; message: string; generation: number };
}

/** What the LoadTest's long-lived workflow writes besides a run's state: its run history and schedule times. */
export interface RunHistoryReport {
  /** `.status.history`, whole, newest first. */
  history: RunRecord[];
  /** ISO times of the schedule's latest tick that started a run, and of its next; null clears them. */
  lastScheduleTime?: string | null;
  nextScheduleTime?: string | null;
}

export interface LoadTestEvent {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. RunnersCreated. */
  reason: string;
  message: string;
  /** Makes retries idempotent: one event per (LoadTest, generation, reason). */
  generation: number;
}

export interface LoadTestActivities {
  /** Whether the test's target can be reached at all, e.g. that its Service exists. */
  checkTarget: (input: { loadTest: LoadTestRef; spec: LoadTestSpec }) => Promise<TargetCheck>;
  /**
   * Creates `spec.replicas` runners for one generation, waiting at the start line (they send nothing before
   * startRunners). Deterministic names: a retry creates no duplicates. Returns the runner names.
   */
  createRunners: (input: {
    loadTest: LoadTestRef;
    generation: number;
    spec: LoadTestSpec;
    /**
     * First delete the LoadTest's runners of every other generation (leftovers of a cleanup a crash cut short),
     * so they never run alongside this one. Absent in histories recorded before the lean run (a separate
     * deleteRunners call did it).
     */
    replaceOthers?: boolean;
    /**
     * Once created, record the Normal `RunnersCreated` event ("created runners a, b") for this generation of the
     * LoadTest (LoadTestEvent.generation), as recordEvent would: one call fewer for the workflow.
     */
    createdEvent?: { generation: number };
  }) => Promise<string[]>;
  /**
   * Resolves when every runner has started, or with the first that failed or did not start within `timeoutMs`.
   * With `startDelayMs`, it then tells every runner to start sending `startDelayMs` from now, as startRunners does,
   * and answers with that time (`startAtMs`): one activity where there were two.
   */
  awaitRunnersRunning: (input: RunnersRef & { timeoutMs: number; startDelayMs?: number }) => Promise<RunnersRunning>;
  /** Tells every runner to start sending at `startAtMs` (epoch ms). */
  startRunners: (input: RunnersRef & { startAtMs: number }) => Promise<void>;
  /**
   * Resolves when every runner succeeded (with the merged results) or with the first that failed; with `watch`,
   * also with the live view after `watch.reportAfterMs`, and stops every runner on a breached abortOnFail threshold.
   */
  awaitRunnersCompleted: (input: RunnersRef & { watch?: RunWatch }) => Promise<RunnersCompleted>;
  /**
   * Tells every runner to stop sending now (through its control endpoint): each keeps what it measured, writes its
   * summary and ends. Runners without an endpoint yet (not started) are left to deleteRunners. Returns the runners
   * that took the stop.
   */
  stopRunners: (input: RunnersRef) => Promise<string[]>;
  /**
   * Deletes the LoadTest itself (spec.ttlSecondsAfterFinished): Kubernetes deletes the object with this uid; local
   * mode forgets it. Returns false when it was already gone.
   */
  deleteLoadTest: (input: { loadTest: LoadTestRef }) => Promise<boolean>;
  /** Applies a change of rate or duration to every running runner (through its control endpoint). */
  changeRunners: (input: RunnersRef & { change: ConfigChange }) => Promise<RunnersChanged>;
  /**
   * Deletes runners of the LoadTest: all of them, or all but those of `exceptGeneration`; with `keepFinished`,
   * only those still running (finished ones keep their logs for whoever investigates). Returns what it deleted.
   */
  deleteRunners: (input: {
    loadTest: LoadTestRef;
    exceptGeneration?: number;
    /** Only the runners of this generation (a scheduled run's runner key): overlapping runs keep theirs. */
    onlyGeneration?: number;
    keepFinished?: boolean;
  }) => Promise<string[]>;
  /**
   * Shows the workflow's view of the LoadTest (Kubernetes: patches `.status`), and records `event` with it when
   * given (one call where there were two).
   */
  publishStatus: (input: { loadTest: LoadTestRef; status: StatusReport; event?: LoadTestEvent }) => Promise<void>;
  /** Records something that happened (Kubernetes: an Event on the LoadTest). */
  recordEvent: (input: { loadTest: LoadTestRef; event: LoadTestEvent }) => Promise<void>;
  /** Shows the LoadTest's run history and schedule times (Kubernetes: patches those `.status` fields only). */
  publishRunHistory: (input: { loadTest: LoadTestRef; report: RunHistoryReport }) => Promise<void>;
}

/** What a scheduled LoadTest's Temporal Schedule should be. */
export interface ScheduleWanted {
  /** The Temporal Schedule id. */
  scheduleId: string;
  loadTest: LoadTestRef;
  /** The generation whose spec the runs take (their LoadTestGeneration search attribute). */
  generation: number;
  /** spec.schedule. */
  expression: string;
  concurrencyPolicy: ConcurrencyPolicy;
  suspended: boolean;
  /** The workflow each tick starts: its type, the id prefix (Temporal appends the tick time), and its argument. */
  action: { workflowType: string; workflowIdPrefix: string; args: unknown[] };
  /** Shown on the schedule in the Web UI. */
  note: string;
}

/** A Temporal Schedule's times (ISO); absent when there are none (paused, or never ran). */
export interface ScheduleTimes {
  lastScheduleTime?: string;
  nextScheduleTime?: string;
}

/** Temporal Schedules, one per scheduled LoadTest; the same for both backends (activities/schedules.ts). */
export interface ScheduleActivities {
  /** Creates the schedule, or updates it to `wanted` (the worker's task queue runs its workflows). */
  upsertSchedule: (input: ScheduleWanted) => Promise<ScheduleTimes>;
  /** Deletes the schedule; false when there was none. Running runs it started go on (the caller cancels them). */
  deleteSchedule: (input: { scheduleId: string }) => Promise<boolean>;
  /** The schedule's times, or undefined when it does not exist. */
  describeSchedule: (input: { scheduleId: string }) => Promise<ScheduleTimes | undefined>;
}

/** The activity whose input is the status a run published: how a client reads status from history. */
export const PUBLISH_STATUS_ACTIVITY = 'publishStatus' satisfies keyof LoadTestActivities;
