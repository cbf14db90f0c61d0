/** What `status` shows of a LoadTest's schedule and run history, and `list` of its last run (no process, no server). */
import { strict as assert } from 'node:assert';
import type { LoadTestSnapshot } from '../../src/client/run.js';
import { formatHistory, formatSchedule, formatSnapshot, lastRunCell, runLabel, took } from '../../src/cli/display.js';
import type { RunRecord } from '../../src/loadtest/run-history.js';
import type { ScheduleView } from '../../workflows/definitions.js';

const ref = { namespace: 'shop', name: 'checkout', uid: 'u1' };
const workflowId = 'loadtest/shop/checkout/u1';
const now = new Date('2026-01-01T01:00:00.000Z');

const history: RunRecord[] = [
  {
    workflowId: `${workflowId}/scheduled-2026-01-01T00:55:00Z`,
    trigger: 'schedule',
    generation: 2,
    scheduledTime: '2026-01-01T00:55:00.000Z',
    startTime: '2026-01-01T00:55:01.000Z',
    completionTime: '2026-01-01T00:57:06.000Z',
    state: 'failed',
    message: 'threshold p99 < 200ms breached (actual 312.4ms)\nsecond line',
    requests: 12000,
    rps: 99.96,
    errorRate: 0,
    p99Ms: 312.44,
  },
  {
    workflowId: `${workflowId}/g2`,
    trigger: 'apply',
    generation: 2,
    startTime: '2026-01-01T00:40:00.000Z',
    completionTime: '2026-01-01T00:40:42.000Z',
    state: 'finished',
    message: '4200 requests, 0 errors',
    requests: 4200,
    rps: 100,
    p99Ms: 41.2,
  },
  {
    workflowId,
    trigger: 'apply',
    generation: 1,
    startTime: '2026-01-01T00:30:00.000Z',
    state: 'cancelled',
    message: 'generation 2 applied',
  },
];

const schedule: ScheduleView = {
  expression: '*/5 * * * *',
  scheduleId: 'loadtest-schedule/shop/checkout/u1',
  concurrencyPolicy: 'Forbid',
  suspended: false,
  lastScheduleTime: '2026-01-01T00:55:00Z',
  nextScheduleTime: '2026-01-01T01:00:00Z',
};

describe('CLI run history and schedule', () => {
  it('prints the history newest first as a table, with the message of runs that did not finish', () => {
    assert.equal(
      formatHistory(history, workflowId, now),
      [
        'RUN                              TRIGGER    STARTED   TOOK    VERDICT     REQUESTS   RPS   P99       MESSAGE',
        'scheduled-2026-01-01T00:55:00Z   schedule   4m ago    2m05s   failed      12000      100   312.4ms   threshold p99 < 200ms breached (actual 312.4ms)',
        'g2                               apply      20m ago   42s     finished    4200       100   41.2ms',
        'g1                               apply      30m ago   -       cancelled   -          -     -         generation 2 applied',
        '',
      ].join('\n'),
    );
  });

  it('names a run by its workflow id after the LoadTest’s, else by its tick time or generation', () => {
    const record = history[0]!;

    assert.equal(
      runLabel({ ...record, workflowId: `${workflowId}-2026-01-01T00:55:00Z` }, workflowId),
      '2026-01-01T00:55:00Z',
    );
    assert.equal(runLabel({ ...record, workflowId }, workflowId), '2026-01-01T00:55:00.000Z');
    assert.equal(runLabel({ ...record, workflowId, trigger: 'apply', scheduledTime: undefined }, workflowId), 'g2');
    assert.equal(runLabel({ ...record, workflowId: 'elsewhere/1' }, workflowId), 'elsewhere/1');
  });

  it('says how long a run took in seconds, minutes or hours, and "-" without both times', () => {
    const start = '2026-01-01T00:00:00.000Z';
    const after = (ms: number) => new Date(Date.parse(start) + ms).toISOString();

    assert.deepEqual(
      [took(start, after(42_400)), took(start, after(192_000)), took(start, after(3_720_000)), took(start, undefined)],
      ['42s', '3m12s', '1h02m', '-'],
    );
    assert.equal(took('not a time', start), '-');
  });

  it('shows the schedule with its policy and next and last tick, or that it is suspended', () => {
    assert.equal(
      formatSchedule(schedule, new Date('2026-01-01T00:56:00Z')),
      '*/5 * * * * (Forbid), next in 4m (2026-01-01T01:00:00Z), last 60s ago (2026-01-01T00:55:00Z)',
    );
    assert.equal(
      formatSchedule({ ...schedule, suspended: true, lastScheduleTime: undefined }, now),
      '*/5 * * * * (Forbid), suspended, no tick yet',
    );
  });

  it('adds the schedule line and the history table to the status block', () => {
    const snapshot: LoadTestSnapshot = {
      at: now,
      execution: 'RUNNING',
      runStartTime: new Date('2026-01-01T00:55:01.000Z'),
      state: 'failed',
      generation: 2,
      status: {
        state: 'failed',
        generation: 2,
        children: [],
        message: 'threshold breached',
        progress: { step: 'settled', replicas: 2, created: 2 },
        history,
        schedule,
      },
      settled: true,
    };

    const lines = formatSnapshot(ref, snapshot, workflowId).split('\n');

    assert.ok(lines.includes(`Schedule    ${formatSchedule(schedule, now)}`), lines.join('\n'));
    const table = lines.indexOf(formatHistory(history, workflowId, now).split('\n')[0]!);
    assert.ok(table > 0 && lines[table - 1] === '', 'the table follows the block after an empty line');
    assert.match(lines[table + 1]!, /^scheduled-2026-01-01T00:55:00Z +schedule +4m ago +2m05s +failed/);
  });

  it('prints neither schedule nor table for a LoadTest without them', () => {
    const snapshot: LoadTestSnapshot = {
      at: now,
      execution: 'RUNNING',
      runStartTime: now,
      state: 'pending',
      generation: 1,
      status: {
        state: 'pending',
        generation: 1,
        children: [],
        message: '',
        progress: { step: 'validating', replicas: 1, created: 0 },
      },
      settled: false,
    };

    const text = formatSnapshot(ref, snapshot, workflowId);

    assert.doesNotMatch(text, /Schedule|RUN +TRIGGER/);
    assert.ok(text.endsWith('(running)\n'), text);
  });

  it('shows the last run in list as its verdict and how long ago, "-" before the first', () => {
    assert.equal(
      lastRunCell({ state: 'failed', completionTime: '2026-01-01T00:57:00Z', message: '', workflowId }, now),
      'failed 3m ago',
    );
    assert.equal(lastRunCell({ state: 'finished', message: '', workflowId }, now), 'finished');
    assert.equal(lastRunCell(undefined, now), '-');
  });
});
