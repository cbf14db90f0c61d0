/**
 * Mocha global fixtures: bring the test bed up once for the whole suite, or reuse the one that
 * `npm run testbed -- up` started once checkReusable() has accepted it (same code and versions, apiserver
 * ready, Temporal serving). Tests find it through process.env (KUBECONFIG, TEMPORAL_ADDRESS, ...).
 *
 * At the end, every process the run started must be gone, whether the test bed was reused or not (see
 * RunProcesses). A test bed started here is then stopped, and nothing of it may be left: no process, and the
 * machine as it was before its real node (host-state.ts). A reused one is left running.
 */
import { isAlive, defaultStateDir, readTestbedEnv } from '../testbed/state.js';
import { testbedDown, testbedLeftovers, testbedUp } from '../testbed/lifecycle.js';
import { importOperatorImage } from '../testbed/real-node.js';
import { describeProcesses, RunProcesses, TEST_RUN_MARKER } from './run-processes.js';

/** How long the processes the tests started get to exit after the last test (pods of deleted namespaces). */
const EXIT_GRACE_MS = 60_000;

const stateDir = defaultStateDir();
let startedHere = false;
let run: RunProcesses | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  const existing = readTestbedEnv(stateDir);
  startedHere = existing === undefined || !isAlive(Number(existing.TESTBED_PID));
  const started = Date.now();
  const env = await testbedUp(stateDir, { parentPid: process.pid });
  if (startedHere) console.log(`  test bed up in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})`);
  else console.log(`  reusing the test bed in ${stateDir}: same code and versions, apiserver ready, Temporal serving`);
  // A reused test bed may hold an image of older code: runner pods on the real node must run this clone's.
  await importOperatorImage(stateDir, (line) => console.log(`  ${line}`));
  // After the test bed is up, so that only what the tests start carries the marker.
  run = new RunProcesses(stateDir);
  process.env[TEST_RUN_MARKER] = run.runId;
  Object.assign(process.env, env);
  // Ctrl-C: stop the test bed before exiting (the supervisor also stops itself once we are gone).
  process.once(
    'SIGINT',
    () => void (startedHere ? testbedDown(stateDir) : Promise.resolve()).finally(() => process.exit(130)),
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  const problems: string[] = [];
  const left = (await run?.leftAfter(EXIT_GRACE_MS)) ?? [];
  if (left.length > 0) {
    problems.push(
      `processes this test run started are still running ${EXIT_GRACE_MS / 1000} s after the last test:\n  ` +
        describeProcesses(left),
    );
  }
  if (startedHere) {
    await testbedDown(stateDir);
    const leftovers = testbedLeftovers(stateDir);
    if (leftovers.length > 0) {
      problems.push(`the test bed left behind after teardown:\n  ${leftovers.join('\n  ')}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
