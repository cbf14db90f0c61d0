/**
 * An IPv6 literal as the target (`url: http://[::1]:8080/`), which the CRD and the zod schema accept
 * (test/crds/spec-cases.ts): the runner connects to the address without its brackets and sends the Host header
 * with them, over either transport, and from the flags a LoadTest's spec becomes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { runRunnerCommand } from '../../src/runner/cli.js';
import { RUNNER_EXIT, runnerArgs, runnerOptionsFromTest, type RunnerSummary } from '../../src/runner/contract.js';
import { runRunner } from '../../src/runner/run.js';

interface Ipv6Server {
  origin: string;
  /** Each request received: Host header and path, and the address it came from. */
  received: { host?: string; path?: string; from?: string }[];
}

async function withIpv6Server<T>(body: (server: Ipv6Server) => Promise<T>): Promise<T> {
  const received: Ipv6Server['received'] = [];
  const server = http.createServer((request, response) => {
    received.push({ host: request.headers.host, path: request.url, from: request.socket.remoteAddress });
    request.resume();
    request.on('end', () => response.end('ok'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::1', resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    return await body({ origin: `http://[::1]:${port}`, received });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('an IPv6 literal target (http://[::1]:port/)', () => {
  for (const transport of ['socket', 'undici'] as const) {
    it(`is reached over ${transport}, with the Host header in brackets`, async function () {
      this.timeout(30_000);
      await withIpv6Server(async (server) => {
        const { summary } = await runRunner({
          url: `${server.origin}/v6?x=1`,
          method: 'GET',
          requests: 20,
          connections: 2,
          threads: 1,
          transport,
          log: () => undefined,
        });

        assert.equal(summary.completed, 20);
        assert.equal(summary.failed, 0);
        assert.equal(server.received.length, 20);
        for (const request of server.received) {
          assert.deepEqual(request, { host: server.origin.slice('http://'.length), path: '/v6?x=1', from: '::1' });
        }
      });
    });
  }

  it('is reached from a LoadTest spec through the runner flags', async function () {
    this.timeout(30_000);
    await withIpv6Server(async (server) => {
      const { spec, problems } = validateLoadTestSpec({
        replicas: 1,
        test: { url: `${server.origin}/spec`, method: 'POST', body: 'b', repeat: 5 },
      });
      assert.deepEqual(problems, []);
      const args = runnerArgs({ ...runnerOptionsFromTest(spec!.test, 'default'), threads: 1 }).slice(1);
      let stdout = '';
      const exitCode = await runRunnerCommand([...args, '--output', 'json'], {
        stdout: (text) => (stdout += text),
        stderr: () => undefined,
      });

      assert.equal(exitCode, RUNNER_EXIT.ok, stdout);
      const { summary } = JSON.parse(stdout) as { summary: RunnerSummary };
      assert.equal(summary.completed, 5);
      assert.deepEqual(
        server.received.map((request) => request.path),
        Array.from({ length: 5 }, () => '/spec'),
      );
    });
  });
});
