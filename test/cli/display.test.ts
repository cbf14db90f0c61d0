/** What the live view and the tables say, given snapshots (no process, no server). */
import { strict as assert } from 'node:assert';
import type { LoadTestSnapshot } from '../../src/client/run.js';
import { age, formatList, liveFigures, plainLine } from '../../src/cli/display.js';
import type { LoadTestWorkflowStatus } from '../../workflows/definitions.js';

const ref = { namespace: 'shop', name: 'checkout', uid: 'u1' };
const at = new Date('2026-01-01T00:00:10.000Z');

function snapshot(status: Partial<LoadTestWorkflowStatus>, extra: Partial<LoadTestSnapshot> = {}): LoadTestSnapshot {
  return {
    at,
    execution: 'RUNNING',
    runStartTime: new Date('2026-01-01T00:00:00.000Z'),
    state: status.state,
    generation: 1,
    status: {
      state: 'executing',
      generation: 1,
      children: ['checkout-g1-0', 'checkout-g1-1'],
      message: '',
      progress: { step: 'running', replicas: 2, created: 2 },
      ...status,
    },
    settled: false,
    ...extra,
  };
}

describe('CLI display', () => {
  it('says the runners are starting, and in how long, until their common start time', () => {
    const figures = liveFigures(
      snapshot({
        state: 'executing',
        progress: { step: 'running', replicas: 2, created: 2, startAt: '2026-01-01T00:00:12.500Z' },
      }),
    );

    assert.equal(figures.step, 'starting');
    assert.equal(figures.startsInMs, 2500);
    assert.equal(figures.elapsedMs, 10_000);
  });

  it('prints one key=value line per update with the live numbers and the time left', () => {
    const live = { at: 0, reporting: 2, runners: 2, sent: 1234, completed: 1230, failed: 4, rps: 812.34, p99Ms: 4.16 };
    const status = {
      state: 'executing' as const,
      progress: {
        step: 'running' as const,
        replicas: 2,
        created: 2,
        startAt: '2026-01-01T00:00:05.000Z',
        expectedEnd: '2026-01-01T00:00:35.000Z',
      },
    };

    const line = plainLine(ref, liveFigures(snapshot(status, { state: 'executing', live })), at);

    assert.equal(
      line,
      'time=2026-01-01T00:00:10.000Z loadtest=shop/checkout generation=1 state=executing step=running ' +
        'elapsed_s=10 remaining_s=25 requests=1234 errors=4 rps=812.3 p99_ms=4.2 runners=2/2',
    );
  });

  it('lists LoadTests as a kubectl-style table, marking deleted ones, with their schedule and last run', () => {
    const started = new Date(at.getTime() - 90_000);
    const table = formatList(
      [
        {
          ref,
          workflowId: 'w1',
          execution: 'RUNNING',
          state: 'executing',
          generation: 3,
          startTime: started,
          taskQueue: 'q',
          schedule: '@hourly (suspended)',
          lastRun: {
            state: 'failed',
            completionTime: '2026-01-01T00:00:05.000Z',
            message: 'breached',
            workflowId: 'w1',
          },
        },
        {
          ref: { ...ref, name: 'old' },
          workflowId: 'w2',
          execution: 'COMPLETED',
          state: 'failed',
          generation: 1,
          startTime: started,
          taskQueue: 'q',
        },
      ],
      at,
    );

    assert.equal(
      table,
      [
        'NAMESPACE   NAME       STATE              GENERATION   SCHEDULE              LAST            AGE',
        'shop        checkout   executing          3            @hourly (suspended)   failed 5s ago   90s',
        'shop        old        failed (deleted)   1            -                     -               90s',
        '',
      ].join('\n'),
    );
  });

  it('shows ages as kubectl does', () => {
    assert.deepEqual([age(5_000), age(150_000), age(3 * 3_600_000), age(3 * 86_400_000)], ['5s', '2m', '3h', '3d']);
  });
});
