/** The runner as an HTTP/1.1 client of Node's own http server, over both transports. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { runRunner } from '../../src/runner/run.js';
import type { RunOptions } from '../../src/runner/plan.js';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

async function withServer<T>(handler: Handler, body: (origin: string) => Promise<T>): Promise<T> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const quiet = (options: RunOptions): RunOptions => ({ log: () => undefined, ...options });

for (const transport of ['socket', 'undici'] as const) {
  describe(`runner against Node's http server (${transport} transport)`, () => {
    const run = (options: Omit<RunOptions, 'transport'>) => runRunner(quiet({ ...options, transport }));

    it('completes every request of a keep-alive run and counts statuses', async () => {
      await withServer(
        (_, response) => response.end('hello'),
        async (origin) => {
          const { summary, exitCode } = await run({ url: `${origin}/`, method: 'GET', requests: 200, connections: 4 });
          assert.equal(summary.sent, 200);
          assert.equal(summary.completed, 200);
          assert.equal(summary.failed, 0);
          assert.deepEqual(summary.status, { '200': 200 });
          assert.deepEqual(summary.errors, {});
          assert.equal(exitCode, 0);
        },
      );
    });

    it('reads chunked bodies with trailers', async () => {
      await withServer(
        (_, response) => {
          response.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
          response.write('first chunk ');
          response.write('second chunk');
          response.addTrailers({ 'X-Checksum': 'abc' });
          response.end();
        },
        async (origin) => {
          const { summary } = await run({ url: `${origin}/`, method: 'GET', requests: 50, connections: 2 });
          assert.deepEqual(summary.status, { '200': 50 });
          assert.equal(summary.failed, 0);
        },
      );
    });

    it('reconnects when the server answers with Connection: close', async () => {
      const connections = new Set<Socket>();
      await withServer(
        (request, response) => {
          connections.add(request.socket);
          response.setHeader('Connection', 'close');
          response.end('bye');
        },
        async (origin) => {
          const { summary } = await run({ url: `${origin}/`, method: 'GET', requests: 30, connections: 3 });
          assert.equal(summary.completed, 30);
          assert.equal(summary.failed, 0);
          assert.equal(connections.size, 30);
        },
      );
    });

    it('expects no body for HEAD, 204 and 304 responses on a reused connection', async () => {
      await withServer(
        (request, response) => {
          if (request.url === '/empty') response.writeHead(204).end();
          else if (request.url === '/cached') response.writeHead(304, { ETag: '"x"' }).end();
          else
            response
              .writeHead(200, { 'Content-Length': '11' })
              .end(request.method === 'HEAD' ? undefined : 'hello world');
        },
        async (origin) => {
          for (const [path, method, status] of [
            ['/', 'HEAD', '200'],
            ['/empty', 'GET', '204'],
            ['/cached', 'GET', '304'],
          ] as const) {
            const { summary } = await run({ url: `${origin}${path}`, method, requests: 20, connections: 1 });
            assert.deepEqual(summary.status, { [status]: 20 }, `${method} ${path}`);
            assert.equal(summary.failed, 0);
          }
        },
      );
    });

    it('sends the body, method and headers it was given', async () => {
      const seen: string[] = [];
      await withServer(
        (request, response) => {
          let body = '';
          request.on('data', (chunk: Buffer) => (body += chunk.toString()));
          request.on('end', () => {
            seen.push(`${request.method} ${request.url} ${String(request.headers['x-test'])} ${body}`);
            response.end();
          });
        },
        async (origin) => {
          await run({
            url: `${origin}/submit?a=1`,
            method: 'POST',
            headers: { 'X-Test': 'yes' },
            body: '{"n":1}',
            requests: 3,
          });
        },
      );
      assert.deepEqual(seen, Array(3).fill('POST /submit?a=1 yes {"n":1}'));
    });

    it('counts unaccepted statuses as failed and exits with 1', async () => {
      await withServer(
        (request, response) => response.writeHead(request.url === '/missing' ? 404 : 500).end(),
        async (origin) => {
          const failing = await run({ url: `${origin}/`, method: 'GET', requests: 10 });
          assert.equal(failing.summary.failed, 10);
          assert.equal(failing.summary.completed, 10);
          assert.deepEqual(failing.summary.status, { '500': 10 });
          assert.equal(failing.exitCode, 1);
          const expected = await run({ url: `${origin}/missing`, method: 'GET', requests: 10, expectStatus: ['404'] });
          assert.equal(expected.summary.failed, 0);
          assert.equal(expected.exitCode, 0);
        },
      );
    });

    it('reads a huge body completely and counts its bytes', async () => {
      const size = 20 * 1024 * 1024;
      const block = Buffer.alloc(1024 * 1024, 0x61);
      await withServer(
        (_, response) => {
          response.writeHead(200, { 'Content-Length': String(size) });
          for (let sent = 0; sent < size; sent += block.length) response.write(block);
          response.end();
        },
        async (origin) => {
          const { summary } = await run({ url: `${origin}/`, method: 'GET', requests: 2 });
          assert.equal(summary.completed, 2);
          assert.ok(summary.bytesRead >= 2 * size, `read ${summary.bytesRead} bytes`);
        },
      );
    });
  });
}
