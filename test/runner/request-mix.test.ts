/** A weighted request mix: which request goes next, and per-request results that add up to the totals. */
import assert from 'node:assert/strict';
import { evaluateThresholds } from '../../src/loadtest/thresholds.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import { WeightedRoundRobin } from '../../src/runner/request-mix.js';
import { runRunner } from '../../src/runner/run.js';
import { withCountingServer } from './local-server.js';

const MIX = [
  { name: 'home', path: '/home', weight: 1 },
  { name: 'search', path: '/search?q=a', weight: 2 },
  { name: 'checkout', method: 'POST', path: '/checkout', body: '{"cart":1}', weight: 7 },
];

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

describe('request mix', () => {
  it('picks each request exactly weight times in every cycle of Σ weights, spread out', () => {
    const mix = new WeightedRoundRobin([1, 2, 7]);
    const picks = Array.from({ length: 100 }, () => mix.next());
    for (let cycle = 0; cycle < 10; cycle++) {
      const counts = [0, 0, 0];
      for (const pick of picks.slice(cycle * 10, cycle * 10 + 10)) counts[pick]!++;
      assert.deepEqual(counts, [1, 2, 7]);
    }
    // Smooth, not in bursts: the heaviest request (7 of every 10) never goes more than three times in a row.
    assert.ok(!picks.join('').includes('2222'), picks.join(''));
  });

  it('never picks a request of weight 0, and refuses weights that sum to 0', () => {
    const mix = new WeightedRoundRobin([0, 3]);
    assert.ok(Array.from({ length: 20 }, () => mix.next()).every((pick) => pick === 1));
    assert.throws(() => new WeightedRoundRobin([0, 0]), /sum to more than 0/);
  });

  for (const threads of [1, 2]) {
    it(`sends 1:2:7 within 5 % over 3000 requests and per-request results add up to the totals (${threads} thread${threads === 1 ? '' : 's'})`, async function () {
      this.timeout(30_000);
      await withCountingServer(
        async (server) => {
          const { summary, results } = await runRunner({
            url: `${server.origin}/`,
            method: 'GET',
            requests: 3000,
            connections: 8,
            threads,
            requestMix: MIX,
            log: () => undefined,
          });
          const received = [
            server.byPath.get('/home') ?? 0,
            server.byPath.get('/search?q=a') ?? 0,
            server.byPath.get('/checkout') ?? 0,
          ];
          assert.equal(sum(received), 3000);
          [1, 2, 7].forEach((weight, index) => {
            const expected = (3000 * weight) / 10;
            assert.ok(
              Math.abs(received[index]! - expected) <= expected * 0.05,
              `${MIX[index]!.name}: ${received[index]} vs ${expected}`,
            );
          });
          const parts = Object.values(summary.byRequest ?? {});
          assert.deepEqual(Object.keys(summary.byRequest ?? {}), ['home', 'search', 'checkout']);
          assert.deepEqual(
            parts.map((part) => part.sent),
            received,
          );
          assert.equal(sum(parts.map((part) => part.sent)), summary.sent);
          assert.equal(sum(parts.map((part) => part.completed)), summary.completed);
          assert.equal(sum(parts.map((part) => part.failed)), summary.failed);
          // /checkout answers 500: its failures, and only its, are in the totals.
          assert.equal(summary.failed, received[2]);
          assert.deepEqual(summary.byRequest?.checkout?.status, { '500': received[2] });
          const byRequest = results.byRequest ?? {};
          assert.equal(sum(Object.values(byRequest).map((request) => request.requests)), results.requests);
          assert.equal(sum(Object.values(byRequest).map((request) => request.errors)), results.errors);
          assert.equal(byRequest.home?.errorRate, 0);
          assert.equal(byRequest.checkout?.errorRate, 1);
        },
        (path) => (path === '/checkout' ? 500 : 200),
      );
    });
  }

  it('merges per-request results of several runners exactly, and a threshold on one request decides the verdict', async function () {
    this.timeout(30_000);
    await withCountingServer(
      async (server) => {
        const run = () =>
          runRunner({
            url: `${server.origin}/`,
            method: 'GET',
            requests: 500,
            connections: 4,
            threads: 1,
            requestMix: MIX,
            log: () => undefined,
          });
        const results = mergeSummaries([(await run()).summary, (await run()).summary]);
        assert.equal(results.requests, 1000);
        assert.deepEqual(
          Object.fromEntries(
            Object.entries(results.byRequest ?? {}).map(([name, request]) => [name, request.requests]),
          ),
          { home: 100, search: 200, checkout: 700 },
        );
        // The totals' error rate (70 %) and the home request's (0 %) pass at 80 %; checkout's (100 %) does not.
        const verdicts = evaluateThresholds(results, [
          'errorRate < 80%',
          'errorRate{name:home} < 80%',
          'errorRate{name:checkout} < 80%',
        ]);
        assert.deepEqual(
          verdicts.map((verdict) => [verdict.threshold, verdict.passed, verdict.actual]),
          [
            ['errorRate < 80%', true, 70],
            ['errorRate{name:home} < 80%', true, 0],
            ['errorRate{name:checkout} < 80%', false, 100],
          ],
        );
      },
      (path) => (path === '/checkout' ? 500 : 200),
    );
  });
});
