import type { V1Pod } from '@kubernetes/client-node';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { strict as assert } from 'node:assert';
import { awaitRunners } from '../../../activities/kubernetes/await-runners.js';
import { FakePodCache, FakePods, withPhase } from './fakes.js';

const loadTest = { namespace: 'default', name: 'example', uid: 'uid-1' };

function runnerPod(name: string): V1Pod {
  return { metadata: { namespace: 'default', name, uid: `uid-${name}` } };
}

describe('awaitRunners', () => {
  it('decides once on a burst of pod events, not once per event', async () => {
    const runners = Array.from({ length: 200 }, (_, index) => `example-g1-${index}`);
    const cache = new FakePodCache();
    for (const name of runners) cache.put(withPhase(runnerPod(name), 'Pending'));
    let decisions = 0;
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const waiting = env.run(() =>
      awaitRunners(
        cache,
        new FakePods(),
        { loadTest, generation: 1, runners },
        (states) => {
          decisions++;
          return [...states.values()].every((state) => state?.kind === 'running') ? 'all running' : undefined;
        },
        // No heartbeat tick during the test: only pod events lead to decisions.
        { heartbeatIntervalMs: 60_000, missingGraceMs: 60_000 },
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const before = decisions;
    // Every runner starts at once, as the informer delivers a burst.
    for (const name of runners) cache.put(withPhase(runnerPod(name), 'Running'));

    assert.equal(await waiting, 'all running');
    assert.equal(decisions - before, 1, `${decisions - before} decisions for a burst of ${runners.length} events`);
  });
});
