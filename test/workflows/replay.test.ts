import { Worker } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import {
  CONTINUED_AS_NEW,
  HISTORIES_DIR,
  readHistoryFixture,
  startedAttributes,
  type HistoryJson,
} from './histories.js';
import { workflowBundle } from './temporal-env.js';

/**
 * Every recorded history (test/fixtures/histories/, every run of the workflow tests' and integration runs'
 * continue-as-new chains) must replay on the current workflow code: a change that would break running workflows
 * fails here. Re-record (see histories.ts) only for a change that is deliberately incompatible (and versioned
 * with `patched`).
 */
describe('LoadTest workflow replay', function () {
  this.timeout(120_000);

  /** Every fixture, parsed; throws naming the file that is not a LoadTest workflow history. */
  function fixtures(): Array<{ file: string; history: HistoryJson }> {
    assert.ok(existsSync(HISTORIES_DIR), `the fixtures folder ${HISTORIES_DIR} does not exist`);
    // Subfolders keep histories recorded by earlier releases of the workflow code (v0.1/: before the layers split).
    const files = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.json'))
      .sort();
    assert.ok(files.length > 0, `no histories in ${HISTORIES_DIR}: nothing would be replayed`);
    return files.map((file) => ({ file, history: readHistoryFixture(file) }));
  }

  it('replays every recorded history without nondeterminism', async () => {
    const histories = fixtures().map(({ file, history }) => ({ workflowId: file, history }));

    const failures: string[] = [];
    const replayed: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      replayed.push(result.workflowId);
      if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(replayed.sort(), histories.map((history) => history.workflowId).sort(), 'every file replayed');
  });

  it('holds every run of each recorded continue-as-new chain, as <name>-run<N>.json in order, and their child runs', () => {
    const all = fixtures();
    const byRunId = new Map(
      all.map((fixture) => [startedAttributes(fixture.history, fixture.file).originalExecutionRunId, fixture]),
    );
    const problems: string[] = [];
    for (const { file, history } of all) {
      // A run's own workflow (workflows/run.ts), started as a child by run<N>: no chain of its own.
      if (/-run\d+-child\d+\.json$/.test(file)) {
        if (startedAttributes(history, file).workflowType?.name !== 'loadTestRunWorkflow') {
          problems.push(`${file}: named as a run's child workflow, but it is not a loadTestRunWorkflow history`);
        }
        continue;
      }
      const numbered = /^(.*)-run(\d+)\.json$/.exec(file);
      if (numbered === null) {
        problems.push(`${file}: not named <test-name>-run<N>.json`);
        continue;
      }
      const [, stem, n] = numbered;
      const attributes = startedAttributes(history, file);
      const next = history.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (next !== undefined && !byRunId.has(next)) {
        problems.push(`${file}: continues as new into run ${next}, which no fixture holds`);
      }
      const previousRunId = attributes.continuedExecutionRunId;
      if (previousRunId === undefined || previousRunId === '') {
        if (n !== '1') problems.push(`${file}: the first run of its chain, but not run1`);
        continue;
      }
      const previous = byRunId.get(previousRunId);
      const expected = `${stem}-run${Number(n) - 1}.json`;
      if (previous === undefined) {
        problems.push(`${file}: continues run ${previousRunId}, which no fixture holds (expected ${expected})`);
        continue;
      }
      if (previous.file !== expected) problems.push(`${file}: continues ${previous.file}, expected ${expected}`);
      const last = previous.history.events.at(-1);
      if (
        last?.eventType !== CONTINUED_AS_NEW ||
        last.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId !== attributes.originalExecutionRunId
      ) {
        problems.push(`${previous.file}: does not end continuing as new into ${file}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
