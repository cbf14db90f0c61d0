/**
 * The operator benchmark's simulated node (bench/sim-node.ts) under the real operator, on the test bed: a LoadTest
 * in a namespace carrying the node's annotations runs its runner pods there (kube-scheduler binds them, the
 * operator knows nothing of it), the stand-ins take the operator's start call and report through their termination
 * messages, and the merged result counts every request they reported, exactly. Closing removes the Node.
 */
import assert from 'node:assert/strict';
import { startSimulatedNode, type SimulatedNode } from '../../bench/sim-node.js';
import { apply, eventually, getJson, KubectlError, kubectl, loadTestManifest } from '../operator/cluster.js';
import { operatorSuite } from '../operator/suite.js';
import { DEFAULT_SERVICE_ACCOUNT_WAIT } from '../support/kubectl.js';

const REPLICAS = 20;
const REQUESTS_PER_RUNNER = 250;

interface LoadTestJson {
  status?: { state?: string; message?: string; results?: { requests: number; completed: number } };
}

interface PodList {
  items: Array<{
    metadata: { name: string };
    spec: { nodeName?: string };
    status?: { podIP?: string; phase?: string };
  }>;
}

describe('the simulated node of the operator benchmark', function () {
  this.timeout(300_000);
  operatorSuite('sim-node');
  const logs: string[] = [];
  let node: SimulatedNode | undefined;
  const namespace = `sim-node-${process.pid}`;

  before(async () => {
    node = await startSimulatedNode({
      requestsPerRunner: REQUESTS_PER_RUNNER,
      sendMs: 1000,
      log: (line) => logs.push(line),
    });
    await apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, annotations: node.namespaceAnnotations },
    });
    await kubectl(DEFAULT_SERVICE_ACCOUNT_WAIT(namespace));
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
    await node?.close();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && logs.length > 0) console.error(logs.join('\n'));
  });

  it('runs a LoadTest’s runners, which the operator starts and whose every reported request it counts', async () => {
    await apply(
      loadTestManifest(namespace, 'simulated', {
        replicas: REPLICAS,
        test: { url: 'http://simulated.invalid/', repeat: REQUESTS_PER_RUNNER },
      }),
    );
    const loadTest = await eventually(
      async () => {
        const object = await getJson<LoadTestJson>(['get', 'loadtest', 'simulated', '-n', namespace]);
        const state = object.status?.state;
        return state === 'finished' || state === 'failed' ? object : undefined;
      },
      240_000,
      'the LoadTest settled',
    );
    assert.equal(loadTest.status?.state, 'finished', loadTest.status?.message);
    assert.equal(loadTest.status?.results?.requests, REPLICAS * REQUESTS_PER_RUNNER);
    assert.equal(loadTest.status?.results?.completed, REPLICAS * REQUESTS_PER_RUNNER);

    const pods = await getJson<PodList>(['get', 'pods', '-n', namespace]);
    assert.equal(pods.items.length, REPLICAS);
    for (const pod of pods.items) {
      assert.equal(pod.spec.nodeName, node!.name, `${pod.metadata.name} ran on ${pod.spec.nodeName}`);
      assert.equal(pod.status?.phase, 'Succeeded', pod.metadata.name);
      assert.match(pod.status?.podIP ?? '', /^127\./, pod.metadata.name);
    }
    const timeline = node!.timeline();
    assert.equal(timeline.started.length, REPLICAS);
    assert.equal(timeline.ended.length, REPLICAS);
  });

  it('leaves no Node behind when closed', async () => {
    await node!.close();
    const name = node!.name;
    node = undefined;
    await assert.rejects(
      kubectl(['get', 'node', name]),
      (error) => error instanceof KubectlError && /NotFound/.test(error.stderr),
    );
    const leases = await kubectl(['get', 'lease', '-n', 'kube-node-lease', '-o', 'name']);
    assert.doesNotMatch(leases, new RegExp(`/${name}$`, 'm'));
  });
});
