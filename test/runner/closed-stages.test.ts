/**
 * Closed-model stages (`test.model: closed`, k6's ramping-vus): the stage target is the number of connections,
 * ramped linearly. The server's own record of its open connections is compared with the ramp, and every request
 * of a connection taken out of use must still be answered and counted.
 */
import assert from 'node:assert/strict';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { runRunnerCommand } from '../../src/runner/cli.js';
import { RUNNER_EXIT, runnerArgs, runnerOptionsFromTest } from '../../src/runner/contract.js';
import { UsageError, type RunOptions } from '../../src/runner/plan.js';
import { runRunner } from '../../src/runner/run.js';
import { connectionsAt, splitEvenly, type Stage } from '../../src/runner/schedule.js';
import { withConnectionServer } from './connection-server.js';

const STAGES: Stage[] = [
  { durationMs: 2000, target: 8 },
  { durationMs: 1000, target: 8 },
  { durationMs: 2000, target: 0 },
];

/**
 * How far behind the ramp the server may see a connection open or close: the runner reads the ramp every 10 ms,
 * a connection taken out of use first waits for its request in flight (the server answers after 20 ms), and on
 * this shared 2-core machine the runner's and the server's event loops may each lag by tens of ms.
 */
const LAG_MS = 250;

/** The fewest and the most connections the ramp had over [ms − LAG_MS, ms]. */
function rampRange(stages: readonly Stage[], ms: number): [number, number] {
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  for (let at = Math.max(0, ms - LAG_MS); at <= ms; at++) {
    const connections = connectionsAt(stages, at);
    low = Math.min(low, connections);
    high = Math.max(high, connections);
  }
  return [low, high];
}

describe('closed-model stages (ramping connections)', () => {
  it('ramps connections linearly from 0, rounding down, and splits them between threads without changing the sum', () => {
    assert.deepEqual(
      [0, 249, 250, 1000, 1999, 2000, 2500, 3000, 3125, 3250, 4999, 5000, 6000].map((ms) => connectionsAt(STAGES, ms)),
      [0, 0, 1, 4, 7, 8, 8, 8, 7, 7, 0, 0, 0],
    );
    for (let ms = 0; ms <= 5000; ms += 50) {
      const total = connectionsAt(STAGES, ms);
      for (const threads of [1, 2, 3]) {
        const parts = Array.from({ length: threads }, (_, index) => splitEvenly(total, index, threads));
        assert.equal(
          parts.reduce((sum, part) => sum + part, 0),
          total,
        );
      }
    }
  });

  it('opens and closes connections as the ramp says, as the server sees them, and counts every request (2 threads)', async function () {
    this.timeout(30_000);
    await withConnectionServer(async (server) => {
      const { summary, plan } = await runRunner({
        url: `${server.origin}/`,
        method: 'GET',
        stages: STAGES,
        model: 'closed',
        threads: 2,
        log: () => undefined,
      });
      assert.equal(plan.model, 'closed');
      assert.equal(plan.connections, 8);
      // Each connection is put into use once and taken out once: 8 connections, never reopened.
      assert.equal(server.connections.length, 8, `connections opened: ${server.connections.length}`);
      const samples: string[] = [];
      let misses = 0;
      for (let ms = 50; ms < 5000; ms += 100) {
        const open = server.openAt(summary.start + ms);
        const [low, high] = rampRange(STAGES, ms);
        samples.push(`${ms}:${open}`);
        if (open < low || open > high) misses++;
      }
      assert.equal(misses, 0, `open connections (ms after the start: count) off the ramp: ${samples.join(' ')}`);
      // Connections taken out of use finished their requests in flight: all answered, all counted.
      assert.ok(summary.sent > 100, `sent ${summary.sent}`);
      assert.equal(summary.completed, summary.sent);
      assert.equal(summary.failed, 0);
      assert.deepEqual(summary.errors, {});
      assert.equal(server.answered(), summary.completed);
    }, 20);
  });

  it('runs what spec.test says: test.model closed passes through runnerArgs (--model closed) to the runner', async function () {
    this.timeout(30_000);
    await withConnectionServer(async (server) => {
      const { spec, problems } = validateLoadTestSpec({
        replicas: 1,
        test: {
          url: `${server.origin}/`,
          model: 'closed',
          stages: [
            { duration: '200ms', target: 3 },
            { duration: '300ms', target: 3 },
          ],
        },
      });
      assert.deepEqual(problems, []);
      const args = runnerArgs({ ...runnerOptionsFromTest(spec!.test, 'default'), threads: 1 }).slice(1);
      assert.ok(args.join(' ').includes('--model closed'), args.join(' '));
      let stdout = '';
      const exitCode = await runRunnerCommand(args, { stdout: (text) => (stdout += text), stderr: () => undefined });
      assert.equal(exitCode, RUNNER_EXIT.ok);
      assert.match(stdout, /closed model, stages 0\.2 s→3, 0\.3 s→3 connections, at most 3 connections/);
      // Read as arrival rates, 0→3→3 requests per second would send 2 requests over 1 connection.
      assert.equal(server.connections.length, 3);
    });
  });

  const refused: Array<[string, Partial<RunOptions>, RegExp]> = [
    ['a model without stages', { model: 'closed', durationMs: 1000 }, /set it only with stages/],
    [
      'closed-model stages with connections',
      { model: 'closed', stages: [{ durationMs: 1000, target: 2 }], connections: 4 },
      /closed-model stages set the number of connections: leave out connections/,
    ],
    [
      'a closed-model target of 2.5 connections',
      { model: 'closed', stages: [{ durationMs: 1000, target: 2.5 }] },
      /stage 1: in the closed model a target is a whole number of connections/,
    ],
    [
      'a negative closed-model target',
      { model: 'closed', stages: [{ durationMs: 1000, target: -1 }] },
      /stage 1: in the closed model a target is a whole number of connections from 0/,
    ],
    [
      'a zero-duration closed-model stage',
      { model: 'closed', stages: [{ durationMs: 0, target: 1 }] },
      /stage 1: duration must be greater than 0/,
    ],
  ];
  for (const [name, options, message] of refused) {
    it(`refuses ${name} before sending anything`, async () => {
      await assert.rejects(
        runRunner({ ...options, url: 'http://127.0.0.1:9/', method: 'GET', log: () => undefined }),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
});
