/**
 * The threaded runner: every request accounted for once the threads' summaries are merged (counts, statuses,
 * histogram counts, per-second send counts), in both load models, and the thread count taken from the CPUs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableCpus, cpusFromCpuMax } from '../../src/runner/cpus.js';
import { decodeHistogram } from '../../src/runner/histogram.js';
import { planRun } from '../../src/runner/plan.js';
import { runRunner } from '../../src/runner/run.js';
import { withCountingServer } from './local-server.js';

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

describe('threaded runner', () => {
  it('sends exactly the requests asked for from 3 threads, and the merged summary accounts for each one', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const { summary, plan } = await runRunner({
        url: `${server.origin}/`,
        method: 'GET',
        requests: 1001,
        connections: 7,
        threads: 3,
        log: () => undefined,
      });
      assert.equal(plan.threads, 3);
      assert.equal(server.total(), 1001);
      assert.equal(summary.sent, 1001);
      assert.equal(summary.completed, 1001);
      assert.equal(sum(Object.values(summary.status)), 1001);
      assert.equal(summary.failed, 0);
      assert.equal(decodeHistogram(summary.latency).totalCount, 1001);
      assert.equal(sum(summary.sentPerSecond ?? []), 1001);
    });
  });

  it('splits an open-model rate between threads without changing it: 400 req/s for 1.5 s is 600 requests', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const { summary } = await runRunner({
        url: `${server.origin}/`,
        method: 'GET',
        rate: 400,
        durationMs: 1500,
        connections: 8,
        threads: 2,
        log: () => undefined,
      });
      assert.equal(server.total(), 600);
      assert.equal(summary.sent + summary.dropped, 600);
      assert.equal(decodeHistogram(summary.service!).totalCount, summary.completed);
      // Two threads, one schedule: 400 in the first second, 200 in the next half.
      const sent = summary.sentPerSecond ?? [];
      assert.ok(Math.abs(sent[0]! - 400) <= 40, `per second: ${sent.join(', ')}`);
    });
  });

  it('stops every thread when aborted, and still returns their merged summary', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const abort = new AbortController();
      const running = runRunner({
        url: `${server.origin}/`,
        method: 'GET',
        durationMs: 60_000,
        connections: 4,
        threads: 2,
        signal: abort.signal,
        log: () => undefined,
        onProgress: (progress) => {
          if (progress.completed > 0) abort.abort();
        },
        progressIntervalMs: 50,
      });
      const { summary } = await running;
      assert.ok(summary.completed > 0);
      assert.equal(summary.completed, server.total());
    });
  });

  it('starts every thread no earlier than --start-at, the threads having been set up while it waited', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const startAtMs = Date.now() + 1500;
      const { summary } = await runRunner({
        url: `${server.origin}/`,
        method: 'GET',
        requests: 100,
        connections: 4,
        threads: 2,
        startAtMs,
        log: () => undefined,
      });
      assert.equal(server.total(), 100);
      assert.ok(summary.start >= startAtMs, `first send at ${summary.start}, ${startAtMs - summary.start} ms early`);
    });
  });

  it('takes its thread count from the CPUs it may use, at most one per connection, overridable', () => {
    assert.equal(planRun({ url: 'http://127.0.0.1/', method: 'GET', connections: 64 }).threads, availableCpus());
    assert.equal(planRun({ url: 'http://127.0.0.1/', method: 'GET', connections: 1 }).threads, 1);
    assert.equal(planRun({ url: 'http://127.0.0.1/', method: 'GET', connections: 64, threads: 5 }).threads, 5);
    assert.throws(() => planRun({ url: 'http://127.0.0.1/', method: 'GET', threads: 0 }), /threads must be an integer/);
  });

  it('reads a cgroup v2 CPU quota: 1.5 CPUs are 2 threads, "max" is no limit', () => {
    assert.equal(cpusFromCpuMax('150000 100000\n'), 2);
    assert.equal(cpusFromCpuMax('100000 100000'), 1);
    assert.equal(cpusFromCpuMax('10000 100000'), 1);
    assert.equal(cpusFromCpuMax('max 100000'), undefined);
    const dir = mkdtempSync(join(tmpdir(), 'cpu-max-'));
    writeFileSync(join(dir, 'cpu.max'), '100000 100000\n');
    assert.equal(availableCpus(join(dir, 'cpu.max')), 1);
    assert.equal(availableCpus(join(dir, 'missing')), availableParallelism());
  });
});
