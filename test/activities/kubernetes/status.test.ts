import { strict as assert } from 'node:assert';
import { eventManifest, eventName } from '../../../activities/kubernetes/events.js';
import { formatLatency, formatRps, statusPatch } from '../../../activities/kubernetes/status.js';
import type { StatusReport } from '../../../activities/types.js';
import { sampleResults } from '../../workflows/fake-backend.js';

const report = (overrides: Partial<StatusReport>): StatusReport => ({
  state: 'pending',
  generation: 2,
  children: [],
  message: 'starting',
  transitionTime: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

describe('LoadTest status', () => {
  it('shows a finished run’s requests/s and p99 for the printer columns', () => {
    const patch = statusPatch(report({ state: 'finished', results: sampleResults({ rps: 812.34 }) }));
    assert.equal(patch.rps, '812');
    assert.equal(patch.p99, '4ms');
    assert.equal(patch.observedGeneration, 2);
    assert.deepEqual(patch.results, sampleResults({ rps: 812.34 }));
  });

  it('counts the runners for the printer column (created/replicas), readable at 1000 replicas', () => {
    const children = Array.from({ length: 1000 }, (_, index) => `big-g2-${index}`);
    assert.equal(statusPatch(report({ state: 'executing', children }), undefined, 1000).runners, '1000/1000');
    assert.equal(statusPatch(report({ state: 'pending' }), undefined, 5).runners, '0/5');
    // Replicas of another generation than the report's are unknown: just the count.
    assert.equal(statusPatch(report({ state: 'executing', children: ['a', 'b'] })).runners, '2');
  });

  it('formats small rates with a decimal and long latencies in seconds', () => {
    assert.equal(formatRps(12.34), '12.3');
    assert.equal(formatLatency(1250), '1.25s');
    assert.equal(formatLatency(0.44), '0.4ms');
  });

  it('clears the previous run’s results when a new generation starts', () => {
    const patch = statusPatch(report({ state: 'pending' }));
    assert.equal(patch.results, null);
    assert.equal(patch.rps, null);
    assert.equal(patch.completionTime, null);
  });

  it('keeps the condition’s transition time while its status does not change', () => {
    const executing = statusPatch(report({ state: 'executing', transitionTime: '2026-01-01T00:01:00.000Z' }), {
      conditions: [
        { type: 'Succeeded', status: 'Unknown', reason: 'Pending', lastTransitionTime: '2026-01-01T00:00:00.000Z' },
      ],
    });
    const condition = executing.conditions?.[0] as Record<string, unknown>;
    assert.equal(condition.lastTransitionTime, '2026-01-01T00:00:00.000Z');
    assert.equal(condition.reason, 'Executing');

    const failed = statusPatch(report({ state: 'failed', transitionTime: '2026-01-01T00:02:00.000Z' }), {
      conditions: [condition],
    });
    assert.deepEqual(
      { ...(failed.conditions?.[0] as object) },
      {
        type: 'Succeeded',
        status: 'False',
        reason: 'Failed',
        message: 'starting',
        observedGeneration: 2,
        lastTransitionTime: '2026-01-01T00:02:00.000Z',
      },
    );
  });
});

describe('LoadTest events', () => {
  const loadTest = { namespace: 'default', name: 'example', uid: 'u-1' };
  const event = { type: 'Warning' as const, reason: 'Failed', message: 'runner x failed', generation: 1 };

  it('get one name per LoadTest, generation and reason, so a retry posts no duplicate', () => {
    assert.equal(eventName(loadTest, event), eventName(loadTest, { ...event, message: 'other words' }));
    assert.notEqual(eventName(loadTest, event), eventName(loadTest, { ...event, reason: 'Finished' }));
    assert.notEqual(eventName(loadTest, event), eventName(loadTest, { ...event, generation: 2 }));
    assert.notEqual(eventName(loadTest, event), eventName({ ...loadTest, uid: 'u-2' }, event));
  });

  it('point at the LoadTest by uid, as kubectl describe looks them up', () => {
    const manifest = eventManifest(loadTest, event, new Date(0), 'worker-1');
    assert.deepEqual(manifest.involvedObject, {
      apiVersion: 'example.org/v1',
      kind: 'LoadTest',
      namespace: 'default',
      name: 'example',
      uid: 'u-1',
    });
    assert.equal(manifest.type, 'Warning');
    assert.equal(manifest.source?.component, 'loadtest-operator');
  });
});
