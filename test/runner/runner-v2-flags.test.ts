/**
 * Stages, request mixes and threads through the runner's contract: from `spec.test` (runnerOptionsFromTest) to
 * the pod's flags (runnerArgs) to a run (runRunnerCommand), and bad flags refused with exit code 2 before
 * anything is sent.
 */
import assert from 'node:assert/strict';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { runRunnerCommand } from '../../src/runner/cli.js';
import { RUNNER_EXIT, runnerArgs, runnerOptionsFromTest, type RunnerSummary } from '../../src/runner/contract.js';
import { withCountingServer } from './local-server.js';

async function runCommand(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runRunnerCommand(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { exitCode, stdout, stderr };
}

describe('runner flags for stages, request mixes and threads', () => {
  it('runs what spec.test says: stages and a mix pass through runnerArgs to the runner', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const { spec, problems } = validateLoadTestSpec({
        replicas: 1,
        test: {
          url: `${server.origin}/ignored`,
          stages: [
            { duration: '500ms', target: 100 },
            { duration: '500ms', target: 100 },
          ],
          connections: 4,
          requests: [
            { name: 'a', path: '/a', weight: 1 },
            { name: 'b', method: 'POST', path: '/b', body: 'x', weight: 3 },
          ],
        },
      });
      assert.deepEqual(problems, []);
      const options = { ...runnerOptionsFromTest(spec!.test, 'default'), threads: 2 };
      const args = runnerArgs(options).slice(1);
      assert.ok(
        args.includes('--stage') && args.includes('--request-mix') && args.includes('--threads'),
        args.join(' '),
      );
      const { exitCode, stdout } = await runCommand([...args, '--output', 'json']);
      assert.equal(exitCode, RUNNER_EXIT.ok);
      const { summary, threads } = JSON.parse(stdout) as { summary: RunnerSummary; threads: number };
      assert.equal(threads, 2);
      // 0→100 req/s over 0.5 s is 25 requests, then 50 at 100 req/s.
      assert.equal(summary.sent, 75);
      assert.deepEqual(Object.fromEntries(server.byPath), { '/a': 19, '/b': 56 });
      assert.equal(summary.byRequest?.a?.sent, 19);
      assert.equal(summary.byRequest?.b?.sent, 56);
    });
  });

  it('prints the stages and one line per request in its table', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const mix = '[{"name":"home","path":"/","weight":1},{"name":"ping","method":"HEAD","path":"/ping","weight":1}]';
      const { exitCode, stdout } = await runCommand([
        ...['--url', `${server.origin}/`, '--stage', '500ms:40', '--request-mix', mix, '--threads', '1'],
      ]);
      assert.equal(exitCode, RUNNER_EXIT.ok);
      assert.match(stdout, /open model, stages 0\.5 s→40 req\/s/);
      // HEAD mixed with GET: the socket path frames bodies per connection, so the mix goes through undici.
      assert.match(stdout, /undici transport, 1 thread/);
      assert.match(stdout, /By request {2}home: 5 requests, 0 errors \(0%\)/);
      assert.match(stdout, /\n {12}ping: 5 requests, 0 errors \(0%\)/);
      assert.deepEqual(Object.fromEntries(server.byPath), { '/': 5, '/ping': 5 });
    });
  });

  const refused: Array<[string, string[], RegExp]> = [
    ['a stage of zero duration', ['--stage', '0s:10'], /expected <duration>:<target>/],
    ['a negative stage target', ['--stage', '10s:-1'], /expected <duration>:<target>/],
    ['stages with --rate', ['--stage', '1s:10', '--rate', '5'], /leave out rate, requests and duration/],
    ['stages with --duration', ['--stage', '1s:10', '--duration', '5s'], /leave out rate, requests and duration/],
    [
      'weights that sum to 0',
      ['--request-mix', '[{"name":"a","path":"/","weight":0}]'],
      /weights of the request mix must sum to more than 0/,
    ],
    [
      'a duplicate request name',
      ['--request-mix', '[{"name":"a","path":"/","weight":1},{"name":"a","path":"/b","weight":1}]'],
      /request name "a" is used twice/,
    ],
    ['a mix that is not JSON', ['--request-mix', '{oops'], /expected a JSON array/],
    ['0 threads', ['--threads', '0'], /expected an integer from 1 to 64/],
  ];
  for (const [name, flags, message] of refused) {
    it(`refuses ${name} with exit code 2 and a message`, async () => {
      const { exitCode, stderr } = await runCommand(['--url', 'http://127.0.0.1:9/', ...flags]);
      assert.equal(exitCode, RUNNER_EXIT.usage);
      assert.match(stderr, message);
    });
  }
});
