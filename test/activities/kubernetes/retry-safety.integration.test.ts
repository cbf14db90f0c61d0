/**
 * Retry safety of the Kubernetes activities on the test bed's real apiserver. Temporal runs an activity again
 * when an attempt fails or its completion is lost, so running one twice must leave what running it once leaves.
 * The activities come from the real createKubernetesActivities over the real clients of src/k8s (wired as the
 * worker wires them) and run in MockActivityEnvironment, one environment per attempt. Each case has its own
 * namespace; the runner pods it creates really run on the test bed's node agent, waiting for a start time.
 */
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { createKubernetesActivities } from '../../../activities/kubernetes/index.js';
import type { LoadTestActivities, LoadTestEvent, LoadTestRef, StatusReport } from '../../../activities/types.js';
import {
  createKubernetes,
  loadKubeConfig,
  loadTestInformer,
  runnerPodInformer,
  type LoadTestObject,
  type ResilientInformer,
} from '../../../src/k8s/index.js';
import { validateLoadTestSpec, type LoadTestSpec } from '../../../src/loadtest/spec.js';
import { START_AT_ANNOTATION } from '../../../src/runner/contract.js';
import { ensureCrd } from '../../operator/cluster.js';
import { apply, createNamespace, getJson, kubectlOk, kubectlWait } from '../../support/kubectl.js';

interface ObjectJson {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ uid: string; controller?: boolean }>;
  };
}
interface LoadTestJson extends ObjectJson {
  spec: unknown;
  status?: Record<string, unknown>;
}
interface EventJson extends ObjectJson {
  reason: string;
  message: string;
  count: number;
}

const UID_LABEL = 'loadtest.example.org/uid';

