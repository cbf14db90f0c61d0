/**
 * A request mix whose entries name their own url (`path | url`): each request goes to its own origin, over a
 * connection to that origin (one per origin for each of the runner's connections, see src/runner/origin-pool.ts).
 */
import assert from 'node:assert/strict';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { runRunnerCommand } from '../../src/runner/cli.js';
import { RUNNER_EXIT, runnerArgs, runnerOptionsFromTest, type RunnerSummary } from '../../src/runner/contract.js';
import { UsageError } from '../../src/runner/plan.js';
import { runRunner } from '../../src/runner/run.js';
import { withConnectionServer, type ConnectionServer } from './connection-server.js';

const TOTAL = 2500;
const CONNECTIONS = 4;

async function withTwoServers<T>(body: (one: ConnectionServer, two: ConnectionServer) => Promise<T>): Promise<T> {
  return withConnectionServer((one) => withConnectionServer((two) => body(one, two)));
}

describe('a request mix across origins (url on a mix entry)', () => {
  for (const transport of ['socket', 'undici'] as const) {
    it(`sends each request to its own origin, 1:3:1 within 5 % over ${TOTAL} requests, at most one connection per origin per runner connection (${transport})`, async function () {
      this.timeout(30_000);
      await withTwoServers(async (one, two) => {
        const { summary, plan } = await runRunner({
          url: `${one.origin}/unused`,
          method: 'GET',
          requests: TOTAL,
          connections: CONNECTIONS,
          threads: 2,
          transport,
          requestMix: [
            { name: 'one-a', url: `${one.origin}/a`, weight: 1 },
            { name: 'two-b', method: 'POST', url: `${two.origin}/b?x=1`, body: 'b', weight: 3 },
            { name: 'one-c', path: '/c', weight: 1 },
          ],
          log: () => undefined,
        });
        assert.equal(plan.transport, transport);
        const received = {
          'one-a': one.byPath.get('/a') ?? 0,
          'two-b': two.byPath.get('/b?x=1') ?? 0,
          'one-c': one.byPath.get('/c') ?? 0,
        };
        // Nothing went where it does not belong.
        assert.deepEqual([...one.byPath.keys()].sort(), ['/a', '/c']);
        assert.deepEqual([...two.byPath.keys()], ['/b?x=1']);
        assert.equal(received['one-a'] + received['two-b'] + received['one-c'], TOTAL);
        for (const [name, weight] of [
          ['one-a', 1],
          ['two-b', 3],
          ['one-c', 1],
        ] as const) {
          const expected = (TOTAL * weight) / 5;
          assert.ok(
            Math.abs(received[name] - expected) <= expected * 0.05,
            `${name}: ${received[name]} vs ${expected}`,
          );
          assert.equal(summary.byRequest?.[name]?.completed, received[name]);
        }
        assert.equal(summary.completed, TOTAL);
        assert.equal(summary.failed, 0);
        // Each runner connection holds one keep-alive connection to each origin it sends to.
        assert.equal(one.connections.length, CONNECTIONS);
        assert.equal(two.connections.length, CONNECTIONS);
      });
    });
  }

  it('passes a mix entry url from spec.test through the runner flags', async function () {
    this.timeout(30_000);
    await withTwoServers(async (one, two) => {
      const { spec, problems } = validateLoadTestSpec({
        replicas: 1,
        test: {
          url: `${one.origin}/`,
          repeat: 40,
          requests: [
            { name: 'here', path: '/here', weight: 1 },
            { name: 'there', url: `${two.origin}/there`, weight: 1 },
          ],
        },
      });
      assert.deepEqual(problems, []);
      const args = runnerArgs({ ...runnerOptionsFromTest(spec!.test, 'default'), threads: 1 }).slice(1);
      let stdout = '';
      const exitCode = await runRunnerCommand([...args, '--output', 'json'], {
        stdout: (text) => (stdout += text),
        stderr: () => undefined,
      });
      assert.equal(exitCode, RUNNER_EXIT.ok);
      const { summary } = JSON.parse(stdout) as { summary: RunnerSummary };
      assert.equal(summary.completed, 40);
      assert.deepEqual(Object.fromEntries(one.byPath), { '/here': 20 });
      assert.deepEqual(Object.fromEntries(two.byPath), { '/there': 20 });
    });
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'both path and url',
      { name: 'both', path: '/a', url: 'http://127.0.0.1:9/a', weight: 1 },
      /request "both": set exactly one of path and url/,
    ],
    ['neither path nor url', { name: 'none', weight: 1 }, /request "none": set exactly one of path and url/],
    [
      'a url that is not http(s)',
      { name: 'files', url: 'ftp://127.0.0.1/a', weight: 1 },
      /request "files": url must start with http:\/\/ or https:\/\/, not ftp:\/\//,
    ],
    [
      'a url that is not absolute',
      { name: 'rel', url: '/a', weight: 1 },
      /request "rel": url "\/a" is not an absolute URL/,
    ],
  ];
  for (const [name, entry, message] of refused) {
    it(`refuses a mix entry with ${name}, before sending anything`, async () => {
      await assert.rejects(
        runRunner({
          url: 'http://127.0.0.1:9/',
          method: 'GET',
          requestMix: [entry as { name: string; weight: number }],
          log: () => undefined,
        }),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
});
