import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { LoadTestObject } from '../../src/k8s/index.js';
import { loadTestWorkflowId } from '../../src/loadtest/workflow-id.js';
import { LoadTestWatcher, runningLoadTestWorkflows, type LoadTestSource } from '../../src/operator/watcher.js';
import { runReportSignal, statusQuery } from '../../workflows/definitions.js';
import type { loadTestWorkflow } from '../../workflows/loadtest.js';
import { FakeLoadTests } from '../activities/kubernetes/fakes.js';
import { FakeBackend, sampleSpec } from '../workflows/fake-backend.js';
import { startTestEnvironment, workflowBundle } from '../workflows/temporal-env.js';

const TASK_QUEUE = 'loadtest-watcher-test';
const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** Stands in for the LoadTest informer: a test says what it lists and what it sees change. */
class FakeSource implements LoadTestSource {
  objects: LoadTestObject[] = [];
  private readonly handlers = new Map<string, Array<(value: never) => void>>();
  on(event: string, handler: (value: never) => void) {
    const list = this.handlers.get(event) ?? [];
    list.push(handler);
    this.handlers.set(event, list);
    return () => list.splice(list.indexOf(handler), 1);
  }
  start() {
    this.emit('synced', this.objects);
  }
  stop() {
    return Promise.resolve();
  }
  emit(event: 'add' | 'update' | 'delete' | 'synced', value: LoadTestObject | LoadTestObject[]) {
    for (const handler of this.handlers.get(event) ?? []) (handler as (value: unknown) => void)(value);
  }
}

