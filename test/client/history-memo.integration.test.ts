/**
 * The client's run history and memo reading against a real Temporal server (the test bed's). The LoadTest
 * workflows here are started on a task queue no worker polls, with the memo the workflow keeps (LoadTestMemo)
 * set at start: what visibility returns is then exactly what the server stored, without a worker that writes it.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { LoadTestNotFoundError, LoadTestRuns, type LoadTestRunInfo } from '../../src/client/index.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import type { LoadTestRef } from '../../src/loadtest/workflow-id.js';
import { waitFor } from '../../src/util/process.js';
import { LOADTEST_WORKFLOW_TYPE, type LoadTestMemo } from '../../workflows/definitions.js';
import { loadTestStartOptions } from '../../workflows/start.js';

describe('LoadTest client: run history and memo', function () {
  this.timeout(60_000);
  let connection: Connection;
  let client: Client;
  let runs: LoadTestRuns;
  /** A task queue no worker polls: the workflows stay running, untouched, until terminated. */
  const taskQueue = `no-worker-${randomUUID().slice(0, 8)}`;
  const namespace = `history-${randomUUID().slice(0, 8)}`;
  const started: string[] = [];

  before(async () => {
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    runs = new LoadTestRuns(client, { taskQueue });
  });

  after(async () => {
    for (const workflowId of started)
      await client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => {});
    await connection?.close();
  });

  /** Starts a LoadTest's workflow as the watcher would, with `memo` (if any) as the workflow would keep it. */
  async function startWithMemo(name: string, memo?: Record<string, unknown>): Promise<LoadTestRef> {
    const loadTest = { namespace, name, uid: randomUUID() };
    const spec: LoadTestSpec = {
      replicas: 1,
      test: { method: 'GET', url: 'http://127.0.0.1:1/', port: 80, path: '/', repeat: 1 },
    };
    const options = loadTestStartOptions({ loadTest, desired: { generation: 1, spec } }, taskQueue);
    const handle = await client.workflow.start(LOADTEST_WORKFLOW_TYPE, {
      ...options,
      ...(memo === undefined ? {} : { memo }),
    });
    started.push(handle.workflowId);
    return loadTest;
  }

  /** list() once every name is visible (visibility lags a start by a moment). */
  function listed(names: string[]): Promise<Map<string, LoadTestRunInfo>> {
    return waitFor(
      async () => {
        const rows = await runs.list({ namespace });
        const byName = new Map(rows.map((row) => [row.ref.name, row]));
        return names.every((name) => byName.has(name)) && byName;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `LoadTests ${names.join(', ')} in visibility` },
    );
  }

  it('lists the schedule and last run a LoadTest workflow keeps in its memo, and none without a memo', async () => {
    const memo: LoadTestMemo = {
      schedule: '*/5 * * * * (suspended)',
      lastRun: {
        state: 'failed',
        completionTime: '2026-01-01T00:05:00.000Z',
        message: 'threshold p99 < 200ms breached',
        workflowId: 'loadtest/x/scheduled-2026-01-01T00:05:00Z',
      },
    };
    await startWithMemo('scheduled', memo as Record<string, unknown>);
    await startWithMemo('older');
    await startWithMemo('garbled', { schedule: 42, lastRun: { state: 'exploded' }, other: 'kept out' });

    const rows = await listed(['scheduled', 'older', 'garbled']);

    assert.equal(rows.get('scheduled')?.schedule, memo.schedule);
    assert.deepEqual(rows.get('scheduled')?.lastRun, memo.lastRun);
    for (const name of ['older', 'garbled']) {
      assert.equal(rows.get(name)?.schedule, undefined, name);
      assert.equal(rows.get(name)?.lastRun, undefined, name);
    }
  });

  it('history() says there is no LoadTest workflow for a name that has none', async () => {
    await assert.rejects(runs.history(namespace, 'never-applied'), (error: unknown) => {
      assert.ok(error instanceof LoadTestNotFoundError);
      assert.match(error.message, new RegExp(`^no LoadTest workflow for ${namespace}/never-applied in Temporal`));
      return true;
    });
  });

  it('history() fails with the query error, not an empty history, when no worker answers and none was published', async () => {
    await startWithMemo('unanswered');
    await listed(['unanswered']);

    await assert.rejects(runs.history(namespace, 'unanswered', { timeoutMs: 2000 }), (error: unknown) => {
      assert.ok(!(error instanceof LoadTestNotFoundError), String(error));
      assert.ok(!(error instanceof WorkflowExecutionAlreadyStartedError));
      return true;
    });
  });
});
