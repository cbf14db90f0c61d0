/**
 * The operator installed the way users install it, `kubectl apply -k config/default` or `helm install`, running as
 * pods: the worker and the watcher are containers of the product's image on the test bed's real node, in a
 * namespace that enforces the restricted Pod Security Standard, with the in-cluster credentials of their
 * ServiceAccount, reaching Temporal at the address the manifests name (temporal-frontend.temporal.svc:7233). The
 * seed example then runs in another restricted namespace; uninstalling takes back everything the install made.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import {
  apply,
  CountingServer,
  ensureCrd,
  getJson,
  kubectl,
  loadTestManifest,
  REPO,
  waitForJsonPath,
} from '../operator/cluster.js';
import { DEFAULT_SERVICE_ACCOUNT_WAIT } from '../support/kubectl.js';
import { REAL_NODE } from '../testbed/nodes.js';
import { CHART, ensureHelm, helmTemplate, kustomize, runOk } from './render.js';

interface PodList {
  items: Array<{
    metadata: { name: string; labels?: Record<string, string> };
    spec: { nodeName?: string; securityContext?: { runAsNonRoot?: boolean } };
    status: { containerStatuses?: Array<{ containerID?: string; ready?: boolean }> };
  }>;
}

/** One way to install the operator. */
interface Installer {
  title: string;
  /** The namespace its pods run in. */
  namespace: string;
  /** Installs it; resolves with what it made, as `kind/name`. */
  install(): Promise<string[]>;
  uninstall(): Promise<void>;
}

/** A namespace that enforces `restricted`, ready for pods (its default ServiceAccount is there). */
async function restrictedNamespace(name: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  });
  await kubectl(DEFAULT_SERVICE_ACCOUNT_WAIT(name));
}

/** What the chart holds in crds/: Helm creates it when missing and never upgrades or deletes it. */
const FROM_CHART_CRDS = new Set([
  'CustomResourceDefinition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

const CONFIG = join(REPO, 'config/default');

const kustomizeInstaller: Installer = {
  title: 'kubectl apply -k config/default',
  namespace: 'loadtest-operator',
  async install() {
    const made = (await kustomize(CONFIG)).map((object) => `${object.kind}/${object.metadata.name}`);
    // The install owns the CRD (config/crd): apply over the copy other tests applied, as a user would.
    await kubectl(['apply', '--server-side', '--force-conflicts', '-k', CONFIG]);
    return made;
  },
  async uninstall() {
    await kubectl(['delete', '--ignore-not-found', '-k', CONFIG, '--wait=true', '--timeout=180s']);
  },
};

const helmRelease = 'lt-e2e';
const helmInstaller: Installer = {
  title: 'helm install charts/loadtest-operator',
  namespace: `helm-operator-${process.pid}`,
  async install() {
    // Helm installs into a namespace the user made; what it installs from crds/ (the CRD and its admission policy)
    // it never deletes, by design.
    await restrictedNamespace(this.namespace);
    const made = (await helmTemplate(helmRelease, this.namespace))
      .filter((object) => !FROM_CHART_CRDS.has(object.kind))
      .map((object) => `${object.kind}/${object.metadata.name}`);
    await runOk(await ensureHelm(), ['install', helmRelease, CHART, '-n', this.namespace]);
    return made;
  },
  async uninstall() {
    await runOk(await ensureHelm(), ['uninstall', helmRelease, '-n', this.namespace, '--ignore-not-found', '--wait']);
    await kubectl(['delete', 'namespace', this.namespace, '--ignore-not-found', '--wait=false']);
  },
};

/** Which of `objects` exist now, in `namespace` for the namespaced ones. */
async function existing(objects: string[], namespace: string): Promise<string[]> {
  const found: string[] = [];
  for (const object of objects) {
    const [kind, name] = object.split('/') as [string, string];
    const args = ['get', kind, name, '-n', namespace, '--ignore-not-found', '-o', 'name'];
    if ((await kubectl(args)).trim() !== '') found.push(object);
  }
  return found;
}

for (const installer of [kustomizeInstaller, helmInstaller]) {
  describe(`the operator as pods on the real node: ${installer.title}`, function () {
    this.timeout(300_000);
    const namespace = `seed-${installer === helmInstaller ? 'helm' : 'kustomize'}-${process.pid}`;
    let made: string[];
    let server: CountingServer;

    before(async function () {
      made = await installer.install();
      assert.ok(made.length >= 6, `the install makes ${made.join(', ')}`);
      await kubectl([
        'wait',
        'deployment',
        '--all',
        '-n',
        installer.namespace,
        '--for=condition=Available',
        '--timeout=180s',
      ]);
      await restrictedNamespace(namespace);
      server = new CountingServer();
      await server.expose(namespace, 'nginx');
    });

    after(async function () {
      await server?.close();
      await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
      await installer.uninstall().catch(() => {});
      // The tests that follow expect the CRD the test bed's tests apply.
      await ensureCrd();
    });

    it('runs the worker and the watcher as restricted containers on the real node, Ready', async function () {
      const pods = await getJson<PodList>(['get', 'pods', '-n', installer.namespace]);
      const components = pods.items.map((pod) => pod.metadata.labels?.['app.kubernetes.io/component']).sort();
      assert.deepEqual(components, ['watcher', 'worker', 'worker']);
      for (const pod of pods.items) {
        assert.equal(pod.spec.nodeName, REAL_NODE);
        assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
        assert.match(pod.status.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\//);
        assert.equal(pod.status.containerStatuses?.[0]?.ready, true, `${pod.metadata.name} is ready`);
      }
    });

    it('runs the seed example in another restricted namespace: exactly 50 requests; uninstalling leaves nothing it made', async function () {
      await apply(
        loadTestManifest(namespace, 'example-02', {
          replicas: 5,
          test: { method: 'GET', serviceName: 'nginx', path: '/', repeat: 10 },
        }),
      );
      await waitForJsonPath('ld/example-02', namespace, '{.status.state}', 'finished', 180);
      const object = await getJson<{ status: { results: { requests: number } } }>([
        'get',
        'ld',
        'example-02',
        '-n',
        namespace,
      ]);
      assert.equal(object.status.results.requests, 50);
      assert.equal(server.requests, 50);
      const runners = await getJson<PodList>([
        'get',
        'pods',
        '-n',
        namespace,
        '-l',
        'loadtest.example.org/name=example-02',
      ]);
      assert.equal(runners.items.length, 5);
      for (const pod of runners.items) {
        assert.match(pod.status.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\//);
      }

      // The user's LoadTest goes first (its workflow ends and its runners go), then the install.
      await kubectl(['delete', 'ld', 'example-02', '-n', namespace, '--wait=true', '--timeout=120s']);
      await installer.uninstall();
      assert.deepEqual(await existing(made, installer.namespace), []);
      const left = await getJson<PodList>(['get', 'pods', '-n', namespace]);
      assert.deepEqual(
        left.items.map((pod) => pod.metadata.name),
        [],
      );
      // What the user applied stays: their namespace and the Service in it.
      assert.equal((await kubectl(['get', 'service', 'nginx', '-n', namespace, '-o', 'name'])).trim(), 'service/nginx');
    });
  });
}
