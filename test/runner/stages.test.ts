/**
 * Stages: the open model's arrival rate ramps linearly between targets (k6's ramping-arrival-rate). The run's
 * own per-second send counts (sentPerSecond, what the runner wrote to sockets each second) are compared with the
 * schedule's count for that second, N(s+1) − N(s): a check on the runner's behaviour, not on wall-clock timing.
 */
import assert from 'node:assert/strict';
import { runRunner } from '../../src/runner/run.js';
import { arrivalsBy, rampingRate, threadShare, type Stage } from '../../src/runner/schedule.js';
import { withCountingServer } from './local-server.js';

const STAGES: Stage[] = [
  { durationMs: 2000, target: 200 },
  { durationMs: 1000, target: 200 },
  { durationMs: 2000, target: 400 },
  { durationMs: 1000, target: 100 },
];

describe('ramping stages (open model)', () => {
  it('schedules exactly N(t) = ∫ rate: every request falls in the second the ramp gives it', () => {
    const schedule = rampingRate(STAGES);
    // 0→200 over 2 s: 200, then 200, then 200→400 over 2 s: 600, then 400→100 over 1 s: 250.
    assert.equal(schedule.total, 1250);
    const perSecond = new Array<number>(6).fill(0);
    let previous = -1;
    for (let index = 0; index < schedule.total; index++) {
      const ms = schedule.timeOfMs(index);
      assert.ok(ms >= previous, `request ${index} at ${ms} ms comes before request ${index - 1} at ${previous} ms`);
      previous = ms;
      perSecond[Math.floor(ms / 1000)]!++;
    }
    const expected = perSecond.map(
      (_, second) => arrivalsBy(STAGES, (second + 1) * 1000) - arrivalsBy(STAGES, second * 1000),
    );
    perSecond.forEach((count, second) =>
      assert.ok(Math.abs(count - expected[second]!) <= 1, `second ${second}: ${count} vs ${expected[second]}`),
    );
  });

  it('splits the schedule between threads without losing or repeating a request', () => {
    const schedule = rampingRate(STAGES);
    const times = [0, 1, 2].flatMap((thread) => {
      const share = threadShare(schedule, thread, 3);
      return Array.from({ length: share.total }, (_, index) => share.timeOfMs(index));
    });
    const all = Array.from({ length: schedule.total }, (_, index) => schedule.timeOfMs(index));
    assert.deepEqual(
      times.sort((a, b) => a - b),
      all.sort((a, b) => a - b),
    );
  });

  it('sends at the ramping rate, each second within 10 % of the schedule, against a local server', async function () {
    this.timeout(30_000);
    await withCountingServer(async (server) => {
      const { summary } = await runRunner({
        url: `${server.origin}/`,
        method: 'GET',
        stages: STAGES,
        connections: 16,
        threads: 2,
        log: () => undefined,
      });
      assert.equal(summary.sent, 1250);
      assert.equal(summary.dropped, 0);
      assert.equal(server.total(), 1250);
      const sent = summary.sentPerSecond ?? [];
      assert.equal(
        sent.reduce((sum, count) => sum + count, 0),
        1250,
      );
      for (let second = 0; second < 6; second++) {
        const expected = arrivalsBy(STAGES, (second + 1) * 1000) - arrivalsBy(STAGES, second * 1000);
        const actual = sent[second] ?? 0;
        assert.ok(
          Math.abs(actual - expected) <= expected * 0.1,
          `second ${second}: sent ${actual}, the ramp says ${expected} (per second: ${sent.join(', ')})`,
        );
      }
    });
  });
});
