/**
 * The install manifests, rendered as users render them (no cluster needed): `kubectl kustomize config/default`
 * and `config/namespaced`, and `helm template charts/loadtest-operator`. Each pod meets the restricted Pod
 * Security Standard, the image is named in one place, Helm and kustomize make the same objects, and the copies
 * of the CRD are the CRD.
 */
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { restrictedViolations, type PodTemplate } from './pod-security.js';
import {
  CHART,
  ensureHelm,
  find,
  helmTemplate,
  identities,
  imagesIn,
  kustomize,
  kustomizeOverlay,
  podTemplates,
  REPO,
  runProgram,
  type K8sObject,
} from './render.js';

const NAMESPACE = 'loadtest-operator';
const RELEASE = 'loadtest-operator';
/** The operator's two processes, each with its own ServiceAccount and role of the same name. */
const COMPONENTS = ['watcher', 'worker'] as const;

/** What config/default installs (and, but for the Namespace, the chart). */
const CLUSTER_WIDE = [
  'ClusterRole /loadtest-operator-watcher',
  'ClusterRole /loadtest-operator-worker',
  'ClusterRoleBinding /loadtest-operator-watcher',
  'ClusterRoleBinding /loadtest-operator-worker',
  'ConfigMap loadtest-operator/loadtest-operator',
  'CustomResourceDefinition /loadtests.example.org',
  'Deployment loadtest-operator/loadtest-operator-watcher',
  'Deployment loadtest-operator/loadtest-operator-worker',
  'Namespace /loadtest-operator',
  'ServiceAccount loadtest-operator/loadtest-operator-watcher',
  'ServiceAccount loadtest-operator/loadtest-operator-worker',
  'ValidatingAdmissionPolicy /loadtests.example.org',
  'ValidatingAdmissionPolicyBinding /loadtests.example.org',
];

/** The parts of a Deployment's pod that must not depend on how it was installed. */
function podEssentials(deployment: K8sObject) {
  const spec = deployment.spec as { replicas: number; template: PodTemplate };
  const pod = spec.template.spec as PodTemplate['spec'] & Record<string, unknown>;
  return {
    replicas: spec.replicas,
    serviceAccountName: pod.serviceAccountName,
    podSecurityContext: pod.securityContext,
    containers: pod.containers.map((container) => {
      const { name, args, ports, livenessProbe, readinessProbe, resources, securityContext } =
        container as unknown as Record<string, unknown>;
      return { name, args, ports, livenessProbe, readinessProbe, resources, securityContext };
    }),
  };
}

function rulesOf(objects: K8sObject[], kind: string, name: string): unknown {
  return find(objects, kind, name).rules;
}

