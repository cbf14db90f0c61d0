/**
 * The lifecycle of a LoadTest on the test bed's real node (issue 14, README "Lifecycle"): spec.timeout cuts a run
 * short with its partial results and leaves no runner sending; spec.cleanup deletes or keeps the runner pods once
 * a run settles; spec.ttlSecondsAfterFinished removes the LoadTest itself, and its pods with it.
 */
import { operatorSuite } from './suite.js';
import { strict as assert } from 'node:assert';
import { LOADTEST_UID_LABEL } from '../../src/k8s/index.js';

import { apply, eventually, getJson, kubectl, loadTestManifest, podNames } from './cluster.js';

interface LoadTestJson {
  metadata: { uid: string };
  status?: {
    state?: string;
    message?: string;
    startTime?: string;
    completionTime?: string;
    results?: { requests: number };
  };
}

interface PodList {
  items: Array<{ metadata: { name: string; labels?: Record<string, string> }; status: { phase?: string } }>;
}

const RUNNERS = 'app.kubernetes.io/component=runner';

describe('LoadTest lifecycle on the test bed', function () {
  this.timeout(240_000);
  const { namespace, serve } = operatorSuite('lifecycle');

  const loadTest = (ns: string, name: string) => getJson<LoadTestJson>(['get', 'loadtest', name, '-n', ns]);

  async function settled(ns: string, name: string): Promise<LoadTestJson> {
    return eventually(
      async () => {
        const object = await loadTest(ns, name);
        const state = object.status?.state;
        return state === 'finished' || state === 'failed' ? object : undefined;
      },
      150_000,
      `${name} settled`,
    );
  }

  /** The runner pods of one LoadTest (by its uid label), with their phases. */
  async function runnersOf(ns: string, uid: string): Promise<PodList['items']> {
    const pods = await getJson<PodList>(['get', 'pods', '-n', ns, '-l', RUNNERS]);
    return pods.items.filter((pod) => pod.metadata.labels?.[LOADTEST_UID_LABEL] === uid);
  }

  it('spec.timeout: a 60s test with timeout 5s ends failed, timed out, with its partial results and no runner sending', async () => {
    const ns = await namespace();
    const server = await serve(ns);
    await apply(
      loadTestManifest(ns, 'bounded', {
        replicas: 2,
        timeout: '5s',
        test: { serviceName: 'target', rate: 20, duration: '60s' },
      }),
    );
    const done = await settled(ns, 'bounded');

    assert.equal(done.status?.state, 'failed');
    assert.match(done.status?.message ?? '', /^timed out after 5s \(running\); \d+ requests/);
    const requests = done.status?.results?.requests ?? 0;
    assert.ok(requests > 0, 'the results measured up to the stop are published');
    assert.equal(requests, server.requests, 'every request sent is counted, exactly');
    const lasted = Date.parse(done.status.completionTime!) - Date.parse(done.status.startTime!);
    assert.ok(lasted < 60_000, `the run was cut short (it lasted ${lasted} ms, its test 60 s)`);
    const sending = (await runnersOf(ns, done.metadata.uid)).filter(
      (pod) => pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed',
    );
    assert.deepEqual(sending, [], 'no runner left sending');
  });

  it('spec.cleanup: delete removes the runner pods of a finished run, keep leaves them', async () => {
    const ns = await namespace();
    await serve(ns);
    const spec = (cleanup: string) => ({ replicas: 1, cleanup, test: { serviceName: 'target', repeat: 20 } });
    await apply(loadTestManifest(ns, 'tidy', spec('delete')));
    await apply(loadTestManifest(ns, 'kept', spec('keep')));
    const tidy = await settled(ns, 'tidy');
    const kept = await settled(ns, 'kept');
    assert.equal(tidy.status?.state, 'finished', tidy.status?.message);
    assert.equal(kept.status?.state, 'finished', kept.status?.message);

    await eventually(
      async () => ((await runnersOf(ns, tidy.metadata.uid)).length === 0 ? true : undefined),
      60_000,
      'the runners of cleanup: delete are gone',
    );
    // Both settled and one was cleaned up: the other's cleanup step has had the same chance.
    const keptPods = await runnersOf(ns, kept.metadata.uid);
    assert.equal(keptPods.length, 1, 'cleanup: keep leaves the runner pod');
    assert.equal(keptPods[0]!.status.phase, 'Succeeded');
  });

  it('spec.ttlSecondsAfterFinished: 5 removes the LoadTest and its pods within 30s of finishing', async () => {
    const ns = await namespace();
    await serve(ns);
    await apply(
      loadTestManifest(ns, 'fleeting', {
        replicas: 1,
        cleanup: 'keep',
        ttlSecondsAfterFinished: 5,
        test: { serviceName: 'target', repeat: 20 },
      }),
    );
    const done = await settled(ns, 'fleeting');
    assert.equal(done.status?.state, 'finished', done.status?.message);

    await eventually(
      async () => {
        const names = await kubectl(['get', 'loadtests', '-n', ns, '-o', 'name']);
        return names.trim() === '' ? true : undefined;
      },
      30_000,
      'the LoadTest deleted by its TTL',
    );
    await eventually(
      async () => ((await podNames(ns, RUNNERS)).length === 0 ? true : undefined),
      30_000,
      'its runner pods gone with it',
    );
  });
});
