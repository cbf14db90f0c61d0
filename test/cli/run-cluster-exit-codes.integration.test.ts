/**
 * README, "From the terminal and from CI": `run FILE` in a cluster exits 1 when the run fails, 2 on bad input
 * (one line saying what is wrong) and 3 when Temporal or Kubernetes cannot be reached, on the test bed's cluster.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../../src/util/process.js';
import { createNamespace, ensureCrd, kubectl, Operator } from '../operator/cluster.js';
import { loadTestYaml, runCli, type CliResult } from './cli-process.js';

/** Exactly one line on stderr, starting "error:", with no stack trace. */
function assertOneLineError(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
}

describe('loadtest-operator run FILE in a cluster: exit codes', function () {
  this.timeout(180_000);
  let dir: string;
  let namespace: string;

  /** Writes a LoadTest targeting Service `web` (which does not exist) in `ns`, with `labels` if given. */
  async function write(name: string, ns: string, labels?: Record<string, string>): Promise<string> {
    let text = loadTestYaml(name, ns, 'serviceName: web\nrepeat: 1');
    if (labels !== undefined) {
      const object = parse(text) as { metadata: Record<string, unknown> };
      object.metadata.labels = labels;
      text = stringify(object);
    }
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, text);
    return file;
  }

  async function exists(name: string): Promise<boolean> {
    const names = await kubectl(['get', 'loadtests', '-n', namespace, '-o', 'name']);
    return names.split('\n').includes(`loadtest.example.org/${name}`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-exit-'));
    namespace = `cli-exit-${randomUUID().slice(0, 6)}`;
    await ensureCrd();
    await createNamespace(namespace);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 with one line when the API server rejects the LoadTest (422), creating nothing', async () => {
    const file = await write('labelled', namespace, { team: 'not a label value!' });

    const result = await runCli(['run', file]);

    assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
    assertOneLineError(
      result,
      new RegExp(
        `cannot apply LoadTest ${namespace}/labelled: .*metadata\\.labels: Invalid value: "not a label value!"`,
      ),
    );
    assert.equal(result.stdout, '');
    assert.equal(await exists('labelled'), false);
  });

  it('exits 2 with one line when the namespace does not exist', async () => {
    const missing = `${namespace}-missing`;
    const file = await write('nowhere', missing);

    const result = await runCli(['run', file]);

    assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
    assertOneLineError(
      result,
      new RegExp(`cannot apply LoadTest ${missing}/nowhere: namespaces "${missing}" not found`),
    );
  });

  it('exits 3 with one line when Kubernetes cannot be reached', async () => {
    const closedPort = await freePort();
    const config = parse(await readFile(process.env.KUBECONFIG!, 'utf8')) as {
      clusters: Array<{ cluster: { server: string } }>;
    };
    for (const { cluster } of config.clusters) cluster.server = `https://127.0.0.1:${closedPort}`;
    const kubeconfig = join(dir, 'closed-port.kubeconfig');
    await writeFile(kubeconfig, stringify(config));
    const file = await write('unreachable', namespace);

    const [closed, missing] = await Promise.all([
      runCli(['run', file], { KUBECONFIG: kubeconfig }),
      runCli(['run', file], { KUBECONFIG: join(dir, 'no-such.kubeconfig') }),
    ]);

    assert.equal(closed.code, 3, `${closed.stdout}\n${closed.stderr}`);
    assertOneLineError(closed, new RegExp(`cannot apply LoadTest ${namespace}/unreachable: .*ECONNREFUSED`));
    assert.equal(missing.code, 3, `${missing.stdout}\n${missing.stderr}`);
    assertOneLineError(missing, /no Kubernetes cluster to run in \(.*no-such\.kubeconfig'?\); use --local to run here/);
  });

  it('exits 3 with one line when neither Temporal nor an operator answers in time', async () => {
    // Temporal out of reach from here is not an error by itself (the operator may reach it: the CLI then follows
    // .status); no operator picking the LoadTest up within --start-timeout is.
    const address = `127.0.0.1:${await freePort()}`;
    const file = await write('no-temporal', namespace);

    const result = await runCli(['run', file, '--start-timeout', '3s'], { TEMPORAL_ADDRESS: address });

    assert.equal(result.code, 3, `${result.stdout}\n${result.stderr}`);
    assertOneLineError(
      result,
      new RegExp(
        `the operator did not pick up LoadTest ${namespace}/no-temporal within 3s .*cannot reach Temporal at ${address}`,
      ),
    );
  });

  describe('with the operator running', () => {
    let operator: Operator;

    before(() => {
      operator = new Operator(`cli-exit-${randomUUID().slice(0, 6)}`);
      operator.start();
    });

    after(() => operator?.stop());

    it('exits 1 when the run fails, saying why', async () => {
      const file = await write('failing', namespace);

      const result = await runCli(['run', file]);

      assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
      assert.match(
        result.stdout,
        new RegExp(`^Result {6}FAILED: Service "web" does not exist in namespace "${namespace}"`, 'm'),
      );
      const state = await kubectl(['get', 'loadtest', 'failing', '-n', namespace, '-o', 'jsonpath={.status.state}']);
      assert.equal(state, 'failed');
    });
  });
});
