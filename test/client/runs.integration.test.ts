/**
 * The client library against a real Temporal server (the test bed's): LoadTests started from code run on a
 * local-mode worker (runner processes against a test server on this machine), so no Kubernetes is involved.
 */
import { Client, Connection } from '@temporalio/client';
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  InvalidLoadTestSpecError,
  LoadTestRunEndedError,
  LoadTestRuns,
  type LoadTestRun,
  type LoadTestSnapshot,
} from '../../src/client/index.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import { waitFor } from '../../src/util/process.js';
import { startTargetServer, type TargetServer } from '../support/target-server.js';
import { startLocalWorkerProcess, type LocalWorkerProcess } from './local-worker.js';

/** Runners start sending without the cluster's start delay; runner processes start in about a second. */
const TIMING = { startDelayMs: 1500, runningTimeoutMs: 30_000 };

describe('LoadTest client', function () {
  this.timeout(120_000);
  let connection: Connection;
  let runs: LoadTestRuns;
  let worker: LocalWorkerProcess;
  let target: TargetServer;
  let url: string;
  /** Each test's own Kubernetes-namespace label, so that find and list see only its LoadTests. */
  let namespace: string;
  let started: LoadTestRun[] = [];
  /** While true, the target holds its responses (a run stays executing) until releaseHeld(). */
  let holding = false;
  const held: ServerResponse[] = [];

  const releaseHeld = () => {
    holding = false;
    for (const response of held.splice(0)) response.end('ok');
  };

  before(async function () {
    const address = process.env.TEMPORAL_ADDRESS!;
    const temporalNamespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
    target = await startTargetServer((_request, response) => {
      if (holding) held.push(response);
      else response.end('ok');
    });
    url = `http://127.0.0.1:${target.port}/`;
    const taskQueue = `loadtest-local-test-${randomUUID().slice(0, 8)}`;
    worker = await startLocalWorkerProcess(address, temporalNamespace, taskQueue);
    connection = await Connection.connect({ address });
    runs = new LoadTestRuns(new Client({ connection, namespace: temporalNamespace }), { taskQueue });
  });

  after(async () => {
    await worker?.stop();
    await connection?.close();
    await target?.close();
  });

  beforeEach(() => {
    namespace = `client-${randomUUID().slice(0, 8)}`;
    started = [];
    holding = false;
  });

  afterEach(async () => {
    releaseHeld();
    for (const run of started) {
      await run.delete().catch(() => {});
      await run.deleted().catch(() => {});
    }
  });

  function spec(test: Partial<LoadTestSpec['test']> = {}, extra: Partial<LoadTestSpec> = {}): LoadTestSpec {
    return { replicas: 2, test: { method: 'GET', url, port: 80, path: '/', repeat: 20, ...test }, ...extra };
  }

  async function start(name: string, loadTestSpec: LoadTestSpec): Promise<LoadTestRun> {
    const run = await runs.start({ namespace, name, spec: loadTestSpec, timing: TIMING });
    started.push(run);
    return run;
  }

  /** The first snapshot `watch` yields that matches. */
  async function until(run: LoadTestRun, matches: (snapshot: LoadTestSnapshot) => boolean) {
    for await (const snapshot of run.watch({ pollIntervalMs: 200 })) if (matches(snapshot)) return snapshot;
    throw new Error('the run settled first');
  }

  it('starts a LoadTest that runs to finished, and result() returns the merged results of its runners', async () => {
    const run = await start('finishes', spec({ repeat: 30 }));

    const outcome = await run.result({ pollIntervalMs: 200 });

    assert.equal(outcome.state, 'finished');
    assert.equal(outcome.passed, true);
    assert.equal(outcome.generation, 1);
    assert.equal(outcome.results?.requests, 60, 'two runners send spec.test.repeat requests each');
    assert.deepEqual(outcome.results?.statusCodes, { '200': 60 });
    assert.match(outcome.message, /^60 requests, 0 errors/);
  });

  it('answers the status query and shows the runners live progress while they send', async () => {
    holding = true;
    const run = await start('live', spec({ repeat: 100_000, connections: 2 }));

    const executing = await until(run, (snapshot) => snapshot.state === 'executing' && held.length >= 4);
    const status = await run.status();
    releaseHeld();
    const sending = await until(run, (snapshot) => (snapshot.live?.completed ?? 0) > 0);

    assert.equal(executing.execution, 'RUNNING');
    assert.deepEqual(status.children, ['live-g1-0', 'live-g1-1']);
    assert.equal(status.progress.replicas, 2);
    assert.ok(status.progress.step === 'running' || status.progress.step === 'starting-runners');
    assert.equal(sending.live?.runners, 2);
    assert.ok((sending.live?.rps ?? -1) >= 0 && (sending.live?.sent ?? 0) >= (sending.live?.completed ?? 0));
  });

  it('runs a new generation after update(), and result() awaits that generation', async () => {
    holding = true;
    const run = await start('updated', spec({ repeat: 100_000 }));
    await until(run, (snapshot) => snapshot.state === 'executing');

    const generation = await run.update(spec({ repeat: 5 }, { replicas: 1 }));
    releaseHeld();
    const outcome = await run.result({ pollIntervalMs: 200 });

    assert.equal(generation, 2);
    assert.equal(outcome.generation, 2);
    assert.equal(outcome.state, 'finished');
    assert.equal(outcome.results?.requests, 5, 'the new spec ran, not the one it replaced');
  });

  it('stops the runners and completes the workflow on delete(), so result() reports the deletion', async () => {
    holding = true;
    const run = await start('deleted', spec({ repeat: 100_000 }));
    await until(run, (snapshot) => snapshot.state === 'executing' && held.length >= 2);

    await run.delete();
    releaseHeld(); // runners stopped mid-request would otherwise wait for their request timeout
    const deleted = await run.deleted();

    assert.equal(deleted.reason, 'deleted');
    assert.deepEqual([...deleted.deletedRunners].sort(), ['deleted-g1-0', 'deleted-g1-1']);
    await assert.rejects(run.result(), LoadTestRunEndedError);
  });

  it('ends failed with the breached thresholds when the results miss them', async () => {
    const run = await start('breached', spec({ repeat: 10 }, { thresholds: ['rps > 100000000', 'errorRate < 1%'] }));

    const outcome = await run.result({ pollIntervalMs: 200 });

    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.passed, false);
    assert.deepEqual(
      outcome.breached.map((threshold) => threshold.threshold),
      ['rps > 100000000'],
    );
    assert.match(outcome.message, /rps/);
  });

  it('finds and lists LoadTests by namespace and name through their search attributes', async () => {
    const first = await start('alpha', spec());
    await start('beta', spec());
    await first.result({ pollIntervalMs: 200 });

    const listed = await waitFor(
      async () => {
        const rows = await runs.list({ namespace });
        return rows.length === 2 && rows.every((row) => row.generation === 1) ? rows : undefined;
      },
      { timeoutMs: 20_000, what: 'both LoadTests in visibility' },
    );
    const found = await runs.find(namespace, 'alpha');

    assert.deepEqual(listed.map((row) => row.ref.name).sort(), ['alpha', 'beta']);
    assert.ok(listed.every((row) => row.execution === 'RUNNING' && row.ref.namespace === namespace));
    assert.equal(found?.workflowId, first.workflowId);
    assert.equal(await runs.find(namespace, 'nobody'), undefined);
  });

  it("reads a deleted LoadTest's last status from its history, without a worker's help", async () => {
    const run = await start('history', spec({ repeat: 10 }));
    await run.result({ pollIntervalMs: 200 });
    await run.delete();
    await run.deleted();

    const snapshot = await run.snapshot();

    assert.equal(snapshot.execution, 'COMPLETED');
    assert.equal(snapshot.state, 'finished');
    assert.equal(snapshot.status?.results?.requests, 20);
  });

  it('refuses to start a spec the CRD would reject, naming every problem', async () => {
    await assert.rejects(
      runs.start({ namespace, name: 'invalid', spec: { replicas: 0, test: { url, repeat: 1, duration: '1s' } } }),
      (error: unknown) =>
        error instanceof InvalidLoadTestSpecError &&
        error.problems.length === 2 &&
        error.problems.some((problem) => problem.startsWith('spec.replicas')),
    );
  });
});
