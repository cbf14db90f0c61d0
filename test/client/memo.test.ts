/** Reading the LoadTest workflow's memo as visibility returns it: what `list` shows as SCHEDULE and LAST. */
import { strict as assert } from 'node:assert';
import { parseLoadTestMemo } from '../../src/client/memo.js';

const lastRun = {
  state: 'failed',
  completionTime: '2026-01-01T00:05:00.000Z',
  message: 'threshold p99 < 200ms breached',
  workflowId: 'loadtest/shop/checkout/u1/g3',
};

describe('LoadTest memo', () => {
  it('reads the schedule and the last run the workflow keeps in its memo', () => {
    assert.deepEqual(parseLoadTestMemo({ schedule: '*/5 * * * * (suspended)', lastRun }), {
      schedule: '*/5 * * * * (suspended)',
      lastRun,
    });
  });

  it('gives nothing for a workflow without a memo, or with one that is not an object', () => {
    for (const memo of [undefined, null, 'schedule', 42, ['@hourly'], {}]) {
      assert.deepEqual(parseLoadTestMemo(memo), {}, JSON.stringify(memo));
    }
  });

  it('leaves out a schedule that is not a non-empty string (upsertMemo clears a field with null)', () => {
    for (const schedule of [null, '', '  ', 5, { expression: '@hourly' }]) {
      assert.deepEqual(parseLoadTestMemo({ schedule, lastRun }), { lastRun }, JSON.stringify(schedule));
    }
  });

  it('leaves out a last run without a known verdict or a workflow id', () => {
    const broken = [
      null,
      'failed',
      { ...lastRun, state: 'exploded' },
      { ...lastRun, state: undefined },
      { ...lastRun, workflowId: '' },
      { ...lastRun, workflowId: 7 },
    ];
    for (const value of broken) {
      assert.deepEqual(parseLoadTestMemo({ schedule: '@hourly', lastRun: value }), { schedule: '@hourly' });
    }
  });

  it('keeps a last run whose message or completion time is missing or malformed, without them', () => {
    const memo = parseLoadTestMemo({
      lastRun: { state: 'finished', workflowId: 'w', message: 3, completionTime: 'soon' },
    });

    assert.deepEqual(memo, { lastRun: { state: 'finished', workflowId: 'w', message: '' } });
  });
});
