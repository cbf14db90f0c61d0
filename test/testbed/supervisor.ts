/**
 * The test bed's supervisor: one process that starts and owns every component (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, the Temporal dev server, the process node agent, and the real node:
 * containerd, kubelet, kube-proxy, CoreDNS), writes their addresses to env.json, and stops them all on
 * SIGTERM/SIGINT, or when the process that asked for it (--parent-pid) is gone, so no component outlives a test
 * run, even one killed with Ctrl-C.
 *
 * A component that dies takes the test bed down, loudly. A deliberate restart of one component leaves the others
 * running: `npm run testbed -- restart <component>` asks the supervisor through its control socket
 * (control.ts), and the supervisor restarts it on the same ports and waits until it serves again.
 *
 * Usage: node supervisor.js --state-dir DIR [--parent-pid PID]
 */
import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTemporalCli, startDevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/util/process.js';
import { applyManifests, ensureTestbedBinaries, startControlPlane } from './control-plane.js';
import { serveControl, type ControlServer } from './control.js';
import { clearCrashedTestbed, otherSupervisor } from './host-state.js';
import { Component, ManagedProcess } from './managed-process.js';
import { NodeAgent } from './node-agent.js';
import { CONTAINERD_ROOT, RealNode, temporalServiceObjects } from './real-node.js';
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

// Synchronous: the last lines before process.exit must reach the file.
const log = (line: string) => {
  try {
    appendFileSync(supervisorLog(stateDir), `${new Date().toISOString()} ${line}\n`);
  } catch {
    // No logs folder yet.
  }
};

/** Every component, in start order: they stop in the reverse order. */
const components: Component[] = [];
let realNode: RealNode | undefined;
let agent: NodeAgent | undefined;
let control: ControlServer | undefined;
let stopping: Promise<void> | undefined;

/** The start (main), which stopAll lets settle first, so that it stops whatever the start was starting. */
let starting: Promise<void> = Promise.resolve();
const START_SETTLE_MS = 60_000;

function stopAll(reason: string): Promise<void> {
  stopping ??= (async () => {
    log(`stopping: ${reason}`);
    await rm(envFile(stateDir), { force: true });
    let settleTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      starting.catch(() => undefined),
      new Promise((resolve) => (settleTimer = setTimeout(resolve, START_SETTLE_MS))),
    ]);
    clearTimeout(settleTimer);
    await control?.close();
    await agent?.stop().catch(() => undefined);
    await realNode?.stop().catch((error: unknown) => log(`stopping the real node: ${String(error)}`));
    const others = components.filter((component) => !realNode?.components.includes(component));
    for (const component of others.reverse()) await component.stop().catch(() => undefined);
    // Anything spawned by a start still under way when the time to settle ran out.
    await Promise.all([...ManagedProcess.spawned].map((child) => child.stop()));
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

/** A component that dies takes the test bed down with it, loudly, rather than leaving half a cluster. */
function onUnexpectedExit(_component: Component, description: string): void {
  if (stopping !== undefined) return;
  log(description);
  void writeFile(errorFile(stateDir), description)
    .then(() => stopAll(description))
    .then(() => process.exit(1));
}

// Two supervisors in one folder would stop each other's components: the second one leaves at once.
const other = otherSupervisor(stateDir);
if (other !== undefined) {
  console.error(`another supervisor (pid ${other}) runs the test bed in ${stateDir}`);
  process.exit(1);
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void stopAll(signal).then(() => process.exit(0)));
}

