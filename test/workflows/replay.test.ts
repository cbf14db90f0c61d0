import { Worker } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HISTORIES_DIR } from './histories.js';
import { workflowBundle } from './temporal-env.js';

/**
 * Every recorded history (test/fixtures/histories/, from workflow tests and integration runs) must replay on the
 * current workflow code: a change that would break running workflows fails here. Re-record with
 * RECORD_HISTORIES=1 only for a change that is deliberately incompatible (and versioned with `patched`).
 */
describe('LoadTest workflow replay', function () {
  this.timeout(120_000);

  it('replays every recorded history without nondeterminism', async () => {
    const files = readdirSync(HISTORIES_DIR).filter((file) => file.endsWith('.json'));
    assert.ok(files.length > 0, `no histories in ${HISTORIES_DIR}`);
    const histories = files.map((file) => ({
      workflowId: file,
      history: JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as unknown,
    }));

    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
