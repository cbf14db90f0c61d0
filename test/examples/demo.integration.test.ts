/**
 * README, "Two commands": `npm run demo -- --exit` runs a load test in local mode against its built-in target, with
 * live progress, the results and a link to the Temporal Web UI, then exits. Run here as the built script
 * (`node dist/examples/demo.js --exit`, what the npm script ends with), with no TEMPORAL_ADDRESS, as on a fresh
 * machine: it starts its own Temporal dev server.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../operator/cluster.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The demo had not exited by itself within the time limit and was stopped. */
  stopped: boolean;
}

/** Runs the demo; one that does not exit by itself within `timeoutMs` is stopped with SIGTERM. */
function runDemo(timeoutMs: number): Promise<Ran> {
  const env = { ...process.env };
  delete env.TEMPORAL_ADDRESS;
  delete env.TEMPORAL_UI_URL;
  const child = spawn(process.execPath, [join(REPO, 'dist/examples/demo.js'), '--exit'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
    child.kill('SIGTERM');
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, stopped });
    });
  });
}

describe('npm run demo -- --exit', function () {
  this.timeout(120_000);

  it('runs the demo LoadTest to the end, prints progress, results and the Web UI link, and exits 0', async () => {
    const { code, stdout, stderr, stopped } = await runDemo(90_000);

    assert.equal(stopped, false, `the demo did not exit by itself within 90 s:\n${stdout}\n${stderr}`);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /^Demo target server: http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(stdout, /^Web UI {4}http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/\S+$/m);
    assert.match(stdout, /^time=\S+ loadtest=default\/demo .*state=executing step=running .*requests=\d+/m);
    assert.match(stdout, /^Result {6}FINISHED: \d+ requests, 0 errors/m);
    assert.match(stdout, /^Latency ms +p50 +p90 +p95 +p99/m);
    assert.match(stdout, /^Thresholds {2}passed {2}p99 < 250ms/m);
    assert.match(stdout, /^ {12}passed {2}errorRate < 1%/m);
  });
});
