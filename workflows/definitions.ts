/**
 * The LoadTest workflow's public surface: its type name, input, signals and query. Clients (the watcher, the
 * CLI, tests) import this file; it holds no workflow logic.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LoadTestResults, LoadTestSpec, LoadTestState, ThresholdResult } from '../src/loadtest/spec.js';
import type { LoadTestRef } from '../src/loadtest/workflow-id.js';
import type { RunRecord, RunVerdict } from '../src/loadtest/run-history.js';
import type { LiveProgress } from '../activities/progress.js';
import type { StatusReport } from '../activities/types.js';

export const LOADTEST_WORKFLOW_TYPE = 'loadTestWorkflow';

/** One generation of a LoadTest's spec that validated: what the workflow runs. */
export interface ValidRun {
  /** metadata.generation of the spec. */
  generation: number;
  spec: LoadTestSpec;
  problems?: undefined;
}

/**
 * One generation whose spec the CRD let through but the operator cannot run (an older CRD, a hand-edited
 * object): the run ends failed listing the problems.
 */
export interface InvalidRun {
  generation: number;
  /** Why the spec cannot run, one line per problem; never empty. */
  problems: string[];
  /** The spec as written, for the record (histories before 0.2 hold `{ replicas, test }` here). */
  spec?: unknown;
}

/** What the workflow should run for one generation of a LoadTest. */
export type DesiredRun = ValidRun | InvalidRun;

/** The spec to run, or undefined when the generation's spec is invalid. */
export function validSpecOf(desired: DesiredRun): LoadTestSpec | undefined {
  return desired.problems === undefined ? desired.spec : undefined;
}

