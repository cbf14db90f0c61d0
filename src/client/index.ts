/**
 * Drive and watch LoadTests from code: start one without kubectl, update or delete it, read its status and
 * live progress, await its outcome, and find or list LoadTests by namespace and name.
 */
export { LoadTestNotFoundError, LoadTestRuns, listQuery, WorkflowExecutionAlreadyStartedError } from './runs.js';
export type { ListOptions, LoadTestRunInfo, LoadTestRunsOptions, StartLoadTestOptions } from './runs.js';
export { InvalidLoadTestSpecError, LoadTestRun, LoadTestRunEndedError, outcomeOf } from './run.js';
export type { LoadTestOutcome, LoadTestSnapshot, LoadTestWorkflowFunction, WaitOptions } from './run.js';
export { parseLoadTestMemo } from './memo.js';
export type { LastRun } from './memo.js';
export type { RunRecord, RunVerdict } from '../loadtest/run-history.js';
export type { LoadTestMemo, LoadTestWorkflowStatus, ScheduleView } from '../../workflows/definitions.js';
export { combineRunnerProgress, isProgressHeartbeat } from '../../activities/progress.js';
export type { LiveProgress, ProgressHeartbeat } from '../../activities/progress.js';
