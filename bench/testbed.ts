/**
 * The test bed a benchmark runs on: the running one (left up afterwards), or one started here (taken down at
 * `release`). Either way the runners run this clone's image, imported into the real node's containerd.
 */
import { testbedDown, testbedUp } from '../test/testbed/lifecycle.js';
import { importOperatorImage } from '../test/testbed/real-node.js';
import { defaultStateDir, isAlive, readTestbedEnv } from '../test/testbed/state.js';

export interface BenchTestbed {
  /** Takes the test bed down when this benchmark started it. */
  release(): Promise<void>;
}

/** Brings the test bed up (or joins it), exports its environment into process.env and imports the image. */
export async function benchTestbed(): Promise<BenchTestbed> {
  const stateDir = defaultStateDir();
  const running = readTestbedEnv(stateDir);
  const startedHere = running === undefined || !isAlive(Number(running.TESTBED_PID));
  Object.assign(process.env, await testbedUp(stateDir, { parentPid: process.pid }));
  await importOperatorImage(stateDir, (line) => console.error(line));
  return { release: () => (startedHere ? testbedDown(stateDir) : Promise.resolve()) };
}
