/** Combining runner progress snapshots into one live view, and recognising it in heartbeat details. */
import { strict as assert } from 'node:assert';
import { combineRunnerProgress, isProgressHeartbeat } from '../../activities/progress.js';
import { parseProgressLine } from '../../src/runner/contract.js';

describe('live progress', () => {
  it('sums the counts and rates of the runners and keeps the highest p99 as an upper bound', () => {
    const live = combineRunnerProgress(
      [
        { at: 1000, sent: 10, completed: 9, failed: 1, rps: 100.04, p99Ms: 4 },
        { at: 1200, sent: 20, completed: 20, failed: 0, rps: 200.02, p99Ms: 7.5 },
      ],
      3,
    );

    assert.deepEqual(live, {
      at: 1200,
      reporting: 2,
      runners: 3,
      sent: 30,
      completed: 29,
      failed: 1,
      rps: 300.1,
      p99Ms: 7.5,
    });
  });

  it('recognises progress heartbeats and ignores the other activities heartbeats', () => {
    assert.equal(isProgressHeartbeat({ progress: combineRunnerProgress([], 2) }), true);
    assert.equal(isProgressHeartbeat({ created: 3 }), false);
    assert.equal(isProgressHeartbeat({ running: 2, succeeded: 1 }), false);
    assert.equal(isProgressHeartbeat(undefined), false);
  });

  it('reads the runner progress lines of the contract and nothing else on stderr', () => {
    const line = '{"progress":{"at":5,"sent":3,"completed":2,"failed":1,"rps":12.5,"p99Ms":1.25}}';

    assert.deepEqual(parseProgressLine(line), { at: 5, sent: 3, completed: 2, failed: 1, rps: 12.5, p99Ms: 1.25 });
    assert.equal(parseProgressLine('runner: no start time after 300000 ms; starting now'), undefined);
    assert.equal(parseProgressLine('{"progress":{"at":5}}'), undefined);
    assert.equal(parseProgressLine('{"progress": not json'), undefined);
  });
});
