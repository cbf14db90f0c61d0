/**
 * The real node: kubelet on containerd and runc, registered as a Node with its own certificate, secured as a real
 * cluster's, with Services routed by kube-proxy and names answered by CoreDNS; the scheduler sends pods there only
 * when they ask (nodes.ts); one component restarts while the rest keeps running.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../src/util/process.js';
import {
  apply,
  createNamespace,
  DEFAULT_SERVICE_ACCOUNT_WAIT,
  getJson,
  kubectl,
  kubectlOk,
  kubectlWait,
} from '../support/kubectl.js';
import { GUARD_CHAIN } from './host-state.js';
import { exposeHostServer } from './host-service.js';
import { testbedProcesses } from './lifecycle.js';
import { DEFAULT_NODE, namespaceAnnotationsFor, nodeName, placementOn, PROCESS_NODE, REAL_NODE } from './nodes.js';
import { containerdSocket, REAL_NODE_IP } from './real-node.js';
import { REPO_ROOT, requireTestbedEnv, type TestbedEnv } from './state.js';

const run = promisify(execFile);

interface PodJson {
  metadata: { uid: string };
  spec: { nodeName?: string; tolerations?: Array<{ key?: string }> };
  status: {
    phase: string;
    podIP?: string;
    containerStatuses?: Array<{
      containerID?: string;
      restartCount: number;
      state: {
        running?: object;
        waiting?: { reason: string; message?: string };
        terminated?: { exitCode: number; reason: string };
      };
    }>;
  };
}

interface NodeJson {
  status: {
    conditions: Array<{ type: string; status: string }>;
    addresses: Array<{ type: string; address: string }>;
    nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
    daemonEndpoints: { kubeletEndpoint: { Port: number } };
  };
}

describe('real node', function () {
  let env: TestbedEnv;
  let namespace: string;

  /** A pod of the toolbox image that the scheduler sends to the real node. */
  const realPod = (name: string, args: string[], extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      ...placementOn('real'),
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      containers: [{ name: 'main', image: env.TESTBED_TOOLBOX_IMAGE, args, ...extra }],
    },
  });
  const podJson = (name: string, ns = namespace) => getJson<PodJson>(`pod/${name}`, ns);
  const ctr = async (...args: string[]) =>
    (await run('ctr', ['--address', containerdSocket(env.TESTBED_DIR), '--namespace', 'k8s.io', ...args])).stdout;

  before(async function () {
    env = requireTestbedEnv();
    namespace = await createNamespace('real-node');
  });

  after(async function () {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('registers testbed-real-node, Ready, as kubelet v1.34.4 on containerd at the bridge address', async function () {
    await kubectlWait(`node/${REAL_NODE}`, '--for=condition=Ready', 60);
    const node = await getJson<NodeJson>(`node/${REAL_NODE}`);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.34.4');
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.deepEqual(
      node.status.addresses.filter((address) => address.type === 'InternalIP'),
      [{ type: 'InternalIP', address: REAL_NODE_IP }],
    );
  });

  it('authorizes the kubelet as a node (Node authorizer, NodeRestriction): its own Node only, no restricted labels', async function () {
    const asKubelet = ['--kubeconfig', join(env.TESTBED_DIR, 'kubelet.kubeconfig')];
    const own = await kubectl([...asKubelet, 'get', 'node', REAL_NODE, '-o', 'name']);
    assert.equal(own.code, 0, own.stderr);
    const other = await kubectl([...asKubelet, 'get', 'node', PROCESS_NODE]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /node 'testbed-real-node' cannot read 'testbed-node', only its own Node object/);
    const label = await kubectl([...asKubelet, 'label', 'node', REAL_NODE, 'node-restriction.kubernetes.io/x=y']);
    assert.notEqual(label.code, 0);
    assert.match(label.stderr, /is not allowed to modify labels: node-restriction\.kubernetes\.io\/x/);
  });

  it('refuses anonymous requests to the kubelet API', async function () {
    const node = await getJson<NodeJson>(`node/${REAL_NODE}`);
    const port = node.status.daemonEndpoints.kubeletEndpoint.Port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`https://${REAL_NODE_IP}:${port}/pods`, { rejectUnauthorized: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 401);
  });

  it('schedules pods that ask for no node on the default node, and those that ask for the other node there', async function () {
    const other = DEFAULT_NODE === 'real' ? 'process' : 'real';
    const pod = (name: string, spec: object, ns = namespace) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: {
        terminationGracePeriodSeconds: 5,
        containers: [{ name: 'main', image: env.TESTBED_TOOLBOX_IMAGE, args: ['pause'] }],
        ...spec,
      },
    });
    await apply(pod('anywhere', {}), pod('asks-other', placementOn(other)));
    await kubectlWait('pod/anywhere', `--for=jsonpath={.spec.nodeName}=${nodeName(DEFAULT_NODE)}`, 30, namespace);
    await kubectlWait('pod/asks-other', `--for=jsonpath={.spec.nodeName}=${nodeName(other)}`, 30, namespace);
    // A namespace that sends all its pods to the other node, with pods that name no node.
    const annotated = `${namespace}-other`;
    await apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: annotated, annotations: namespaceAnnotationsFor(other) },
    });
    await kubectlOk(DEFAULT_SERVICE_ACCOUNT_WAIT(annotated));
    try {
      await apply(pod('plain', {}, annotated));
      await kubectlWait('pod/plain', `--for=jsonpath={.spec.nodeName}=${nodeName(other)}`, 30, annotated);
    } finally {
      await kubectl(['delete', 'namespace', annotated, '--wait=false']);
    }
  });

  it('runs a pod in containerd: a containerd:// container ID, kubectl logs and kubectl exec', async function () {
    await apply(realPod('talker', ['echo', '--wait', 'hello from the real node']));
    await kubectlWait('pod/talker', '--for=condition=Ready', 60, namespace);
    const status = (await podJson('talker')).status;
    assert.match(status.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
    assert.match(status.podIP ?? '', /^10\.244\.0\.\d+$/);
    assert.equal(await kubectlOk(['logs', 'talker', '-n', namespace]), 'hello from the real node\n');
    const exec = await kubectlOk(['exec', 'talker', '-n', namespace, '--', '/toolbox', 'echo', 'exec', 'works']);
    assert.equal(exec, 'exec works\n');
  });

  it('resolves <svc>.<ns>.svc through cluster DNS and reaches a host server behind a selector-less Service', async function () {
    const seen: Array<{ path: string; from: string }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      seen.push({ path: req.url ?? '', from: req.socket.remoteAddress ?? '' });
      res.end('hello from the host');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const exposed = await exposeHostServer(server, 'web', namespace, 8080);
    try {
      const clusterIP = (await getJson<{ spec: { clusterIP: string } }>('service/web', namespace)).spec.clusterIP;
      await apply(realPod('client', ['pause']));
      await kubectlWait('pod/client', '--for=condition=Ready', 60, namespace);
      const inPod = (...args: string[]) => kubectlOk(['exec', 'client', '-n', namespace, '--', '/toolbox', ...args]);
      // No event says when CoreDNS and kube-proxy have seen the new Service: ask until they answer.
      const resolved = await waitFor(() => inPod('resolve', `web.${namespace}.svc`), {
        timeoutMs: 30_000,
        what: 'the Service name to resolve in the pod',
      });
      assert.equal(resolved.trim(), clusterIP);
      const body = await waitFor(() => inPod('get', `http://web.${namespace}.svc:8080/probe`), {
        timeoutMs: 30_000,
        what: 'the host server to answer through the Service',
      });
      assert.equal(body, 'hello from the host');
      const podIP = (await podJson('client')).status.podIP;
      assert.deepEqual(seen.at(-1), { path: '/probe', from: podIP });
    } finally {
      await exposed.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it("gives a pod a ServiceAccount token that reaches the apiserver as the kubernetes Service, and Temporal's frontend", async function () {
    // The product's image, as the operator's pods run it: Node with the in-cluster credentials kubelet mounts.
    const script = `
      const { readFileSync } = require('node:fs');
      const { request } = require('node:https');
      const { connect } = require('node:net');
      const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
      const url = 'https://' + process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT;
      const headers = { authorization: 'Bearer ' + readFileSync(dir + '/token', 'utf8') };
      request(url + '/version', { ca: readFileSync(dir + '/ca.crt'), headers }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => {
          console.log('apiserver ' + response.statusCode + ' ' + JSON.parse(body).gitVersion);
          const socket = connect(7233, 'temporal-frontend.temporal.svc', () => {
            console.log('temporal connected');
            socket.end();
          });
        });
      }).end();`;
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'in-cluster', namespace },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 5,
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'main',
            image: 'loadtest-operator:dev',
            command: ['node', '-e', script],
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
          },
        ],
      },
    });
    await kubectlWait('pod/in-cluster', '--for=jsonpath={.status.phase}=Succeeded', 60, namespace);
    const logs = await kubectlOk(['logs', 'in-cluster', '-n', namespace]);
    assert.equal(logs, 'apiserver 200 v1.34.4\ntemporal connected\n');
  });

  it('drops what a pod sends to an address off the machine (the guard chain)', async function () {
    const dropped = async () => {
      const { stdout } = await run('iptables', ['-t', 'mangle', '-L', GUARD_CHAIN, '-v', '-n', '-x']);
      const rule = stdout.split('\n').find((line) => /\bDROP\b.*\b10\.244\.0\.0\/24\b/.test(line));
      return Number(rule?.trim().split(/\s+/)[0] ?? Number.NaN);
    };
    await apply(realPod('leaver', ['pause']));
    await kubectlWait('pod/leaver', '--for=condition=Ready', 60, namespace);
    const before = await dropped();
    // TEST-NET-2: reserved for documentation, the default route would take it off the machine.
    const attempt = await kubectl(['exec', 'leaver', '-n', namespace, '--', '/toolbox', 'get', 'http://198.51.100.7/']);
    assert.notEqual(attempt.code, 0);
    assert.ok((await dropped()) > before, 'the guard dropped the packets');
  });

  it('fails a pod whose image is in no registry with ErrImagePull at once: every registry is a closed local port', async function () {
    await apply(realPod('missing', [], { image: 'registry.example.com/nothing/here:1' }));
    const waiting = await waitFor(
      async () => {
        const state = (await podJson('missing')).status.containerStatuses?.[0]?.state.waiting;
        return state?.reason === 'ErrImagePull' || state?.reason === 'ImagePullBackOff' ? state : undefined;
      },
      { timeoutMs: 60_000, what: 'the pull of a missing image to fail' },
    );
    assert.ok(['ErrImagePull', 'ImagePullBackOff'].includes(waiting.reason));
    const events = await kubectlOk([
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector',
      'involvedObject.name=missing,reason=Failed',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    assert.match(events, /127\.0\.0\.1:1: connect: connection refused/);
  });

  it('OOM-kills a container that exceeds its memory limit', async function () {
    await apply(realPod('hog', ['hog', '256'], { resources: { limits: { memory: '64Mi' } } }));
    await kubectlWait('pod/hog', '--for=jsonpath={.status.phase}=Failed', 60, namespace);
    const terminated = (await podJson('hog')).status.containerStatuses?.[0]?.state.terminated;
    assert.equal(terminated?.reason, 'OOMKilled');
    assert.equal(terminated?.exitCode, 137);
  });

  it('removes every container of a deleted pod, its sandbox included, from containerd', async function () {
    await apply(realPod('doomed', ['pause']));
    await kubectlWait('pod/doomed', '--for=condition=Ready', 60, namespace);
    const pod = await podJson('doomed');
    const ofPod = () => ctr('containers', 'list', '--quiet', `labels."io.kubernetes.pod.uid"==${pod.metadata.uid}`);
    // The app container and the sandbox.
    assert.equal((await ofPod()).trim().split('\n').length, 2);
    await kubectlOk(['delete', 'pod', 'doomed', '-n', namespace, '--timeout=60s']);
    // The kubelet removes the app container at once and the sandbox at its next garbage collection (each minute).
    await waitFor(async () => (await ofPod()).trim() === '', {
      timeoutMs: 90_000,
      intervalMs: 1000,
      what: "the deleted pod's containers to leave containerd",
    });
    const containerId = pod.status.containerStatuses?.[0]?.containerID?.replace('containerd://', '') ?? '';
    assert.doesNotMatch(await ctr('tasks', 'list', '--quiet'), new RegExp(containerId));
  });

  it('restarts kubelet, containerd, the apiserver and Temporal one at a time while everything else keeps running', async function () {
    this.timeout(5 * 60_000);
    await apply(realPod('survivor', ['echo', '--wait', 'still here']));
    await kubectlWait('pod/survivor', '--for=condition=Ready', 60, namespace);
    const containerID = (await podJson('survivor')).status.containerStatuses?.[0]?.containerID;
    for (const component of ['kubelet', 'containerd', 'apiserver', 'temporal']) {
      const before = componentPids(env.TESTBED_DIR);
      const { stderr } = await run(
        process.execPath,
        [join(REPO_ROOT, 'dist/test/testbed/cli.js'), 'restart', component],
        {
          env: { ...process.env, TESTBED_DIR: env.TESTBED_DIR },
        },
      );
      assert.match(stderr, /^restarted /);
      const after = componentPids(env.TESTBED_DIR);
      const name = component === 'apiserver' ? 'kube-apiserver' : component;
      assert.notEqual(after.get(name), before.get(name), `${name} has a new process`);
      assert.ok(after.get(name) !== undefined, `${name} runs again`);
      for (const [other, pid] of before) {
        if (other !== name) assert.equal(after.get(other), pid, `${other} kept running while ${name} restarted`);
      }
    }
    await kubectlWait(`node/${REAL_NODE}`, '--for=condition=Ready', 60);
    const status = (await podJson('survivor')).status.containerStatuses?.[0];
    assert.equal(status?.containerID, containerID);
    assert.equal(status?.restartCount, 0);
    // The kubelet relists pods after the apiserver's restart on its own schedule (a backoff of up to ~30 s).
    const exec = await waitFor(() => kubectlOk(['exec', 'survivor', '-n', namespace, '--', '/toolbox', 'echo', 'ok']), {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'kubectl exec into the surviving pod',
    });
    assert.equal(exec, 'ok\n');
  });
});

/** The test bed's components by program name (the supervisor's own children), with their pids. */
function componentPids(stateDir: string): Map<string, number> {
  const names = [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'temporal',
    'containerd',
    'kubelet',
    'kube-proxy',
    'coredns',
  ];
  const pids = new Map<string, number>();
  for (const { pid, command } of testbedProcesses(stateDir)) {
    const program = command.split(' ')[0]?.split('/').pop() ?? '';
    if (names.includes(program)) pids.set(program, pid);
  }
  return pids;
}
