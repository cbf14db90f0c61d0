/**
 * The Temporal CLI that local mode runs: a lock left behind by an interrupted install is taken over at once,
 * and a `temporal` on PATH is found (run-local-temporal-path.integration.test.ts runs it).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, findTemporalOnPath, isStaleLock } from '../../src/temporal/dev-server.js';

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('Temporal CLI for local mode', function () {
  this.timeout(90_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-devserver-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('takes over a lock whose process is gone, and leaves one whose process runs', async () => {
    const stale = join(dir, 'stale.lock');
    const live = join(dir, 'live.lock');
    await writeFile(stale, String(await deadPid()));
    await writeFile(live, String(process.pid));

    assert.equal(await isStaleLock(stale), true);
    assert.equal(await isStaleLock(live), false);
    const lock = await acquireLock(stale);
    assert.equal(await readFile(stale, 'utf8'), String(process.pid));
    await lock.release();
  });

  it('finds an executable `temporal` on PATH, skipping one that is not executable', async () => {
    await writeFile(join(dir, 'temporal'), '#!/bin/sh\n');
    assert.equal(findTemporalOnPath(`${join(dir, 'none')}:${dir}`), undefined);
    await chmod(join(dir, 'temporal'), 0o755);
    assert.equal(findTemporalOnPath(`${join(dir, 'none')}:${dir}`), join(dir, 'temporal'));
  });
});
