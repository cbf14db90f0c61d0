/** `run --local` without TEMPORAL_ADDRESS runs its embedded dev server from the `temporal` on PATH. */
import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporalCli } from '../../src/temporal/dev-server.js';
import { startTargetServer } from '../support/target-server.js';
import { loadTestYaml, runCli } from './cli-process.js';

describe('run --local with a temporal CLI on PATH', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-temporal-path-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('uses it for the embedded dev server instead of installing one', async () => {
    // A `temporal` on PATH that notes each call, then runs the real CLI.
    const real = await ensureTemporalCli();
    const calls = join(dir, 'calls.txt');
    await writeFile(join(dir, 'temporal'), `#!/bin/sh\necho "$1 $2" >> ${calls}\nexec ${real} "$@"\n`);
    await chmod(join(dir, 'temporal'), 0o755);
    const target = await startTargetServer((_request, response) => response.end('ok'));
    const file = join(dir, 'local.yaml');
    await writeFile(file, loadTestYaml('from-path', 'default', `url: http://127.0.0.1:${target.port}/\nrepeat: 3`));
    try {
      const result = await runCli(['run', file, '--local'], {
        PATH: `${dir}:${process.env.PATH ?? ''}`,
        TEMPORAL_ADDRESS: undefined,
      });
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    } finally {
      await target.close();
    }
    assert.match(await readFile(calls, 'utf8'), /^server start-dev$/m);
  });
});