describe('install manifests (config/ and charts/loadtest-operator)', function () {
  let clusterWide: K8sObject[];
  let namespaced: K8sObject[];
  let helmDefault: K8sObject[];
  let helmNamespaced: K8sObject[];

  before(async function () {
    // A cold build of helm takes minutes; a failed one fails here with its output.
    this.timeout(20 * 60_000);
    await ensureHelm();
    [clusterWide, namespaced, helmDefault, helmNamespaced] = await Promise.all([
      kustomize(join(REPO, 'config/default')),
      kustomize(join(REPO, 'config/namespaced')),
      helmTemplate(RELEASE, NAMESPACE),
      helmTemplate(RELEASE, NAMESPACE, ['--set', `watchNamespace=${NAMESPACE}`]),
    ]);
  });

  describe('the restricted Pod Security check', function () {
    const valid = (): PodTemplate => ({
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'app',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    });

    it('passes a pod that meets the standard', function () {
      assert.deepEqual(restrictedViolations(valid()), []);
    });

    it('names each rule a pod breaks', function () {
      const cases: Array<[string, (template: PodTemplate) => void, RegExp]> = [
        ['no seccomp', (t) => delete t.spec.securityContext!.seccompProfile, /seccompProfile.type is unset/],
        ['seccomp Unconfined', (t) => (t.spec.securityContext!.seccompProfile = { type: 'Unconfined' }), /Unconfined/],
        ['may run as root', (t) => delete t.spec.securityContext!.runAsNonRoot, /runAsNonRoot is not true/],
        ['runs as uid 0', (t) => (t.spec.securityContext!.runAsUser = 0), /runAsUser is 0/],
        [
          'privilege escalation',
          (t) => delete t.spec.containers[0]!.securityContext!.allowPrivilegeEscalation,
          /allowPrivilegeEscalation is not false/,
        ],
        ['keeps capabilities', (t) => (t.spec.containers[0]!.securityContext!.capabilities = {}), /drop lacks ALL/],
        [
          'adds a capability',
          (t) => (t.spec.containers[0]!.securityContext!.capabilities!.add = ['NET_ADMIN']),
          /add has NET_ADMIN/,
        ],
        ['privileged', (t) => (t.spec.containers[0]!.securityContext!.privileged = true), /privileged is true/],
        ['host network', (t) => (t.spec.hostNetwork = true), /hostNetwork is true/],
        ['host port', (t) => (t.spec.containers[0]!.ports = [{ hostPort: 80 }]), /hostPort 80/],
        ['hostPath volume', (t) => (t.spec.volumes = [{ name: 'h', hostPath: { path: '/' } }]), /type hostPath/],
        [
          'unsafe sysctl',
          (t) => (t.spec.securityContext!.sysctls = [{ name: 'kernel.msgmax' }]),
          /sysctl kernel.msgmax/,
        ],
        [
          'init container',
          (t) => (t.spec.initContainers = [{ name: 'init' }]),
          /container "init": allowPrivilegeEscalation/,
        ],
      ];
      for (const [what, breakIt, expected] of cases) {
        const template = valid();
        breakIt(template);
        const problems = restrictedViolations(template);
        assert.ok(
          problems.some((problem) => expected.test(problem)),
          `${what}: ${JSON.stringify(problems)}`,
        );
      }
    });
  });

  describe('kustomize (config/)', function () {
    it('config/default installs the CRD, the namespace, RBAC, the ConfigMap and both Deployments', function () {
      assert.deepEqual(identities(clusterWide), CLUSTER_WIDE);
    });

    it('labels the namespace to enforce the restricted Pod Security Standard', function () {
      const labels = find(clusterWide, 'Namespace', NAMESPACE).metadata.labels ?? {};
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
    });

    it('config/namespaced, whose namespace the runner pods share, enforces the restricted standard too', function () {
      const labels = find(namespaced, 'Namespace', NAMESPACE).metadata.labels ?? {};
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
    });

    it('every pod template of config/default and config/namespaced meets the restricted standard', function () {
      for (const objects of [clusterWide, namespaced]) {
        const templates = podTemplates(objects);
        assert.equal(templates.length, 2);
        for (const { owner, template } of templates) assert.deepEqual(restrictedViolations(template), [], owner);
      }
    });

    it('config/components/temporal-tls gives both Deployments the Temporal credentials from Secrets, still restricted', async function () {
      const objects = await kustomizeOverlay('config/default', {}, ['config/components/temporal-tls']);
      const templates = podTemplates(objects);
      assert.equal(templates.length, 2);
      for (const { owner, template } of templates) {
        assert.deepEqual(restrictedViolations(template), [], owner);
        const spec = template.spec as unknown as {
          securityContext: { fsGroup?: number };
          volumes: Array<{ name: string; secret?: { secretName: string } }>;
          containers: Array<{
            volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
            env: Array<{
              name: string;
              value?: string;
              valueFrom?: { secretKeyRef: { name: string; optional: boolean } };
            }>;
          }>;
        };
        assert.equal(spec.securityContext.fsGroup, 1000, owner);
        assert.deepEqual(spec.volumes, [
          { name: 'temporal-tls', secret: { secretName: 'loadtest-operator-temporal-tls', defaultMode: 0o440 } },
        ]);
        const [container] = spec.containers;
        assert.deepEqual(container!.volumeMounts, [
          { name: 'temporal-tls', mountPath: '/etc/temporal-tls', readOnly: true },
        ]);
        assert.deepEqual(
          container!.env.map((variable) => [variable.name, variable.value ?? variable.valueFrom?.secretKeyRef.name]),
          [
            ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', '/etc/temporal-tls/ca.crt'],
            ['TEMPORAL_TLS_CLIENT_CERT_PATH', '/etc/temporal-tls/tls.crt'],
            ['TEMPORAL_TLS_CLIENT_KEY_PATH', '/etc/temporal-tls/tls.key'],
            ['TEMPORAL_API_KEY', 'loadtest-operator-temporal-api-key'],
          ],
        );
      }
    });

    it('names the image once: an overlay that sets it moves both Deployments and RUNNER_IMAGE', async function () {
      assert.deepEqual(imagesIn(clusterWide), {
        containers: ['loadtest-operator:dev', 'loadtest-operator:dev'],
        runnerImages: ['loadtest-operator:dev'],
      });
      const images = [
        { name: 'loadtest-operator', newName: 'registry.example/team/loadtest-operator', newTag: '1.2.3' },
      ];
      const moved = 'registry.example/team/loadtest-operator:1.2.3';
      for (const base of ['config/default', 'config/namespaced']) {
        const objects = await kustomizeOverlay(base, { images });
        assert.deepEqual(imagesIn(objects), { containers: [moved, moved], runnerImages: [moved] }, base);
      }
    });

    it('an overlay that sets the namespace moves every namespaced object and the RBAC subjects', async function () {
      for (const base of ['config/default', 'config/namespaced']) {
        const objects = await kustomizeOverlay(base, { namespace: 'team-b' });
        for (const object of objects) {
          if (object.metadata.namespace !== undefined) assert.equal(object.metadata.namespace, 'team-b', base);
          for (const subject of (object.subjects as Array<{ namespace: string }> | undefined) ?? []) {
            assert.equal(subject.namespace, 'team-b', `${base}: ${object.kind} subject`);
          }
        }
      }
    });

    it('gives the watcher and the worker a ServiceAccount each, bound to a role of their own', function () {
      for (const [what, objects, binding] of [
        ['config/default', clusterWide, 'ClusterRoleBinding'],
        ['config/namespaced', namespaced, 'RoleBinding'],
      ] as const) {
        for (const component of COMPONENTS) {
          const name = `loadtest-operator-${component}`;
          const deployment = find(objects, 'Deployment', name);
          assert.equal(podEssentials(deployment).serviceAccountName, name, `${what}: ${name}`);
          const bound = find(objects, binding, name);
          const role = binding === 'ClusterRoleBinding' ? 'ClusterRole' : 'Role';
          assert.deepEqual(bound.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: role, name }, what);
          assert.deepEqual(bound.subjects, [{ kind: 'ServiceAccount', name, namespace: NAMESPACE }], what);
        }
      }
    });

    it('config/namespaced grants the same rules as Roles in its namespace, and watches that namespace only', function () {
      assert.deepEqual(
        identities(namespaced).filter((identity) => /Role/.test(identity)),
        [
          'Role loadtest-operator/loadtest-operator-watcher',
          'Role loadtest-operator/loadtest-operator-worker',
          'RoleBinding loadtest-operator/loadtest-operator-watcher',
          'RoleBinding loadtest-operator/loadtest-operator-worker',
        ],
      );
      for (const component of COMPONENTS) {
        const name = `loadtest-operator-${component}`;
        assert.deepEqual(rulesOf(namespaced, 'Role', name), rulesOf(clusterWide, 'ClusterRole', name), name);
      }
      for (const component of COMPONENTS) {
        const deployment = find(namespaced, 'Deployment', `loadtest-operator-${component}`);
        const container = (deployment.spec as { template: PodTemplate }).template.spec.containers[0] as {
          env?: unknown[];
        };
        assert.deepEqual(
          container.env,
          [{ name: 'WATCH_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
          component,
        );
      }
    });

    it('config/crd and the chart carry crds/loadtest.yaml unchanged', async function () {
      const crd = await readFile(join(REPO, 'crds/loadtest.yaml'), 'utf8');
      for (const copy of ['config/crd/loadtest.yaml', 'charts/loadtest-operator/crds/loadtest.yaml']) {
        assert.ok(
          (await readFile(join(REPO, copy), 'utf8')) === crd,
          `${copy} differs from crds/loadtest.yaml: cp crds/loadtest.yaml ${copy}`,
        );
      }
    });

    it('config/crd and the chart carry the admission policy crds/loadtest-validation.yaml unchanged', async function () {
      const policy = await readFile(join(REPO, 'crds/loadtest-validation.yaml'), 'utf8');
      // In the chart it is a template, so that `helm upgrade` brings a new operator's rules (crds/ it never upgrades).
      for (const copy of [
        'config/crd/loadtest-validation.yaml',
        'charts/loadtest-operator/crds/loadtest-validation.yaml',
      ]) {
        assert.ok(
          (await readFile(join(REPO, copy), 'utf8')) === policy,
          `${copy} differs from crds/loadtest-validation.yaml: cp crds/loadtest-validation.yaml ${copy}`,
        );
      }
    });
  });

  describe('helm (charts/loadtest-operator)', function () {
    it('passes helm lint --strict, cluster-wide and confined to a namespace', async function () {
      const helm = await ensureHelm();
      for (const args of [[], ['--set', 'watchNamespace=team-a']]) {
        const { code, stdout, stderr } = await runProgram(helm, ['lint', '--strict', CHART, ...args]);
        assert.equal(code, 0, `helm lint --strict ${args.join(' ')}:\n${stdout}${stderr}`);
      }
    });

    it('every pod template meets the restricted standard', function () {
      for (const objects of [helmDefault, helmNamespaced]) {
        const templates = podTemplates(objects);
        assert.equal(templates.length, 2);
        for (const { owner, template } of templates) assert.deepEqual(restrictedViolations(template), [], owner);
      }
    });

    it('names the image once: image.repository and image.tag move both Deployments and RUNNER_IMAGE', async function () {
      assert.deepEqual(imagesIn(helmDefault), {
        containers: ['loadtest-operator:dev', 'loadtest-operator:dev'],
        runnerImages: ['loadtest-operator:dev'],
      });
      const objects = await helmTemplate(RELEASE, NAMESPACE, [
        '--set',
        'image.repository=registry.example/team/loadtest-operator',
        '--set',
        'image.tag=1.2.3',
      ]);
      const moved = 'registry.example/team/loadtest-operator:1.2.3';
      assert.deepEqual(imagesIn(objects), { containers: [moved, moved], runnerImages: [moved] });
    });

    it('makes the objects kustomize makes (but the Namespace), with the same pods, settings and rules', function () {
      const pairs: Array<[string, K8sObject[], K8sObject[]]> = [
        ['config/default', clusterWide, helmDefault],
        ['config/namespaced', namespaced, helmNamespaced],
      ];
      for (const [what, fromKustomize, fromHelm] of pairs) {
        const withoutNamespace = fromKustomize.filter((object) => object.kind !== 'Namespace');
        assert.deepEqual(identities(fromHelm), identities(withoutNamespace), what);
        for (const component of COMPONENTS) {
          const name = `loadtest-operator-${component}`;
          assert.deepEqual(
            podEssentials(find(fromHelm, 'Deployment', name)),
            podEssentials(find(fromKustomize, 'Deployment', name)),
            `${what}: ${name}`,
          );
        }
        const role = what === 'config/default' ? 'ClusterRole' : 'Role';
        for (const component of COMPONENTS) {
          const name = `${RELEASE}-${component}`;
          assert.deepEqual(rulesOf(fromHelm, role, name), rulesOf(fromKustomize, role, name), `${what}: ${name} rules`);
        }
      }
      assert.deepEqual(
        find(helmDefault, 'ConfigMap', RELEASE).data,
        find(clusterWide, 'ConfigMap', RELEASE).data,
        'ConfigMap',
      );
      assert.equal(
        (find(helmNamespaced, 'ConfigMap', RELEASE).data as Record<string, string>).WATCH_NAMESPACE,
        NAMESPACE,
      );
    });

    it('rejects bad values with a message naming the value', async function () {
      const helm = await ensureHelm();
      for (const [set, expected] of [
        ['worker.replicas=two', /at '\/worker\/replicas': got string, want integer/],
        ['watchNamespace=Team_A', /at '\/watchNamespace': 'Team_A' does not match pattern/],
        ['image.tag=', /at '\/image\/tag'/],
      ] as const) {
        const { code, stderr } = await runProgram(helm, ['template', 'x', CHART, '--set', set]);
        assert.notEqual(code, 0, set);
        assert.match(stderr, expected);
      }
    });
  });
});
