/**
 * Latency accuracy against a server with a known delay distribution, and coordinated-omission correction in
 * the open model. Bounds allow for timer jitter (Node timers fire up to ~1 ms early against the monotonic
 * clock, and late under load), nothing more.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runRunner } from '../../src/runner/run.js';

const FAST_MS = 10;
const SLOW_MS = 200;
/** Every 50th request is slow: 2 %, so p95 falls among fast requests and p99 among slow ones. */
const SLOW_EVERY = 50;
const EARLY_TIMER_MS = 1;
const LATE_TIMER_MS = 15;

async function startServer(delayFor: (index: number, nowMs: number) => number) {
  let index = 0;
  const server = http.createServer((_, response) => {
    const delay = delayFor(index++, performance.now());
    if (delay <= 0) response.end('ok');
    else setTimeout(() => response.end('ok'), delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function assertBetween(actual: number, low: number, high: number, what: string): void {
  assert.ok(actual >= low && actual <= high, `${what} was ${actual} ms, expected ${low}-${high} ms`);
}

describe('runner latency accuracy', () => {
  it('reports p50 and p99 of a server that takes 10 ms, and 200 ms for 2 % of requests', async () => {
    const server = await startServer((index) => (index % SLOW_EVERY === SLOW_EVERY - 1 ? SLOW_MS : FAST_MS));
    try {
      const { results } = await runRunner({ url: server.url, method: 'GET', requests: 500, connections: 10 });
      assert.equal(results.completed, 500);
      const latency = results.latencyMs;
      assertBetween(latency.p50, FAST_MS - EARLY_TIMER_MS, FAST_MS + LATE_TIMER_MS, 'p50');
      assertBetween(latency.p95, FAST_MS - EARLY_TIMER_MS, SLOW_MS / 4, 'p95 (among the fast requests)');
      assertBetween(latency.p99, SLOW_MS - EARLY_TIMER_MS, SLOW_MS + LATE_TIMER_MS, 'p99');
      assertBetween(latency.max, SLOW_MS - EARLY_TIMER_MS, SLOW_MS + LATE_TIMER_MS, 'max');
      assert.equal(results.serviceTimeMs, undefined, 'closed model reports no separate service time');
    } finally {
      await server.close();
    }
  });

  it('open model: a 1 s stall of the target shows in latency from the intended time, not in service time', async () => {
    const stallAfterMs = 750;
    const stallMs = 1000;
    let stallStart = Number.POSITIVE_INFINITY;
    // Requests arriving during the stall are answered when it ends; all others at once.
    const server = await startServer((index, nowMs) => {
      if (index === 0) stallStart = nowMs + stallAfterMs;
      const stallEnd = stallStart + stallMs;
      return nowMs >= stallStart && nowMs < stallEnd ? stallEnd - nowMs : 0;
    });
    try {
      const { results } = await runRunner({ url: server.url, method: 'GET', rate: 200, requests: 500, connections: 2 });
      assert.equal(results.completed, 500);
      assert.equal(results.dropped, 0);
      // About 200 requests were due during the stall and waited for up to 1 s: far more than 1 %.
      assert.ok(results.latencyMs.p99 >= stallMs * 0.9, `corrected p99 ${results.latencyMs.p99} ms shows the stall`);
      // Only the 2 requests in flight when it began (0.4 %) were slow to be served.
      assert.ok(results.serviceTimeMs!.p99 < 100, `service p99 ${results.serviceTimeMs!.p99} ms does not`);
      assert.ok(results.serviceTimeMs!.max >= stallMs * 0.9, 'the requests caught in the stall were served late');
    } finally {
      await server.close();
    }
  });

  it('open model: requests that cannot be sent within the timeout of their intended time are dropped', async () => {
    const server = await startServer(() => 300);
    try {
      // One connection serving one request per 300 ms cannot keep up with 50 requests per second.
      const { summary, exitCode } = await runRunner({
        url: server.url,
        method: 'GET',
        rate: 50,
        requests: 25,
        connections: 1,
        timeoutMs: 400,
      });
      assert.ok(summary.dropped > 0, 'some requests were dropped');
      assert.equal(summary.sent + summary.dropped, 25, 'every scheduled request is sent or dropped');
      assert.equal(exitCode, 1);
    } finally {
      await server.close();
    }
  });
});
