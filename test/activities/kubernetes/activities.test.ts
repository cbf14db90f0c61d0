import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { createKubernetesActivities } from '../../../activities/kubernetes/index.js';
import { runnerPodManifest } from '../../../activities/kubernetes/runner-pods.js';
import { LOADTEST_GONE, RUNNER_NAME_TAKEN, type LoadTestActivities } from '../../../activities/types.js';
import { START_AT_ANNOTATION } from '../../../src/runner/contract.js';
import { sampleSpec } from '../../workflows/fake-backend.js';
import {
  FakeEvents,
  FakeLoadTests,
  FakePodCache,
  FakePods,
  FakeSecrets,
  FakeServices,
  runnerSummary,
  withPhase,
} from './fakes.js';

const loadTest = { namespace: 'default', name: 'example', uid: 'uid-1' };
const test = sampleSpec().test;

describe('Kubernetes activities', () => {
  let pods: FakePods;
  let loadTests: FakeLoadTests;
  let services: FakeServices;
  let events: FakeEvents;
  let cache: FakePodCache;
  let activities: LoadTestActivities;
  let env: MockActivityEnvironment;

  beforeEach(() => {
    pods = new FakePods();
    loadTests = new FakeLoadTests();
    services = new FakeServices();
    events = new FakeEvents();
    cache = new FakePodCache();
    loadTests.add('default', 'example', 'uid-1');
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
    env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  });

  /** Runs an activity in the mock environment, keeping its input and result types. */
  function run<I, O>(activity: (input: I) => Promise<O>, input: I): Promise<O> {
    return env.run<[I], O, (input: I) => Promise<O>>(activity, input);
  }

  /** Creates the runners and shows them in the cache as the informer would. */
  async function createRunners(replicas = 2) {
    const input = { loadTest, generation: 1, spec: sampleSpec({ replicas }) };
    const names = await run(activities.createRunners, input);
    for (const name of names) cache.put(withPhase(pods.pods.get(name)!, 'Pending'));
    return names;
  }

  describe('checkTarget', () => {
    it('says which Service does not exist', async () => {
      const spec = sampleSpec({ test: { method: 'GET', serviceName: 'nope', port: 80, path: '/' } });
      assert.deepEqual(await run(activities.checkTarget, { loadTest, spec }), {
        ok: false,
        reason: 'Service "nope" does not exist in namespace "default"',
      });
    });

    it('says when the Service lacks the port', async () => {
      const spec = sampleSpec({ test: { method: 'GET', serviceName: 'nginx', port: 8080, path: '/' } });
      const check = await run(activities.checkTarget, { loadTest, spec });
      assert.deepEqual(check, {
        ok: false,
        reason:
          'Service "nginx" in namespace "default" has no port 8080 (it has 80): set spec.test.port (default 80) to one of its ports',
      });
    });

    it('accepts an existing Service and any absolute url', async () => {
      assert.deepEqual(await run(activities.checkTarget, { loadTest, spec: sampleSpec() }), { ok: true });
      const spec = sampleSpec({ test: { method: 'GET', url: 'http://example.test/', port: 80, path: '/' } });
      assert.deepEqual(await run(activities.checkTarget, { loadTest, spec }), { ok: true });
    });
  });

  describe('createRunners', () => {
    it('creates one pod per replica and, retried, creates no duplicate', async () => {
      const input = { loadTest, generation: 1, spec: sampleSpec({ replicas: 3 }) };
      const first = await run(activities.createRunners, input);
      const again = await run(activities.createRunners, input);

      assert.deepEqual(first, ['example-g1-0', 'example-g1-1', 'example-g1-2']);
      assert.deepEqual(again, first);
      assert.equal(pods.pods.size, 3);
    });

    it('never deletes a same-named pod that is not a runner, and fails for good saying so', async () => {
      const input = { loadTest, generation: 1, spec: sampleSpec({ replicas: 1 }) };
      await pods.create({ metadata: { name: 'example-g1-0', namespace: 'default', labels: { app: 'mine' } } });

      await assert.rejects(
        run(activities.createRunners, input),
        (error: unknown) =>
          error instanceof ApplicationFailure &&
          error.type === RUNNER_NAME_TAKEN &&
          error.nonRetryable &&
          /pod example-g1-0 already exists in namespace default and is not a runner/.test(error.message),
      );
      assert.equal(pods.pods.get('example-g1-0')?.metadata?.labels?.app, 'mine');
      assert.ok(!pods.calls.some((call) => call.startsWith('delete')), pods.calls.join());
    });

    it('removes a same-named pod left by an earlier LoadTest and asks to be retried', async () => {
      const input = { loadTest, generation: 1, spec: sampleSpec({ replicas: 1 }) };
      const stale = runnerPodManifest({
        loadTest: { ...loadTest, uid: 'old-uid' },
        generation: 1,
        index: 0,
        spec: { replicas: 1, test },
        image: 'x',
      });
      await pods.create(stale);

      await assert.rejects(run(activities.createRunners, input), /of an earlier LoadTest named example/);
      await run(activities.createRunners, input);
      assert.equal(pods.pods.get('example-g1-0')?.metadata?.labels?.['loadtest.example.org/uid'], 'uid-1');
    });

    it('fails for good when the LoadTest is gone', async () => {
      loadTests.objects.clear();
      await assert.rejects(
        run(activities.createRunners, { loadTest, generation: 1, spec: sampleSpec() }),
        (error: unknown) => error instanceof ApplicationFailure && error.type === LOADTEST_GONE && error.nonRetryable,
      );
      assert.equal(pods.pods.size, 0);
    });
  });

  describe('awaiting runners', () => {
    it('resolves once every runner runs, without calling the API while waiting', async () => {
      const runners = await createRunners();
      const callsBefore = pods.calls.length;
      const running = run(activities.awaitRunnersRunning, { loadTest, generation: 1, runners, timeoutMs: 10_000 });
      cache.put(withPhase(pods.pods.get(runners[0]!)!, 'Running'));
      cache.put(withPhase(pods.pods.get(runners[1]!)!, 'Running'));

      assert.deepEqual(await running, { kind: 'running' });
      assert.equal(pods.calls.length, callsBefore);
    });

    it('names the runner that did not start in time and why', async () => {
      const runners = await createRunners();
      cache.put(withPhase(pods.pods.get(runners[0]!)!, 'Running'));
      const result = await run(activities.awaitRunnersRunning, {
        loadTest,
        generation: 1,
        runners,
        timeoutMs: 100,
      });
      assert.deepEqual(result, { kind: 'failed', runner: 'example-g1-1', reason: 'did not start within 0.1s' });
    });

    it("shows why a runner is held up in the pending LoadTest's message, once per reason, then the timeout says it", async () => {
      const runners = await createRunners();
      const object = loadTests.objects.get('default/example')!;
      object.status = { state: 'pending', observedGeneration: 1, message: 'waiting for 2 runner(s) to start' };
      const unschedulable = (name: string) => ({
        ...pods.pods.get(name)!,
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes match' }],
        },
      });
      cache.put(withPhase(pods.pods.get(runners[0]!)!, 'Running'));
      cache.put(unschedulable(runners[1]!));
      cache.put(unschedulable(runners[1]!));
      const result = await run(activities.awaitRunnersRunning, { loadTest, generation: 1, runners, timeoutMs: 100 });

      assert.deepEqual(loadTests.patches, [
        { message: 'waiting for 2 runner(s) to start: runner example-g1-1 is pending: Unschedulable: 0/2 nodes match' },
      ]);
      assert.deepEqual(result, {
        kind: 'failed',
        runner: 'example-g1-1',
        reason: 'did not start within 0.1s (Unschedulable: 0/2 nodes match)',
      });
    });

    it('leaves the message of a newer generation alone', async () => {
      const runners = await createRunners();
      loadTests.objects.get('default/example')!.status = { state: 'pending', observedGeneration: 2, message: 'g2' };
      cache.put({
        ...pods.pods.get(runners[0]!)!,
        status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
      });
      await run(activities.awaitRunnersRunning, { loadTest, generation: 1, runners, timeoutMs: 50 });
      assert.deepEqual(loadTests.patches, []);
    });

    it('merges the summaries of runners that all succeeded', async () => {
      const runners = await createRunners();
      const completed = run(activities.awaitRunnersCompleted, { loadTest, generation: 1, runners });
      for (const name of runners) {
        const message = JSON.stringify(runnerSummary(25, 2000));
        cache.put(withPhase(pods.pods.get(name)!, 'Succeeded', { exitCode: 0, message }));
      }

      const result = await completed;
      assert.equal(result.kind, 'succeeded');
      if (result.kind !== 'succeeded') return;
      assert.equal(result.results.requests, 50);
      assert.equal(result.runners, 2);
      assert.ok(Math.abs(result.results.latencyMs.p99 - 2) < 0.01, String(result.results.latencyMs.p99));
    });

    it('names the failed runner with its exit code and what it reported', async () => {
      const runners = await createRunners();
      const completed = run(activities.awaitRunnersCompleted, { loadTest, generation: 1, runners });
      const message = JSON.stringify(runnerSummary(10, 1000, 10));
      cache.put(withPhase(pods.pods.get(runners[1]!)!, 'Failed', { exitCode: 1, reason: 'Error', message }));

      assert.deepEqual(await completed, {
        kind: 'failed',
        runner: 'example-g1-1',
        reason: 'exited with code 1 (some requests failed): 10 of 10 requests failed (status 503: 10)',
      });
    });

    it('reports a runner whose pod was deleted behind its back (the informer missed it), after checking once', async () => {
      const runners = await createRunners();
      const completed = run(activities.awaitRunnersCompleted, { loadTest, generation: 1, runners });
      const pod = pods.pods.get(runners[0]!)!;
      await pods.delete('default', runners[0]!);
      cache.forget(pod);

      assert.deepEqual(await completed, {
        kind: 'failed',
        runner: 'example-g1-0',
        reason: 'disappeared: its pod was deleted',
      });
      assert.equal(pods.calls.filter((call) => call === `get ${runners[0]}`).length, 1);
    });

    it('stops waiting when the workflow cancels it', async () => {
      const runners = await createRunners();
      const completed = run(activities.awaitRunnersCompleted, { loadTest, generation: 1, runners });
      env.cancel();
      await assert.rejects(completed, CancelledFailure);
    });
  });

  it('startRunners writes the common start time into every runner’s annotations', async () => {
    const runners = await createRunners();
    await run(activities.startRunners, { loadTest, generation: 1, runners, startAtMs: 1234 });
    for (const name of runners) {
      assert.equal(pods.pods.get(name)?.metadata?.annotations?.[START_AT_ANNOTATION], '1234');
    }
  });

  describe('deleteRunners', () => {
    it('deletes every runner of the LoadTest, and only those', async () => {
      await createRunners();
      await env
        .run(activities.createRunners, {
          loadTest: { ...loadTest, name: 'other', uid: 'uid-2' },
          generation: 1,
          spec: sampleSpec({ replicas: 1 }),
        })
        .catch(() => {});
      loadTests.add('default', 'other', 'uid-2');
      await run(activities.createRunners, {
        loadTest: { ...loadTest, name: 'other', uid: 'uid-2' },
        generation: 1,
        spec: sampleSpec({ replicas: 1 }),
      });

      assert.deepEqual(await run(activities.deleteRunners, { loadTest }), ['example-g1-0', 'example-g1-1']);
      assert.deepEqual([...pods.pods.keys()], ['other-g1-0']);
      assert.deepEqual(await run(activities.deleteRunners, { loadTest }), [], 'a retry finds nothing left to do');
    });

    it('keeps the current generation and finished runners when asked to', async () => {
      const runners = await createRunners();
      await run(activities.createRunners, { loadTest, generation: 2, spec: sampleSpec({ replicas: 1 }) });
      pods.pods.set(runners[0]!, withPhase(pods.pods.get(runners[0]!)!, 'Failed', { exitCode: 1 }));

      const deleted = await run(activities.deleteRunners, { loadTest, exceptGeneration: 2, keepFinished: true });
      assert.deepEqual(deleted, ['example-g1-1']);
    });
  });

  describe('publishStatus', () => {
    it('patches the status with observedGeneration and printer columns', async () => {
      await run(activities.publishStatus, {
        loadTest,
        status: {
          state: 'executing' as const,
          generation: 1,
          children: ['a'],
          message: 'go',
          transitionTime: '2026-01-01T00:00:00Z',
        },
      });
      assert.equal(loadTests.patches[0]?.state, 'executing');
      assert.equal(loadTests.patches[0]?.observedGeneration, 1);
      assert.deepEqual(loadTests.patches[0]?.children, ['a']);
    });

    it('fails for good when a LoadTest of the same name has another uid', async () => {
      loadTests.add('default', 'example', 'uid-new');
      await assert.rejects(
        run(activities.publishStatus, {
          loadTest,
          status: {
            state: 'pending' as const,
            generation: 1,
            children: [],
            message: '',
            transitionTime: '2026-01-01T00:00:00Z',
          },
        }),
        (error: unknown) => error instanceof ApplicationFailure && error.type === LOADTEST_GONE,
      );
      assert.equal(loadTests.patches.length, 0);
    });
  });

  it('recordEvent posts each event once however often it is retried', async () => {
    const event = { type: 'Normal' as const, reason: 'Finished', message: 'done', generation: 1 };
    await run(activities.recordEvent, { loadTest, event });
    await run(activities.recordEvent, { loadTest, event });
    assert.equal(events.events.size, 1);
  });
});
