/**
 * The CLI as a kubectl plugin that has only a kubeconfig: the test bed's cluster with the operator running
 * (which reaches Temporal), while the CLI's TEMPORAL_ADDRESS points at a closed port. run, list, status, watch
 * and cancel answer from the Kubernetes API; -n defaults to the kubeconfig context's namespace.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../../src/util/process.js';
import { CountingServer, createNamespace, ensureCrd, kubectl, KubectlError, Operator } from '../operator/cluster.js';
import { loadTestYaml, runCli } from './cli-process.js';

describe('CLI as a kubectl plugin with Temporal out of reach', function () {
  this.timeout(240_000);
  let dir: string;
  let namespace: string;
  let operator: Operator;
  let web: CountingServer;
  /** The CLI's environment: a TEMPORAL_ADDRESS where nothing listens. */
  let env: Record<string, string>;

  before(async function () {
    this.timeout(120_000);
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-plugin-'));
    namespace = `cli-plugin-${randomUUID().slice(0, 6)}`;
    await ensureCrd();
    await createNamespace(namespace);
    web = new CountingServer();
    await web.expose(namespace, 'web');
    operator = new Operator(`plugin-${randomUUID().slice(0, 6)}`);
    operator.start();
    env = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
  });

  after(async () => {
    await operator?.stop();
    await web?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a LoadTest to its end, following .status, and list, status, watch and cancel answer from Kubernetes', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, loadTestYaml('ok', namespace, 'serviceName: web\nrepeat: 15'));

    const ran = await runCli(['run', file], env);
    assert.equal(ran.code, 0, `${ran.stdout}\n${ran.stderr}`);
    assert.match(ran.stdout, /^time=\S+ loadtest=\S+\/ok generation=1 state=finished runners=2\/2/m);
    assert.match(ran.stdout, /^Result {6}FINISHED: 30 requests/m);
    assert.equal(web.requests, 30);

    const list = await runCli(['list', '-n', namespace], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAMESPACE +NAME +STATE +GENERATION +RUNNERS +SCHEDULE +LAST +AGE$/m);
    assert.match(list.stdout, new RegExp(`^${namespace} +ok +finished +1 +2/2 +- +finished \\d+s ago +\\d+s$`, 'm'));

    const names = await runCli(['list', '-A', '-o', 'name'], env);
    assert.equal(names.code, 0, names.stderr);
    assert.match(names.stdout, /^loadtest\.example\.org\/ok$/m);

    const status = await runCli(['status', 'ok', '-n', namespace, '-o', 'yaml'], env);
    assert.equal(status.code, 0, status.stderr);
    const parsed = parse(status.stdout) as { state: string; status: { results: { requests: number } } };
    assert.equal(parsed.state, 'finished');
    assert.equal(parsed.status.results.requests, 30);

    const watch = await runCli(['watch', 'ok', '-n', namespace], env);
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(watch.stdout, /^Result {6}FINISHED: 30 requests/m);

    // kubectl's own view: counts in the Runners column, not a list of pod names.
    const table = await kubectl(['get', 'loadtests', '-n', namespace]);
    assert.match(table, /^NAME +STATE +RUNNERS +REQUESTS\/S +P99 +AGE$/m);
    assert.match(table, /^ok +finished +2\/2 /m);

    const cancel = await runCli(['cancel', 'ok', '-n', namespace], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(
      cancel.stdout,
      new RegExp(`^LoadTest ${namespace}/ok cancelled \\(deleted from Kubernetes\\)\\.$`, 'm'),
    );
    await assert.rejects(kubectl(['get', 'loadtest', 'ok', '-n', namespace]), KubectlError);
  });

  it("uses the kubeconfig context's namespace without -n, and says so when a LoadTest is not there", async () => {
    // A copy of the test bed's kubeconfig with a second context whose namespace is the test's.
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, await kubectl(['config', 'view', '--flatten']));
    const cluster = (
      await kubectl(['config', 'view', '--raw', '-o', 'jsonpath={.contexts[0].context.cluster}'])
    ).trim();
    const user = (await kubectl(['config', 'view', '--raw', '-o', 'jsonpath={.contexts[0].context.user}'])).trim();
    await kubectl([
      '--kubeconfig',
      kubeconfig,
      'config',
      'set-context',
      'team',
      `--cluster=${cluster}`,
      `--user=${user}`,
      `--namespace=${namespace}`,
    ]);
    await kubectl(['apply', '-f', '-'], loadTestYaml('other', namespace, 'serviceName: web\nrepeat: 1'));

    const list = await runCli(['list', '--kubeconfig', kubeconfig, '--context', 'team', '-o', 'name'], env);
    const missing = await runCli(['status', 'absent', '--kubeconfig', kubeconfig, '--context', 'team'], env);

    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'loadtest.example.org/other\n');
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `error: no LoadTest "absent" in namespace "${namespace}" (see: list -A)\n`);
  });
});
