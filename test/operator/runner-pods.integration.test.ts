/**
 * Runner pods in namespaces that ask something of their pods, end to end on the test bed (kubectl apply →
 * watcher → workflow → activities → pods): Pod Security admission at `restricted`, the fields of `spec.runner`,
 * and a ResourceQuota that refuses the pods. The pods run as containers on the test bed's real node (kubelet,
 * containerd, runc), which applies their securityContext and resources.
 */
import { strict as assert } from 'node:assert';
import { DEFAULT_SERVICE_ACCOUNT_WAIT } from '../support/kubectl.js';
import {
  apply,
  CountingServer,
  ensureCrd,
  eventually,
  getJson,
  kubectl,
  loadTestManifest,
  Operator,
  podNames,
  waitForJsonPath,
} from './cluster.js';

interface PodJson {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    securityContext?: Record<string, unknown>;
    automountServiceAccountToken?: boolean;
    nodeSelector?: Record<string, string>;
    tolerations?: Array<Record<string, unknown>>;
    affinity?: Record<string, unknown>;
    imagePullSecrets?: Array<{ name: string }>;
    priorityClassName?: string;
    priority?: number;
    serviceAccountName?: string;
    containers: Array<{ name: string; securityContext?: Record<string, unknown>; resources?: Record<string, unknown> }>;
  };
}

interface LoadTestJson {
  metadata: { uid: string };
  status?: { state?: string; message?: string; results?: { requests: number } };
}

