/**
 * The local LoadTestActivities with real runner processes (the built CLI) against a test server on this
 * machine, each activity run as the worker would run it (MockActivityEnvironment: heartbeats, cancellation).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { LoadTestActivities, LoadTestRef } from '../../../activities/types.js';
import { createLocalActivities, LocalRunners, LocalStatusBoard } from '../../../activities/local/index.js';
import type { ProgressHeartbeat } from '../../../activities/progress.js';
import type { LoadTestSpec } from '../../../src/loadtest/spec.js';
import { freePort } from '../../../src/util/process.js';
import { startTargetServer, type TargetServer } from '../../support/target-server.js';

function spec(url: string, overrides: Partial<LoadTestSpec['test']> = {}, replicas = 2): LoadTestSpec {
  return { replicas, test: { method: 'GET', url, port: 80, path: '/', repeat: 20, ...overrides } };
}

/** Runs one activity the way a worker does, collecting its heartbeats. */
function runActivity<K extends keyof LoadTestActivities>(
  activities: LoadTestActivities,
  name: K,
  input: Parameters<LoadTestActivities[K]>[0],
  onHeartbeat: (details: unknown) => void = () => {},
): { env: MockActivityEnvironment; result: ReturnType<LoadTestActivities[K]> } {
  const env = new MockActivityEnvironment();
  env.on('heartbeat', onHeartbeat);
  const fn = activities[name] as (input: unknown) => ReturnType<LoadTestActivities[K]>;
  return { env, result: env.run(fn, input) as ReturnType<LoadTestActivities[K]> };
}

