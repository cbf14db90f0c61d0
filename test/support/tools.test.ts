/** Tests find programs on PATH or in the sbin folders, and fail loudly, naming the installer, when one is missing. */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, MissingToolError, PACKAGES_SCRIPT, requireTool, searchPath } from './tools.js';

describe('finding the programs tests run', () => {
  let folder: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tools-'));
  });
  afterEach(() => rm(folder, { recursive: true, force: true }));

  it('finds a program anywhere on PATH, not only at a fixed path', async () => {
    const openssl = join(folder, 'openssl');
    await writeFile(openssl, '#!/bin/sh\n');
    await chmod(openssl, 0o755);
    assert.equal(findTool('openssl', `/no/such/folder:${folder}`), openssl);
  });

  it('skips files on PATH that are not executable', async () => {
    await writeFile(join(folder, 'wrk'), 'not a program');
    assert.notEqual(findTool('wrk', folder), join(folder, 'wrk'));
  });

  it('searches the sbin folders after PATH, as ensure-packages.sh does for nginx', () => {
    assert.deepEqual(searchPath(`${folder}:/usr/sbin`), [folder, '/usr/sbin', '/usr/local/sbin', '/sbin']);
  });

  it('throws an error naming the missing program and the script that installs it', () => {
    // wrk lives in /usr/bin, which this PATH leaves out; no sbin folder has it.
    assert.throws(
      () => requireTool('wrk', folder),
      (error: unknown) =>
        error instanceof MissingToolError &&
        error.message.startsWith('wrk is not installed') &&
        error.message.includes(`bash ${PACKAGES_SCRIPT}`) &&
        error.message.includes('wrk'),
    );
  });

  it('names the Debian package for programs the set-up script does not install', () => {
    assert.throws(() => requireTool('time', folder), /time is not installed .*apt-get install time/);
  });
});