describe('runner pods on the test bed', function () {
  this.timeout(180_000);
  const operator = new Operator('runner-pods');
  const namespaces: string[] = [];
  const servers: CountingServer[] = [];
  let testNumber = 0;

  before(async () => {
    await ensureCrd();
    operator.start();
  });

  after(async () => {
    await operator.stop();
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const namespace of namespaces.splice(0)) {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    }
  });

  /** A fresh namespace with these labels. */
  async function namespaceWith(labels: Record<string, string> = {}): Promise<string> {
    const name = `runner-pods-${process.pid}-${++testNumber}`;
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    await kubectl(DEFAULT_SERVICE_ACCOUNT_WAIT(name));
    namespaces.push(name);
    return name;
  }

  async function serve(namespace: string): Promise<CountingServer> {
    const server = new CountingServer();
    servers.push(server);
    await server.expose(namespace, 'target');
    return server;
  }

  const loadTest = (namespace: string, name: string) => getJson<LoadTestJson>(['get', 'ld', name, '-n', namespace]);
  /** Waits for the LoadTest's state; when it does not come, fails with the status there is instead. */
  async function waitForState(namespace: string, name: string, state: string): Promise<void> {
    try {
      await waitForJsonPath(`ld/${name}`, namespace, '{.status.state}', state);
    } catch (error) {
      const { status } = await loadTest(namespace, name);
      throw new Error(`LoadTest ${name} is not ${state}; its status: ${JSON.stringify(status)}`, { cause: error });
    }
  }
  const runnerPods = async (namespace: string, selector: string) =>
    (await getJson<{ items: PodJson[] }>(['get', 'pods', '-n', namespace, '-l', selector])).items;

  /** A ResourceQuota, once the resourcequota controller has given it the status quota admission enforces. */
  async function resourceQuota(namespace: string, name: string, hard: Record<string, string>): Promise<void> {
    await apply({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace }, spec: { hard } });
    await kubectl(['wait', `resourcequota/${name}`, '-n', namespace, '--for=jsonpath={.status.hard}', '--timeout=60s']);
  }

  it('are admitted where Pod Security enforces `restricted`, and run the test to finished', async () => {
    const namespace = await namespaceWith({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    });
    const server = await serve(namespace);

    await apply(loadTestManifest(namespace, 'restricted', { replicas: 2, test: { serviceName: 'target', repeat: 3 } }));
    await waitForState(namespace, 'restricted', 'finished');

    const object = await loadTest(namespace, 'restricted');
    assert.equal(object.status?.results?.requests, 6);
    assert.equal(server.requests, 6);
    const pods = await runnerPods(namespace, `loadtest.example.org/uid=${object.metadata.uid}`);
    assert.deepEqual(pods.map((pod) => pod.metadata.name).sort(), ['restricted-g1-0', 'restricted-g1-1']);
    for (const pod of pods) {
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
      assert.equal(pod.spec.automountServiceAccountToken, false);
    }
  });

  it('carry spec.runner: resources, placement, pull secrets, priority, ServiceAccount, labels and annotations', async () => {
    const namespace = await namespaceWith();
    await serve(namespace);
    const priorityClass = `loadtest-runners-${process.pid}-${testNumber}`;
    await apply({
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name: priorityClass },
      value: 1234,
    });
    try {
      await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'runner', namespace } });
      await apply({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: 'registry', namespace },
        stringData: { '.dockerconfigjson': '{"auths":{}}' },
      });
      // What the node (the node agent, or any node) satisfies: a Linux node, and tolerating a taint it lacks.
      const runner = {
        // (A limit without a request would show a request the API server copied from it.)
        resources: {
          requests: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '100Mi' },
          limits: { memory: '192Mi' },
        },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'example.org/load-tests', operator: 'Exists', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
              ],
            },
          },
        },
        imagePullSecrets: [{ name: 'registry' }],
        priorityClassName: priorityClass,
        serviceAccountName: 'runner',
        labels: { team: 'checkout' },
        annotations: { 'example.com/owner': 'payments' },
      };

      await apply(
        loadTestManifest(namespace, 'placed', { replicas: 2, test: { serviceName: 'target', repeat: 2 }, runner }),
      );
      await waitForState(namespace, 'placed', 'finished');

      const pods = await runnerPods(namespace, 'team=checkout');
      assert.deepEqual(pods.map((pod) => pod.metadata.name).sort(), ['placed-g1-0', 'placed-g1-1']);
      for (const pod of pods) {
        const container = pod.spec.containers.find((c) => c.name === 'runner')!;
        assert.deepEqual(container.resources, runner.resources);
        assert.deepEqual(pod.spec.nodeSelector, runner.nodeSelector);
        // Beside the tolerations the DefaultTolerationSeconds admission plugin adds.
        assert.deepEqual(
          pod.spec.tolerations?.filter((toleration) => toleration.key === 'example.org/load-tests'),
          runner.tolerations,
        );
        assert.deepEqual(pod.spec.affinity, runner.affinity);
        assert.deepEqual(pod.spec.imagePullSecrets, runner.imagePullSecrets);
        // The Priority admission plugin resolved the class: the API server took the name for a real one.
        assert.equal(pod.spec.priorityClassName, priorityClass);
        assert.equal(pod.spec.priority, 1234);
        assert.equal(pod.spec.serviceAccountName, 'runner');
        assert.equal(pod.spec.automountServiceAccountToken, false);
        assert.equal(pod.metadata.annotations?.['example.com/owner'], 'payments');
        assert.equal(pod.metadata.labels['app.kubernetes.io/managed-by'], 'loadtest-operator');
      }
    } finally {
      await kubectl(['delete', 'priorityclass', priorityClass, '--wait=false']).catch(() => {});
    }
  });

  it('with their default resources, are admitted where a ResourceQuota requires requests and a memory limit', async () => {
    const namespace = await namespaceWith();
    await serve(namespace);
    // A quota on requests.cpu, requests.memory and limits.memory refuses any pod that does not declare them.
    await resourceQuota(namespace, 'compute', {
      'requests.cpu': '2',
      'requests.memory': '1Gi',
      'limits.memory': '2Gi',
    });

    await apply(loadTestManifest(namespace, 'counted', { replicas: 2, test: { serviceName: 'target', repeat: 2 } }));
    await waitForState(namespace, 'counted', 'finished');

    // Admitted with the defaults (the quota's usage drops back once they finish, so the pods tell).
    const object = await loadTest(namespace, 'counted');
    const pods = await runnerPods(namespace, `loadtest.example.org/uid=${object.metadata.uid}`);
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.deepEqual(pod.spec.containers.find((c) => c.name === 'runner')?.resources, {
        requests: { cpu: '250m', memory: '128Mi' },
        limits: { memory: '256Mi' },
      });
    }
  });

  it('take a changed spec.runner as a new generation: its runners replace the earlier ones', async () => {
    const namespace = await namespaceWith();
    await serve(namespace);
    const spec = (team: string) => ({
      replicas: 1,
      test: { serviceName: 'target', repeat: 1 },
      runner: { labels: { team }, resources: { requests: { cpu: team === 'a' ? '100m' : '200m' } } },
    });
    await apply(loadTestManifest(namespace, 'relabelled', spec('a')));
    await waitForState(namespace, 'relabelled', 'finished');

    await apply(loadTestManifest(namespace, 'relabelled', spec('b')));
    await waitForJsonPath('ld/relabelled', namespace, '{.status.observedGeneration}', '2');
    await waitForState(namespace, 'relabelled', 'finished');

    const object = await loadTest(namespace, 'relabelled');
    await eventually(
      async () =>
        (await podNames(namespace, `loadtest.example.org/uid=${object.metadata.uid}`)).length === 1 ? true : undefined,
      60_000,
      'the generation 1 runner is deleted',
    );
    const [pod] = await runnerPods(namespace, `loadtest.example.org/uid=${object.metadata.uid}`);
    assert.equal(pod?.metadata.name, 'relabelled-g2-0');
    assert.equal(pod?.metadata.labels.team, 'b');
    assert.deepEqual(pod?.spec.containers[0]?.resources, {
      requests: { cpu: '200m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    });
  });

  it('refused by a ResourceQuota end the run failed, naming the quota, with no runner left behind', async () => {
    const namespace = await namespaceWith();
    await serve(namespace);
    await resourceQuota(namespace, 'runner-quota', { pods: '1' });

    // Two runners, room for one: one pod is created, the other refused.
    await apply(loadTestManifest(namespace, 'quota', { replicas: 2, test: { serviceName: 'target', repeat: 2 } }));
    await waitForState(namespace, 'quota', 'failed');

    const object = await loadTest(namespace, 'quota');
    assert.match(
      object.status?.message ?? '',
      /^createRunners failed: cannot create runner pod quota-g1-[01]: pods "quota-g1-[01]" is forbidden: exceeded quota: runner-quota, requested: pods=1, used: pods=1, limited: pods=1$/,
    );
    await eventually(
      async () =>
        (await podNames(namespace, `loadtest.example.org/uid=${object.metadata.uid}`)).length === 0 ? true : undefined,
      60_000,
      'the runner that was created is deleted',
    );
  });
});
