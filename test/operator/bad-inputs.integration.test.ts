/**
 * Bad input only the cluster can reveal, on the test bed with the real node (issue 16, item 6): a Service that
 * does not expose spec.test.port, a namespace deleted under a running LoadTest, and a LoadTest re-created under
 * the same name while the old one's runner pods still terminate. Each ends with a clear message or a clean
 * result, never a crash loop.
 */
import type { Client } from '@temporalio/client';
import { strict as assert } from 'node:assert';
import { loadTestWorkflowId } from '../../src/loadtest/workflow-id.js';
import {
  apply,
  eventually,
  getJson,
  kubectl,
  loadTestManifest,
  podNames,
  temporalClient,
  waitForJsonPath,
} from './cluster.js';
import { operatorSuite } from './suite.js';

interface LoadTestJson {
  metadata: { name: string; namespace: string; uid: string };
  status?: { state?: string; message?: string; children?: string[]; results?: { requests: number } };
}

describe('bad input on the test bed', function () {
  this.timeout(240_000);
  const suite = operatorSuite('badin');
  let temporal: Client;

  before(async () => {
    temporal = await temporalClient();
  });

  after(async () => {
    await temporal?.connection.close();
  });

  const loadTest = (namespace: string, name: string) => getJson<LoadTestJson>(['get', 'ld', name, '-n', namespace]);
  const workflowOf = (object: LoadTestJson) =>
    temporal.workflow.getHandle(
      loadTestWorkflowId({
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        uid: object.metadata.uid,
      }),
    );
  /** The workflow's result; a test that times out waiting leaves no unhandled rejection when Temporal closes. */
  const settledWorkflow = (object: LoadTestJson): Promise<unknown> => {
    const result = workflowOf(object).result();
    result.catch(() => undefined);
    return result;
  };
  const runnersOf = (object: LoadTestJson) =>
    podNames(object.metadata.namespace, `loadtest.example.org/uid=${object.metadata.uid}`);

  it('a Service exposing only a named port other than spec.test.port: failed, naming every port it has', async () => {
    const namespace = await suite.namespace();
    const server = await suite.serve(namespace);
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'named', namespace },
      spec: { ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
    });
    await apply(loadTestManifest(namespace, 'unnamed', { replicas: 1, test: { serviceName: 'named', repeat: 1 } }));

    await waitForJsonPath('ld/unnamed', namespace, '{.status.state}', 'failed');

    const object = await loadTest(namespace, 'unnamed');
    assert.equal(
      object.status?.message,
      `Service "named" in namespace "${namespace}" has no port 80 (it has 8080 (name "http", targetPort "http")): ` +
        'set spec.test.port (default 80) to one of its ports',
    );
    assert.deepEqual(await runnersOf(object), []);
    assert.equal(server.requests, 0);
  });

  it('a namespace deleted while its LoadTest executes: the workflow cleans up and completes, and the namespace goes', async () => {
    const namespace = await suite.namespace();
    await suite.serve(namespace);
    await apply(
      loadTestManifest(namespace, 'doomed', {
        replicas: 2,
        test: { serviceName: 'target', duration: '5m', rate: 5 },
      }),
    );
    await waitForJsonPath('ld/doomed', namespace, '{.status.state}', 'executing', 120);
    const object = await loadTest(namespace, 'doomed');
    assert.equal((await runnersOf(object)).length, 2);

    await kubectl(['delete', 'namespace', namespace, '--wait=false']);

    // The LoadTest, its runner pods and its Secret go with the namespace; its workflow completes, not retrying
    // calls into a namespace that refuses them.
    const result = (await settledWorkflow(object)) as { reason?: string };
    assert.equal(result.reason, 'deleted');
    await kubectl(['wait', '--for=delete', `namespace/${namespace}`, '--timeout=120s']);
  });

  it('a LoadTest re-created with the same name while the old runner pods terminate: the new run counts only its own requests', async () => {
    const namespace = await suite.namespace();
    const server = await suite.serve(namespace);
    const spec = (test: object) => ({ replicas: 2, test: { serviceName: 'target', ...test } });
    await apply(loadTestManifest(namespace, 'same', spec({ duration: '5m', rate: 5 })));
    await waitForJsonPath('ld/same', namespace, '{.status.state}', 'executing', 120);
    const old = await loadTest(namespace, 'same');
    const oldRunners = await runnersOf(old);
    assert.equal(oldRunners.length, 2);
    // A finalizer keeps the old runner pods terminating until the new LoadTest has been created.
    for (const pod of oldRunners) {
      await kubectl([
        ...['patch', 'pod', pod, '-n', namespace, '--type=merge'],
        ...['-p', JSON.stringify({ metadata: { finalizers: ['example.org/hold'] } })],
      ]);
    }

    await kubectl(['delete', 'ld', 'same', '-n', namespace, '--wait=true']);
    await apply(loadTestManifest(namespace, 'same', spec({ repeat: 7 })));
    const fresh = await loadTest(namespace, 'same');
    assert.notEqual(fresh.metadata.uid, old.metadata.uid);
    const oldResult = (await settledWorkflow(old)) as { reason?: string };
    assert.equal(oldResult.reason, 'deleted');
    // The old pods are still there, terminating, under the names the new run's runners take.
    const terminating = await getJson<{ items: Array<{ metadata: { name: string; deletionTimestamp?: string } }> }>([
      ...['get', 'pods', '-n', namespace, '-l', `loadtest.example.org/uid=${old.metadata.uid}`],
    ]);
    assert.deepEqual(
      terminating.items.map((pod) => [pod.metadata.name, pod.metadata.deletionTimestamp !== undefined]),
      oldRunners.map((name) => [name, true]),
    );
    // Their containers have stopped (SIGTERM at deletion): from here on the target counts the new run alone.
    await eventually(
      async () => {
        const pods = await getJson<{ items: Array<{ status?: { containerStatuses?: Array<{ state?: object }> } }> }>([
          'get',
          'pods',
          '-n',
          namespace,
          '-l',
          `loadtest.example.org/uid=${old.metadata.uid}`,
        ]);
        const stopped = pods.items.every((pod) =>
          (pod.status?.containerStatuses ?? []).every((status) => 'terminated' in (status.state ?? {})),
        );
        return stopped ? true : undefined;
      },
      60_000,
      'the old runner containers stopping',
    );
    const sentByOld = server.requests;

    for (const pod of oldRunners) {
      await kubectl([
        ...['patch', 'pod', pod, '-n', namespace, '--type=merge'],
        ...['-p', JSON.stringify({ metadata: { finalizers: null } })],
      ]);
    }
    await waitForJsonPath('ld/same', namespace, '{.status.state}', 'finished', 150);

    const settled = await loadTest(namespace, 'same');
    assert.equal(settled.metadata.uid, fresh.metadata.uid);
    assert.equal(settled.status?.results?.requests, 14);
    assert.deepEqual(settled.status?.children, oldRunners);
    // The target saw the old run's requests and exactly the new run's 14 after them.
    await eventually(
      () => Promise.resolve(server.requests === sentByOld + 14 ? true : undefined),
      10_000,
      `the target counting ${sentByOld} + 14 requests (it has ${server.requests})`,
    );
    assert.deepEqual(await podNames(namespace, `loadtest.example.org/uid=${old.metadata.uid}`), []);
  });
});
