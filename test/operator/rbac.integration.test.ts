/**
 * The operator runs with nothing but the RBAC in config/rbac (as `kubectl apply -k config/default` installs it),
 * each component as its own ServiceAccount: the watcher as loadtest-operator-watcher, the worker as
 * loadtest-operator-worker (tokens from `kubectl create token`). Together they run a LoadTest to the end, Event and
 * spec.ttlSecondsAfterFinished included; the API server answers `kubectl auth can-i` for each account: yes for
 * every call its component makes, no for the rest. config/namespaced grants the same, in its namespace only.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kustomizeOverlay } from '../deploy/render.js';
import { kubectl as runKubectl } from '../support/kubectl.js';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  eventually,
  getJson,
  kubectl,
  loadTestManifest,
  Operator,
  REPO,
  serviceAccountKubeconfig,
  waitForJsonPath,
} from './cluster.js';

type Component = 'watcher' | 'worker';
const COMPONENTS: readonly Component[] = ['watcher', 'worker'];
const LOADTESTS = 'loadtests.example.org';

/** The calls each component makes (src/operator/watcher-process.ts, worker.ts), as `kubectl auth can-i` asks them. */
const GRANTED: Record<Component, string[][]> = {
  watcher: [
    // The informer lists and watches; the orphan check reads one LoadTest.
    ['list', LOADTESTS],
    ['watch', LOADTESTS],
    ['get', LOADTESTS],
  ],
  worker: [
    // The LoadTest informer lists and watches; a GET confirms what a stale cache could get wrong.
    ['list', LOADTESTS],
    ['watch', LOADTESTS],
    ['get', LOADTESTS],
    // spec.ttlSecondsAfterFinished: the worker deletes a LoadTest whose time is up.
    ['delete', LOADTESTS],
    ['patch', LOADTESTS, '--subresource=status'],
    // blockOwnerDeletion on the runners' ownerReference (OwnerReferencesPermissionEnforcement).
    ['update', LOADTESTS, '--subresource=finalizers'],
    ['create', 'pods'],
    ['get', 'pods'],
    ['list', 'pods'],
    ['watch', 'pods'],
    ['patch', 'pods'],
    ['delete', 'pods'],
    ['get', 'services'],
    ['create', 'events'],
    // Each run's control token (activities/kubernetes/runner-control.ts).
    ['create', 'secrets'],
    ['get', 'secrets'],
    ['delete', 'secrets'],
  ],
};

/** What each component has no business with: the other's calls, and what would make it a stepping stone. */
const DENIED: Record<Component, string[][]> = {
  watcher: [
    ['create', 'pods'],
    ['get', 'pods'],
    ['list', 'pods'],
    ['get', 'secrets'],
    ['list', 'secrets'],
    ['create', 'secrets'],
    ['patch', LOADTESTS, '--subresource=status'],
    ['patch', LOADTESTS],
    ['update', LOADTESTS],
    ['create', LOADTESTS],
    ['delete', LOADTESTS],
    ['create', 'events'],
    ['get', 'services'],
    ['create', 'serviceaccounts', '--subresource=token'],
  ],
  worker: [
    // It names every Secret it touches: it can neither browse nor change the namespace's Secrets.
    ['list', 'secrets'],
    ['watch', 'secrets'],
    ['update', 'secrets'],
    ['patch', 'secrets'],
    // It writes status, never a spec, and never creates LoadTests.
    ['update', LOADTESTS],
    ['patch', LOADTESTS],
    ['create', LOADTESTS],
    ['update', LOADTESTS, '--subresource=status'],
    // Its pods run a fixed command; it does not enter or change running ones.
    ['create', 'pods', '--subresource=exec'],
    ['create', 'pods', '--subresource=attach'],
    ['patch', 'pods', '--subresource=ephemeralcontainers'],
    ['update', 'pods'],
    ['create', 'serviceaccounts', '--subresource=token'],
    ['impersonate', 'serviceaccounts'],
    ['list', 'services'],
    ['create', 'services'],
    ['delete', 'events'],
    ['create', 'deployments.apps'],
    ['create', 'rolebindings.rbac.authorization.k8s.io'],
  ],
};

/**
 * `kubectl auth can-i` as `user`: true for its "yes" (exit 0), false for its "no" (exit 1). Anything else fails the
 * test with kubectl's stderr: a bad flag, no server, and also a "no" that comes with a warning, which is how kubectl
 * answers for a resource type or verb it does not know (a typo is not a denial).
 */
async function can(user: string, ...args: string[]): Promise<boolean> {
  const command = ['auth', 'can-i', ...args, `--as=${user}`];
  const { code, stdout, stderr } = await runKubectl(command);
  if (stderr.trim() === '') {
    if (code === 0 && stdout.trim() === 'yes') return true;
    if (code === 1 && stdout.trim() === 'no') return false;
  }
  assert.fail(`kubectl ${command.join(' ')}: exit ${code}, stdout "${stdout.trim()}", stderr: ${stderr.trim()}`);
}

