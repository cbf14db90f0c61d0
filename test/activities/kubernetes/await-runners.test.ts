import type { V1Pod } from '@kubernetes/client-node';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { strict as assert } from 'node:assert';
import { awaitRunners } from '../../../activities/kubernetes/await-runners.js';
import type { RunnerState } from '../../../activities/kubernetes/runner-pods.js';
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

  it('takes a pod the informer saw deleted as deleted at once, keeping a summary it left', async () => {
    const runners = ['example-g1-0', 'example-g1-1'];
    const cache = new FakePodCache();
    const summary = '{"v":1}';
    cache.put(withPhase(runnerPod(runners[0]!), 'Running'));
    cache.put(withPhase(runnerPod(runners[1]!), 'Succeeded', { exitCode: 0, message: summary }));
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const waiting = env.run(() =>
      awaitRunners(
        cache,
        new FakePods(),
        { loadTest, generation: 1, runners },
        (states) => {
          const settled = [...states.values()].every(
            (state) => state?.kind === 'succeeded' || state?.kind === 'failed',
          );
          return settled ? new Map(states) : undefined;
        },
        // A missing pod would only be looked up after a minute: the informer's word must be enough.
        { heartbeatIntervalMs: 60_000, missingGraceMs: 60_000 },
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // Both deleted before any decision: the cache forgets them at once, as the informer does.
    for (const name of runners) cache.remove(cache.get('default', name)!);

    const states = (await waiting) as Map<string, RunnerState | undefined>;
    assert.deepEqual(states.get(runners[0]!), { kind: 'failed', reason: 'was deleted' });
    assert.deepEqual(states.get(runners[1]!), { kind: 'succeeded', summary });
  });
});
