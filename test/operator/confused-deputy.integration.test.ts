/**
 * What a LoadTest author can obtain through the operator (README, "What a LoadTest author can obtain"): whoever may
 * create a LoadTest in a namespace makes the operator's worker create pods there, with the worker's rights rather
 * than theirs. Against the test bed's API server and real node: spec.runner cannot name an image, a command, host
 * access, privileges, volumes or a node (the CRD refuses them, or prunes them when validation is off, and the zod
 * schema the watcher applies refuses them too); and the runner pod of a LoadTest that names a powerful
 * ServiceAccount and a pull secret mounts no token, runs the operator's image and command only, with the restricted
 * security context, and the real node (containerd + runc) runs it so to the end. A LoadTest named after another
 * Secret gets the worker to hand out or delete nothing.
 */
import { strict as assert } from 'node:assert';
import { stringify } from 'yaml';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { kubectl as runKubectl } from '../support/kubectl.js';
import { REAL_NODE } from '../testbed/nodes.js';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  getJson,
  kubectl,
  loadTestManifest,
  Operator,
  podNames,
  waitForJsonPath,
} from './cluster.js';

/** Where the kubelet mounts a ServiceAccount token, when a pod gets one. */
const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Pod fields an author might try through spec.runner to get more than a load generator: another image or command,
 * the node's network, processes or files, privileges, a token, a node of their choice.
 */
const FORBIDDEN_RUNNER_FIELDS: Record<string, unknown> = {
  image: 'registry.example/attacker:latest',
  command: ['sh', '-c', 'cat /var/run/secrets/kubernetes.io/serviceaccount/token'],
  args: ['-c', 'id'],
  env: [{ name: 'NODE_OPTIONS', value: '--require /tmp/x.js' }],
  containers: [{ name: 'extra', image: 'busybox' }],
  initContainers: [{ name: 'init', image: 'busybox' }],
  hostNetwork: true,
  hostPID: true,
  hostIPC: true,
  privileged: true,
  securityContext: { privileged: true, runAsUser: 0 },
  volumes: [{ name: 'root', hostPath: { path: '/' } }],
  volumeMounts: [{ name: 'root', mountPath: '/host' }],
  nodeName: REAL_NODE,
  automountServiceAccountToken: true,
};

interface PodJson {
  metadata: { name: string };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    imagePullSecrets?: Array<{ name: string }>;
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    securityContext?: Record<string, unknown>;
    initContainers?: unknown[];
    ephemeralContainers?: unknown[];
    volumes?: Array<
      { name: string; projected?: { sources: Array<Record<string, unknown>> } } & Record<string, unknown>
    >;
    containers: Array<{
      name: string;
      image: string;
      command?: string[];
      args?: string[];
      env?: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string } } }>;
      securityContext?: Record<string, unknown>;
      volumeMounts?: Array<{ name: string; mountPath: string }>;
    }>;
  };
  status: {
    containerStatuses?: Array<{ containerID?: string; state?: { terminated?: { exitCode: number } } }>;
  };
}

