/**
 * Latency accuracy against a server with a known delay distribution, and coordinated-omission correction in
 * the open model.
 *
 * The runner and the server run in this process and share one clock (performance.now()), so the server can
 * bound what a correct client must measure for every request, on any machine, however loaded: a request took
 * at least from its arrival to its answer, and at most from the previous answer on its connection (a client
 * sends its next request only after reading a response) to the next arrival on that connection (it has read
 * this response by then). A slow machine widens these bounds; it never moves a correct measurement outside
 * them. Percentiles are then bounded rank by rank, since sorting keeps the order of bounded values.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { LatencyStatsMs } from '../../src/runner/histogram.js';
import { runRunner } from '../../src/runner/run.js';

const FAST_MS = 10;
const SLOW_MS = 200;
/** Every 50th request is slow: 2 %, so p95 falls among fast requests and p99 among slow ones. */
const SLOW_EVERY = 50;

/** When the server saw one request arrive and when it answered it, performance.now() ms. */
interface Exchange {
  arrivedMs: number;
  answeredMs: number;
}

/** A server that answers each request after `delayFor(...)` ms and records every exchange per connection. */
async function startServer(delayFor: (index: number, nowMs: number) => number) {
  let index = 0;
  const connections = new Map<Socket, Exchange[]>();
  const server = http.createServer((request, response) => {
    const exchange: Exchange = { arrivedMs: performance.now(), answeredMs: Number.NaN };
    const exchanges = connections.get(request.socket) ?? [];
    connections.set(request.socket, [...exchanges, exchange]);
    const answer = () => {
      exchange.answeredMs = performance.now();
      response.end('ok');
    };
    const delay = delayFor(index++, exchange.arrivedMs);
    if (delay <= 0) answer();
    else setTimeout(answer, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => [...connections.values()],
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** For each request, the shortest and longest send → response time a correct client could have measured. */
interface Bounds {
  lowMs: number[];
  highMs: number[];
}

/** The bounds described at the top, given when the run started and ended (ms, the same clock). */
function roundTripBounds(connections: Exchange[][], runStartMs: number, runEndMs: number): Bounds {
  const bounds: Bounds = { lowMs: [], highMs: [] };
  for (const exchanges of connections) {
    exchanges.forEach((exchange, i) => {
      const previousAnswer = i === 0 ? runStartMs : exchanges[i - 1]!.answeredMs;
      const nextArrival = i === exchanges.length - 1 ? runEndMs : exchanges[i + 1]!.arrivedMs;
      bounds.lowMs.push(exchange.answeredMs - exchange.arrivedMs);
      bounds.highMs.push(nextArrival - previousAnswer);
    });
  }
  return bounds;
}

/** HdrHistogram reports the top of a value's bucket: at most 1/1024 above it at 3 significant digits. */
const BUCKET_WIDTH = 1 / 1024;
/** The recorder keeps whole microseconds. */
const ROUNDING_MS = 0.001;

/**
 * Each percentile lies between the same rank of the sorted lower bounds and of the sorted upper bounds (rank
 * ceil(p/100 × n), HdrHistogram's definition), widened by the histogram's resolution.
 */
function assertWithinBounds(stats: LatencyStatsMs, bounds: Bounds, what: string): void {
  const low = [...bounds.lowMs].sort((a, b) => a - b);
  const high = [...bounds.highMs].sort((a, b) => a - b);
  const percentiles = { p50: 50, p90: 90, p95: 95, p99: 99, p999: 99.9, max: 100 } as const;
  for (const [key, p] of Object.entries(percentiles) as [keyof typeof percentiles, number][]) {
    const index = Math.max(1, Math.ceil((p * low.length) / 100 - 1e-9)) - 1;
    const [lowMs, highMs] = [low[index]! - ROUNDING_MS, high[index]! * (1 + BUCKET_WIDTH) + ROUNDING_MS];
    assert.ok(
      stats[key] >= lowMs && stats[key] <= highMs,
      `${what} ${key} was ${stats[key]} ms; the server saw between ${lowMs.toFixed(3)} and ${highMs.toFixed(3)} ms`,
    );
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const [lowMean, highMean] = [mean(low) * (1 - BUCKET_WIDTH), mean(high) * (1 + BUCKET_WIDTH) + ROUNDING_MS];
  assert.ok(stats.mean >= lowMean - ROUNDING_MS && stats.mean <= highMean, `${what} mean was ${stats.mean} ms`);
}

describe('runner latency accuracy', () => {
  it('reports each percentile of 10 ms requests with 2 % at 200 ms within what the server saw of them', async () => {
    const server = await startServer((index) => (index % SLOW_EVERY === SLOW_EVERY - 1 ? SLOW_MS : FAST_MS));
    try {
      const runStartMs = performance.now();
      const { results } = await runRunner({ url: server.url, method: 'GET', requests: 500, connections: 10 });
      const bounds = roundTripBounds(server.connections(), runStartMs, performance.now());
      assert.equal(results.completed, 500);
      assert.equal(bounds.lowMs.length, 500, 'the server saw each request once');
      assertWithinBounds(results.latencyMs, bounds, 'latency');
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
      const runStartMs = performance.now();
      const { results } = await runRunner({ url: server.url, method: 'GET', rate: 200, requests: 500, connections: 2 });
      const bounds = roundTripBounds(server.connections(), runStartMs, performance.now());
      assert.equal(results.completed, 500);
      assert.equal(results.dropped, 0);
      // Service time is send → response, which the server bounds. Only the 2 requests in flight when the stall
      // began (one per connection, 0.4 %) took the stall to be served, so their bounds do not reach p99.
      assertWithinBounds(results.serviceTimeMs!, bounds, 'service time');
      // Latency counts from the intended time, every 5 ms. Each request intended during the stall was answered
      // at its end or later, so the n-th of them intended earliest waited at least 1000 - 5n ms: the top 1 %
      // (5 requests, rank 495 has 6 at or above it) waited at least 970 ms, whatever the machine's speed.
      assert.ok(results.latencyMs.p99 >= stallMs - 30, `corrected p99 ${results.latencyMs.p99} ms shows the stall`);
    } finally {
      await server.close();
    }
  });

  it('open model: requests that cannot be sent within the timeout of their intended time are dropped', async () => {
    const server = await startServer(() => 300);
    try {
      // One connection serving one request per 300 ms cannot keep up with 50 requests per second: request k
      // is intended at 20k ms and sent at 300k ms at the earliest, more than 400 ms late from k = 2 on.
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
