/**
 * The install manifests against the test bed's real API server (KUBECONFIG from mocha's global setup): a
 * server-side dry run of `kubectl apply -k` and of `helm install` accepts every object, PodSecurity admission has
 * nothing to say about the Deployments in a namespace that enforces `restricted` (and does speak up when a pod
 * template lacks its seccomp profile), and a real `helm install` + `helm uninstall` leaves the cluster as it was.
 * Whether the Deployments' pods get to run does not matter here.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureCrd, eventually } from '../operator/cluster.js';
import { requireTool } from '../support/tools.js';
import {
  CHART,
  ensureHelm,
  find,
  helmTemplate,
  kustomize,
  kustomizeOverlay,
  REPO,
  runOk,
  runProgram,
  type K8sObject,
  type RunResult,
} from './render.js';

const KUBECTL = requireTool('kubectl');
const POD_SECURITY_WARNING = /would violate PodSecurity/;

function kubectl(args: string[], input?: string): Promise<RunResult> {
  return runProgram(KUBECTL, args, { input });
}

/** `kubectl apply --dry-run=server` of `objects`: its result, which carries the API server's warnings on stderr. */
function dryRunApply(objects: K8sObject[]): Promise<RunResult> {
  const list = { apiVersion: 'v1', kind: 'List', items: objects };
  return kubectl(['apply', '--dry-run=server', '-f', '-'], stringify(list));
}

function assertAccepted(result: RunResult, objects: number, what: string): void {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  assert.equal(result.stdout.match(/ \(server dry run\)$/gm)?.length, objects, `${what}:\n${result.stdout}`);
  assert.doesNotMatch(result.stderr, POD_SECURITY_WARNING, what);
  // kubectl's own note about an object first created by other means (the CRD, by another test) is no problem.
  const warnings = result.stderr.split('\n').filter((line) => line !== '' && !/last-applied-configuration/.test(line));
  assert.deepEqual(warnings, [], `${what}: no warning at all`);
}

/** A namespace of this test enforcing the restricted standard, as config/default's is. */
async function restrictedNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  };
  await runOk(KUBECTL, ['apply', '-f', '-'], { input: JSON.stringify(namespace) });
  return name;
}

/** Names of everything in `namespace` (every listable type but Events), and of the cluster-scoped RBAC and CRDs. */
async function snapshot(namespace: string): Promise<string[]> {
  const types = (await runOk(KUBECTL, ['api-resources', '--verbs=list', '--namespaced', '-o', 'name']))
    .split('\n')
    .filter((type) => type !== '' && !/^events(\.|$)/.test(type));
  const namespaced = await runOk(KUBECTL, ['get', types.join(','), '-n', namespace, '-o', 'name']);
  const cluster = await runOk(KUBECTL, [
    'get',
    'clusterroles,clusterrolebindings,customresourcedefinitions',
    '-o',
    'name',
  ]);
  return [...namespaced.split('\n'), ...cluster.split('\n')].filter((line) => line !== '').sort();
}