describe('what a LoadTest author can obtain through the operator', function () {
  this.timeout(180_000);
  const namespace = `deputy-${process.pid}`;
  const operator = new Operator('deputy');
  let server: CountingServer;

  before(async function () {
    await ensureCrd();
    await createNamespace(namespace);
    operator.start();
    server = new CountingServer();
    await server.expose(namespace, 'target');
  });

  after(async function () {
    await operator.stop();
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    await kubectl(['delete', 'clusterrolebinding', `${namespace}-admin`, '--ignore-not-found']).catch(() => {});
  });

  /** `kubectl apply --dry-run=server` of a LoadTest with this spec.runner, with kubectl's field validation. */
  const dryRun = (runner: object, validate: 'strict' | 'false') =>
    runKubectl(['apply', '--dry-run=server', `--validate=${validate}`, '-o', 'json', '-f', '-'], {
      input: stringify(
        loadTestManifest(namespace, 'probe', { replicas: 1, test: { serviceName: 'target', repeat: 1 }, runner }),
      ),
    });

  it('spec.runner cannot name an image, a command, host access, privileges, volumes, a token or a node', async function () {
    const accepted: string[] = [];
    for (const [field, value] of Object.entries(FORBIDDEN_RUNNER_FIELDS)) {
      const { code, stderr } = await dryRun({ [field]: value }, 'strict');
      if (code === 0 || !stderr.includes(`unknown field "spec.runner.${field}"`)) {
        accepted.push(`${field} (exit ${code}: ${stderr.trim()})`);
      }
      // The schema the watcher checks every LoadTest against before any pod is made (and `run --local` uses).
      const { problems } = validateLoadTestSpec({
        replicas: 1,
        test: { url: 'http://x/' },
        runner: { [field]: value },
      });
      assert.deepEqual(problems, [`spec.runner: unknown field "${field}"`], `zod for runner.${field}`);
    }
    assert.deepEqual(accepted, [], 'the API server accepted');
  });

  it('with field validation off, the API server stores none of them: the LoadTest keeps only what spec.runner allows', async function () {
    const { code, stdout, stderr } = await dryRun(
      { ...FORBIDDEN_RUNNER_FIELDS, serviceAccountName: 'runner', labels: { team: 'a' } },
      'false',
    );
    assert.equal(code, 0, stderr);
    const stored = JSON.parse(stdout) as { spec: { runner: Record<string, unknown> } };
    assert.deepEqual(stored.spec.runner, { serviceAccountName: 'runner', labels: { team: 'a' } });
  });

  it('a runner pod naming a cluster-admin ServiceAccount and a pull secret mounts no token and runs only the operator’s image and command, restricted, on the real node', async function () {
    // What would be at stake: a ServiceAccount that may do anything, whose token would be the author's.
    await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'powerful', namespace } });
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${namespace}-admin` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'powerful', namespace }],
    });
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: 'registry', namespace },
      stringData: { '.dockerconfigjson': '{"auths":{}}' },
    });
    const runner = { serviceAccountName: 'powerful', imagePullSecrets: [{ name: 'registry' }] };
    await apply(
      loadTestManifest(namespace, 'deputy', {
        replicas: 2,
        test: { serviceName: 'target', repeat: 1 },
        runner,
        // The pods stay for inspection (unset, a finished run's pods are deleted).
        cleanup: 'keep',
      }),
    );
    await waitForJsonPath('ld/deputy', namespace, '{.status.state}', 'finished');
    assert.equal(server.requests, 2);

    const { items: pods } = await getJson<{ items: PodJson[] }>([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      'loadtest.example.org/name=deputy',
    ]);
    assert.deepEqual(pods.map((pod) => pod.metadata.name).sort(), ['deputy-g1-0', 'deputy-g1-1']);
    for (const pod of pods) {
      const what = pod.metadata.name;
      // The ServiceAccount is the author's choice, its token is not: no token volume, no mount, anywhere.
      assert.equal(pod.spec.serviceAccountName, 'powerful', what);
      assert.equal(pod.spec.automountServiceAccountToken, false, what);
      const tokenVolumes = (pod.spec.volumes ?? []).filter((volume) =>
        (volume.projected?.sources ?? []).some((source) => 'serviceAccountToken' in source),
      );
      assert.deepEqual(tokenVolumes, [], `${what}: a ServiceAccount token volume`);
      // One volume: the pod's own annotations (downward API), read-only.
      assert.deepEqual(
        (pod.spec.volumes ?? []).map((volume) => Object.keys(volume).sort()),
        [['downwardAPI', 'name']],
        what,
      );
      assert.equal(pod.spec.initContainers, undefined, what);
      assert.equal(pod.spec.ephemeralContainers, undefined, what);
      assert.equal(pod.spec.containers.length, 1, what);
      const [container] = pod.spec.containers;
      assert.deepEqual(
        container!.volumeMounts?.filter((mount) => mount.mountPath.startsWith(TOKEN_PATH)),
        [],
        `${what}: a token mount`,
      );
      // The pull secret pulls the operator's image, which runs its own entrypoint with `runner` and nothing else.
      assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'registry' }], what);
      assert.equal(container!.image, 'loadtest-operator:dev', what);
      assert.equal(container!.command, undefined, what);
      assert.equal(container!.args?.[0], 'runner', what);
      // The only Secret it sees: its own run's control token.
      assert.deepEqual(
        container!.env?.map((variable) => [variable.name, variable.valueFrom?.secretKeyRef?.name]),
        [['LOADTEST_CONTROL_TOKEN', 'deputy-g1-control']],
        what,
      );
      // No host access, the restricted security context.
      assert.equal(pod.spec.hostNetwork ?? false, false, what);
      assert.equal(pod.spec.hostPID ?? false, false, what);
      assert.equal(pod.spec.hostIPC ?? false, false, what);
      assert.deepEqual(
        pod.spec.securityContext,
        { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        what,
      );
      assert.deepEqual(
        container!.securityContext,
        { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        what,
      );
      // ... under which the real node ran it to a clean end.
      assert.equal(pod.spec.nodeName, REAL_NODE, what);
      const [status] = pod.status.containerStatuses ?? [];
      assert.match(status?.containerID ?? '', /^containerd:\/\//, what);
      assert.equal(status?.state?.terminated?.exitCode, 0, what);
    }
  });

  it('a LoadTest named so that its control Secret is another Secret gets neither its value to runners nor its deletion', async function () {
    // A Secret the worker did not make, of the name the run's control token would take (<name>-g1-control).
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'taken-g1-control', namespace },
      stringData: { token: 'someone-elses-value' },
    });
    await apply(loadTestManifest(namespace, 'taken', { replicas: 1, test: { serviceName: 'target', repeat: 1 } }));
    await waitForJsonPath('ld/taken', namespace, '{.status.state}', 'failed');
    const { status } = await getJson<{ status: { message: string } }>(['get', 'ld', 'taken', '-n', namespace]);
    assert.match(
      status.message,
      new RegExp(`Secret taken-g1-control already exists in namespace ${namespace} and is not a runner control token`),
    );
    assert.deepEqual(await podNames(namespace, 'loadtest.example.org/name=taken'), []);
    const secret = await getJson<{ data: { token: string } }>(['get', 'secret', 'taken-g1-control', '-n', namespace]);
    assert.equal(Buffer.from(secret.data.token, 'base64').toString(), 'someone-elses-value');
  });
});
