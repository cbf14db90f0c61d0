/**
 * `npm run demo`: runs examples/demo-loadtest.yaml in local mode against a built-in target server, with live
 * progress, the results table and a link to the run in the Temporal Web UI, which stays up until Ctrl-C.
 * `npm run demo -- --exit` ends right after the results instead.
 *
 * What it does is exactly `loadtest-operator run examples/demo-loadtest.yaml --local --target <url> --keep-ui`.
 */
import { fileURLToPath } from 'node:url';
import { readLoadTestFile, withTarget } from '../src/cli/load-file.js';
import { runLocally } from '../src/cli/run-local.js';
import { startDemoTarget } from './demo-target.js';

const file = fileURLToPath(new URL('../../examples/demo-loadtest.yaml', import.meta.url));
const exitAfterRun = process.argv.includes('--exit');

const target = await startDemoTarget();
try {
  process.stdout.write(`Demo target server: ${target.url}\n`);
  const manifest = withTarget(await readLoadTestFile(file), file, target.url);
  process.exitCode = await runLocally({
    manifest,
    temporalAddress: process.env.TEMPORAL_ADDRESS?.trim() || undefined,
    keepUi: !exitAfterRun,
    output: 'text',
  });
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await target.close();
}
