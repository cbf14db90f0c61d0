import { strict as assert } from 'node:assert';
import {
  labelSafe,
  parseProgressLine,
  parseRunnerSummary,
  progressLine,
  runnerName,
} from '../../src/runner/contract.js';

describe('runner contract', () => {
  describe('runner names', () => {
    it('are <name>-g<generation>-<index>, the same on every call', () => {
      assert.equal(runnerName('example-02', 3, 4), 'example-02-g3-4');
    });

    it('stay within 63 characters and distinct for long names that share a prefix', () => {
      const a = runnerName(`${'a'.repeat(70)}-one`, 12, 999);
      const b = runnerName(`${'a'.repeat(70)}-two`, 12, 999);
      assert.ok(a.length <= 63 && b.length <= 63, `${a} ${b}`);
      assert.notEqual(a, b);
      assert.match(a, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    });

    it('do not let a dotted name collide with its dashed twin', () => {
      assert.notEqual(runnerName('a.b', 1, 0), runnerName('a-b', 1, 0));
      assert.ok(!labelSafe('a.b').includes('.'));
    });
  });

  describe('summaries', () => {
    it('accepts a version 1 summary and refuses anything else, so neither backend merges garbage', () => {
      const summary = { v: 1, sent: 2, completed: 2, failed: 0, dropped: 0, status: {}, errors: {}, bytesRead: 0 };
      const text = JSON.stringify({ ...summary, start: 1, end: 2, latency: 'HISTFAAAAB' });
      assert.equal(parseRunnerSummary(text)?.sent, 2);
      assert.equal(parseRunnerSummary(JSON.stringify({ ...summary, v: 2, latency: 'x' })), undefined);
      assert.equal(parseRunnerSummary(JSON.stringify({ ...summary })), undefined, 'no latency histogram');
      assert.equal(parseRunnerSummary('null'), undefined);
      assert.equal(parseRunnerSummary('exited: out of memory'), undefined);
    });
  });

  describe('progress lines', () => {
    it('read back what the runner prints', () => {
      const progress = { at: 5, sent: 3, completed: 2, failed: 1, rps: 12.5, p99Ms: 1.25 };
      assert.deepEqual(parseProgressLine(progressLine(progress).trimEnd()), progress);
    });
  });
});
