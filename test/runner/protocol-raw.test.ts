/** The fast path against servers that misbehave at the byte level: split packets, resets, silence. */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { runRunner } from '../../src/runner/run.js';
import type { RunOptions } from '../../src/runner/plan.js';
import { closedPort, startRawServer, writeInPieces, type RawRequestHandler } from '../support/raw-server.js';

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

async function runAgainst(handler: RawRequestHandler, options: Partial<RunOptions> = {}) {
  const server = await startRawServer(handler);
  try {
    const result = await runRunner({
      url: `${server.origin}/`,
      method: 'GET',
      requests: 5,
      transport: 'socket',
      log: () => undefined,
      ...options,
    });
    return { ...result, server };
  } finally {
    await server.close();
  }
}

describe('runner fast path against raw TCP servers', () => {
  it('assembles responses that arrive a few bytes per packet', async () => {
    const chunked =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n';
    const { summary } = await runAgainst((socket, _, index) => void writeInPieces(socket, index % 2 ? chunked : OK, 3));
    assert.deepEqual(summary.status, { '200': 5 });
    assert.equal(summary.failed, 0);
  });

  it('matches pipelined responses that arrive together in one packet to their requests', async () => {
    let batch = '';
    const { summary, server } = await runAgainst(
      (socket) => {
        batch += OK;
        // Answer four requests at once, in a single write.
        if (batch.length === OK.length * 4) {
          socket.write(batch);
          batch = '';
        }
      },
      { requests: 40, pipelining: 4, connections: 1 },
    );
    assert.equal(summary.completed, 40);
    assert.equal(summary.failed, 0);
    assert.equal(summary.pipelining, 4);
    assert.equal(server.connections, 1);
  });

  it('sends pipelined requests again on a new connection when the server closes after answering one', async () => {
    const answered = new WeakSet<Socket>();
    const { summary } = await runAgainst(
      (socket, _, index) => {
        if (answered.has(socket)) return;
        answered.add(socket);
        socket.end(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n${index % 10}`);
      },
      { requests: 12, pipelining: 3, connections: 2 },
    );
    assert.equal(summary.completed, 12);
    assert.equal(summary.sent, 12);
    assert.equal(summary.failed, 0);
  });

  it('counts a connection reset by the server as reset, and goes on', async () => {
    const { summary } = await runAgainst(
      (socket, _, index) => {
        if (index % 2 === 1) socket.resetAndDestroy();
        else socket.write(OK);
      },
      { requests: 6 },
    );
    assert.equal(summary.sent, 6);
    assert.equal(summary.errors.reset, 3);
    assert.equal(summary.completed, 3);
    assert.equal(summary.failed, 3);
  });

  it('counts a connection closed in the middle of a body as reset', async () => {
    const { summary } = await runAgainst((socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it'),
    );
    assert.deepEqual(summary.errors, { reset: 5 });
    assert.equal(summary.completed, 0);
  });

  it('completes a body delimited by the connection close', async () => {
    const { summary } = await runAgainst((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
    assert.deepEqual(summary.status, { '200': 5 });
    assert.equal(summary.failed, 0);
  });

  it('times out a server that never answers, and the run still ends', async () => {
    const { summary } = await runAgainst(() => undefined, { requests: 3, timeoutMs: 100 });
    assert.deepEqual(summary.errors, { timeout: 3 });
    assert.equal(summary.sent, 3);
  });

  it('waits for a slow body instead of timing out before the timeout', async () => {
    const { summary } = await runAgainst(
      (socket) => void writeInPieces(socket, `HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n${'x'.repeat(40)}`, 2),
      { requests: 2, timeoutMs: 5000 },
    );
    assert.equal(summary.completed, 2);
  });

  it('counts garbage instead of HTTP as other', async () => {
    const { summary } = await runAgainst((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'), { requests: 2 });
    assert.deepEqual(summary.errors, { other: 2 });
  });

  it('counts refused connections as refused', async () => {
    const { summary, exitCode } = await runRunner({
      url: `http://127.0.0.1:${await closedPort()}/`,
      method: 'GET',
      requests: 4,
      connections: 2,
    });
    assert.deepEqual(summary.errors, { refused: 4 });
    assert.equal(summary.sent, 4);
    assert.equal(exitCode, 1);
  });

  it('counts names that do not resolve as dns errors', async () => {
    const { summary } = await runRunner({ url: 'http://no-such-host.invalid/', method: 'GET', requests: 2 });
    assert.deepEqual(summary.errors, { dns: 2 });
  });
});
