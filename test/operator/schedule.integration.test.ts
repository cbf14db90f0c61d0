/**
 * Scheduled LoadTests and runs as workflows on the test bed (issue 14, README "Lifecycle"): spec.schedule keeps a
 * Temporal Schedule whose ticks each run once and land in `.status.history`; spec.suspend pauses it; deleting the
 * LoadTest deletes it; and a failed run is a Failed workflow that `temporal workflow list` finds.
 */
import { operatorSuite } from './suite.js';
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureTemporalCli } from '../../src/temporal/dev-server.js';

import type { RunRecord } from '../../src/loadtest/run-history.js';

import { apply, eventually, getJson, kubectl, loadTestManifest } from './cluster.js';

interface LoadTestJson {
  metadata: { uid: string };
  status?: {
    state?: string;
    message?: string;
    history?: RunRecord[];
    lastScheduleTime?: string;
    nextScheduleTime?: string;
  };
}

/** The `temporal` CLI against the test bed's server, as a user would run it: one JSON document. */
async function temporal<T>(args: string[]): Promise<T> {
  return JSON.parse(await temporalOutput([...args, '--output', 'json'])) as T;
}

/** A `temporal ... list`: one JSON document per line (`--output jsonl`). */
async function temporalList<T>(args: string[]): Promise<T[]> {
  const text = await temporalOutput([...args, '--output', 'jsonl']);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

async function temporalOutput(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    await ensureTemporalCli(),
    [...args, '--address', process.env.TEMPORAL_ADDRESS!],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

interface ListedWorkflow {
  execution: { workflowId: string };
  type: { name: string };
}
interface ListedSchedule {
  scheduleId: string;
  info?: { paused?: boolean };
}

describe('scheduled LoadTests and runs as workflows on the test bed', function () {
  this.timeout(300_000);
  const { operator, namespace, serve } = operatorSuite('schedule');

  const loadTest = (ns: string, name: string) => getJson<LoadTestJson>(['get', 'loadtest', name, '-n', ns]);
  const schedules = async () => (await temporalList<ListedSchedule>(['schedule', 'list'])).map((s) => s.scheduleId);
  const runsOf = (ns: string, name: string) =>
    temporalList<ListedWorkflow>([
      'workflow',
      'list',
      '--query',
      `WorkflowType='loadTestRunWorkflow' AND LoadTestNamespace='${ns}' AND LoadTestName='${name}'`,
    ]);

  it('schedule "@every 20s" records 2 runs within 60s, one per tick across a worker restart; suspend pauses it; delete removes it', async () => {
    const ns = await namespace();
    await serve(ns);
    await apply(
      loadTestManifest(ns, 'nightly', {
        replicas: 1,
        schedule: '@every 20s',
        test: { serviceName: 'target', repeat: 20 },
      }),
    );
    const appliedAt = Date.now();
    const historyOf = async (count: number) => {
      const history = (await loadTest(ns, 'nightly')).status?.history ?? [];
      return history.length >= count ? history : undefined;
    };
    await eventually(() => historyOf(1), 60_000, 'the first scheduled run recorded');
    // A worker that goes away mid-schedule: the ticks meanwhile wait for it, and none runs twice.
    await operator.stopWorker();
    operator.startWorker();
    const history = await eventually(() => historyOf(2), appliedAt + 60_000 - Date.now(), '2 runs within 60s of apply');

    assert.ok(
      history.every((run) => run.trigger === 'schedule' && run.state === 'finished' && run.requests === 20),
      JSON.stringify(history),
    );
    const ticks = history.map((run) => run.scheduledTime);
    assert.equal(new Set(ticks).size, ticks.length, 'one record per tick');
    const object = await loadTest(ns, 'nightly');
    assert.ok(object.status?.lastScheduleTime !== undefined && object.status.nextScheduleTime !== undefined);
    const runs = await runsOf(ns, 'nightly');
    const ids = runs.map((run) => run.execution.workflowId);
    assert.equal(new Set(ids).size, ids.length, 'no tick started twice');
    assert.ok(
      history.every((run) => ids.includes(run.workflowId)),
      'every recorded run is a workflow',
    );
    const scheduleId = `loadtest/${ns}/nightly/${object.metadata.uid}`;
    assert.ok((await schedules()).includes(scheduleId), '`temporal schedule list` shows the schedule');

    await kubectl(['patch', 'loadtest', 'nightly', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await eventually(
      async () => {
        const described = await temporal<{ schedule?: { state?: { paused?: boolean } } }>([
          'schedule',
          'describe',
          '--schedule-id',
          scheduleId,
        ]);
        return described?.schedule?.state?.paused === true ? true : undefined;
      },
      60_000,
      'the schedule paused',
    );
    await eventually(
      async () => ((await loadTest(ns, 'nightly')).status?.nextScheduleTime === undefined ? true : undefined),
      30_000,
      'no next tick while suspended',
    );

    await kubectl(['delete', 'loadtest', 'nightly', '-n', ns]);
    await eventually(
      async () => (!(await schedules()).includes(scheduleId) ? true : undefined),
      60_000,
      'the schedule deleted with the LoadTest',
    );
  });

  it('a failing run is a Failed workflow of its own, found by LoadTestName and ExecutionStatus', async () => {
    const ns = await namespace();
    await serve(ns, { status: 500 });
    await apply(
      loadTestManifest(ns, 'broken', {
        replicas: 1,
        thresholds: ['errorRate < 1%'],
        test: { serviceName: 'target', repeat: 10 },
      }),
    );
    const failed = await eventually(
      async () => {
        const object = await loadTest(ns, 'broken');
        return object.status?.state === 'failed' ? object : undefined;
      },
      150_000,
      'broken failed',
    );
    const listed = await eventually(
      async () => {
        const found = await temporalList<ListedWorkflow>([
          'workflow',
          'list',
          '--query',
          `LoadTestName='broken' AND LoadTestNamespace='${ns}' AND ExecutionStatus='Failed'`,
        ]);
        return found.length > 0 ? found : undefined;
      },
      30_000,
      'the failed run in the visibility list',
    );
    assert.deepEqual(
      listed.map((run) => [run.type.name, run.execution.workflowId]),
      [['loadTestRunWorkflow', `loadtest/${ns}/broken/${failed.metadata.uid}/g1`]],
    );
    const described = await temporal<unknown>([
      'workflow',
      'describe',
      '--workflow-id',
      listed[0]!.execution.workflowId,
    ]);
    assert.match(JSON.stringify(described), /errorRate/, "its failure is the run's message");
  });
});
