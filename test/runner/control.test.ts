/**
 * The runner's control endpoint (control-api.ts, src/runner/control-server.ts) against a real local HTTP target:
 * refused without the token, a synchronised start, cumulative progress, stop, rate and duration changes mid-run,
 * the 409s, on one thread and on several. Runners run in-process through the CLI (runRunnerCommand), and once as
 * a process to show that the endpoint does not keep it alive.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRunnerCommand } from '../../src/runner/cli.js';
import { runnerArgs, START_AT_ANNOTATION, type RunnerSummary } from '../../src/runner/contract.js';
import {
  CONTROL_PATHS,
  CONTROL_TOKEN_ENV,
  type ConfigResponse,
  type ControlError,
  type RunnerSnapshot,
} from '../../src/runner/control-api.js';
import { MAX_BODY_BYTES } from '../../src/runner/control-server.js';
import { decodeHistogram } from '../../src/runner/histogram.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import { withCountingServer } from './local-server.js';

const TOKEN = 'a-control-token-for-tests';
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

interface Answer<T> {
  status: number;
  body: T;
}

/** One request to a runner's control endpoint (a fresh connection each: nothing left open). */
function call<T = unknown>(
  port: number,
  method: string,
  path: string,
  options: { token?: string | null; body?: string } = {},
): Promise<Answer<T>> {
  const token = options.token === undefined ? TOKEN : options.token;
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, body: (text === '' ? undefined : JSON.parse(text)) as T });
        });
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

const progress = (port: number) => call<RunnerSnapshot>(port, 'GET', CONTROL_PATHS.progress).then((a) => a.body);
const change = (port: number, body: object) =>
  call<ConfigResponse | ControlError>(port, 'PATCH', CONTROL_PATHS.config, { body: JSON.stringify(body) });
const startAt = (port: number, atMs: number) =>
  call<{ startAtMs: number } | ControlError>(port, 'POST', CONTROL_PATHS.start, { body: JSON.stringify({ atMs }) });

/** Polls /v1/progress until `done` holds (at most `limitMs`), and returns that snapshot. */
async function pollUntil(
  port: number,
  done: (snapshot: RunnerSnapshot) => boolean,
  what: string,
  limitMs = 20_000,
): Promise<RunnerSnapshot> {
  const deadline = Date.now() + limitMs;
  let last: RunnerSnapshot | undefined;
  while (Date.now() < deadline) {
    try {
      last = await progress(port);
    } catch (error) {
      assert.fail(`the runner was gone before ${what} (${(error as Error).message}); last: ${JSON.stringify(last)}`);
    }
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`no ${what} within ${limitMs} ms; last snapshot: ${JSON.stringify(last)}`);
}

interface ControlledRunner {
  port: number;
  /** The exit code, once the runner has ended. */
  exit: Promise<number>;
  /** The runner's final summary (stdout of --output json), once it has ended. */
  summary(): Promise<RunnerSummary>;
  stderr(): string;
  ended(): boolean;
}

/** Runners a test started, stopped after it when a failed assertion left them running. */
const started: ControlledRunner[] = [];
const children: ChildProcess[] = [];

