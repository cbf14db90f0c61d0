/**
 * checkTarget on a Service whose ports are named, or whose pods listen on another port than the Service's (issue
 * 16): the run fails before any runner is created, with every port the Service has, its name and target port.
 */
import type { V1ServicePort } from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { createKubernetesActivities } from '../../../activities/kubernetes/index.js';
import type { TargetCheck } from '../../../activities/types.js';
import { sampleSpec } from '../../workflows/fake-backend.js';
import { FakeEvents, FakeLoadTests, FakePodCache, FakePods, FakeSecrets, FakeServices } from './fakes.js';

const loadTest = { namespace: 'shop', name: 'example', uid: 'uid-1' };

/** checkTarget of a LoadTest over Service "web" at `port`, the Service having `ports`. */
async function check(ports: V1ServicePort[], port: number): Promise<TargetCheck> {
  const services = new FakeServices();
  services.services.set('shop/web', { spec: { ports } });
  const loadTests = new FakeLoadTests();
  const activities = createKubernetesActivities({
    secrets: new FakeSecrets(),
    pods: new FakePods(),
    loadTests,
    loadTestCache: loadTests.cache,
    services,
    events: new FakeEvents(),
    runnerPods: new FakePodCache(),
    runnerImage: 'loadtest-operator:test',
  });
  const spec = sampleSpec({ test: { method: 'GET', serviceName: 'web', port, path: '/' } });
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  return env.run(activities.checkTarget, { loadTest, spec });
}

describe('checkTarget on a Service with named ports', () => {
  it('names each port the Service has, with its name and targetPort, when spec.test.port is not one', async () => {
    const ports = [
      { name: 'http', port: 8080, targetPort: 'http' },
      { name: 'metrics', port: 9090, targetPort: 9090 },
    ];

    assert.deepEqual(await check(ports, 80), {
      ok: false,
      reason:
        'Service "web" in namespace "shop" has no port 80 (it has 8080 (name "http", targetPort "http"), ' +
        '9090 (name "metrics")): set spec.test.port (default 80) to one of its ports',
    });
  });

  it("says so when spec.test.port is the pods' port behind a Service port", async () => {
    const ports = [{ name: 'http', port: 8080, targetPort: 80 }];

    assert.deepEqual(await check(ports, 80), {
      ok: false,
      reason:
        'Service "web" in namespace "shop" has no port 80 (it has 8080 (name "http", targetPort 80)): ' +
        "set spec.test.port (default 80) to one of its ports; 80 is the pods' port behind its port 8080",
    });
  });

  it('accepts the number of a named port', async () => {
    assert.deepEqual(await check([{ name: 'http', port: 8080, targetPort: 'http' }], 8080), { ok: true });
  });
});
