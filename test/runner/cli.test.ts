import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerRunnerCommand, runRunnerCommand } from '../../src/runner/cli.js';
import {
  runnerArgs,
  TERMINATION_MESSAGE_LIMIT,
  type RunnerProgress,
  type RunnerSummary,
} from '../../src/runner/contract.js';
import { closedPort } from '../support/raw-server.js';
import { requireTool } from '../support/tools.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

describe('runner command', () => {
  let server: http.Server;
  let url: string;
  let directory: string;

  before(async () => {
    server = http.createServer((_, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    directory = await mkdtemp(join(tmpdir(), 'runner-cli-'));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(directory, { recursive: true, force: true });
  });

  for (const [problem, args] of [
    ['an unknown flag', ['--url', 'http://x/', '--bogus']],
    ['a missing --url', ['--requests', '3']],
    ['a non-integer --connections', ['--url', 'http://x/', '--connections', 'many']],
    ['a duration without unit', ['--url', 'http://x/', '--duration', '10']],
    ['both --requests and --duration', ['--url', 'http://x/', '--requests', '3', '--duration', '1s']],
    ['a URL that is not http', ['--url', 'ftp://x/']],
    ['an unknown method', ['--url', 'http://x/', '--method', 'BREW']],
    ['a summary file in a missing directory', ['--url', 'http://x/', '--summary-file', '/no/such/dir/summary']],
  ] as const) {
    it(`exits with 2 and one line on stderr for ${problem}`, async () => {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const code = await runRunnerCommand(args, {
        stdout: (text) => stdout.push(text),
        stderr: (text) => stderr.push(text),
      });
      assert.equal(code, 2);
      assert.deepEqual(stdout, []);
      assert.equal(stderr.join('').trim().split('\n').length, 1, stderr.join(''));
      assert.match(stderr.join(''), /^error: /);
    });
  }

  it('exits the process with 2 and one line, no stack trace, on a usage error', async () => {
    for (const args of [
      ['--url', 'http://x/', '--bogus'],
      ['--url', 'ftp://x/'],
    ]) {
      const { code, stdout, stderr } = await runCli(['runner', ...args]);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, /^error: [^\n]+\n$/);
    }
  });

  it('prints help naming every flag of the contract', async () => {
    const { code, stdout } = await runCli(['runner', '--help']);
    assert.equal(code, 0);
    for (const flag of runnerArgs(
      {
        url: 'u',
        method: 'GET',
        headers: { a: 'b' },
        body: 'x',
        requests: 1,
        durationMs: 1,
        connections: 1,
        rate: 1,
        timeoutMs: 1,
        expectStatus: ['200'],
        pipelining: 2,
        startAtMs: 1,
        startAtFile: 'f',
        tolerateFailedRequests: true,
      },
      { summaryFile: 's' },
    ).filter((arg) => arg.startsWith('--'))) {
      assert.ok(stdout.includes(flag), flag);
    }
  });

  it('writes its summary into a writable file in a directory its user cannot write, as a kubelet mounts /dev/termination-log', async () => {
    // Root may write anywhere: run as uid 1000, as the image does.
    const dir = await mkdtemp(join(tmpdir(), 'runner-termination-'));
    const log = join(dir, 'termination-log');
    await writeFile(log, '', { mode: 0o666 });
    await chmod(log, 0o666);
    await chmod(dir, 0o555);
    try {
      const port = await closedPort();
      const args = ['--url', `http://127.0.0.1:${port}/`, '--requests', '1', '--summary-file', log];
      const setpriv = requireTool('setpriv');
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          setpriv,
          ['--reuid=1000', '--regid=1000', '--clear-groups', process.execPath, CLI, 'runner', ...args],
          (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stderr }),
        );
      });
      assert.equal(result.code, 1, result.stderr);
      const summary = JSON.parse(await readFile(log, 'utf8')) as { sent: number; errors: Record<string, number> };
      assert.deepEqual([summary.sent, summary.errors], [1, { refused: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints JSON results, writes the summary file and exits with 0 when all requests succeed', async () => {
    const summaryFile = join(directory, 'summary.json');
    const { code, stdout } = await runCli([
      'runner',
      ...['--url', url, '--requests', '20', '--connections', '2', '--output', 'json', '--summary-file', summaryFile],
    ]);
    assert.equal(code, 0);
    const printed = JSON.parse(stdout) as { results: { completed: number }; summary: RunnerSummary };
    assert.equal(printed.results.completed, 20);
    const written = await readFile(summaryFile, 'utf8');
    assert.ok(Buffer.byteLength(written) <= TERMINATION_MESSAGE_LIMIT);
    const summary = JSON.parse(written) as RunnerSummary;
    assert.equal(summary.v, 1);
    assert.equal(summary.sent, 20);
    assert.deepEqual(summary.status, { '200': 20 });
  });

  it('prints a table by default and exits with 1 when requests fail', async () => {
    const { code, stdout } = await runCli(['runner', '--url', `http://127.0.0.1:${await closedPort()}/`]);
    assert.equal(code, 1);
    assert.match(stdout, /^Target\s+GET http:\/\/127\.0\.0\.1/m);
    assert.match(stdout, /^Errors\s+refused × 1$/m);
  });

  it('exits with 0 when requests fail but --tolerate-failed-requests leaves them to an errorRate threshold', async () => {
    const summaryFile = join(directory, 'tolerated.json');
    const target = `http://127.0.0.1:${await closedPort()}/`;
    const { code } = await runCli([
      'runner',
      '--url',
      target,
      '--tolerate-failed-requests',
      '--summary-file',
      summaryFile,
    ]);
    assert.equal(code, 0);
    const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as RunnerSummary;
    assert.deepEqual([summary.sent, summary.failed, summary.errors], [1, 1, { refused: 1 }]);
  });

  it('accepts exactly the flags runnerArgs() produces for the operator', async () => {
    const summaryFile = join(directory, 'from-operator.json');
    const args = runnerArgs(
      {
        url,
        method: 'POST',
        headers: { 'X-Run': 'abc' },
        body: '{}',
        requests: 30,
        connections: 3,
        timeoutMs: 5000,
        expectStatus: ['2xx'],
        pipelining: 2,
        startAtMs: Date.now(),
      },
      { summaryFile },
    );
    assert.equal(args[0], 'runner');
    const output: string[] = [];
    const code = await runRunnerCommand(args.slice(1), {
      stdout: (text) => output.push(text),
      stderr: () => undefined,
    });
    assert.equal(code, 0);
    const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as RunnerSummary;
    assert.equal(summary.completed, 30);
    assert.equal(summary.pipelining, 2);
  });

  it('prints progress snapshots as JSON lines on stderr while sending, at most one per interval', async () => {
    const intervalMs = 50;
    // Ends the run once it has reported real progress; a runner that never does ends after 30 s and fails below.
    const abort = new AbortController();
    const streams: Array<'stdout' | 'stderr'> = [];
    const snapshots: RunnerProgress[] = [];
    let stdout = '';
    const startedAt = Date.now();
    const code = await runRunnerCommand(
      ['--url', url, '--duration', '30s', '--progress-interval', String(intervalMs), '--output', 'json'],
      {
        stdout: (text) => {
          streams.push('stdout');
          stdout += text;
        },
        stderr: (text) => {
          streams.push('stderr');
          const { progress } = JSON.parse(text) as { progress: RunnerProgress };
          snapshots.push(progress);
          if (snapshots.length >= 3 && progress.completed > 0) abort.abort();
        },
        signal: abort.signal,
      },
    );
    const endedAt = Date.now();
    assert.equal(code, 0);
    assert.ok(abort.signal.aborted, `the run ended by itself after ${snapshots.length} snapshots`);
    // While sending: every snapshot comes before the results on stdout.
    assert.equal(streams.lastIndexOf('stderr'), snapshots.length - 1);
    assert.deepEqual(streams.slice(snapshots.length), ['stdout']);
    // At most one per interval: the n-th comes n intervals after the reporter started, inside the run.
    const elapsedMs = endedAt - startedAt;
    assert.ok(snapshots.length <= elapsedMs / intervalMs + 1, `${snapshots.length} snapshots in ${elapsedMs} ms`);
    let previous = { at: startedAt, sent: 0, completed: 0 };
    for (const snapshot of snapshots) {
      assert.ok(snapshot.at >= previous.at && snapshot.at <= endedAt, `snapshot at ${snapshot.at} is in order`);
      assert.ok(snapshot.sent >= previous.sent && snapshot.completed >= previous.completed, 'counts only grow');
      assert.ok(snapshot.sent >= snapshot.completed, `sent ${snapshot.sent}, completed ${snapshot.completed}`);
      assert.equal(snapshot.failed, 0);
      // rps counts the completions since the previous snapshot.
      assert.equal(snapshot.rps > 0, snapshot.completed > previous.completed, `rps ${snapshot.rps}`);
      previous = snapshot;
    }
    const last = snapshots.at(-1)!;
    assert.ok(last.p99Ms > 0, 'p99 of the requests completed so far');
    const { results } = JSON.parse(stdout) as { results: { completed: number } };
    assert.ok(results.completed >= last.completed, 'the results include every request the snapshots counted');
  });

  it('ends early on SIGTERM (pod deletion) and still writes the summary', async () => {
    const summaryFile = join(directory, 'terminated.json');
    const child = spawn(process.execPath, [
      CLI,
      'runner',
      ...['--url', url, '--duration', '10m', '--progress-interval', '50', '--summary-file', summaryFile],
    ]);
    child.stdout.resume();
    // The first progress line shows that requests are being sent.
    child.stderr.once('data', () => child.kill('SIGTERM'));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as RunnerSummary;
    assert.ok(summary.completed > 0);
    assert.ok(summary.end - summary.start < 10 * 60_000, 'it ended before its 10 minutes were up');
  });

  it('registers itself on a program as the runner subcommand', () => {
    const program = new Command('loadtest-operator');
    registerRunnerCommand(program);
    assert.deepEqual(
      program.commands.map((command) => command.name()),
      ['runner'],
    );
  });
});