describe('installing on the API server (kubectl apply -k, helm install)', function () {
  this.timeout(180_000);
  const namespaces: string[] = [];
  let helm: string;

  before(async function () {
    this.timeout(20 * 60_000); // a cold helm build; a failed one fails here with its output
    helm = await ensureHelm();
    await ensureCrd();
  });

  after(async function () {
    for (const namespace of namespaces) await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  for (const dir of ['config/default', 'config/namespaced']) {
    it(`kubectl apply -k ${dir} --dry-run=server accepts every object, with no warning`, async function () {
      const objects = await kustomize(join(REPO, dir));
      // A dry run creates nothing, so the objects inside the namespace need it to exist already. Applying it is
      // harmless: it is config/default's namespace (restricted), which the RBAC test also uses.
      const namespace = find(await kustomize(join(REPO, 'config/default')), 'Namespace', 'loadtest-operator');
      await runOk(KUBECTL, ['apply', '-f', '-'], { input: JSON.stringify(namespace) });
      assertAccepted(await kubectl(['apply', '-k', join(REPO, dir), '--dry-run=server']), objects.length, dir);
    });
  }

  it('helm install --dry-run=server renders against the API server without an error', async function () {
    const namespace = await restrictedNamespace('helm-dry');
    namespaces.push(namespace);
    const result = await runProgram(helm, ['install', 'loadtest-operator', CHART, '-n', namespace, '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^STATUS: pending-install$/m);
    assert.match(result.stdout, /^kind: Deployment$/m);
  });

  describe('in a namespace that enforces the restricted Pod Security Standard', function () {
    let namespace: string;
    let fromKustomize: K8sObject[];
    let fromHelm: K8sObject[];

    before(async function () {
      namespace = await restrictedNamespace('deploy-pss');
      namespaces.push(namespace);
      const inNamespace = (objects: K8sObject[]) => objects.filter((object) => object.metadata.namespace !== undefined);
      fromKustomize = inNamespace(await kustomizeOverlay('config/default', { namespace }));
      fromHelm = inNamespace(await helmTemplate('loadtest-operator', namespace));
    });

    it('the API server has no PodSecurity warning for the Deployments of kustomize or Helm', async function () {
      assertAccepted(await dryRunApply(fromKustomize), fromKustomize.length, 'kustomize');
      assertAccepted(await dryRunApply(fromHelm), fromHelm.length, 'helm');
    });

    it('the API server does warn for a Deployment without a seccomp profile (so the check above can fail)', async function () {
      const worker = structuredClone(find(fromKustomize, 'Deployment', 'loadtest-operator-worker'));
      const pod = (worker.spec as { template: { spec: { securityContext: Record<string, unknown> } } }).template.spec;
      delete pod.securityContext.seccompProfile;
      const result = await dryRunApply([worker]);
      assert.equal(result.code, 0, result.stderr); // enforce applies to pods; for a Deployment it warns
      assert.match(
        result.stderr,
        /Warning: would violate PodSecurity "restricted:latest": seccompProfile \(pod or container "worker" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"\)/,
      );
    });
  });

  it('helm install then helm uninstall leaves nothing behind but what was there', async function () {
    const namespace = await restrictedNamespace('helm-install');
    namespaces.push(namespace);
    // Not named loadtest-operator: config/default's ClusterRoles of those names may be there, applied by kubectl.
    const release = `lt-${namespace.split('-').at(-1)}`;
    const fullname = `${release}-loadtest-operator`;
    // What the cluster's controllers put in every new namespace, there before the snapshot.
    await runOk(KUBECTL, [
      'wait',
      '--for=create',
      'serviceaccount/default',
      'configmap/kube-root-ca.crt',
      '-n',
      namespace,
      '--timeout=60s',
    ]);
    const before = await snapshot(namespace);

    const installed = await runProgram(helm, ['install', release, CHART, '-n', namespace]);
    assert.equal(installed.code, 0, installed.stderr);
    assert.doesNotMatch(installed.stderr, POD_SECURITY_WARNING);
    const during = await snapshot(namespace);
    for (const made of [
      `deployment.apps/${fullname}-watcher`,
      `deployment.apps/${fullname}-worker`,
      `configmap/${fullname}`,
      `serviceaccount/${fullname}-watcher`,
      `serviceaccount/${fullname}-worker`,
      `clusterrole.rbac.authorization.k8s.io/${fullname}-watcher`,
      `clusterrole.rbac.authorization.k8s.io/${fullname}-worker`,
      `clusterrolebinding.rbac.authorization.k8s.io/${fullname}-watcher`,
      `clusterrolebinding.rbac.authorization.k8s.io/${fullname}-worker`,
      `secret/sh.helm.release.v1.${release}.v1`,
    ]) {
      assert.ok(during.includes(made), `${made} after helm install; found ${during.join(', ')}`);
    }

    const uninstalled = await runProgram(helm, ['uninstall', release, '-n', namespace, '--wait', '--timeout=60s']);
    assert.equal(uninstalled.code, 0, uninstalled.stderr);
    // The Deployments' ReplicaSets and pods go after them (garbage collection, the pods' grace period).
    let after: string[] = [];
    await eventually(
      async () => {
        after = await snapshot(namespace);
        return after.join() === before.join() ? true : undefined;
      },
      120_000,
      'the namespace and the cluster as they were before helm install',
    ).catch((error: Error) => {
      const left = after.filter((name) => !before.includes(name));
      const gone = before.filter((name) => !after.includes(name));
      assert.fail(`${error.message}: left ${left.join(', ') || 'nothing'}; gone ${gone.join(', ') || 'nothing'}`);
    });
  });
});
