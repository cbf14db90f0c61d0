/**
 * Temporal Schedules, one per scheduled LoadTest (spec.schedule): the same for both backends, since the schedule
 * lives in Temporal. Each tick starts a run workflow on the worker's own task queue; the overlap policy is
 * Temporal's, named as CronJob names it.
 */
import { Context } from '@temporalio/activity';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleDescription,
} from '@temporalio/client';
import { loadTestSearchAttributes } from '../src/loadtest/search-attributes.js';
import { temporalScheduleSpec } from '../src/loadtest/schedule.js';
import type { ConcurrencyPolicy } from '../src/loadtest/spec.js';
import type { ScheduleActivities, ScheduleTimes, ScheduleWanted } from './types.js';

const OVERLAP: Record<ConcurrencyPolicy, ScheduleOverlapPolicy> = {
  Forbid: ScheduleOverlapPolicy.SKIP,
  // Cancel, not terminate: a cancelled run stops and deletes its own runners.
  Replace: ScheduleOverlapPolicy.CANCEL_OTHER,
  Allow: ScheduleOverlapPolicy.ALLOW_ALL,
};

/**
 * A tick missed by more than this (the worker or server was down) is skipped, not run late: a load test an hour
 * late hits another traffic pattern. CronJob's startingDeadlineSeconds plays the same part.
 */
const CATCHUP_WINDOW = '1 minute';

export function createScheduleActivities(client: Client): ScheduleActivities {
  return {
    async upsertSchedule(wanted) {
      const options = scheduleOptions(wanted, Context.current().info.taskQueue);
      try {
        await client.schedule.create(options);
      } catch (error) {
        if (!(error instanceof ScheduleAlreadyRunning)) throw error;
        await client.schedule.getHandle(wanted.scheduleId).update((previous) => ({
          ...previous,
          spec: options.spec,
          action: options.action,
          policies: options.policies,
          state: { ...previous.state, paused: wanted.suspended, note: wanted.note },
        }));
      }
      return timesOf(await client.schedule.getHandle(wanted.scheduleId).describe());
    },

    async deleteSchedule({ scheduleId }) {
      try {
        await client.schedule.getHandle(scheduleId).delete();
        return true;
      } catch (error) {
        if (error instanceof ScheduleNotFoundError) return false;
        throw error;
      }
    },

    async describeSchedule({ scheduleId }) {
      try {
        return timesOf(await client.schedule.getHandle(scheduleId).describe());
      } catch (error) {
        if (error instanceof ScheduleNotFoundError) return undefined;
        throw error;
      }
    },
  };
}

function scheduleOptions(wanted: ScheduleWanted, taskQueue: string): ScheduleOptions {
  const spec = temporalScheduleSpec(wanted.expression);
  return {
    scheduleId: wanted.scheduleId,
    spec: {
      cronExpressions: spec.cronExpressions,
      intervals: spec.intervals?.map(({ every }) => ({ every })),
    },
    action: {
      type: 'startWorkflow',
      workflowType: wanted.action.workflowType,
      workflowId: wanted.action.workflowIdPrefix,
      taskQueue,
      args: wanted.action.args,
      typedSearchAttributes: loadTestSearchAttributes(wanted.loadTest, 'pending', wanted.generation),
    },
    policies: { overlap: OVERLAP[wanted.concurrencyPolicy], catchupWindow: CATCHUP_WINDOW },
    state: { paused: wanted.suspended, note: wanted.note },
    typedSearchAttributes: loadTestSearchAttributes(wanted.loadTest, 'pending', wanted.generation),
  };
}

function timesOf(description: ScheduleDescription): ScheduleTimes {
  const last = description.info.recentActions.at(-1)?.scheduledAt;
  const next = description.state.paused ? undefined : description.info.nextActionTimes[0];
  return { lastScheduleTime: last?.toISOString(), nextScheduleTime: next?.toISOString() };
}
