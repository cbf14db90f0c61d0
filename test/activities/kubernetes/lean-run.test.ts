/**
 * The lean run's activity contract on Kubernetes (activities/types.ts): createRunners replacing other generations
 * and recording RunnersCreated, awaitRunnersRunning starting the runners at one instant (kept across attempts),
 * publishStatus carrying an Event; and the worker's caches: LoadTests and runner pods are read from its informers,
 * with an API call only where a stale cache could be wrong.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { createKubernetesActivities } from '../../../activities/kubernetes/index.js';
import { LOADTEST_GONE, type LoadTestActivities, type StatusReport } from '../../../activities/types.js';
import { START_AT_ANNOTATION } from '../../../src/runner/contract.js';
import { sampleSpec } from '../../workflows/fake-backend.js';
import { FakeEvents, FakeLoadTests, FakePodCache, FakePods, FakeSecrets, FakeServices, withPhase } from './fakes.js';

const loadTest = { namespace: 'default', name: 'example', uid: 'uid-1' };

const status = (state: StatusReport['state'], extra: Partial<StatusReport> = {}): StatusReport => ({
  state,
  generation: 1,
  children: [],
  message: state,
  transitionTime: '2026-01-01T00:00:00Z',
  ...extra,
});

describe('Kubernetes activities of the lean run', () => {
  let pods: FakePods;
  let loadTests: FakeLoadTests;
  let events: FakeEvents;
  let cache: FakePodCache;
  let activities: LoadTestActivities;

  beforeEach(() => {
    pods = new FakePods();
    loadTests = new FakeLoadTests();
    events = new FakeEvents();
    cache = new FakePodCache();
    loadTests.add('default', 'example', 'uid-1', { replicas: 2 });
    const services = new FakeServices();
    services.add('default', 'nginx', [80]);
    activities = createKubernetesActivities({
      secrets: new FakeSecrets(),
      pods,
      loadTests,
      loadTestCache: loadTests.cache,
      services,
      events,
      runnerPods: cache,
      runnerImage: 'loadtest-operator:test',
      heartbeatIntervalMs: 20,
      missingGraceMs: 50,
    });
  });

  /** Runs an activity as attempt `info.attempt` (default 1), with `info.heartbeatDetails` from an earlier one. */
  function run<I, O>(
    activity: (input: I) => Promise<O>,
    input: I,
    info: { attempt?: number; heartbeatDetails?: unknown } = {},
    onHeartbeat?: (details: unknown) => void,
  ): Promise<O> {
    const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
    if (onHeartbeat !== undefined) env.on('heartbeat', onHeartbeat);
    return env.run<[I], O, (input: I) => Promise<O>>(activity, input);
  }

  /** Creates the runners of `generation` and shows them in the pod informer's cache, in `phase`. */
  async function runnersOf(generation: number, replicas = 2, phase: 'Pending' | 'Running' = 'Pending') {
    const names = await run(activities.createRunners, { loadTest, generation, spec: sampleSpec({ replicas }) });
    for (const name of names) cache.put(withPhase(pods.pods.get(name)!, phase));
    return names;
  }

  describe('createRunners', () => {
    it('with replaceOthers deletes the runners of every other generation, found in the pod informer, and keeps its own', async () => {
      await runnersOf(1);
      await runnersOf(3, 1);
      loadTests.add('default', 'other', 'uid-2');
      const other = await run(activities.createRunners, {
        loadTest: { ...loadTest, name: 'other', uid: 'uid-2' },
        generation: 1,
        spec: sampleSpec({ replicas: 1 }),
      });
      for (const name of other) cache.put(withPhase(pods.pods.get(name)!, 'Running'));
      const input = { loadTest, generation: 2, spec: sampleSpec({ replicas: 2 }), replaceOthers: true };

      const names = await run(activities.createRunners, input);
      // What the informer shows next: the new runners, and the deleted ones terminating.
      for (const name of names) cache.put(withPhase(pods.pods.get(name)!, 'Pending'));
      for (const name of ['example-g1-0', 'example-g1-1', 'example-g3-0']) {
        const pod = cache.get('default', name)!;
        cache.put({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() } });
      }
      const again = await run(activities.createRunners, input);

      assert.deepEqual(names, ['example-g2-0', 'example-g2-1']);
      assert.deepEqual(again, names);
      assert.deepEqual([...pods.pods.keys()].sort(), ['example-g2-0', 'example-g2-1', 'other-g1-0']);
      assert.deepEqual(
        pods.calls.filter((call) => /^(delete|list)/.test(call)),
        ['delete example-g1-0', 'delete example-g1-1', 'delete example-g3-0'],
        'deleted once each, found without a LIST',
      );
    });

    it('with createdEvent records RunnersCreated naming the runners, once however often retried', async () => {
      const input = { loadTest, generation: 4, spec: sampleSpec({ replicas: 2 }), createdEvent: { generation: 7 } };
      await run(activities.createRunners, input);
      await run(activities.createRunners, input);

      const recorded = [...events.events.values()];
      assert.deepEqual(
        recorded.map((event) => [event.type, event.reason, event.message, event.involvedObject.uid]),
        [['Normal', 'RunnersCreated', 'created runners example-g4-0, example-g4-1', 'uid-1']],
      );
    });

    it('without them deletes nothing and records nothing', async () => {
      await runnersOf(1);
      await run(activities.createRunners, { loadTest, generation: 2, spec: sampleSpec({ replicas: 1 }) });
      assert.equal(pods.pods.size, 3);
      assert.equal(events.events.size, 0);
    });
  });

  describe('awaitRunnersRunning with startDelayMs', () => {
    const startAnnotations = () =>
      [...pods.pods.values()].map((pod) => pod.metadata?.annotations?.[START_AT_ANNOTATION]);

    it('once every runner runs, starts them all at the instant it returns, startDelayMs from then', async () => {
      const runners = await runnersOf(1, 2, 'Running');
      const before = Date.now();
      const running = await run(activities.awaitRunnersRunning, {
        loadTest,
        generation: 1,
        runners,
        timeoutMs: 10_000,
        startDelayMs: 3000,
      });
      const after = Date.now();

      assert.equal(running.kind, 'running');
      const startAtMs = running.kind === 'running' ? running.startAtMs : undefined;
      assert.ok(startAtMs !== undefined && startAtMs >= before + 3000 && startAtMs <= after + 3000, String(startAtMs));
      assert.deepEqual(startAnnotations(), [String(startAtMs), String(startAtMs)]);
    });

    it('starts nothing while a runner is not running, nor when one failed', async () => {
      const runners = await runnersOf(1, 2);
      cache.put(withPhase(pods.pods.get(runners[0]!)!, 'Running'));
      cache.put(withPhase(pods.pods.get(runners[1]!)!, 'Failed', { exitCode: 2 }));
      const running = await run(activities.awaitRunnersRunning, {
        loadTest,
        generation: 1,
        runners,
        timeoutMs: 10_000,
        startDelayMs: 3000,
      });
      assert.equal(running.kind, 'failed');
      assert.deepEqual(startAnnotations(), [undefined, undefined]);
    });

    it('retried, sends the instant an earlier attempt heartbeated, and keeps it in its own heartbeats meanwhile', async () => {
      const runners = await runnersOf(1, 2);
      const heartbeats: unknown[] = [];
      const running = run(
        activities.awaitRunnersRunning,
        { loadTest, generation: 1, runners, timeoutMs: 10_000, startDelayMs: 3000 },
        { attempt: 2, heartbeatDetails: { startAtMs: 1234 } },
        (details) => {
          heartbeats.push(details);
          // The runners come up only after a heartbeat of the wait: a third attempt must still find the instant.
          for (const name of runners) cache.put(withPhase(pods.pods.get(name)!, 'Running'));
        },
      );

      assert.deepEqual(await running, { kind: 'running', startAtMs: 1234 });
      assert.deepEqual(startAnnotations(), ['1234', '1234']);
      assert.ok(heartbeats.length > 0);
      for (const details of heartbeats) assert.equal((details as { startAtMs?: number }).startAtMs, 1234);
    });

    it('retried after a heartbeat was lost, takes the instant a runner was already given', async () => {
      const runners = await runnersOf(1, 2, 'Running');
      await pods.annotate('default', runners[1]!, { [START_AT_ANNOTATION]: '5678' });
      cache.put(withPhase(pods.pods.get(runners[1]!)!, 'Running'));

      const running = await run(
        activities.awaitRunnersRunning,
        { loadTest, generation: 1, runners, timeoutMs: 10_000, startDelayMs: 3000 },
        { attempt: 2 },
      );

      assert.deepEqual(running, { kind: 'running', startAtMs: 5678 });
      assert.deepEqual(startAnnotations(), ['5678', '5678']);
    });

    it('without startDelayMs starts nothing', async () => {
      const runners = await runnersOf(1, 2, 'Running');
      const running = await run(activities.awaitRunnersRunning, {
        loadTest,
        generation: 1,
        runners,
        timeoutMs: 10_000,
      });
      assert.deepEqual(running, { kind: 'running' });
      assert.deepEqual(startAnnotations(), [undefined, undefined]);
    });
  });

  describe('publishStatus', () => {
    it('with an event writes the status and records the event, once however often retried', async () => {
      const event = { type: 'Normal' as const, reason: 'Executing', message: 'runners start', generation: 1 };
      await run(activities.publishStatus, { loadTest, status: status('executing'), event });
      await run(activities.publishStatus, { loadTest, status: status('executing'), event });

      assert.equal(loadTests.objects.get('default/example')?.status?.state, 'executing');
      assert.deepEqual(
        [...events.events.values()].map((e) => [e.reason, e.message]),
        [['Executing', 'runners start']],
      );
    });

    it('reads the LoadTest from the cache: no GET', async () => {
      await run(activities.publishStatus, { loadTest, status: status('pending') });
      await run(activities.publishStatus, { loadTest, status: status('executing') });
      assert.deepEqual(loadTests.calls, ['patch example', 'patch example']);
    });

    it('confirms with one GET a LoadTest the cache does not show yet (created a moment ago)', async () => {
      loadTests.cache.lag('default', 'example', undefined);
      await run(activities.publishStatus, { loadTest, status: status('pending') });
      assert.deepEqual(loadTests.calls, ['get example', 'patch example']);
      assert.equal(loadTests.objects.get('default/example')?.status?.state, 'pending');
    });

    it('confirms with one GET when the cache shows an earlier LoadTest of the same name', async () => {
      const earlier = structuredClone(loadTests.objects.get('default/example')!);
      earlier.metadata.uid = 'uid-0';
      loadTests.cache.lag('default', 'example', earlier);
      await run(activities.publishStatus, { loadTest, status: status('pending') });
      assert.deepEqual(loadTests.calls, ['get example', 'patch example']);
    });

    it('fails for good, without a GET, when the cache shows the LoadTest being deleted', async () => {
      const deleting = structuredClone(loadTests.objects.get('default/example')!);
      deleting.metadata.deletionTimestamp = new Date();
      loadTests.cache.lag('default', 'example', deleting);
      await assert.rejects(
        run(activities.publishStatus, { loadTest, status: status('pending') }),
        (error: unknown) => error instanceof ApplicationFailure && error.type === LOADTEST_GONE && error.nonRetryable,
      );
      assert.deepEqual(loadTests.calls, []);
    });

    it('built from a cache that lags, is refused and built again from a GET: it keeps what the cache had not seen', async () => {
      const before = structuredClone(loadTests.objects.get('default/example')!);
      const specApplied = { status: 'True' as const, reason: 'AppliedLive', message: 'applied', generation: 2 };
      await run(activities.publishStatus, {
        loadTest,
        status: status('executing', { transitionTime: '2026-01-01T00:00:01Z', specApplied }),
      });
      // The informer has not yet seen that write.
      loadTests.cache.lag('default', 'example', before);

      await run(activities.publishStatus, {
        loadTest,
        status: status('executing', { transitionTime: '2026-01-01T00:00:02Z', message: 'later' }),
      });

      const conditions = loadTests.objects.get('default/example')?.status?.conditions as
        Array<{ type: string; lastTransitionTime: string }> | undefined;
      assert.deepEqual(
        conditions?.map((c) => [c.type, c.lastTransitionTime]),
        [
          ['Succeeded', '2026-01-01T00:00:01Z'],
          ['SpecApplied', '2026-01-01T00:00:01Z'],
        ],
      );
      assert.deepEqual(loadTests.calls, ['patch example', 'patch example', 'get example', 'patch example']);
    });
  });

  describe('deleteRunners', () => {
    it('once the LoadTest shows its run settled, finds the runners in the pod informer: no LIST', async () => {
      const runners = await runnersOf(1);
      loadTests.objects.get('default/example')!.status = { state: 'finished', observedGeneration: 1 };

      assert.deepEqual(await run(activities.deleteRunners, { loadTest }), runners);
      assert.ok(!pods.calls.some((call) => call.startsWith('list')), pods.calls.join());
      assert.equal(pods.pods.size, 0);
    });

    it('before that (a run cut short, perhaps while creating its runners) LISTs, and so finds one the informer has not shown yet', async () => {
      await runnersOf(1);
      // Created a moment ago: the API server has it, the informer not yet.
      await run(activities.createRunners, { loadTest, generation: 2, spec: sampleSpec({ replicas: 1 }) });
      loadTests.objects.get('default/example')!.status = { state: 'pending', observedGeneration: 2 };

      const deleted = await run(activities.deleteRunners, { loadTest });
      assert.deepEqual(deleted, ['example-g1-0', 'example-g1-1', 'example-g2-0']);
      assert.equal(pods.pods.size, 0);
    });
  });
});
