/**
 * config/namespaced is enough: the worker and the watcher, each acting as its own ServiceAccount with nothing but
 * its Role and RoleBinding in one namespace (a token from `kubectl create token`), and told WATCH_NAMESPACE as their
 * Deployments tell them, run a LoadTest of that namespace to the end. Without WATCH_NAMESPACE the watcher's
 * ServiceAccount may not watch LoadTests at all (its Role grants nothing cluster-wide).
 */
import { strict as assert } from 'node:assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  apply,
  ARTIFACTS,
  CountingServer,
  ensureCrd,
  eventually,
  kubectl,
  loadTestManifest,
  Operator,
  serviceAccountKubeconfig,
  waitForJsonPath,
} from '../operator/cluster.js';
import { kustomizeOverlay } from './render.js';

describe('operator confined to one namespace (config/namespaced, WATCH_NAMESPACE)', function () {
  this.timeout(180_000);
  const namespace = `confined-${process.pid}`;
  const operators: Operator[] = [];
  /** A kubeconfig per component, acting as its ServiceAccount. */
  const kubeconfigs: Record<'watcher' | 'worker', string> = { watcher: '', worker: '' };
  let server: CountingServer;

  before(async function () {
    await ensureCrd();
    // config/namespaced as a user installs it into their namespace; of it, the Namespace and the RBAC objects.
    const objects = await kustomizeOverlay('config/namespaced', { namespace });
    const rbac = objects.filter((object) =>
      ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding'].includes(object.kind),
    );
    assert.deepEqual(rbac.map((object) => `${object.kind} ${object.metadata.name}`).sort(), [
      `Namespace ${namespace}`,
      'Role loadtest-operator-watcher',
      'Role loadtest-operator-worker',
      'RoleBinding loadtest-operator-watcher',
      'RoleBinding loadtest-operator-worker',
      'ServiceAccount loadtest-operator-watcher',
      'ServiceAccount loadtest-operator-worker',
    ]);
    await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    for (const component of ['watcher', 'worker'] as const) {
      kubeconfigs[component] = await serviceAccountKubeconfig(namespace, `loadtest-operator-${component}`);
    }
    server = new CountingServer();
    await server.expose(namespace, 'nginx');
  });

  after(async function () {
    for (const operator of operators) await operator.stop();
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  it('runs a LoadTest of its namespace to finished with the Role alone', async function () {
    const operator = new Operator('confined', { WATCH_NAMESPACE: namespace });
    operators.push(operator);
    await operator.startWatcherReady(undefined, { KUBECONFIG: kubeconfigs.watcher });
    operator.startWorker({ KUBECONFIG: kubeconfigs.worker });
    await apply(loadTestManifest(namespace, 'confined', { replicas: 2, test: { serviceName: 'nginx', repeat: 3 } }));
    await waitForJsonPath('ld/confined', namespace, '{.status.state}', 'finished');
    assert.equal(server.requests, 6);
  });

  it('without WATCH_NAMESPACE, is refused the cluster-wide watch its Role does not grant', async function () {
    const log = join(ARTIFACTS, 'confined-unset-watcher.log');
    await rm(log, { force: true }); // the log of an earlier run
    const operator = new Operator('confined-unset', { KUBECONFIG: kubeconfigs.watcher });
    operators.push(operator);
    operator.startWatcher();
    // The watcher logs each failed list of every namespace's LoadTests, and retries.
    await eventually(
      async () => {
        const text = await readFile(log, 'utf8').catch(() => '');
        return /LoadTest watch failed/.test(text) && /forbidden|403/i.test(text) ? true : undefined;
      },
      60_000,
      `a refused LoadTest watch in ${log}`,
    );
  });
});
