/**
 * The CLI against the test bed's cluster with the operator running (its worker and watcher from this build):
 * `run FILE` applies and follows, `cancel` deletes the object, and `kubectl loadtest ...` works as a kubectl
 * plugin once `kubectl-loadtest` is on the PATH.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CountingServer, createNamespace, ensureCrd, kubectl, Operator } from '../operator/cluster.js';
import { CLI_PATH, loadTestYaml, runCli } from './cli-process.js';

/** Targets Service web, which the counting server stands behind. */
function manifest(name: string, namespace: string, test: string): string {
  return loadTestYaml(name, namespace, `serviceName: web\n${test}`);
}

describe('loadtest-operator CLI on a cluster', function () {
  this.timeout(240_000);
  let dir: string;
  let namespace: string;
  let operator: Operator;
  let web: CountingServer;
  /** PATH with `kubectl-loadtest` (the built CLI) first, as installing the package puts it there. */
  let pluginPath: string;

  before(async function () {
    this.timeout(120_000);
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-cluster-'));
    const plugin = join(dir, 'kubectl-loadtest');
    // A symlink to the executable bin, as npm installs it.
    await chmod(CLI_PATH, 0o755);
    await symlink(CLI_PATH, plugin);
    pluginPath = `${dir}:${process.env.PATH ?? ''}`;
    namespace = `cli-cluster-${randomUUID().slice(0, 6)}`;
    await ensureCrd();
    await createNamespace(namespace);
    web = new CountingServer();
    await web.expose(namespace, 'web');
    operator = new Operator(`cli-${randomUUID().slice(0, 6)}`);
    operator.start();
  });

  after(async () => {
    await operator?.stop();
    await web?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it("applies the LoadTest, follows the operator's run and exits 0 when it finishes", async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, manifest('ok', namespace, 'repeat: 15'));

    const result = await runCli(['run', file]);

    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(
      result.stdout,
      new RegExp(`^loadtest.example.org/ok applied in namespace ${namespace} \\(generation 1\\)`),
    );
    assert.match(result.stdout, /^Result {6}FINISHED: 30 requests, 0 errors/m);
    assert.equal(web.requests, 30);
    const state = await kubectl(['get', 'loadtest', 'ok', '-n', namespace, '-o', 'jsonpath={.status.state}']);
    assert.equal(state, 'finished');
  });

  it('watch shows the live merged numbers of a LoadTest the operator is running, before it ends', async () => {
    await writeFile(join(dir, 'live.yaml'), manifest('live', namespace, 'rate: 20\nduration: 20s'));
    await kubectl(['apply', '-f', join(dir, 'live.yaml')]);

    const result = await runCli(['watch', 'live', '-n', namespace]);

    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    // Plain key=value lines off a terminal: at least one while executing carries requests from the runners.
    const live = result.stdout.split('\n').filter((line) => /state=executing .*requests=[1-9]/.test(line));
    assert.ok(live.length > 0, `no live numbers while executing:\n${result.stdout}`);
  });

  it('works as a kubectl plugin: kubectl loadtest list and status', async () => {
    const env = { PATH: pluginPath };
    const list = await runKubectlPlugin(['loadtest', 'list', '-n', namespace], env);
    const status = await runKubectlPlugin(['loadtest', 'status', 'ok', '-n', namespace], env);
    const help = await runKubectlPlugin(['loadtest', '--help'], env);
    assert.match(help.stdout, /^Usage: kubectl loadtest \[options\] \[command\]/);

    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${namespace} +ok +finished +1 +- +finished \\d+[sm] ago +\\d+[sm]$`, 'm'));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^State {7}finished: 30 requests/m);
  });

  it('cancels a LoadTest that exists in Kubernetes by deleting it, waiting until its workflow has cleaned up', async () => {
    const file = join(dir, 'long.yaml');
    await writeFile(file, manifest('long', namespace, 'duration: 5m'));
    const detached = await runCli(['run', file, '--detach']);
    assert.equal(detached.code, 0, detached.stderr);
    await kubectl([
      'wait',
      'loadtest/long',
      '-n',
      namespace,
      '--for=jsonpath={.status.state}=executing',
      '--timeout=120s',
    ]);

    const cancelled = await runCli(['cancel', 'long', '-n', namespace]);

    assert.equal(cancelled.code, 0, cancelled.stderr);
    // The runner pods belong to the LoadTest: garbage collection may remove them before the workflow does.
    assert.match(cancelled.stdout, new RegExp(`^LoadTest ${namespace}/long cancelled \\(deleted from Kubernetes\\)`));
    const left = await kubectl(['get', 'loadtest', '-n', namespace, '-o', 'name']);
    assert.doesNotMatch(left, /loadtest.example.org\/long/);
  });
});

/** `kubectl ARGS` with `env` added, never throwing on a non-zero exit. */
function runKubectlPlugin(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