describe('Kubernetes activities retried on a real apiserver', function () {
  this.timeout(120_000);
  let namespace: string;
  let activities: LoadTestActivities;
  let loadTests: ResilientInformer<LoadTestObject> | undefined;
  let runnerPods: ReturnType<typeof runnerPodInformer>;
  let kube: ReturnType<typeof createKubernetes>;

  before(async () => {
    await ensureCrd();
    kube = createKubernetes(loadKubeConfig(process.env.KUBECONFIG));
    // The worker's informers: the activities read LoadTests and runner pods there.
    loadTests = loadTestInformer(kube);
    runnerPods = runnerPodInformer(kube);
    loadTests.start();
    runnerPods.start();
    await Promise.all([loadTests.waitForSync(), runnerPods.waitForSync()]);
    activities = createKubernetesActivities({
      ...kube,
      runnerPods,
      loadTestCache: loadTests,
      runnerImage: 'loadtest-operator:dev',
      // One pod at a time, so an attempt stopped after its first create leaves exactly one pod.
      concurrency: 1,
      instance: 'retry-safety-test',
    });
  });

  after(async () => {
    // Undefined when `before` failed early.
    await Promise.all([loadTests?.stop(), runnerPods?.stop()]);
  });

  beforeEach(async () => {
    namespace = await createNamespace('retry');
  });

  afterEach(async () => {
    await kubectlOk(['delete', 'namespace', namespace, '--wait=false']);
  });

  /** One attempt of an activity, as a worker runs it: its own activity context. */
  function attempt<I, O>(
    activity: (input: I) => Promise<O>,
    input: I,
    number: number,
    onHeartbeat?: (env: MockActivityEnvironment) => void,
  ): Promise<O> {
    const env = new MockActivityEnvironment({ attempt: number }, { logger: new DefaultLogger('ERROR') });
    if (onHeartbeat !== undefined) env.on('heartbeat', () => onHeartbeat(env));
    return env.run<[I], O, (input: I) => Promise<O>>(activity, input);
  }

  /** Applies a LoadTest and returns what the activities get for it: its ref (with the uid) and its spec. */
  async function createLoadTest(name: string, replicas: number): Promise<{ ref: LoadTestRef; spec: LoadTestSpec }> {
    await apply({
      apiVersion: 'example.org/v1',
      kind: 'LoadTest',
      metadata: { name, namespace },
      spec: { replicas, test: { serviceName: 'nginx', repeat: 1 } },
    });
    const object = await getJson<LoadTestJson>(`ld/${name}`, namespace);
    const { spec, problems } = validateLoadTestSpec(object.spec);
    assert.ok(spec !== undefined, problems.join('; '));
    return { ref: { namespace, name, uid: object.metadata.uid }, spec };
  }

  /** Every pod in the namespace: name → [pod uid, LoadTest uid label, controller owner uid]. */
  async function pods(): Promise<Map<string, readonly [string, string | undefined, string | undefined]>> {
    const list = await getJson<{ items: ObjectJson[] }>('pods', namespace);
    return new Map(
      list.items
        .map(({ metadata }) => {
          const owner = metadata.ownerReferences?.find((reference) => reference.controller === true)?.uid;
          return [metadata.name, [metadata.uid, metadata.labels?.[UID_LABEL], owner]] as const;
        })
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  }

  it('createRunners retried after creates that succeeded creates no pod twice and returns the same names', async () => {
    const { ref, spec } = await createLoadTest('retried', 3);
    const input = { loadTest: ref, generation: 1, spec };

    // Attempt 1 dies after its first pod was created (cancelled at the heartbeat that follows the create).
    await assert.rejects(
      attempt(activities.createRunners, input, 1, (env) => env.cancel()),
      CancelledFailure,
    );
    const first = await pods();
    assert.deepEqual([...first.keys()], ['retried-g1-0']);

    const names = await attempt(activities.createRunners, input, 2);
    assert.deepEqual(names, ['retried-g1-0', 'retried-g1-1', 'retried-g1-2']);
    const created = await pods();
    assert.deepEqual([...created.keys()], names);
    assert.deepEqual(created.get('retried-g1-0'), first.get('retried-g1-0'), 'the pod of attempt 1 was kept');
    for (const [, uidLabel, owner] of created.values()) assert.deepEqual([uidLabel, owner], [ref.uid, ref.uid]);

    // Attempt 3: the activity had succeeded but its completion was lost.
    assert.deepEqual(await attempt(activities.createRunners, input, 3), names);
    assert.deepEqual(await pods(), created);
  });

  it('recordEvent posted twice yields one Event; another generation gets its own', async () => {
    const { ref } = await createLoadTest('noted', 1);
    const event: LoadTestEvent = {
      type: 'Normal',
      reason: 'RunnersCreated',
      message: 'created runners x',
      generation: 1,
    };
    /** The LoadTest's Events: [reason, message, count, name], by name. */
    const events = async () => {
      const args = [
        'get',
        'events',
        '-n',
        namespace,
        '--field-selector',
        `involvedObject.uid=${ref.uid}`,
        '-o',
        'json',
      ];
      const list = JSON.parse(await kubectlOk(args)) as { items: EventJson[] };
      return list.items
        .map((item) => [item.reason, item.message, item.count, item.metadata.name] as const)
        .sort(([, , , a], [, , , b]) => a.localeCompare(b));
    };

    await attempt(activities.recordEvent, { loadTest: ref, event }, 1);
    const once = await events();
    assert.deepEqual(
      once.map(([reason, message, count]) => [reason, message, count]),
      [['RunnersCreated', 'created runners x', 1]],
    );
    await attempt(activities.recordEvent, { loadTest: ref, event }, 2);
    assert.deepEqual(await events(), once);

    await attempt(activities.recordEvent, { loadTest: ref, event: { ...event, generation: 2 } }, 1);
    assert.equal((await events()).length, 2);
  });

  it('publishStatus twice leaves the status, and the object, as once', async () => {
    const { ref } = await createLoadTest('shown', 1);
    const status: StatusReport = {
      state: 'pending',
      generation: 1,
      children: [],
      message: 'starting 1 runner(s) for generation 1',
      startTime: '2026-01-02T03:04:05.000Z',
      transitionTime: '2026-01-02T03:04:05.000Z',
    };

    await attempt(activities.publishStatus, { loadTest: ref, status }, 1);
    const once = await getJson<LoadTestJson>('ld/shown', namespace);
    assert.equal(once.status?.state, 'pending');
    assert.equal(once.status?.observedGeneration, 1);
    await attempt(activities.publishStatus, { loadTest: ref, status }, 2);
    const twice = await getJson<LoadTestJson>('ld/shown', namespace);
    assert.deepEqual(twice.status, once.status);
    assert.equal(twice.metadata.resourceVersion, once.metadata.resourceVersion, 'the second patch wrote nothing');
  });

  /** The LoadTest's Events: [reason, message, count], by name. */
  async function eventsOf(uid: string): Promise<Array<readonly [string, string, number]>> {
    const args = ['get', 'events', '-n', namespace, '--field-selector', `involvedObject.uid=${uid}`, '-o', 'json'];
    const list = JSON.parse(await kubectlOk(args)) as { items: EventJson[] };
    return list.items
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((item) => [item.reason, item.message, item.count] as const);
  }

  /** Resolves once the worker's pod informer holds `names` (a watch event away from their creation). */
  function informerHolds(names: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!names.every((name) => runnerPods.get(namespace, name) !== undefined)) return;
        stop();
        resolve();
      };
      const stop = runnerPods.on('add', check);
      check();
    });
  }

  it('createRunners with replaceOthers and createdEvent, retried: the other generations go once, one RunnersCreated Event', async () => {
    const { ref, spec } = await createLoadTest('lean', 2);
    const earlier = await attempt(activities.createRunners, { loadTest: ref, generation: 1, spec }, 1);
    await informerHolds(earlier);
    const input = { loadTest: ref, generation: 2, spec, replaceOthers: true, createdEvent: { generation: 2 } };

    const names = await attempt(activities.createRunners, input, 1);
    assert.deepEqual(await attempt(activities.createRunners, input, 2), names);

    assert.deepEqual(names, ['lean-g2-0', 'lean-g2-1']);
    for (const name of earlier) await kubectlWait(`pod/${name}`, '--for=delete', 60, namespace);
    assert.deepEqual([...(await pods()).keys()], names);
    assert.deepEqual(await eventsOf(ref.uid), [['RunnersCreated', 'created runners lean-g2-0, lean-g2-1', 1]]);
  });

  it('awaitRunnersRunning with startDelayMs starts the runners through their control endpoints; retried without its heartbeat, it sends the same instant', async () => {
    const { ref, spec } = await createLoadTest('started', 2);
    const runners = await attempt(activities.createRunners, { loadTest: ref, generation: 1, spec }, 1);
    // A minute ahead: the runners wait at the start line for the rest of the test.
    const input = { loadTest: ref, generation: 1, runners, timeoutMs: 120_000, startDelayMs: 60_000 };

    const first = await attempt(activities.awaitRunnersRunning, input, 1);
    assert.equal(first.kind, 'running', JSON.stringify(first));
    const startAtMs = first.kind === 'running' ? first.startAtMs : undefined;
    assert.ok(startAtMs !== undefined);
    // Its completion lost, and its heartbeat too: the retry finds the instant the runners already have.
    assert.deepEqual(await attempt(activities.awaitRunnersRunning, input, 2), first);

    for (const name of runners) {
      const pod = await getJson<{ metadata: { annotations?: Record<string, string> } }>(`pod/${name}`, namespace);
      assert.equal(pod.metadata.annotations?.[START_AT_ANNOTATION], undefined, `${name}: started without an API call`);
    }
  });

  it('publishStatus built from a cache that has not seen the latest write is refused by the API server and built again: nothing it did not see is lost', async () => {
    const { ref } = await createLoadTest('lagging', 1);
    const before = await getJson<LoadTestObject>('ld/lagging', namespace);
    const specApplied = { status: 'True' as const, reason: 'AppliedLive', message: 'applied', generation: 2 };
    const executing: StatusReport = {
      state: 'executing',
      generation: 1,
      children: ['lagging-g1-0'],
      message: 'sending',
      transitionTime: '2026-01-02T03:04:05.000Z',
      specApplied,
    };
    await attempt(activities.publishStatus, { loadTest: ref, status: executing }, 1);
    // The same activities over a cache that still shows the LoadTest as it was before that write.
    const lagging = createKubernetesActivities({
      ...kube,
      runnerPods,
      loadTestCache: { hasSynced: true, get: () => before },
      runnerImage: 'loadtest-operator:dev',
      instance: 'retry-safety-test',
    });

    const later = { ...executing, message: 'still sending', transitionTime: '2026-01-02T03:04:09.000Z' };
    delete later.specApplied;
    await attempt(lagging.publishStatus, { loadTest: ref, status: later }, 1);

    const after = await getJson<LoadTestJson>('ld/lagging', namespace);
    const conditions = (after.status?.conditions ?? []) as Array<{ type: string; lastTransitionTime: string }>;
    assert.equal(after.status?.message, 'still sending');
    assert.deepEqual(
      conditions.map((c) => [c.type, c.lastTransitionTime]),
      [
        ['Succeeded', '2026-01-02T03:04:05.000Z'],
        ['SpecApplied', '2026-01-02T03:04:05.000Z'],
      ],
    );
  });

  it('createRunners does not take a pod left by an earlier LoadTest of the same name for its own: it removes it and a retry creates its own', async () => {
    const earlier = await createLoadTest('same', 2);
    const input = { generation: 1, spec: earlier.spec };
    const names = await attempt(activities.createRunners, { ...input, loadTest: earlier.ref }, 1);
    // Deleted without its dependents: its runner pods stay, no longer owned, still labelled with its uid.
    await kubectlOk(['delete', 'ld', 'same', '-n', namespace, '--cascade=orphan']);
    await kubectlWait('ld/same', '--for=delete', 60, namespace);
    const left = await pods();
    assert.deepEqual(
      [...left.values()].map(([, uidLabel, owner]) => [uidLabel, owner]),
      [
        [earlier.ref.uid, undefined],
        [earlier.ref.uid, undefined],
      ],
    );

    const current = await createLoadTest('same', 2);
    assert.notEqual(current.ref.uid, earlier.ref.uid);
    // Its control-token Secret first (it is created before the pods), then its pods.
    await assert.rejects(
      attempt(activities.createRunners, { ...input, loadTest: current.ref }, 1),
      /^Error: Secret same-g1-control of an earlier LoadTest named same is still there$/,
    );
    await assert.rejects(
      attempt(activities.createRunners, { ...input, loadTest: current.ref }, 2),
      /^Error: pod same-g1-[01] of an earlier LoadTest named same is still there$/,
    );
    for (const name of names) await kubectlWait(`pod/${name}`, '--for=delete', 60, namespace);

    assert.deepEqual(await attempt(activities.createRunners, { ...input, loadTest: current.ref }, 3), names);
    const secret = await getJson<{ metadata: { labels: Record<string, string> } }>('secret/same-g1-control', namespace);
    assert.equal(secret.metadata.labels['loadtest.example.org/uid'], current.ref.uid, "the Secret is the new run's");
    const replaced = await pods();
    assert.deepEqual([...replaced.keys()], names);
    for (const name of names) {
      const [podUid, uidLabel, owner] = replaced.get(name)!;
      assert.notEqual(podUid, left.get(name)![0], `${name} is a new pod`);
      assert.deepEqual([uidLabel, owner], [current.ref.uid, current.ref.uid], name);
    }
  });
});