describe('local activities (runner processes on this machine)', function () {
  this.timeout(60_000);
  let target: TargetServer;
  let url: string;
  let runners: LocalRunners;
  let board: LocalStatusBoard;
  let activities: LoadTestActivities;
  let loadTest: LoadTestRef;
  /** Responses held back while a test needs runners mid-run; released with releaseHeld(). */
  let holding = false;
  let held: ServerResponse[] = [];

  const releaseHeld = () => {
    holding = false;
    for (const response of held.splice(0)) response.end('ok');
  };

  before(async () => {
    target = await startTargetServer((_request, response) => {
      if (holding) held.push(response);
      else response.end('ok');
    });
    url = `http://127.0.0.1:${target.port}/`;
  });

  after(async () => {
    await target.close();
  });

  beforeEach(() => {
    holding = false;
    held = [];
    target.requests.length = 0;
    runners = new LocalRunners({ progressIntervalMs: 100 });
    board = new LocalStatusBoard();
    activities = createLocalActivities({ runners, board, heartbeatIntervalMs: 100 });
    loadTest = { namespace: 'default', name: 'local', uid: randomUUID() };
  });

  afterEach(async () => {
    releaseHeld();
    await runners.stopAll();
  });

  async function startedRunners(testSpec: LoadTestSpec, generation = 1) {
    const names = await activities.createRunners({ loadTest, generation, spec: testSpec });
    const ref = { loadTest, generation, runners: names };
    assert.deepEqual(await activities.awaitRunnersRunning({ ...ref, timeoutMs: 10_000 }), { kind: 'running' });
    await activities.startRunners({ ...ref, startAtMs: Date.now() });
    return ref;
  }

  it('runs one runner process per replica from the common start time and merges their summaries', async () => {
    const ref = await startedRunners(spec(url, { repeat: 25 }, 3));
    assert.deepEqual(ref.runners, ['local-g1-0', 'local-g1-1', 'local-g1-2']);

    const { result } = runActivity(activities, 'awaitRunnersCompleted', ref);
    const completed = await result;

    assert.equal(completed.kind, 'succeeded');
    if (completed.kind !== 'succeeded') return;
    assert.equal(completed.runners, 3);
    assert.equal(completed.results.requests, 75, 'each runner sends spec.test.repeat requests');
    assert.deepEqual(completed.results.statusCodes, { '200': 75 });
    assert.equal(target.requests.length, 75);
  });

  it('heartbeats the combined progress of every runner while they send', async () => {
    const ref = await startedRunners(spec(url, { repeat: 1_000_000 }));
    const progressed = new Promise<ProgressHeartbeat>((resolve) => {
      const { result } = runActivity(activities, 'awaitRunnersCompleted', ref, (details) => {
        const heartbeat = details as ProgressHeartbeat;
        if (heartbeat.progress.reporting === 2 && heartbeat.progress.completed > 0) resolve(heartbeat);
      });
      void result.catch(() => {});
    });

    const { progress } = await progressed;

    assert.equal(progress.runners, 2);
    assert.ok(progress.sent >= progress.completed && progress.rps >= 0 && progress.p99Ms > 0);
    assert.ok(target.requests.length >= progress.completed, 'progress counts what the target received');
  });

  it('reports the first runner that fails, with its exit code and what it said', async () => {
    runners = new LocalRunners({
      command: [process.execPath, '-e', 'process.stderr.write("cannot bind\\n"); process.exit(3)', '--'],
    });
    activities = createLocalActivities({ runners, heartbeatIntervalMs: 100 });
    const names = await activities.createRunners({ loadTest, generation: 1, spec: spec(url, {}, 1) });

    const { result } = runActivity(activities, 'awaitRunnersCompleted', { loadTest, generation: 1, runners: names });

    assert.deepEqual(await result, { kind: 'failed', runner: 'local-g1-0', reason: 'exited with code 3: cannot bind' });
  });

  it('creates no second process when createRunners is retried', async () => {
    const input = { loadTest, generation: 1, spec: spec(url) };
    const first = await activities.createRunners(input);
    const again = await activities.createRunners(input);

    assert.deepEqual(again, first);
    assert.equal(runners.of(loadTest).length, 2);
  });

  it('deletes runners still waiting or sending, keeps finished ones when asked, and spares the kept generation', async () => {
    const finished = await startedRunners(spec(url, { repeat: 1 }, 1), 1);
    await runActivity(activities, 'awaitRunnersCompleted', finished).result;
    await activities.createRunners({ loadTest, generation: 2, spec: spec(url) });

    assert.deepEqual(await activities.deleteRunners({ loadTest, exceptGeneration: 2 }), ['local-g1-0']);
    assert.deepEqual(await activities.deleteRunners({ loadTest, keepFinished: true }), ['local-g2-0', 'local-g2-1']);
    assert.deepEqual(runners.of(loadTest), []);
  });

  it('ends awaitRunnersCompleted when the workflow cancels it', async () => {
    holding = true;
    const ref = await startedRunners(spec(url, { repeat: 1000 }));
    let heartbeated!: () => void;
    const firstHeartbeat = new Promise<void>((resolve) => (heartbeated = resolve));
    const { env, result } = runActivity(activities, 'awaitRunnersCompleted', ref, () => heartbeated());

    await firstHeartbeat;
    env.cancel();

    await assert.rejects(result, /cancel/i);
  });

  it('checks that the target accepts connections, and says why not', async () => {
    const closedPort = await freePort();
    const refused = await activities.checkTarget({ loadTest, spec: spec(`http://127.0.0.1:${closedPort}/`) });
    const open = await activities.checkTarget({ loadTest, spec: spec(url) });
    const service = await activities.checkTarget({
      loadTest,
      spec: { replicas: 1, test: { method: 'GET', serviceName: 'web', port: 80, path: '/' } },
    });

    assert.deepEqual(open, { ok: true });
    assert.deepEqual(refused, {
      ok: false,
      reason: `cannot reach http://127.0.0.1:${closedPort}/: connection refused`,
    });
    assert.equal(service.ok, false);
    assert.match(!service.ok ? service.reason : '', /spec\.test\.serviceName "web".*--target URL/);
  });

  it('createRunners with replaceOthers stops the runners of every other generation first, and keeps its own', async () => {
    holding = true;
    await activities.createRunners({ loadTest, generation: 1, spec: spec(url, {}, 2) });
    await activities.createRunners({ loadTest, generation: 3, spec: spec(url, {}, 1) });
    const input = { loadTest, generation: 2, spec: spec(url, {}, 2), replaceOthers: true };

    const names = await activities.createRunners(input);
    const again = await activities.createRunners(input);

    assert.deepEqual(again, names);
    assert.deepEqual(
      runners.of(loadTest).map((runner) => runner.name),
      ['local-g2-0', 'local-g2-1'],
    );
  });

  it('createRunners with createdEvent records RunnersCreated naming the runners, once however often retried', async () => {
    const input = { loadTest, generation: 1, spec: spec(url), createdEvent: { generation: 5 } };
    await activities.createRunners(input);
    await activities.createRunners(input);

    assert.deepEqual(board.eventsOf(loadTest), [
      { type: 'Normal', reason: 'RunnersCreated', message: 'created runners local-g1-0, local-g1-1', generation: 5 },
    ]);
  });

  it('awaitRunnersRunning with startDelayMs starts every runner at the instant it returns', async () => {
    const names = await activities.createRunners({ loadTest, generation: 1, spec: spec(url, { repeat: 5 }) });
    const ref = { loadTest, generation: 1, runners: names };
    const before = Date.now();
    const running = await runActivity(activities, 'awaitRunnersRunning', {
      ...ref,
      timeoutMs: 10_000,
      startDelayMs: 200,
    }).result;
    const after = Date.now();

    assert.equal(running.kind, 'running');
    const startAtMs = running.kind === 'running' ? running.startAtMs : undefined;
    assert.ok(startAtMs !== undefined && startAtMs >= before + 200 && startAtMs <= after + 200, String(startAtMs));
    const completed = await runActivity(activities, 'awaitRunnersCompleted', ref).result;
    assert.equal(completed.kind, 'succeeded', JSON.stringify(completed));
    if (completed.kind !== 'succeeded') return;
    assert.equal(completed.results.requests, 10, 'the runners started: each sent its requests');
    for (const name of names) {
      const file = await readFile(runners.get(loadTest, name)!.files.startAt, 'utf8');
      assert.match(file, new RegExp(`="${startAtMs}"`), `${name}'s start-at file: ${file}`);
    }
  });

  it('awaitRunnersRunning retried sends the start instant an earlier attempt heartbeated', async () => {
    const names = await activities.createRunners({ loadTest, generation: 1, spec: spec(url, { repeat: 5 }) });
    const ref = { loadTest, generation: 1, runners: names, timeoutMs: 10_000, startDelayMs: 60_000 };
    const startAtMs = Date.now() + 100;
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { startAtMs } });

    const running = await env.run(activities.awaitRunnersRunning, ref);

    assert.deepEqual(running, { kind: 'running', startAtMs });
    for (const name of names) {
      const file = await readFile(runners.get(loadTest, name)!.files.startAt, 'utf8');
      assert.match(file, new RegExp(`="${startAtMs}"`), `${name}'s start-at file: ${file}`);
    }
  });

  it('publishStatus with an event records it with the status', async () => {
    const status = { state: 'executing' as const, generation: 1, children: [], message: 'm', transitionTime: 'now' };
    const event = { type: 'Normal' as const, reason: 'Executing', message: 'x', generation: 1 };
    await activities.publishStatus({ loadTest, status, event });
    await activities.publishStatus({ loadTest, status, event });

    assert.deepEqual(board.statusOf(loadTest), status);
    assert.deepEqual(board.eventsOf(loadTest), [event]);
  });

  it('keeps the latest status and one event per generation and reason in memory', async () => {
    const status = { state: 'executing' as const, generation: 1, children: [], message: 'm', transitionTime: 'now' };
    await activities.publishStatus({ loadTest, status });
    const event = { type: 'Normal' as const, reason: 'Executing', message: 'x', generation: 1 };
    await activities.recordEvent({ loadTest, event });
    await activities.recordEvent({ loadTest, event });

    assert.deepEqual(board.statusOf(loadTest), status);
    assert.deepEqual(board.eventsOf(loadTest), [event]);
  });
});
