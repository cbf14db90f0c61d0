/**
 * The operator runs with nothing but the RBAC in config/rbac (as `kubectl apply -k config/default` installs it):
 * its worker and watcher act as the loadtest-operator ServiceAccount (a token from `kubectl create token`), and
 * run a LoadTest to the end, Event included, while the ServiceAccount may not touch what the operator has no
 * business with.
 */
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ARTIFACTS,
  CountingServer,
  createNamespace,
  ensureCrd,
  eventually,
  getJson,
  kubectl,
  loadTestManifest,
  apply,
  Operator,
  REPO,
  waitForJsonPath,
} from './cluster.js';
import { kubectl as runKubectl } from '../support/kubectl.js';

const SERVICE_ACCOUNT = 'system:serviceaccount:loadtest-operator:loadtest-operator';

describe('operator RBAC (config/rbac)', function () {
  this.timeout(180_000);
  let operator: Operator;
  let server: CountingServer;
  const namespace = `rbac-${process.pid}`;

  before(async function () {
    await ensureCrd();
    await createNamespace('loadtest-operator');
    await kubectl(['apply', '-k', join(REPO, 'config/rbac')]);
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
    // The workflow posts its Finished event right after it publishes the finished state.
    await eventually(
      async () => {
        const events = await getJson<{ items: Array<{ reason: string }> }>(['get', 'events', '-n', namespace]);
        return events.items.some((event) => event.reason === 'Finished') ? true : undefined;
      },
      30_000,
      'the Finished event',
    );
  });

  /**
   * `kubectl auth can-i` as the ServiceAccount: true for its "yes" (exit 0), false for its "no" (exit 1). Anything
   * else fails the test with kubectl's stderr: a bad flag, no server, and also a "no" that comes with a warning,
   * which is how kubectl answers for a resource type or verb it does not know (a typo is not a denial).
   */
  async function can(...args: string[]): Promise<boolean> {
    const command = ['auth', 'can-i', ...args, `--as=${SERVICE_ACCOUNT}`];
    const { code, stdout, stderr } = await runKubectl(command);
    if (stderr.trim() === '') {
      if (code === 0 && stdout.trim() === 'yes') return true;
      if (code === 1 && stdout.trim() === 'no') return false;
    }
    assert.fail(`kubectl ${command.join(' ')}: exit ${code}, stdout "${stdout.trim()}", stderr: ${stderr.trim()}`);
  }

  it('grants what the operator does', async function () {
    for (const granted of [
      ['get', 'loadtests.example.org'],
      ['watch', 'loadtests.example.org'],
      // spec.ttlSecondsAfterFinished: the worker deletes a LoadTest whose time is up.
      ['delete', 'loadtests.example.org'],
      ['patch', 'loadtests.example.org', '--subresource=status'],
      ['create', 'pods'],
      ['patch', 'pods'],
      ['delete', 'pods'],
      ['get', 'services'],
      ['create', 'events'],
      // Each run's control token (activities/kubernetes/runner-control.ts).
      ['create', 'secrets'],
      ['get', 'secrets'],
      ['delete', 'secrets'],
    ]) {
      assert.equal(await can(...granted, '-n', namespace), true, granted.join(' '));
    }
  });

  it('grants nothing beyond what the operator does', async function () {
    for (const denied of [
      ['update', 'loadtests.example.org'],
      ['patch', 'loadtests.example.org'],
      ['list', 'secrets'],
      ['watch', 'secrets'],
      ['update', 'secrets'],
      ['create', 'services'],
      ['delete', 'events'],
      ['create', 'deployments.apps'],
    ]) {
      assert.equal(await can(...denied, '-n', namespace), false, denied.join(' '));
    }
  });

  it('takes a kubectl auth can-i that went wrong for an error, not for a denial', async function () {
    await assert.rejects(can('get', 'secretz', '-n', namespace), /doesn't have a resource type 'secretz'/);
    await assert.rejects(can('get', 'secrets', '--namespce', namespace), /unknown flag: --namespce/);
  });
});
