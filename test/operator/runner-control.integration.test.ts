/**
 * Runners the operator talks to, end to end on the test bed's real node (kubectl apply → watcher → workflow →
 * activities → runner pods' control endpoints): live progress in `.status`, an abortOnFail threshold judged on
 * the merged live results, a rate change applied to the running runners, the runner-loss policy, and a control
 * endpoint that refuses whoever lacks the run's token.
 */
import { operatorSuite } from './suite.js';
import { strict as assert } from 'node:assert';

import { CONTROL_PATHS, CONTROL_PORT } from '../../src/runner/control-api.js';
import { apply, eventually, getJson, kubectl, loadTestManifest, podNames } from './cluster.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
}

interface LoadTestJson {
  metadata: { uid: string; generation: number };
  status?: {
    state?: string;
    message?: string;
    observedGeneration?: number;
    rps?: string;
    p99?: string;
    progress?: {
      requests: number;
      errors: number;
      rps: number;
      p99Ms: number;
      runnersRunning: number;
      updated: string;
    };
    results?: { requests: number; startSkewMs?: number; lostRunners?: string[] };
    conditions?: Condition[];
  };
}

interface PodJson {
  metadata: { name: string; uid: string };
  status: { podIP?: string; phase?: string };
}

describe('runner control endpoints on the test bed', function () {
  this.timeout(240_000);
  const { namespace, serve } = operatorSuite('runner-control');

  const loadTest = (ns: string, name: string) => getJson<LoadTestJson>(['get', 'loadtest', name, '-n', ns]);

  async function settled(ns: string, name: string, timeoutMs = 150_000): Promise<LoadTestJson> {
    return eventually(
      async () => {
        const object = await loadTest(ns, name);
        const state = object.status?.state;
        return state === 'finished' || state === 'failed' ? object : undefined;
      },
      timeoutMs,
      `${name} settled`,
    );
  }

  async function executing(ns: string, name: string): Promise<LoadTestJson> {
    return eventually(
      async () => {
        const object = await loadTest(ns, name);
        return object.status?.state === 'executing' ? object : undefined;
      },
      120_000,
      `${name} executing`,
    );
  }

  it('shows live merged progress in .status while executing, publishes the start skew, and counts exactly', async () => {
    const ns = await namespace();
    const server = await serve(ns);
    await apply(
      loadTestManifest(ns, 'live', {
        replicas: 2,
        test: { serviceName: 'target', rate: 20, duration: '30s' },
      }),
    );
    await executing(ns, 'live');
    const first = await eventually(
      async () => {
        const object = await loadTest(ns, 'live');
        return object.status?.state === 'executing' && (object.status.progress?.requests ?? 0) > 0 ? object : undefined;
      },
      60_000,
      '.status.progress.requests > 0 while executing',
    );
    assert.equal(first.status!.progress!.runnersRunning, 2);
    // The printer columns read the live numbers while the run is executing.
    assert.ok(first.status!.rps, 'the Requests/s column is filled while executing');
    const later = await eventually(
      async () => {
        const object = await loadTest(ns, 'live');
        const requests = object.status?.progress?.requests ?? 0;
        return object.status?.state === 'executing' && requests > first.status!.progress!.requests ? object : undefined;
      },
      60_000,
      '.status.progress.requests rising while executing',
    );
    assert.ok(later.status!.progress!.updated > first.status!.progress!.updated);

    const done = await settled(ns, 'live');
    assert.equal(done.status?.state, 'finished', done.status?.message);
    assert.equal(done.status?.results?.requests, server.requests);
    assert.equal(typeof done.status?.results?.startSkewMs, 'number', 'the start skew is published in .status.results');
  });

  it('refuses a control request without the run token, or with another', async () => {
    const ns = await namespace();
    await serve(ns);
    await apply(
      loadTestManifest(ns, 'guarded', { replicas: 1, test: { serviceName: 'target', rate: 5, duration: '20s' } }),
    );
    await executing(ns, 'guarded');
    const [pod] = await podNames(ns, 'app.kubernetes.io/component=runner');
    const { status } = await getJson<PodJson>(['get', 'pod', pod!, '-n', ns]);
    const url = `http://${status.podIP}:${CONTROL_PORT}${CONTROL_PATHS.stop}`;
    const none = await fetch(url, { method: 'POST' });
    assert.equal(none.status, 401);
    const wrong = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 401);
    // Neither stopped it: the run still ends by itself, finished.
    const done = await settled(ns, 'guarded');
    assert.equal(done.status?.state, 'finished', done.status?.message);
  });

  it('stops every runner when an abortOnFail threshold is breached on the merged results, well before the duration', async () => {
    const ns = await namespace();
    const server = await serve(ns, { delayMs: 300 });
    await apply(
      loadTestManifest(ns, 'abort', {
        replicas: 2,
        test: { serviceName: 'target', rate: 5, duration: '120s', connections: 4 },
        thresholds: [{ threshold: 'p99 < 100ms', abortOnFail: true, delayAbortEval: '2s' }],
      }),
    );
    const started = await executing(ns, 'abort');
    void started;
    const done = await settled(ns, 'abort', 100_000);
    assert.equal(done.status?.state, 'failed');
    assert.match(
      done.status?.message ?? '',
      /threshold "p99 < 100ms" breached [\d.]+s into the run \(p99 was [\d.]+ms\)/,
    );
    assert.match(done.status?.message ?? '', /every runner stopped/);
    // The results up to the stop, exactly what the target answered.
    assert.ok((done.status?.results?.requests ?? 0) > 0);
    assert.equal(done.status?.results?.requests, server.requests);
    assert.ok((done.status?.results?.requests ?? 0) < 2 * 5 * 120, 'the runners stopped before sending the whole test');
  });

  it('applies a rate change to the running runners without new pods, and says so in SpecApplied', async () => {
    const ns = await namespace();
    const server = await serve(ns);
    await apply(
      loadTestManifest(ns, 'faster', { replicas: 2, test: { serviceName: 'target', rate: 10, duration: '40s' } }),
    );
    await executing(ns, 'faster');
    const before = await getJson<{ items: PodJson[] }>([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      'app.kubernetes.io/component=runner',
    ]);
    await eventually(
      async () => ((await loadTest(ns, 'faster')).status?.progress?.requests ?? 0) > 0 || undefined,
      60_000,
      'progress before the change',
    );
    await kubectl(['patch', 'loadtest', 'faster', '-n', ns, '--type=merge', '-p', '{"spec":{"test":{"rate":40}}}']);
    const applied = await eventually(
      async () => {
        const condition = (await loadTest(ns, 'faster')).status?.conditions?.find((c) => c.type === 'SpecApplied');
        return condition?.observedGeneration === 2 ? condition : undefined;
      },
      60_000,
      'SpecApplied for generation 2',
    );
    assert.equal(applied.status, 'True', applied.message);
    assert.equal(applied.reason, 'AppliedLive');

    const done = await settled(ns, 'faster');
    assert.equal(done.status?.state, 'finished', done.status?.message);
    assert.equal(done.status?.observedGeneration, 2);
    const after = await getJson<{ items: PodJson[] }>([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      'app.kubernetes.io/component=runner',
    ]);
    assert.deepEqual(
      after.items.map((pod) => pod.metadata.uid).sort(),
      before.items.map((pod) => pod.metadata.uid).sort(),
      'the same runner pods ran the whole test',
    );
    // 10/s per runner for 40 s would be 800 requests; 40/s for any part of it adds more.
    assert.equal(done.status?.results?.requests, server.requests);
    assert.ok(server.requests > 2 * 10 * 40 + 100, `${server.requests} requests: the rate did not rise`);
    const events = await kubectl(['get', 'events', '-n', ns, '--field-selector', 'reason=SpecApplied', '-o', 'name']);
    assert.notEqual(events.trim(), '', 'a SpecApplied Event is recorded');
  });

  it('refuses a change it cannot apply (a duration already past), leaves the run untouched and says why', async () => {
    const ns = await namespace();
    const server = await serve(ns);
    await apply(
      loadTestManifest(ns, 'too-late', { replicas: 1, test: { serviceName: 'target', rate: 10, duration: '30s' } }),
    );
    await executing(ns, 'too-late');
    await eventually(
      async () => ((await loadTest(ns, 'too-late')).status?.progress?.requests ?? 0) > 0 || undefined,
      60_000,
      'progress before the change',
    );
    await kubectl([
      'patch',
      'loadtest',
      'too-late',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"test":{"duration":"1s"}}}',
    ]);
    const refused = await eventually(
      async () => {
        const condition = (await loadTest(ns, 'too-late')).status?.conditions?.find((c) => c.type === 'SpecApplied');
        return condition?.observedGeneration === 2 ? condition : undefined;
      },
      60_000,
      'SpecApplied for generation 2',
    );
    assert.equal(refused.status, 'False');
    assert.equal(refused.reason, 'Rejected');
    assert.match(refused.message, /test\.duration 1s is not longer than the \d+s the run has already lasted/);

    const done = await settled(ns, 'too-late');
    assert.equal(done.status?.state, 'finished', done.status?.message);
    assert.equal(done.status?.observedGeneration, 1, 'the run went on as generation 1');
    // 10/s for the whole 30 s, not cut to 1 s.
    assert.equal(done.status?.results?.requests, server.requests);
    assert.ok(server.requests >= 10 * 25, `${server.requests} requests: the run was cut short`);
  });

  for (const policy of ['fail', 'continue'] as const) {
    it(`${policy === 'fail' ? 'fails the run' : 'goes on without it'} when a runner pod is lost mid-run (onRunnerFailure: ${policy})`, async () => {
      const ns = await namespace();
      const server = await serve(ns);
      await apply(
        loadTestManifest(ns, 'lossy', {
          replicas: 2,
          test: { serviceName: 'target', rate: 10, duration: '30s' },
          ...(policy === 'continue' ? { onRunnerFailure: 'continue' } : {}),
        }),
      );
      await executing(ns, 'lossy');
      // Once both runners are sending, so the lost one has requests the totals will not count.
      await eventually(
        async () => ((await loadTest(ns, 'lossy')).status?.progress?.requests ?? 0) > 0 || undefined,
        60_000,
        'progress before the loss',
      );
      const [victim] = await podNames(ns, 'app.kubernetes.io/component=runner');
      // As a node lost or an eviction: gone at once, no summary left behind.
      await kubectl(['delete', 'pod', victim!, '-n', ns, '--grace-period=0', '--force']);
      const done = await settled(ns, 'lossy');
      if (policy === 'fail') {
        assert.equal(done.status?.state, 'failed');
        assert.match(done.status?.message ?? '', new RegExp(`runner ${victim}`));
      } else {
        assert.equal(done.status?.state, 'finished', done.status?.message);
        assert.deepEqual(done.status?.results?.lostRunners, [victim]);
        assert.match(done.status?.message ?? '', new RegExp(`without lost runner ${victim}`));
        // The survivor's requests are all there; the lost runner's are not in the totals.
        assert.ok((done.status?.results?.requests ?? 0) > 0);
        assert.ok((done.status?.results?.requests ?? 0) < server.requests);
      }
    });
  }
});
