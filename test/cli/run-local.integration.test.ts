/**
 * `run --local`, `status`, `watch`, `list` and `cancel` as CI runs them: the built CLI as a child process
 * (output not a terminal), on the test bed's Temporal server, against a test server on this machine.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/process.js';
import { startTargetServer, type TargetServer } from '../support/target-server.js';
import { loadTestYaml, parseLogfmt, runCli, startCli } from './cli-process.js';

const PROGRESS_LINE = /^time=\S+ loadtest=\S+ generation=\d+ state=(pending|executing|finished|failed) step=\S+/;

describe('loadtest-operator run --local and the commands that follow it', function () {
  this.timeout(120_000);
  let dir: string;
  let target: TargetServer;
  let url: string;
  let namespace: string;
  let holding = false;
  const held: ServerResponse[] = [];
  let onRequest: () => void = () => {};

  const releaseHeld = () => {
    holding = false;
    for (const response of held.splice(0)) response.end('ok');
  };

  async function write(name: string, text: string): Promise<string> {
    const path = join(dir, `${name}.yaml`);
    await writeFile(path, text);
    return path;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-local-'));
    target = await startTargetServer((_request, response) => {
      onRequest();
      if (holding) held.push(response);
      else response.end('ok');
    });
    url = `http://127.0.0.1:${target.port}/`;
  });

  after(async () => {
    releaseHeld();
    await target.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    namespace = `cli-${randomUUID().slice(0, 8)}`;
    holding = false;
    onRequest = () => {};
  });

  afterEach(() => releaseHeld());

  it('exits 0 when the load test finishes, with plain key=value progress lines and the results table', async () => {
    const file = await write('pass', loadTestYaml('pass', namespace, `url: ${url}\nrepeat: 20`, ['errorRate < 1%']));

    const result = await runCli(['run', file, '--local']);

    assert.equal(result.code, 0, result.stderr);
    const progress = result.stdout.split('\n').filter((line) => line.startsWith('time='));
    assert.ok(progress.length >= 2, result.stdout);
    for (const line of progress) assert.match(line, PROGRESS_LINE);
    assert.ok(!result.stdout.includes('\u001b['), 'no terminal control sequences when stdout is not a terminal');
    const last = parseLogfmt(progress.at(-1)!);
    assert.equal(last.loadtest, `${namespace}/pass`);
    assert.equal(last.state, 'finished');
    assert.equal(last.requests, '40');
    assert.match(result.stdout, /^Result {6}FINISHED: 40 requests, 0 errors/m);
    assert.match(result.stdout, /^Thresholds {2}passed {2}errorRate < 1% \(actual 0\)$/m);
  });

  it('exits 1 when a threshold is breached, naming it', async () => {
    const file = await write(
      'breach',
      loadTestYaml('breach', namespace, `url: ${url}\nrepeat: 10`, ['rps > 100000000']),
    );

    const result = await runCli(['run', file, '--local']);

    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^Result {6}FAILED: .*rps/m);
    assert.match(result.stdout, /BREACHED {2}rps > 100000000/);
  });

  it('stops every local runner when an abortOnFail threshold is breached on their merged results, exiting 1', async () => {
    const slow = await startTargetServer((_request, response) => {
      setTimeout(() => response.end('ok'), 300);
    });
    try {
      const yaml = [
        'apiVersion: example.org/v1',
        'kind: LoadTest',
        'metadata:',
        '  name: abort',
        `  namespace: ${namespace}`,
        'spec:',
        '  replicas: 2',
        '  test:',
        `    url: http://127.0.0.1:${slow.port}/`,
        '    rate: 5',
        '    duration: 60s',
        '    connections: 4',
        '  thresholds:',
        '    - threshold: p99 < 100ms',
        '      abortOnFail: true',
        '      delayAbortEval: 1s',
      ].join('\n');
      const result = await runCli(['run', await write('abort', `${yaml}\n`), '--local']);

      assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /threshold "p99 < 100ms" breached [\d.]+s into the run \(p99 was [\d.]+ms\)/);
      assert.match(result.stdout, /every runner stopped \(abortOnFail\)/);
      // Stopped early: far fewer than the 2 × 5/s × 60 s the whole test would send.
      assert.ok(slow.requests.length < 300, `${slow.requests.length} requests: the runners were not stopped`);
    } finally {
      await slow.close();
    }
  });

  it('exits 1 when the load test fails, saying why', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/`;
    const file = await write('fail', loadTestYaml('fail', namespace, `url: ${closed}\nrepeat: 10`));

    const result = await runCli(['run', file, '--local']);

    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`FAILED: cannot reach ${closed}: connection refused`));
  });

  it('prints the outcome as JSON with -o json, progress going to stderr', async () => {
    const file = await write('json', loadTestYaml('json', namespace, `url: ${url}\nrepeat: 5`));

    const result = await runCli(['run', file, '--local', '-o', 'json']);

    assert.equal(result.code, 0, result.stderr);
    const outcome = JSON.parse(result.stdout) as { state: string; passed: boolean; results: { requests: number } };
    assert.equal(outcome.state, 'finished');
    assert.equal(outcome.passed, true);
    assert.equal(outcome.results.requests, 10);
  });

  it('shows a running LoadTest in status, list and watch, and its results in status once it is deleted', async () => {
    holding = true;
    const sending = new Promise<void>((resolve) => (onRequest = resolve));
    const file = await write('live', loadTestYaml('live', namespace, `url: ${url}\nrepeat: 200`));
    const run = startCli(['run', file, '--local']);
    await sending;

    const status = await runCli(['status', 'live', '-n', namespace]);
    const list = await runCli(['list', '-n', namespace]);
    const watch = startCli(['watch', 'live', '-n', namespace]);
    await watch.untilStdout(/state=executing/);
    releaseHeld();
    const [watched, ran] = await Promise.all([watch.done, run.done]);
    const after = await runCli(['status', 'live', '-n', namespace]);

    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^State {7}executing/m);
    assert.match(status.stdout, /^Runners {5}live-g1-0, live-g1-1$/m);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAMESPACE +NAME +STATE +GENERATION +SCHEDULE +LAST +AGE$/m);
    assert.match(list.stdout, new RegExp(`^${namespace} +live +executing +1 +- +- +\\d+s$`, 'm'));
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /^Result {6}FINISHED: 400 requests/m);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /^State {7}finished: 400 requests/m);
    assert.match(after.stdout, /\(completed\)$/m, 'the run deleted its LoadTest when it ended');
  });

  it('cancels a running local LoadTest: its runners stop and `run` exits 1 saying it was deleted', async () => {
    holding = true;
    const sending = new Promise<void>((resolve) => (onRequest = resolve));
    const file = await write('doomed', loadTestYaml('doomed', namespace, `url: ${url}\nrepeat: 100000`));
    const run = startCli(['run', file, '--local']);
    await sending;

    const cancelling = runCli(['cancel', 'doomed', '-n', namespace]);
    releaseHeld(); // runners stopped mid-request would otherwise wait for their request timeout
    const [cancelled, ran] = await Promise.all([cancelling, run.done]);

    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /cancelled \(sent delete\); runners deleted: doomed-g1-0, doomed-g1-1\./);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /^error: the LoadTest was deleted before its run settled/m);
  });

  it('starts an embedded Temporal dev server when TEMPORAL_ADDRESS is unset, and stops it on exit', async () => {
    const file = await write('embedded', loadTestYaml('embedded', namespace, `url: ${url}\nrepeat: 5`));

    const result = await runCli(['run', file, '--local'], { TEMPORAL_ADDRESS: undefined, TEMPORAL_UI_URL: undefined });

    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Starting an embedded Temporal dev server/m);
    const link = /^Web UI {4}(http:\/\/127\.0\.0\.1:(\d+)\/namespaces\/default\/workflows\/\S+)$/m.exec(result.stdout);
    assert.ok(link, result.stdout);
    assert.equal(await accepts(Number(link[2])), false, 'the Web UI is gone with the command');
  });
});

/** Whether a TCP connection to 127.0.0.1:port opens. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
