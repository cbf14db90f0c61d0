/**
 * A mix request's own headers override test.headers of the same name whatever its case (README: "Added to
 * test.headers (and overriding those of the same name)"): a server gets one X-Token, the request's, never two.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runRunner } from '../../src/runner/run.js';

describe('a mix request header overriding a test header of another case', () => {
  for (const transport of ['socket', 'undici'] as const) {
    it(`sends the request's value alone (${transport})`, async function () {
      this.timeout(30_000);
      const received: string[][] = [];
      const server = http.createServer((request, response) => {
        received.push(request.rawHeaders);
        request.resume();
        request.on('end', () => response.end('ok'));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const { summary } = await runRunner({
          url: `http://127.0.0.1:${port}/`,
          method: 'GET',
          requests: 4,
          connections: 1,
          threads: 1,
          transport,
          headers: { 'X-Token': 'from-test', Accept: 'text/plain' },
          requestMix: [{ name: 'mine', path: '/mine', weight: 1, headers: { 'x-token': 'from-request' } }],
          log: () => undefined,
        });

        assert.equal(summary.completed, 4);
        assert.equal(received.length, 4);
        for (const raw of received) {
          const pairs = Array.from({ length: raw.length / 2 }, (_, index): [string, string] => [
            raw[2 * index]!,
            raw[2 * index + 1]!,
          ]);
          const named = (name: string) => pairs.filter(([key]) => key.toLowerCase() === name).map(([, v]) => v);
          assert.deepEqual(named('x-token'), ['from-request']);
          assert.deepEqual(named('accept'), ['text/plain']);
        }
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});
