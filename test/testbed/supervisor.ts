/**
 * The test bed's supervisor: one process that starts and owns every component (etcd, kube-apiserver,
 * kube-controller-manager, the Temporal dev server, the node agent), writes their addresses to env.json, and
 * stops them all on SIGTERM/SIGINT, or when the process that asked for it (--parent-pid) is gone, so no
 * component outlives a test run, even one killed with Ctrl-C.
 *
 * Usage: node supervisor.js --state-dir DIR [--parent-pid PID]
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTemporalCli, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { ensureControlPlaneBinaries, startControlPlane } from './control-plane.js';
import type { ManagedProcess } from './managed-process.js';
import { NodeAgent } from './node-agent.js';
import {
  envFile,
  errorFile,
  fingerprintFile,
  REPO_ROOT,
  supervisorLog,
  isAlive,
  testbedCodeHash,
  type TestbedEnv,
  type TestbedFingerprint,
} from './state.js';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const index = argv.indexOf(name);
  return index === -1 ? undefined : argv[index + 1];
};
const stateDir = option('--state-dir') ?? join(REPO_ROOT, '.testbed');
const parentPid = option('--parent-pid') === undefined ? undefined : Number(option('--parent-pid'));

const log = (line: string) => void appendFile(supervisorLog(stateDir), `${new Date().toISOString()} ${line}\n`);

let processes: ManagedProcess[] = [];
let temporal: DevServer | undefined;
let agent: NodeAgent | undefined;
let stopping: Promise<void> | undefined;

function stopAll(reason: string): Promise<void> {
  stopping ??= (async () => {
    log(`stopping: ${reason}`);
    await rm(envFile(stateDir), { force: true });
    await agent?.stop().catch(() => undefined);
    await temporal?.stop().catch(() => undefined);
    // Reverse start order: the controller manager and apiserver before etcd.
    for (const child of [...processes].reverse()) await child.stop();
    log('stopped');
  })();
  return stopping;
}

/** The version a binary reports for `--version`, picked out of its output by `pattern`. */
async function reportedVersion(binary: string, pattern: RegExp): Promise<string> {
  const { stdout } = await promisify(execFile)(binary, ['--version']);
  const version = pattern.exec(stdout)?.[1];
  if (version === undefined) throw new Error(`${binary} --version printed no version: ${stdout.trim()}`);
  return version;
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void stopAll(signal).then(() => process.exit(0)));
}

async function main(): Promise<void> {
  // A fresh cluster every time; boot.log belongs to the process that started us.
  await mkdir(stateDir, { recursive: true });
  for (const entry of await readdir(stateDir)) {
    if (entry !== 'boot.log') await rm(join(stateDir, entry), { recursive: true, force: true });
  }
  await mkdir(join(stateDir, 'logs'), { recursive: true });
  log(`starting in ${stateDir} (pid ${process.pid})`);
  // Hashed before the long build, so that it describes the code this process loaded.
  const code = testbedCodeHash();
  if (parentPid !== undefined) {
    // The test run that started us died without tearing down: go down with it.
    setInterval(() => {
      if (!isAlive(parentPid)) void stopAll(`parent ${parentPid} is gone`).then(() => process.exit(0));
    }, 1000).unref();
  }
  const buildLog = join(stateDir, 'logs', 'build.log');
  const [binaries, temporalCli] = await Promise.all([
    ensureControlPlaneBinaries(buildLog),
    ensureTemporalCli((line) => log(line)),
  ]);
  const temporalStart = startDevServer({
    logFile: join(stateDir, 'logs', 'temporal.log'),
    dbFile: join(stateDir, 'temporal.db'),
  });
  const controlPlane = await startControlPlane(stateDir, binaries);
  processes = controlPlane.processes;
  temporal = await temporalStart;
  agent = new NodeAgent({
    kubeconfig: controlPlane.kubeconfig,
    workDir: join(stateDir, 'node'),
    testbedDir: stateDir,
    runnerEntrypoint: [process.execPath, '--enable-source-maps', join(REPO_ROOT, 'dist', 'src', 'cli.js')],
    log,
  });
  await agent.start();
  // What this test bed runs, so that a later test run reuses it only if it would start the same.
  const fingerprint: TestbedFingerprint = {
    code,
    kubernetes: await reportedVersion(binaries.kubeApiserver, /^Kubernetes (v\S+)/m),
    etcd: await reportedVersion(binaries.etcd, /^etcd Version: (\S+)/m),
    temporalCli: await reportedVersion(temporalCli, /^temporal version (\S+)/m),
  };
  await writeFile(fingerprintFile(stateDir), JSON.stringify(fingerprint, null, 2));
  const env: TestbedEnv = {
    KUBECONFIG: controlPlane.kubeconfig,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_UI_URL: temporal.uiUrl ?? '',
    TEMPORAL_CLI: temporalCli,
    TESTBED_PID: String(process.pid),
    TESTBED_DIR: stateDir,
  };
  await writeFile(`${envFile(stateDir)}.tmp`, JSON.stringify(env, null, 2));
  await rename(`${envFile(stateDir)}.tmp`, envFile(stateDir));
  log('ready');
  // A component that dies takes the test bed down with it, loudly, rather than leaving half a cluster.
  for (const child of processes) {
    child.child.once('exit', () => {
      if (stopping === undefined) {
        void writeFile(errorFile(stateDir), child.describeExit());
        void stopAll(`${child.component} died`).then(() => process.exit(1));
      }
    });
  }
}

main().catch(async (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  log(`failed: ${message}`);
  await mkdir(stateDir, { recursive: true });
  await writeFile(errorFile(stateDir), message);
  await stopAll('start failed');
  process.exit(1);
});
