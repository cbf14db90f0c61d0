/**
 * Mocha global fixtures: bring the test bed up once for the whole suite and down afterwards, then check that
 * nothing of it is left: no process, and the machine as it was before its real node (host-state.ts). Tests find
 * it through process.env (KUBECONFIG, TEMPORAL_ADDRESS, ...). A test bed already started by
 * `npm run testbed -- up` is reused and left running.
 */
import { defaultStateDir, readTestbedEnv, isAlive } from '../testbed/state.js';
import { testbedDown, testbedLeftovers, testbedUp } from '../testbed/lifecycle.js';

const stateDir = defaultStateDir();
let startedHere = false;

export async function mochaGlobalSetup(): Promise<void> {
  const existing = readTestbedEnv(stateDir);
  startedHere = existing === undefined || !isAlive(Number(existing.TESTBED_PID));
  const started = Date.now();
  const env = await testbedUp(stateDir, { parentPid: process.pid });
  if (startedHere) console.log(`  test bed up in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})`);
  Object.assign(process.env, env);
  // Ctrl-C: stop the test bed before exiting (the supervisor also stops itself once we are gone).
  process.once('SIGINT', () => void testbedDown(stateDir).finally(() => process.exit(130)));
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!startedHere) return;
  await testbedDown(stateDir);
  const leftovers = testbedLeftovers(stateDir);
  if (leftovers.length > 0) {
    throw new Error(`the test bed left behind after teardown:\n  ${leftovers.join('\n  ')}`);
  }
}