async function main(): Promise<void> {
  // A fresh cluster every time; boot.log belongs to the process that started us, containerd's root keeps the
  // imported images.
  await mkdir(stateDir, { recursive: true });
  // What a supervisor that was killed (SIGKILL) left: its components, mounts, and the machine's changes.
  await clearCrashedTestbed(stateDir, log);
  // The previous run's logs stay one run longer (what happened before a crash).
  await rm(join(stateDir, 'previous-logs'), { recursive: true, force: true });
  await rename(join(stateDir, 'logs'), join(stateDir, 'previous-logs')).catch(() => undefined);
  const kept = ['boot.log', 'previous-logs', CONTAINERD_ROOT];
  for (const entry of await readdir(stateDir)) {
    if (!kept.includes(entry)) await rm(join(stateDir, entry), { recursive: true, force: true });
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
    ensureTestbedBinaries(buildLog),
    ensureTemporalCli((line) => log(line)),
  ]);
  const node = new RealNode({ stateDir, binaries, log, onUnexpectedExit });
  realNode = node;
  const temporalPort = await freePort();
  const temporalUiPort = await freePort();
  // Whatever fails, wait for the rest to settle, so that stopAll finds every process that did start.
  const [controlPlane, temporal] = await allSettled([
    startControlPlane(stateDir, binaries, onUnexpectedExit, (component) => components.push(component)),
    // The same ports and database file on a restart: clients reconnect and workflows carry on.
    Component.start(
      'temporal',
      async () => {
        const server = await startDevServer({
          port: temporalPort,
          uiPort: temporalUiPort,
          logFile: join(stateDir, 'logs', 'temporal.log'),
          dbFile: join(stateDir, 'temporal.db'),
        });
        return { child: server.process, stop: () => server.stop(), server };
      },
      onUnexpectedExit,
    ).then((component) => {
      components.push(component);
      return component;
    }),
    node.prepare(),
  ] as const);
  agent = new NodeAgent({
    kubeconfig: controlPlane.kubeconfig,
    workDir: join(stateDir, 'node'),
    testbedDir: stateDir,
    runnerEntrypoint: [process.execPath, '--enable-source-maps', join(REPO_ROOT, 'dist', 'src', 'cli.js')],
    log,
  });
  await allSettled([agent.start(), node.join(controlPlane)]);
  components.push(...node.components);
  // Pods reach the apiserver as the `kubernetes` Service (its endpoint is the node's address) and Temporal as
  // temporal-frontend.temporal.svc:7233, the address the operator's manifests name by default.
  await node.forwardFromPods(Number(new URL(controlPlane.server).port));
  await node.forwardFromPods(temporalPort);
  await applyManifests(controlPlane.kubeconfig, temporalServiceObjects(temporalPort));
  // Pods in `default` (the lifecycle tests') are admitted once it has its ServiceAccount.
  await promisify(execFile)('kubectl', [
    `--kubeconfig=${controlPlane.kubeconfig}`,
    'wait',
    '--for=create',
    'serviceaccount/default',
    '-n',
    'default',
    '--timeout=60s',
  ]);
  control = await serveControl(stateDir, {
    components: () => components.map((component) => component.name),
    restart: async (name) => {
      const component = components.find((candidate) => candidate.name === name);
      if (component === undefined) throw new Error(`no component named ${name}`);
      log(`restarting ${name}`);
      const since = new Date();
      await component.restart();
      // The node is Ready again once the kubelet reaches containerd and the apiserver; a new kubelet posts its
      // status when it has.
      if (name === 'kubelet') await node.waitReady(since);
      else if (node.components.includes(component)) await node.waitReady();
      log(`restarted ${name}`);
    },
  });
  const server = temporal.process.server;
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
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    TEMPORAL_UI_URL: server.uiUrl ?? '',
    TEMPORAL_CLI: temporalCli,
    TESTBED_PID: String(process.pid),
    TESTBED_DIR: stateDir,
    TESTBED_TOOLBOX_IMAGE: node.toolboxImage,
  };
  await writeFile(`${envFile(stateDir)}.tmp`, JSON.stringify(env, null, 2));
  await rename(`${envFile(stateDir)}.tmp`, envFile(stateDir));
  log('ready');
}

/** Promise.all that waits for every promise to settle before it rejects with the first error. */
async function allSettled<T extends readonly unknown[]>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

starting = main();
starting.catch(async (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  log(`failed: ${message}`);
  await mkdir(stateDir, { recursive: true });
  await writeFile(errorFile(stateDir), message);
  await stopAll('start failed');
  process.exit(1);
});