/** Runners a generation asks for: `spec.replicas`, or what can be read of an invalid spec (else 0). */
export function replicasOf(desired: DesiredRun): number {
  if (desired.problems === undefined) return desired.spec.replicas;
  const replicas = (desired.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof replicas === 'number' ? replicas : 0;
}

/** Tuning for tests and unusual clusters; every field has a default that suits a real cluster. */
export interface RunTiming {
  /** How long runners may take to start (image pulls, scheduling), ms. Default 300 000. */
  runningTimeoutMs?: number;
  /** Delay between "all runners started" and the common start time, so every runner sees it in time, ms. Default 3000. */
  startDelayMs?: number;
  /** While idle, continue as new once history has this many events (or when Temporal suggests). Default 2000. */
  idleHistoryLimit?: number;
}

/**
 * The outcome of a generation's run, carried across continueAsNew so it is neither lost nor run twice: the last
 * status the run reported.
 */
export type SettledRun = Omit<StatusReport, 'transitionTime'>;

export interface LoadTestWorkflowInput {
  loadTest: LoadTestRef;
  desired: DesiredRun;
  /** Set by continueAsNew when `desired` has already run. */
  settled?: SettledRun;
  /** Set by continueAsNew when a delete arrived together with it. */
  deleteRequested?: boolean;
  timing?: RunTiming;
  /** Carried by continueAsNew: `.status.history`, newest first. */
  history?: RunRecord[];
  /** Carried by continueAsNew: the schedule's latest tick that started a run (ISO). */
  lastScheduleTime?: string;
  /** Carried by continueAsNew: scheduled runs still going (their workflow ids). */
  activeRuns?: string[];
}

export interface LoadTestWorkflowResult {
  /** Why the workflow ended: the LoadTest was deleted (or found gone). */
  reason: 'deleted';
  /** Runners deleted while cleaning up. */
  deletedRunners: string[];
}

/** Where a run is, for the `status` query. */
export type RunStep =
  | 'validating'
  | 'checking-target'
  | 'creating-runners'
  | 'awaiting-runners'
  | 'starting-runners'
  | 'running'
  | 'settled'
  | 'cleaning-up';

export interface RunProgress {
  step: RunStep;
  /** Runners asked for, and created so far. */
  replicas: number;
  created: number;
  /** ISO time at which the runners start (or started) sending. */
  startAt?: string;
  /** ISO time the run should end, for duration-based tests. */
  expectedEnd?: string;
  /** All runners' results so far, merged exactly: while running, refreshed at least every 10 s (see RunWatch). */
  live?: LiveProgress;
}

export interface LoadTestWorkflowStatus {
  state: LoadTestState;
  generation: number;
  children: string[];
  message: string;
  results?: LoadTestResults;
  thresholds?: ThresholdResult[];
  progress: RunProgress;
  /** The last runs, newest first (at most spec.historyLimit, default 10); `.status.history`. */
  history?: RunRecord[];
  /** Set when spec.schedule is: the Temporal Schedule that starts the runs. */
  schedule?: ScheduleView;
}

/** A scheduled LoadTest's Temporal Schedule, as the status query and `.status` show it. */
export interface ScheduleView {
  /** spec.schedule as written. */
  expression: string;
  /** The Temporal Schedule id (`temporal schedule describe -s <id>`). */
  scheduleId: string;
  concurrencyPolicy: 'Forbid' | 'Replace' | 'Allow';
  suspended: boolean;
  /** ISO times of the latest tick that started a run, and of the next one (none while suspended). */
  lastScheduleTime?: string;
  nextScheduleTime?: string;
}

/**
 * The memo the LoadTest workflow keeps current, so `list` (client and CLI) can show the schedule and the last
 * verdict from one visibility query, without a query per LoadTest.
 */
export interface LoadTestMemo {
  /** spec.schedule, with " (suspended)" appended while spec.suspend is true; absent without a schedule. */
  schedule?: string;
  /** The latest settled run. */
  lastRun?: Pick<RunRecord, 'state' | 'completionTime' | 'message' | 'workflowId'>;
}

/** A new generation of the spec. Idempotent: generations not newer than the current one are ignored. */
export const updateSignal = defineSignal<[DesiredRun]>('update');
/** The LoadTest was deleted: delete the runners and complete. Idempotent. */
export const deleteSignal = defineSignal('delete');
export const statusQuery = defineQuery<LoadTestWorkflowStatus>('status');

/**
 * A newer generation whose only changes are `test.rate`, `test.duration` or `thresholds`, to apply to the running
 * runners without a restart. The validator refuses it with an ApplicationFailure of type SPEC_NEEDS_RESTART
 * when the run cannot take it live (the sender then signals `update`, which restarts the run), or of type
 * SPEC_REJECTED when the change cannot be applied at all (the sender reports it with `specRejected`).
 */
export const applySpecUpdate = defineUpdate<SpecApplied, [DesiredRun]>('applySpec');
/** The sender of `applySpec` reports a change the validator refused for good: the run goes on untouched. */
export const specRejectedSignal = defineSignal<[{ generation: number; reason: string }]>('specRejected');

/** ApplicationFailure types of the applySpec validator. */
export const SPEC_NEEDS_RESTART = 'SpecNeedsRestart';
export const SPEC_REJECTED = 'SpecRejected';

/** What a live change did. */
export interface SpecApplied {
  generation: number;
  /** Runners that took the change. */
  runners: number;
  message: string;
}

/** The workflow type of one run (workflows/run.ts). */
export const LOADTEST_RUN_WORKFLOW_TYPE = 'loadTestRunWorkflow';

/** One run of a LoadTest: a generation applied (a child of the LoadTest's workflow) or a schedule tick. */
export interface RunWorkflowInput {
  loadTest: LoadTestRef;
  desired: DesiredRun;
  trigger: RunRecord['trigger'];
  /** Scheduled runs: spec.concurrencyPolicy (Allow: runs overlap, so a run leaves other runs' runners alone). */
  concurrencyPolicy?: 'Forbid' | 'Replace' | 'Allow';
  timing?: RunTiming;
}

/** ApplicationFailure type a run workflow fails with when its run failed; the message is `.status.message`. */
export const LOADTEST_RUN_FAILED = 'LoadTestRunFailed';

/** What a run tells the LoadTest's workflow as it goes, so its `status` query and `.status.history` stay whole. */
export interface RunReport {
  workflowId: string;
  trigger: RunRecord['trigger'];
  scheduledTime?: string;
  run: SettledRun;
  progress: RunProgress;
  /** When the runners start (or started) sending, epoch ms. */
  startAtMs?: number;
  /** The run's spec, when a live change replaced it since the run's last report. */
  applied?: ValidRun;
  /** Set on the run's last report: how it ended. */
  final?: RunVerdict;
}

/** Run → LoadTest workflow: how the run is going. */
export const runReportSignal = defineSignal<[RunReport]>('runReport');
/** LoadTest workflow → run: a live change its applySpec Update accepted, to apply to the runners. */
export const applySpecRequestSignal = defineSignal<[{ requestId: string; next: ValidRun }]>('applySpecRequest');
/** Run → LoadTest workflow: how that live change went. */
export const applySpecReplySignal = defineSignal<[ApplySpecReply]>('applySpecReply');

export interface ApplySpecReply {
  requestId: string;
  applied?: SpecApplied;
  /** The run could not take it: the ApplicationFailure type (SPEC_NEEDS_RESTART, SPEC_REJECTED) and why. */
  refused?: { type: string; message: string };
}
