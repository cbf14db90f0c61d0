/**
 * One pino logger for the operator and the Temporal SDK: SDK lines come out as the process's JSON lines, at
 * LOG_LEVEL, with errors (and their stack) under `err`. Runs in a child process: Runtime.install works once per
 * process.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { createProcessLogger } from '../../src/operator/logging.js';

const LOGGING = fileURLToPath(new URL('../../src/operator/logging.js', import.meta.url));

/** Logs through the SDK's runtime logger in a fresh process at `level`; returns the JSON lines printed. */
async function sdkLines(level: string): Promise<Array<Record<string, unknown>>> {
  const script = `
    const { createProcessLogger, installTemporalRuntime } = await import(${JSON.stringify(LOGGING)});
    const { Runtime } = await import('@temporalio/worker');
    const log = createProcessLogger('worker', ${JSON.stringify(level)});
    installTemporalRuntime(log, ${JSON.stringify(level)}, 0);
    Runtime.instance().logger.info('sdk info line', { taskQueue: 'q' });
    Runtime.instance().logger.error('sdk error line', { error: new Error('boom') });
    log.info('own info line');
    log.error('own error line');
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
  });
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('operator logging', function () {
  this.timeout(60_000);

  it("writes the SDK's lines as the process's JSON lines, errors with their stack under err", async () => {
    const lines = await sdkLines('info');
    const info = lines.find((line) => line.msg === 'sdk info line');
    const error = lines.find((line) => line.msg === 'sdk error line');

    assert.equal(info?.name, 'worker');
    assert.equal(info?.component, 'temporal');
    assert.equal(info?.taskQueue, 'q');
    assert.equal(error?.level, 50);
    const err = error?.err as { message?: string; stack?: string } | undefined;
    assert.equal(err?.message, 'boom');
    assert.match(err?.stack ?? '', /Error: boom\n\s+at /);
  });

  it('writes readable lines on a terminal, without colour under NO_COLOR, and JSON elsewhere', () => {
    const capture = (isTTY: boolean, env: NodeJS.ProcessEnv) => {
      let text = '';
      const stream = Object.assign(
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            text += chunk.toString();
            done();
          },
        }),
        { isTTY },
      );
      createProcessLogger('watcher', 'info', stream, env).info({ loadTest: 'shop/x' }, 'signalled workflow');
      return text;
    };
    const coloured = capture(true, {});
    const plain = capture(true, { NO_COLOR: '1' });
    const json = capture(false, {});

    assert.match(plain, /INFO.*\(watcher\/\d+.*\): signalled workflow\n\s+loadTest: "shop\/x"/);
    assert.ok(!plain.includes('\u001b['), JSON.stringify(plain));
    assert.ok(coloured.includes('\u001b['), JSON.stringify(coloured));
    assert.equal((JSON.parse(json) as { msg: string }).msg, 'signalled workflow');
  });

  it('keeps lines below LOG_LEVEL out', async () => {
    const lines = await sdkLines('error');
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['sdk error line', 'own error line'],
    );
  });
});
