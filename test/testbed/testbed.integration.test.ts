/**
 * The test bed is real: a CRD becomes Established, pods run as local processes and report status like
 * kubelet's, garbage collection works, services are reachable, RBAC denies, and Temporal runs workflows.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { namespaceAnnotationsFor } from './nodes.js';
import { requireTestbedEnv } from './state.js';
import { apply, createNamespace, getJson, kubectl, kubectlOk, kubectlWait } from '../support/kubectl.js';
import { exposeAsService, startTargetServer } from '../support/target-server.js';

const run = promisify(execFile);

interface PodJson {
  status: {
    phase: string;
    containerStatuses?: Array<{ state: { terminated?: { exitCode: number; message?: string; reason: string } } }>;
  };
}

const pod = (name: string, namespace: string, container: Record<string, unknown>, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, ...extra },
  spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 5, containers: [{ name: 'main', ...container }] },
});

describe('test bed', function () {
  let namespace: string;

  before(async function () {
    namespace = await createNamespace('testbed');
    // These tests are about the process node: every pod of this namespace goes there.
    const annotations = Object.entries(namespaceAnnotationsFor('process')).map(([key, value]) => `${key}=${value}`);
    await kubectlOk(['annotate', 'namespace', namespace, ...annotations]);
  });

  after(async function () {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('establishes the LoadTest CRD applied with kubectl apply -f crds/', async function () {
    await kubectlOk(['apply', '-f', 'crds/']);
    await kubectlWait('crd/loadtests.example.org', '--for=condition=Established', 30);
  });

  it('runs a pod with the runner image as a local process that ends Succeeded with its termination message', async function () {
    const target = await startTargetServer();
    try {
      await exposeAsService('runner-target', namespace, target.port);
      await apply(
        pod('runner', namespace, {
          image: 'loadtest-operator:dev',
          args: ['runner', '--url', `http://runner-target.${namespace}.svc/`, '--requests', '3'],
        }),
      );
      // The runner writes its summary to /dev/termination-log inside the pod.
      await apply(
        pod('runner-summary', namespace, {
          image: 'loadtest-operator:dev',
          args: [
            'runner',
            '--url',
            `http://runner-target/`,
            '--requests',
            '2',
            '--summary-file',
            '/dev/termination-log',
          ],
        }),
      );
      await kubectlWait('pod/runner-summary', '--for=jsonpath={.status.phase}=Succeeded', 60, namespace);
      const status = (await getJson<PodJson>('pod/runner-summary', namespace)).status;
      const terminated = status.containerStatuses?.[0]?.state.terminated;
      assert.equal(terminated?.exitCode, 0);
      assert.equal(terminated?.reason, 'Completed');
      const summary = JSON.parse(terminated?.message ?? '{}') as { completed?: number };
      assert.equal(summary.completed, 2);
      await kubectlWait('pod/runner', '--for=jsonpath={.status.phase}=Succeeded', 60, namespace);
      assert.equal(target.requests.length, 5);
    } finally {
      await target.close();
    }
  });

  it('ends a pod whose command exits 3 Failed with exit code 3', async function () {
    await apply(pod('exit3', namespace, { image: 'busybox', command: ['sh', '-c', 'echo broken >&2; exit 3'] }));
    await kubectlWait('pod/exit3', '--for=jsonpath={.status.phase}=Failed', 30, namespace);
    const terminated = (await getJson<PodJson>('pod/exit3', namespace)).status.containerStatuses?.[0]?.state.terminated;
    assert.equal(terminated?.exitCode, 3);
    assert.equal(terminated?.reason, 'Error');
  });

  it('kills the process of a deleted running pod and removes the pod', async function () {
    // A unique sleep length identifies the process.
    const marker = `600.${Math.floor(Math.random() * 1e9)}`;
    await apply(pod('sleeper', namespace, { image: 'busybox', command: ['sleep', marker] }));
    await kubectlWait('pod/sleeper', '--for=jsonpath={.status.phase}=Running', 30, namespace);
    assert.ok(await processExists(marker), 'the pod process runs');
    await kubectlOk(['delete', 'pod', 'sleeper', '-n', namespace, '--timeout=30s']);
    assert.equal(await processExists(marker), false, 'the pod process is gone');
    const after = await kubectl(['get', 'pod', 'sleeper', '-n', namespace]);
    assert.match(after.stderr, /NotFound/);
  });

  it('garbage-collects a pod owned by a ConfigMap when the ConfigMap is deleted', async function () {
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace } });
    const owner = await getJson<{ metadata: { uid: string } }>('configmap/owner', namespace);
    await apply(
      pod(
        'owned',
        namespace,
        { image: 'busybox', command: ['sleep', '600'] },
        { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }] },
      ),
    );
    await kubectlWait('pod/owned', '--for=jsonpath={.status.phase}=Running', 30, namespace);
    await kubectlOk(['delete', 'configmap', 'owner', '-n', namespace]);
    await kubectlWait('pod/owned', '--for=delete', 60, namespace);
  });

  it('lets a process on the node reach a test HTTP server through <svc>.<ns>.svc:<port>', async function () {
    const target = await startTargetServer((_request, response) => response.end('hello from the test server'));
    try {
      await exposeAsService('web', namespace, target.port, 8080);
      const script = `fetch('http://web.${namespace}.svc:8080/probe').then(r => r.text()).then(t => require('fs').writeFileSync('/dev/termination-log', t))`;
      await apply(pod('client', namespace, { image: 'node:20', command: ['node', '-e', script] }));
      await kubectlWait('pod/client', '--for=jsonpath={.status.phase}=Succeeded', 30, namespace);
      const terminated = (await getJson<PodJson>('pod/client', namespace)).status.containerStatuses?.[0]?.state
        .terminated;
      assert.equal(terminated?.message, 'hello from the test server');
      assert.deepEqual(target.requests, [{ method: 'GET', path: '/probe' }]);
    } finally {
      await target.close();
    }
  });

  it('denies listing pods to a ServiceAccount token without a RoleBinding', async function () {
    await kubectlOk(['create', 'serviceaccount', 'nobody', '-n', namespace]);
    const token = (await kubectlOk(['create', 'token', 'nobody', '-n', namespace])).trim();
    const denied = await kubectl(['get', 'pods', '-n', namespace], { token });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Forbidden.*system:serviceaccount:.*:nobody.*cannot list resource "pods"/);
  });

  it('runs a workflow on the Temporal dev server that `temporal workflow list` shows, and serves the Web UI', async function () {
    const env = requireTestbedEnv();
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
    const taskQueue = `testbed-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS }),
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath: new URL('./testbed-workflow.js', import.meta.url).pathname,
    });
    const workflowId = `testbed-probe-${taskQueue}`;
    await worker.runUntil(
      client.workflow.execute('testbedProbe', { taskQueue, workflowId, args: ['ping'] }).then((result) => {
        assert.equal(result, 'pong: ping');
      }),
    );
    const { stdout } = await run(env.TEMPORAL_CLI, [
      'workflow',
      'list',
      '--address',
      env.TEMPORAL_ADDRESS,
      '--query',
      `WorkflowId = '${workflowId}'`,
    ]);
    assert.match(stdout, new RegExp(`Completed\\s+${workflowId}`));
    const ui = await fetch(env.TEMPORAL_UI_URL);
    assert.equal(ui.status, 200);
    await connection.close();
  });
});

async function processExists(marker: string): Promise<boolean> {
  const { stdout } = await run('pgrep', ['-f', `^sleep ${marker}$`]).catch(() => ({ stdout: '' }));
  return stdout.trim().length > 0;
}
