/** Where a running test bed keeps its files, and how tests read its addresses. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The clone's root (this file is compiled to dist/test/testbed/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** One test bed per clone: its state, logs and pod files live in `<clone>/.testbed` (git-ignored). */
export function defaultStateDir(): string {
  return process.env.TESTBED_DIR ?? join(REPO_ROOT, '.testbed');
}

export interface TestbedEnv {
  KUBECONFIG: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_UI_URL: string;
  TEMPORAL_CLI: string;
  /** The supervisor's pid: it owns every other process of the test bed. */
  TESTBED_PID: string;
  TESTBED_DIR: string;
  /** The toolbox image (test/testbed/toolbox) in the real node's containerd. */
  TESTBED_TOOLBOX_IMAGE: string;
}

/** Environment variable the node agent sets in every pod process: which test bed it belongs to. */
export const TESTBED_MARKER = 'LOADTEST_TESTBED_DIR';

export const envFile = (stateDir: string) => join(stateDir, 'env.json');
export const errorFile = (stateDir: string) => join(stateDir, 'error.txt');
export const supervisorLog = (stateDir: string) => join(stateDir, 'logs', 'supervisor.log');

export function readTestbedEnv(stateDir = defaultStateDir()): TestbedEnv | undefined {
  const file = envFile(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TestbedEnv;
}

/** The test bed's env, or an error telling how to start it. */
export function requireTestbedEnv(stateDir = defaultStateDir()): TestbedEnv {
  const env = readTestbedEnv(stateDir);
  if (env === undefined) throw new Error(`no test bed is running in ${stateDir}: run \`npm run testbed -- up\``);
  return env;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