describe('LoadTest watcher', function () {
  this.timeout(60_000);
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let workerRun: Promise<void>;
  let backend: FakeBackend;
  let loadTests: FakeLoadTests;
  const watchers: LoadTestWatcher[] = [];

  before(async function () {
    this.timeout(120_000);
    env = await startTestEnvironment();
    const names = Object.keys(new FakeBackend().activities()) as Array<keyof ReturnType<FakeBackend['activities']>>;
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: Object.fromEntries(
        names.map((name) => [name, (input: never) => (backend.activities()[name] as (i: never) => unknown)(input)]),
      ),
    });
    workerRun = worker.run();
  });

  after(async () => {
    worker?.shutdown();
    await workerRun;
    await env?.teardown();
  });

  beforeEach(() => {
    backend = new FakeBackend();
    loadTests = new FakeLoadTests();
  });

  afterEach(async () => {
    for (const watcher of watchers.splice(0)) await watcher.stop();
    for await (const execution of env.client.workflow.list({ query: runningLoadTestWorkflows(TASK_QUEUE) })) {
      await env.client.workflow
        .getHandle(execution.workflowId)
        .terminate('test over')
        .catch(() => {});
    }
  });

  function watcher(source: FakeSource = new FakeSource()) {
    const created = new LoadTestWatcher({
      client: env.client,
      source,
      loadTests,
      taskQueue: TASK_QUEUE,
      log: silent,
      timing: { startDelayMs: 0 },
      attempts: 1,
    });
    watchers.push(created);
    return { watcher: created, source };
  }

  /** A LoadTest as the API returns it; also stored in the fake API. */
  function loadTest(name = `lt-${randomUUID().slice(0, 8)}`, generation = 1, replicas = 2): LoadTestObject {
    const object = loadTests.add('default', name, randomUUID(), sampleSpec({ replicas }), generation);
    return object;
  }

  const handleOf = (object: LoadTestObject) =>
    env.client.workflow.getHandle<typeof loadTestWorkflow>(
      loadTestWorkflowId({ namespace: 'default', name: object.metadata.name, uid: object.metadata.uid }),
    );

  /** Visibility is eventually consistent: wait until the workflow shows up in a list query. */
  async function visible(workflowId: string) {
    for (;;) {
      for await (const execution of env.client.workflow.list({ query: runningLoadTestWorkflows(TASK_QUEUE) })) {
        if (execution.workflowId === workflowId) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('starts the workflow of a LoadTest it lists, once, however often it re-lists or restarts', async () => {
    const object = loadTest();
    const first = watcher();
    first.source.objects = [object];
    first.watcher.start();
    await backend.untilState('finished');
    await backend.until('publishRunHistory'); // the LoadTest's workflow has taken in its run's end
    const runId = (await handleOf(object).describe()).runId;

    first.source.start();
    const restarted = watcher();
    restarted.source.objects = [object];
    restarted.watcher.start();
    await restarted.watcher.reconcile(object);

    assert.equal((await handleOf(object).describe()).runId, runId);
    const status = await handleOf(object).query(statusQuery);
    assert.equal(status.state, 'finished');
    assert.equal(backend.callsOf('createRunners').length, 1, 'no runner created twice');
  });

  it('leaves alone a LoadTest whose status already shows its generation', async () => {
    const object = loadTest();
    object.status = { observedGeneration: 1, state: 'finished' };
    await watcher().watcher.reconcile(object);

    await assert.rejects(handleOf(object).describe(), WorkflowNotFoundError);
  });

  it('turns a new generation into an update: the runners are replaced and the new spec runs', async () => {
    const object = loadTest('changing', 1, 2);
    const { watcher: w, source } = watcher();
    w.start();
    source.emit('add', object);
    await backend.untilState('finished', 1);

    const changed = { ...object, spec: sampleSpec({ replicas: 4 }), metadata: { ...object.metadata, generation: 2 } };
    object.status = { observedGeneration: 1 };
    source.emit('update', changed);
    const finished = await backend.untilState('finished', 2);

    assert.equal(finished.children.length, 4);
  });

  it('turns a deletion into a delete signal that completes the workflow', async () => {
    const object = loadTest();
    const { watcher: w, source } = watcher();
    w.start();
    source.emit('add', object);
    await backend.until('createRunners');

    source.emit('delete', object);
    const result = await handleOf(object).result();
    assert.equal(result.reason, 'deleted');
  });

  it('on start, cleans up the workflow of a LoadTest deleted while it was down', async () => {
    const object = loadTest();
    await watcher().watcher.reconcile(object);
    await visible(handleOf(object).workflowId);
    loadTests.objects.clear();

    watcher().watcher.start();
    const result = await handleOf(object).result();
    assert.equal(result.reason, 'deleted');
  });

  it('leaves alone LoadTest workflows on other task queues (client and local-mode runs) when it cleans up', async () => {
    const ours = loadTest();
    await watcher().watcher.reconcile(ours);
    await visible(handleOf(ours).workflowId);
    // A run started by the client on its own task queue, for a LoadTest this cluster does not have.
    const foreign = await env.client.workflow.start('loadTestWorkflow', {
      taskQueue: 'some-local-run',
      workflowId: loadTestWorkflowId({ namespace: 'default', name: 'local-only', uid: randomUUID() }),
      args: [{}],
    });
    loadTests.objects.clear();

    watcher().watcher.start();
    assert.equal((await handleOf(ours).result()).reason, 'deleted');
    const history = await foreign.fetchHistory();
    // Signals from outside: the run's own reports (runReport) are its child talking, not the watcher.
    const signals = (history.events ?? []).filter(
      (event) =>
        event.workflowExecutionSignaledEventAttributes !== undefined &&
        event.workflowExecutionSignaledEventAttributes !== null &&
        event.workflowExecutionSignaledEventAttributes.signalName !== runReportSignal.name,
    );
    assert.deepEqual(signals, []);
    assert.equal((await foreign.describe()).status.name, 'RUNNING');
    await foreign.terminate('test over');
  });

  it('with a watched namespace (WATCH_NAMESPACE), cleans up the workflows of that namespace only', async () => {
    const ours = loadTests.add('team-a', `lt-${randomUUID().slice(0, 8)}`, randomUUID(), sampleSpec({ replicas: 2 }));
    const other = loadTest();
    await watcher().watcher.reconcile(ours);
    await watcher().watcher.reconcile(other);
    const oursHandle = env.client.workflow.getHandle(
      loadTestWorkflowId({ namespace: 'team-a', name: ours.metadata.name, uid: ours.metadata.uid }),
    );
    await visible(oursHandle.workflowId);
    await visible(handleOf(other).workflowId);
    // Neither LoadTest exists any more; this watcher may only act on team-a's.
    loadTests.objects.clear();

    const confined = new LoadTestWatcher({
      client: env.client,
      source: new FakeSource(),
      loadTests,
      taskQueue: TASK_QUEUE,
      namespace: 'team-a',
      log: silent,
      attempts: 1,
    });
    confined.start();
    assert.equal(((await oursHandle.result()) as { reason: string }).reason, 'deleted');
    await confined.stop(); // waits for every check it queued
    const history = await handleOf(other).fetchHistory();
    // Signals from outside: the run's own reports (runReport) are its child talking, not the watcher.
    const signals = (history.events ?? []).filter(
      (event) =>
        event.workflowExecutionSignaledEventAttributes !== undefined &&
        event.workflowExecutionSignaledEventAttributes !== null &&
        event.workflowExecutionSignaledEventAttributes.signalName !== runReportSignal.name,
    );
    assert.equal(signals.length, 1, 'only the update signal that started it');
    assert.equal((await handleOf(other).describe()).status.name, 'RUNNING');
  });

  it('treats a LoadTest deleted and created again under the same name as a new one', async () => {
    const old = loadTest('reused');
    await watcher().watcher.reconcile(old);
    await visible(handleOf(old).workflowId);
    const recreated = loadTest('reused');

    const { watcher: w, source } = watcher();
    source.objects = [recreated];
    w.start();

    assert.equal((await handleOf(old).result()).reason, 'deleted');
    await visible(handleOf(recreated).workflowId);
  });

  it('starts a workflow that fails listing the problems when a spec cannot run', async () => {
    const object = loadTest();
    object.spec = { replicas: 0, test: { method: 'FETCH' } };
    await watcher().watcher.reconcile(object);

    const failed = await backend.untilState('failed');
    assert.match(failed.message, /^invalid spec: .*replicas/);
    // Only this LoadTest's: the workflows earlier tests started may still be creating theirs.
    const ours = backend
      .callsOf('createRunners')
      .filter((input) => (input.loadTest as { uid: string }).uid === object.metadata.uid);
    assert.equal(ours.length, 0);
  });
});
