/**
 * Where a running test bed keeps its files, how tests read its addresses, and what it records about itself
 * (its fingerprint) so that a later test run reuses it only when it is what this clone would start.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_CLI_VERSION } from '../../src/temporal/dev-server.js';

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
export const fingerprintFile = (stateDir: string) => join(stateDir, 'fingerprint.json');
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

/**
 * What a test bed runs, recorded by its supervisor in fingerprint.json before it reports ready. A test run
 * reuses a test bed only when every field equals what this clone's code would start (testbedFingerprint()).
 */
export interface TestbedFingerprint {
  /** sha256 of the test bed's own code: the compiled modules the supervisor loads, and build-binaries.sh. */
  code: string;
  /** What `kube-apiserver --version` reports, e.g. "v1.34.4". */
  kubernetes: string;
  /** What `etcd --version` reports, e.g. "3.6.16". */
  etcd: string;
  /** What `temporal --version` reports, e.g. "1.9.1". */
  temporalCli: string;
}

export function readFingerprint(stateDir: string): TestbedFingerprint | undefined {
  const file = fingerprintFile(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TestbedFingerprint;
}

const SUPERVISOR = fileURLToPath(new URL('./supervisor.js', import.meta.url));
const BUILD_SCRIPT = join(REPO_ROOT, 'test', 'testbed', 'build-binaries.sh');

/** Relative static imports of a compiled module: statements that begin a line with `import` or `export`. */
function relativeImports(source: string): string[] {
  const found = source.matchAll(/^(?:import|export)\b(?:[^;]*?\bfrom)?\s*['"](\.{1,2}\/[^'"]+)['"]/gm);
  return [...found].map((match) => match[1]!);
}

/**
 * Hashes the test bed's code as it would run now: every module reachable from the supervisor through relative
 * imports (packages in node_modules excluded), and the script that picks and builds the binaries.
 */
export function testbedCodeHash(): string {
  const hash = createHash('sha256');
  const seen = new Set<string>();
  const pending = [SUPERVISOR];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const specifier of relativeImports(source)) pending.push(resolve(dirname(file), specifier));
  }
  for (const file of [...seen, BUILD_SCRIPT].sort()) {
    hash.update(`${relative(REPO_ROOT, file)}\0${readFileSync(file, 'utf8')}\0`);
  }
  return hash.digest('hex');
}

/** A version from build-binaries.sh (`NAME="${NAME:-v1.2.3}"`), or from the environment that overrides it. */
function buildScriptVersion(name: 'K8S_VERSION' | 'ETCD_VERSION'): string {
  const fromEnvironment = process.env[name];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  const match = new RegExp(`^${name}="\\$\\{${name}:-([^}]+)\\}"`, 'm').exec(readFileSync(BUILD_SCRIPT, 'utf8'));
  if (match === null) throw new Error(`${BUILD_SCRIPT} sets no default ${name}`);
  return match[1]!;
}

/** The fingerprint of the test bed this clone would start now. */
export function testbedFingerprint(): TestbedFingerprint {
  return {
    code: testbedCodeHash(),
    kubernetes: buildScriptVersion('K8S_VERSION'),
    // etcd reports its version without the tag's "v".
    etcd: buildScriptVersion('ETCD_VERSION').replace(/^v/, ''),
    temporalCli: TEMPORAL_CLI_VERSION,
  };
}

/** The fields in which a recorded fingerprint differs from the expected one, as "name: recorded ≠ expected". */
export function fingerprintDifferences(recorded: TestbedFingerprint, expected: TestbedFingerprint): string[] {
  return (Object.keys(expected) as (keyof TestbedFingerprint)[])
    .filter((key) => recorded[key] !== expected[key])
    .map((key) => `${key}: running ${String(recorded[key])}, this clone's is ${expected[key]}`);
}
