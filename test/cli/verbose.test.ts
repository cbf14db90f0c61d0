/** README: bad input is "one line saying what is wrong; `--verbose` for a stack trace". */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTestYaml, runCli } from './cli-process.js';

const STACK_FRAME = /^ {4}at /m;

describe('loadtest-operator --verbose', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-verbose-'));
    file = join(dir, 'bad.yaml');
    await writeFile(file, loadTestYaml('bad', 'default', 'url: http://127.0.0.1:9/\nrepeat: 0'));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('prints the one-line error and then a stack trace for bad input', async () => {
    const result = await runCli(['run', file, '--local', '--verbose']);

    assert.equal(result.code, 2, result.stderr);
    const [first, ...rest] = result.stderr.split('\n');
    assert.match(first!, /^error: .*bad\.yaml: invalid LoadTest "bad": spec\.test\.repeat: repeat must be at least 1$/);
    assert.match(rest.join('\n'), STACK_FRAME, result.stderr);
    assert.match(rest.join('\n'), /load-file\.js/, 'the stack shows where the input was judged');
  });

  it('prints no stack trace without --verbose', async () => {
    const result = await runCli(['run', file, '--local']);

    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: .*spec\.test\.repeat: repeat must be at least 1\n$/);
    assert.doesNotMatch(result.stderr, STACK_FRAME);
  });
});
