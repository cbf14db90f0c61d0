/**
 * Every way the LoadTest workflow calls its activities, named once. Each preset takes the summary that the
 * Temporal Web UI shows for the step, so the Timeline reads as what the run did.
 */
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { LoadTestActivities, ScheduleActivities } from '../activities/types.js';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' };
/**
 * How long an activity may go without a heartbeat before Temporal retries it on another worker: what a worker's
 * death costs a run. The activities heartbeat every 3 s (activities/kubernetes), so 10 s is three missed beats.
 */
const HEARTBEAT_TIMEOUT = '10s';

/**
 * Quick calls to the backend's API: one or two requests each, so a call still open after 15 s is on a dead worker
 * (or a stuck connection) and is retried.
 */
export const quickCall = (summary: string) =>
  proxyActivities<LoadTestActivities>({ startToCloseTimeout: '15s', retry, summary });

/**
 * The same quick calls run as local activities, in the workflow task of the worker running the workflow: one
 * history event each (a marker) where a scheduled activity costs three plus a workflow task of three. A worker
 * that dies mid-call fails the workflow task, which Temporal retries elsewhere, so the call is simply made again
 * (every activity is idempotent).
 */
export const quickLocal = (summary: string) =>
  proxyLocalActivities<LoadTestActivities>({ startToCloseTimeout: '15s', retry, summary });

/**
 * Calls that fan out over every runner (start, stop, change, delete): they take as long as there are runners, and
 * heartbeat per runner, so a dead worker is noticed as soon as with a waiting activity.
 */
export const fanOut = (summary: string) =>
  proxyActivities<LoadTestActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry,
    summary,
  });

/** Creating runners can take a while for many replicas; cancellation waits so no runner appears after cleanup. */
export const runnerCreation = (summary: string) =>
  proxyActivities<LoadTestActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
    summary,
  });

/**
 * Waiting on runners (to start, to finish): a heartbeat every few seconds notices a lost worker; the overall
 * limit only catches runaway waits.
 */
export const runnerWait = (summary: string, startToCloseTimeout: number | string) =>
  proxyActivities<LoadTestActivities>({ startToCloseTimeout, heartbeatTimeout: HEARTBEAT_TIMEOUT, retry, summary });

/** Calls to Temporal's Schedule API (activities/schedules.ts). */
export const scheduleCall = (summary: string) =>
  proxyActivities<ScheduleActivities>({ startToCloseTimeout: '1m', retry, summary });
