/**
 * The operator runs with nothing but the RBAC in config/rbac.yaml: its worker and watcher act as the
 * loadtest-operator ServiceAccount (a token from `kubectl create token`), and run a LoadTest to the end, Event
 * included, while the ServiceAccount may not touch what the operator has no business with.
 */
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ARTIFACTS,
  CountingServer,
  createNamespace,
  ensureCrd,
  getJson,
  kubectl,
  loadTestManifest,
  apply,
  Operator,
  REPO,
  waitForJsonPath,
} from './cluster.js';

const SERVICE_ACCOUNT = 'system:serviceaccount:loadtest-operator:loadtest-operator';

describe('operator RBAC (config/rbac.yaml)', function () {
  this.timeout(180_000);
  let operator: Operator;
  let server: CountingServer;
  const namespace = `rbac-${process.pid}`;

  before(async function () {
    await ensureCrd();
    await createNamespace('loadtest-operator');
    await kubectl(['apply', '-f', join(REPO, 'config/rbac.yaml')]);
    await createNamespace(namespace);
    const token = (await kubectl(['create', 'token', 'loadtest-operator', '-n', 'loadtest-operator'])).trim();
    // The test bed's kubeconfig, with the ServiceAccount's token in place of the admin's.
    const admin = JSON.parse(await readFile(process.env.KUBECONFIG!, 'utf8')) as {
      users: Array<{ user: { token: string } }>;
    };
    admin.users[0]!.user.token = token;
    const kubeconfig = join(ARTIFACTS, 'operator-serviceaccount.kubeconfig');
    await writeFile(kubeconfig, JSON.stringify(admin));
    operator = new Operator('rbac', { KUBECONFIG: kubeconfig });
    operator.start();
    server = new CountingServer();
    await server.expose(namespace, 'nginx');
  });

  after(async function () {
    await operator?.stop();
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  it('is enough to run a LoadTest to finished, with its status, runner pods and Events', async function () {
    await apply(loadTestManifest(namespace, 'least', { replicas: 2, test: { serviceName: 'nginx', repeat: 3 } }));
    await waitForJsonPath('ld/least', namespace, '{.status.state}', 'finished');
    assert.equal(server.requests, 6);
    const events = await getJson<{ items: Array<{ reason: string }> }>(['get', 'events', '-n', namespace]);
    assert.ok(events.items.some((event) => event.reason === 'Finished'));
  });

  it('grants nothing beyond what the operator does', async function () {
    const can = async (...args: string[]) =>
      (await kubectl(['auth', 'can-i', ...args, `--as=${SERVICE_ACCOUNT}`]).catch(() => 'no')).trim();
    assert.equal(await can('patch', 'loadtests.example.org', '--subresource=status', '-n', namespace), 'yes');
    assert.equal(await can('create', 'pods', '-n', namespace), 'yes');
    for (const denied of [
      ['delete', 'loadtests.example.org'],
      ['update', 'loadtests.example.org'],
      ['get', 'secrets'],
      ['create', 'services'],
      ['create', 'deployments.apps'],
    ]) {
      assert.equal(await can(...denied, '-n', namespace), 'no', denied.join(' '));
    }
  });
});