/** Each of `checks` (can-i arguments) answered as `expected`; fails listing every one answered otherwise. */
async function assertAnswers(user: string, checks: string[][], where: string[], expected: boolean): Promise<void> {
  const wrong: string[] = [];
  for (const check of checks) {
    if ((await can(user, ...check, ...where)) !== expected) wrong.push(check.join(' '));
  }
  assert.deepEqual(wrong, [], `${user} ${where.join(' ')}: ${expected ? 'denied' : 'granted'} ${wrong.join('; ')}`);
}

const serviceAccount = (namespace: string, component: Component) =>
  `system:serviceaccount:${namespace}:loadtest-operator-${component}`;

describe('operator RBAC per component (config/rbac)', function () {
  this.timeout(180_000);
  const operatorNamespace = 'loadtest-operator';
  const namespace = `rbac-${process.pid}`;
  let operator: Operator;
  let server: CountingServer;

  before(async function () {
    await ensureCrd();
    await createNamespace(operatorNamespace);
    await kubectl(['apply', '-k', join(REPO, 'config/rbac')]);
    await createNamespace(namespace);
    operator = new Operator('rbac');
    operator.startWorker({ KUBECONFIG: await serviceAccountKubeconfig(operatorNamespace, 'loadtest-operator-worker') });
    operator.startWatcher({
      KUBECONFIG: await serviceAccountKubeconfig(operatorNamespace, 'loadtest-operator-watcher'),
    });
    server = new CountingServer();
    await server.expose(namespace, 'nginx');
  });

  after(async function () {
    await operator?.stop();
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  it('is enough, each component with its own account, to run a LoadTest to finished, Events and TTL included', async function () {
    await apply(
      loadTestManifest(namespace, 'least', {
        replicas: 2,
        test: { serviceName: 'nginx', repeat: 3 },
        ttlSecondsAfterFinished: 5,
      }),
    );
    await waitForJsonPath('ld/least', namespace, '{.status.state}', 'finished');
    assert.equal(server.requests, 6);
    // The workflow posts its Finished event right after it publishes the finished state.
    await eventually(
      async () => {
        const events = await getJson<{ items: Array<{ reason: string }> }>(['get', 'events', '-n', namespace]);
        return events.items.some((event) => event.reason === 'Finished') ? true : undefined;
      },
      30_000,
      'the Finished event',
    );
    // Five seconds after it finished, the worker deletes it.
    await kubectl(['wait', '--for=delete', 'ld/least', '-n', namespace, '--timeout=90s']);
  });

  for (const component of COMPONENTS) {
    it(`grants the ${component} every call it makes, in any namespace`, async function () {
      const user = serviceAccount(operatorNamespace, component);
      await assertAnswers(user, GRANTED[component], ['-n', namespace], true);
      // Its informer lists and watches every namespace at once.
      const everywhere = component === 'watcher' ? LOADTESTS : 'pods';
      await assertAnswers(
        user,
        [
          ['list', everywhere],
          ['watch', everywhere],
        ],
        ['--all-namespaces'],
        true,
      );
    });

    it(`grants the ${component} nothing beyond its calls`, async function () {
      await assertAnswers(serviceAccount(operatorNamespace, component), DENIED[component], ['-n', namespace], false);
    });
  }

  it('takes a kubectl auth can-i that went wrong for an error, not for a denial', async function () {
    const user = serviceAccount(operatorNamespace, 'worker');
    await assert.rejects(can(user, 'get', 'secretz', '-n', namespace), /doesn't have a resource type 'secretz'/);
    await assert.rejects(can(user, 'get', 'secrets', '--namespce', namespace), /unknown flag: --namespce/);
  });
});

describe('operator RBAC confined to one namespace (config/namespaced)', function () {
  this.timeout(180_000);
  const scoped = `rbac-scoped-${process.pid}`;
  const other = `rbac-other-${process.pid}`;

  before(async function () {
    await ensureCrd();
    // config/namespaced as a user installs it into their namespace; of it, the Namespace and the RBAC objects.
    const objects = await kustomizeOverlay('config/namespaced', { namespace: scoped });
    // (Were there a ClusterRole or ClusterRoleBinding among them, it would be applied and found out below.)
    const rbac = objects.filter((object) =>
      ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind),
    );
    await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    await createNamespace(other);
  });

  after(async function () {
    for (const namespace of [scoped, other]) {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    }
  });

  for (const component of COMPONENTS) {
    it(`grants the ${component} its calls in its namespace, and nothing more there`, async function () {
      const user = serviceAccount(scoped, component);
      await assertAnswers(user, GRANTED[component], ['-n', scoped], true);
      await assertAnswers(user, DENIED[component], ['-n', scoped], false);
    });

    it(`grants the ${component} none of its calls in another namespace, nor across namespaces`, async function () {
      const user = serviceAccount(scoped, component);
      await assertAnswers(user, GRANTED[component], ['-n', other], false);
      await assertAnswers(user, GRANTED[component], ['--all-namespaces'], false);
    });
  }
});