/** Runs `runner <args> --control-port 0 --output json` in-process and waits for its control port. */
async function controlledRunner(args: string[]): Promise<ControlledRunner> {
  let stdout = '';
  let stderr = '';
  let portFound: (port: number) => void;
  const portKnown = new Promise<number>((resolve) => (portFound = resolve));
  const exit = runRunnerCommand([...args, '--control-port', '0', '--output', 'json'], {
    stdout: (text) => (stdout += text),
    stderr: (text) => {
      stderr += text;
      const match = /\{"control":\{"port":(\d+)\}\}/.exec(text);
      if (match !== null) portFound(Number(match[1]));
    },
    env: { [CONTROL_TOKEN_ENV]: TOKEN },
  });
  const port = await Promise.race([
    portKnown,
    exit.then((code) => assert.fail(`runner exited with ${code} before listening: ${stderr}`)),
  ]);
  let ended = false;
  void exit.finally(() => (ended = true));
  const runner: ControlledRunner = {
    port,
    exit,
    ended: () => ended,
    summary: async () => {
      await exit;
      return (JSON.parse(stdout) as { summary: RunnerSummary }).summary;
    },
    stderr: () => stderr,
  };
  started.push(runner);
  return runner;
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

describe('runner control endpoint', () => {
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
    for (const runner of started.splice(0)) {
      if (runner.ended()) continue;
      await call(runner.port, 'POST', CONTROL_PATHS.stop).catch(() => undefined);
      await runner.exit;
    }
  });

  it('refuses requests without the token or with a wrong one (401), and bad requests with 404, 405, 400 and 413', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const runner = await controlledRunner(['--url', `${target.origin}/`, '--requests', '5']);
      const { port } = runner;
      for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const answer = await call<ControlError>(port, 'GET', CONTROL_PATHS.progress, { token });
        assert.equal(answer.status, 401, `token ${token}`);
        assert.match(answer.body.error, /bearer token/);
      }
      const stopWithoutToken = await call<ControlError>(port, 'POST', CONTROL_PATHS.stop, { token: 'wrong' });
      assert.equal(stopWithoutToken.status, 401);
      assert.equal((await call(port, 'GET', '/v1/nothing')).status, 404);
      assert.equal((await call(port, 'GET', CONTROL_PATHS.start)).status, 405);
      assert.equal((await call(port, 'POST', CONTROL_PATHS.progress)).status, 405);
      for (const body of ['{not json', '[1]', '{"atMs":"soon"}', '{"atMs":-1}', '{"at":1}']) {
        const answer = await call<ControlError>(port, 'POST', CONTROL_PATHS.start, { body });
        assert.equal(answer.status, 400, body);
        assert.ok(answer.body.error.length > 0);
      }
      for (const body of ['{"rate":0}', '{"rate":-5}', '{"durationMs":"1s"}', '{}', '{"rate":1e400}']) {
        assert.equal((await call(port, 'PATCH', CONTROL_PATHS.config, { body })).status, 400, body);
      }
      const big = JSON.stringify({ atMs: 1, pad: 'x'.repeat(MAX_BODY_BYTES) });
      assert.equal((await call(port, 'POST', CONTROL_PATHS.start, { body: big })).status, 413);
      // Still waiting for its start, untouched by all of that.
      const waiting = await progress(port);
      assert.equal(waiting.state, 'waiting');
      assert.equal(waiting.summary, undefined);
      // Stopped while waiting: it exits without sending, with a zero summary and its normal exit code.
      const stopped = await call<RunnerSnapshot>(port, 'POST', CONTROL_PATHS.stop);
      assert.equal(stopped.status, 200);
      assert.equal(stopped.body.state, 'stopping');
      assert.equal(await runner.exit, 0);
      assert.equal((await runner.summary()).sent, 0);
      assert.equal(target.total(), 0);
    });
  });

  it('starts at the instant POST /v1/start names (the same instant again is fine, another is a 409)', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      // Long enough (2 s) that the runner is still there to be asked once it has started.
      const runner = await controlledRunner([
        '--url',
        `${target.origin}/`,
        '--rate',
        '50',
        '--duration',
        '2s',
        '--connections',
        '2',
        '--threads',
        '2',
      ]);
      const atMs = Date.now() + 700;
      assert.deepEqual(await startAt(runner.port, atMs), { status: 200, body: { startAtMs: atMs } });
      assert.deepEqual(await startAt(runner.port, atMs), { status: 200, body: { startAtMs: atMs } });
      const other = await startAt(runner.port, atMs + 1);
      assert.equal(other.status, 409);
      assert.match((other.body as ControlError).error, /already starts at/);
      const snapshot = await pollUntil(runner.port, (s) => s.startedAtMs !== undefined, 'start');
      assert.equal(snapshot.state, 'sending');
      assert.equal(snapshot.startAtMs, atMs);
      assert.ok(snapshot.startedAtMs! >= atMs, `started ${atMs - snapshot.startedAtMs!} ms before the instant`);
      assert.ok(snapshot.startedAtMs! < atMs + 5000, `started ${snapshot.startedAtMs! - atMs} ms after the instant`);
      assert.equal(await runner.exit, 0);
      assert.equal((await runner.summary()).sent, 100);
      assert.equal(target.total(), 100);
    });
  });

  it('starts on POST /v1/start while waiting for --start-at-file, and the file still starts a runner alone', async function () {
    this.timeout(30_000);
    const directory = await mkdtemp(join(tmpdir(), 'runner-control-'));
    try {
      await withCountingServer(async (target) => {
        const file = join(directory, 'annotations');
        await writeFile(file, 'other="x"\n');
        const posted = await controlledRunner([
          '--url',
          `${target.origin}/`,
          '--requests',
          '10',
          '--start-at-file',
          file,
          '--threads',
          '1',
        ]);
        assert.equal((await progress(posted.port)).state, 'waiting');
        await startAt(posted.port, Date.now());
        assert.equal(await posted.exit, 0);
        assert.equal(target.total(), 10);

        const fromFile = await controlledRunner([
          '--url',
          `${target.origin}/`,
          '--requests',
          '10',
          '--start-at-file',
          file,
          '--threads',
          '1',
        ]);
        const atMs = Date.now();
        await writeFile(file, `other="x"\n${START_AT_ANNOTATION}="${atMs}"\n`);
        assert.equal(await fromFile.exit, 0);
        assert.equal(target.total(), 20);
        assert.ok((await fromFile.summary()).start >= atMs);
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('reports cumulative progress that rises while sending, mergeable at full precision, up to the final counts', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const runner = await controlledRunner([
        '--url',
        `${target.origin}/`,
        '--rate',
        '100',
        '--duration',
        '2s',
        '--connections',
        '2',
        '--threads',
        '1',
      ]);
      await startAt(runner.port, Date.now());
      const first = await pollUntil(runner.port, (s) => (s.summary?.completed ?? 0) > 0, 'completed request');
      assert.equal(first.state, 'sending');
      assert.deepEqual(first.config, { rate: 100, durationMs: 2000 });
      const later = await pollUntil(
        runner.port,
        (s) => (s.summary?.completed ?? 0) > first.summary!.completed,
        'more completed requests',
      );
      const summary = later.summary!;
      assert.equal(decodeHistogram(summary.latency).totalCount, summary.completed);
      assert.equal(mergeSummaries([summary]).completed, summary.completed);
      assert.equal(await runner.exit, 0);
      const final = await runner.summary();
      assert.equal(final.sent, 200);
      assert.equal(target.total(), 200);
      assert.ok(final.sent >= later.summary!.sent);
    });
  });

  it('with threads: a snapshot merges every thread, and a stop ends all of them with the summary the target saw', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const runner = await controlledRunner([
        '--url',
        `${target.origin}/`,
        '--duration',
        '60s',
        '--connections',
        '4',
        '--threads',
        '2',
      ]);
      await startAt(runner.port, Date.now());
      await pollUntil(runner.port, (s) => (s.summary?.completed ?? 0) >= 200, '200 completed');
      // Every request the target had received before this snapshot was asked for is in it, answered or in
      // flight (at most one per connection): the snapshot holds every thread's share, not one thread's.
      const receivedBefore = target.total();
      const snapshot = await progress(runner.port);
      const summary = snapshot.summary!;
      assert.ok(summary.completed >= receivedBefore - 4, `${summary.completed} of ${receivedBefore} received`);
      assert.equal(decodeHistogram(summary.latency).totalCount, summary.completed);
      assert.ok(summary.sent >= summary.completed);
      assert.ok(target.total() >= summary.completed);
      const stopped = await call<RunnerSnapshot>(runner.port, 'POST', CONTROL_PATHS.stop);
      assert.equal(stopped.status, 200);
      assert.equal(stopped.body.state, 'stopping');
      assert.equal(await runner.exit, 0, 'stopping is not a failure');
      const final = await runner.summary();
      assert.equal(final.sent, target.total());
      assert.equal(final.completed, target.total());
      assert.ok(final.end - final.start < 60_000, 'stopped long before its duration');
    });
  });

  it('raises the rate mid-run on every thread: 20/s then 200/s sends more in the second half than in the first', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const runner = await controlledRunner([
        '--url',
        `${target.origin}/`,
        '--rate',
        '20',
        '--duration',
        '4s',
        '--connections',
        '4',
        '--threads',
        '2',
      ]);
      await startAt(runner.port, Date.now());
      // Half of the run's 80 requests at 20/s: the middle of the run.
      await pollUntil(runner.port, (s) => (s.summary?.sent ?? 0) >= 40, 'half of the requests');
      const changed = await change(runner.port, { rate: 200 });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.deepEqual(changed.body, { config: { rate: 200, durationMs: 4000 } });
      assert.equal((await progress(runner.port)).config.rate, 200);
      assert.equal(await runner.exit, 0);
      const final = await runner.summary();
      const perSecond = final.sentPerSecond ?? [];
      const firstHalf = sum(perSecond.slice(0, 2));
      const secondHalf = sum(perSecond.slice(2));
      assert.ok(secondHalf > firstHalf, `per second: ${perSecond.join(', ')}`);
      assert.ok(target.total() > 80, `${target.total()} requests: no more than 20/s for 4 s allows`);
      assert.equal(final.sent, target.total());
    });
  });

  it('extends the duration mid-run: 1 s at 50/s extended to 3 s sends the 150 requests of 3 s', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const runner = await controlledRunner([
        '--url',
        `${target.origin}/`,
        '--rate',
        '50',
        '--duration',
        '1s',
        '--connections',
        '2',
        '--threads',
        '1',
      ]);
      await startAt(runner.port, Date.now());
      await pollUntil(runner.port, (s) => s.state === 'sending', 'sending');
      const changed = await change(runner.port, { durationMs: 3000 });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.deepEqual(changed.body, { config: { rate: 50, durationMs: 3000 } });
      assert.equal(await runner.exit, 0);
      assert.equal((await runner.summary()).sent, 150);
      assert.equal(target.total(), 150);
    });
  });

  it('extends a closed-model run: 1 s extended to 3 s is still sending in its third second', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const runner = await controlledRunner(['--url', `${target.origin}/`, '--duration', '1s', '--threads', '1']);
      await startAt(runner.port, Date.now());
      await pollUntil(runner.port, (s) => s.state === 'sending', 'sending');
      assert.equal((await change(runner.port, { durationMs: 3000 })).status, 200);
      assert.equal(await runner.exit, 0);
      const final = await runner.summary();
      assert.ok((final.sentPerSecond ?? []).length >= 3, `per second: ${final.sentPerSecond?.join(', ')}`);
      assert.equal(final.sent, target.total());
    });
  });

  it('answers 409 for a change the running test cannot take', async function () {
    this.timeout(30_000);
    await withCountingServer(async (target) => {
      const conflict = async (port: number, body: object, pattern: RegExp): Promise<void> => {
        const answer = await change(port, body);
        assert.equal(answer.status, 409, JSON.stringify(body));
        assert.match((answer.body as ControlError).error, pattern);
      };
      const counted = await controlledRunner(['--url', `${target.origin}/`, '--requests', '5']);
      await conflict(counted.port, { rate: 10 }, /closed-model/);
      await conflict(counted.port, { durationMs: 5000 }, /number of requests/);
      await call(counted.port, 'POST', CONTROL_PATHS.stop);
      assert.equal(await counted.exit, 0);

      const staged = await controlledRunner(['--url', `${target.origin}/`, '--stage', '1s:10']);
      await conflict(staged.port, { rate: 10 }, /stages/);
      await conflict(staged.port, { durationMs: 5000 }, /stages/);
      await call(staged.port, 'POST', CONTROL_PATHS.stop);
      assert.equal(await staged.exit, 0);

      const running = await controlledRunner(['--url', `${target.origin}/`, '--rate', '50', '--duration', '20s']);
      await startAt(running.port, Date.now());
      await pollUntil(running.port, (s) => (s.summary?.completed ?? 0) > 0, 'completed request');
      await conflict(running.port, { durationMs: 1 }, /not beyond the \d+ ms already run/);
      await call(running.port, 'POST', CONTROL_PATHS.stop);
      assert.equal(await running.exit, 0);
    });
  });

  it('as a process: stopped mid-run it writes the summary the target saw, exits 0, and nothing keeps it alive', async function () {
    this.timeout(30_000);
    const directory = await mkdtemp(join(tmpdir(), 'runner-control-'));
    try {
      await withCountingServer(async (target) => {
        const summaryFile = join(directory, 'summary.json');
        const args = runnerArgs(
          { url: `${target.origin}/`, method: 'GET', durationMs: 60_000, controlPort: 0, threads: 2, connections: 2 },
          { summaryFile },
        );
        const child = spawn(process.execPath, [CLI, ...args], {
          env: { ...process.env, [CONTROL_TOKEN_ENV]: TOKEN },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        const exited = once(child, 'exit') as Promise<[number | null]>;
        children.push(child);
        let stderr = '';
        const port = await new Promise<number>((resolve, reject) => {
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            const match = /\{"control":\{"port":(\d+)\}\}/.exec(stderr);
            if (match !== null) resolve(Number(match[1]));
          });
          void exited.then(() => reject(new Error(`runner exited before listening: ${stderr}`)));
        });
        await startAt(port, Date.now());
        await pollUntil(port, (s) => (s.summary?.completed ?? 0) > 50, 'completed requests');
        assert.equal((await call(port, 'POST', CONTROL_PATHS.stop)).status, 200);
        const [code] = await exited;
        assert.equal(code, 0, stderr);
        const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as RunnerSummary;
        assert.equal(summary.sent, target.total());
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('needs the token in the environment with --control-port: a usage error (exit 2) without it', async () => {
    let stderr = '';
    const code = await runRunnerCommand(['--url', 'http://127.0.0.1:9/', '--control-port', '0'], {
      stdout: () => undefined,
      stderr: (text) => (stderr += text),
      env: {},
    });
    assert.equal(code, 2);
    assert.match(stderr, new RegExp(`^error: --control-port needs .*${CONTROL_TOKEN_ENV}\\n$`));
  });

  it('passes --control-port in the runner args', () => {
    const args = runnerArgs({ url: 'http://x/', method: 'GET', controlPort: 6565 });
    assert.deepEqual(args.slice(args.indexOf('--control-port'), args.indexOf('--control-port') + 2), [
      '--control-port',
      '6565',
    ]);
  });
});
