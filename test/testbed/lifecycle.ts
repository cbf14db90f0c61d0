/**
 * Bringing the test bed up and down from another process (the CLI and mocha's global setup), deciding whether
 * a running one may be reused, and finding the processes of a test bed or of a test run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { waitFor } from '../../src/util/process.js';
import { clearCrashedTestbed, hostLeftovers } from './host-state.js';
import {
  envFile,
  errorFile,
  fingerprintDifferences,
  fingerprintFile,
  isAlive,
  readFingerprint,
  readTestbedEnv,
  supervisorLog,
  TESTBED_MARKER,
  testbedFingerprint,
  type TestbedEnv,
} from './state.js';

/** Cold builds of kube-apiserver take 10–25 minutes on 2 cores; a warm start takes seconds. */
const UP_TIMEOUT_MS = 40 * 60_000;

/** How long a health probe of a running test bed may take before it counts as not answering. */
const PROBE_TIMEOUT_MS = 5000;

/**
 * Brings the test bed up, or returns the running one after checkReusable() accepted it (it throws a
 * TestbedReuseError otherwise).
 */
export async function testbedUp(stateDir: string, options: { parentPid?: number } = {}): Promise<TestbedEnv> {
  const running = readTestbedEnv(stateDir);
  if (running !== undefined && isAlive(Number(running.TESTBED_PID))) {
    await checkReusable(stateDir, running);
    return running;
  }
  await mkdir(stateDir, { recursive: true });
  // Left by a supervisor that was killed: it must not pass for the new one's.
  await rm(envFile(stateDir), { force: true });
  const supervisor = fileURLToPath(new URL('./supervisor.js', import.meta.url));
  const args = [supervisor, '--state-dir', stateDir];
  if (options.parentPid !== undefined) args.push('--parent-pid', String(options.parentPid));
  // Detached: Ctrl-C in the terminal reaches the test run, whose teardown (or the parent check) stops it.
  const bootLog = await open(join(stateDir, 'boot.log'), 'a');
  const child = spawn(process.execPath, ['--enable-source-maps', ...args], {
    detached: true,
    stdio: ['ignore', bootLog.fd, bootLog.fd],
  });
  child.unref();
  await bootLog.close();
  const pid = child.pid!;
  // waitFor retries a probe that throws: a supervisor that gave up is an outcome, thrown after the wait.
  const outcome = await waitFor<{ failure: string } | { env: TestbedEnv }>(
    () => {
      if (!isAlive(pid)) {
        const failure = existsSync(errorFile(stateDir))
          ? readFileSync(errorFile(stateDir), 'utf8')
          : `the test bed supervisor exited; see ${supervisorLog(stateDir)}`;
        return Promise.resolve({ failure });
      }
      const env = readTestbedEnv(stateDir);
      return Promise.resolve(env?.TESTBED_PID === String(pid) ? { env } : undefined);
    },
    { timeoutMs: UP_TIMEOUT_MS, intervalMs: 200, what: `the test bed (log: ${supervisorLog(stateDir)})` },
  );
  if ('failure' in outcome) throw new TestbedStartError(outcome.failure);
  return outcome.env;
}

export class TestbedStartError extends Error {}

/** A running test bed that is not what this clone would start, or does not answer. */
export class TestbedReuseError extends Error {}

/**
 * Accepts a running test bed only if it runs what this clone would start (its recorded fingerprint: the test
 * bed's code and the kube-apiserver, etcd and Temporal CLI versions) and answers: the apiserver's /readyz with
 * the admin kubeconfig, and Temporal's health check at its address. Throws a TestbedReuseError saying why and
 * how to replace it otherwise.
 */
export async function checkReusable(stateDir: string, env: TestbedEnv): Promise<void> {
  const refuse = (reason: string) =>
    new TestbedReuseError(
      `the test bed running in ${stateDir} (supervisor pid ${env.TESTBED_PID}) cannot be reused: ${reason}. ` +
        'Stop it with `npm run testbed -- down` and run again (a new one is started).',
    );
  const recorded = readFingerprint(stateDir);
  if (recorded === undefined) throw refuse(`it recorded no ${fingerprintFile(stateDir)} (an older test bed)`);
  const differences = fingerprintDifferences(recorded, testbedFingerprint());
  if (differences.length > 0) throw refuse(`it differs from this clone's (${differences.join('; ')})`);
  const apiserver = await apiserverReadyz(env.KUBECONFIG).catch((error: Error) => error.message);
  if (apiserver !== 'ok') throw refuse(`kube-apiserver is not ready with the admin kubeconfig: ${apiserver}`);
  const temporal = await temporalHealth(env.TEMPORAL_ADDRESS).catch((error: Error) => error.message);
  if (temporal !== 'SERVING') throw refuse(`Temporal at ${env.TEMPORAL_ADDRESS} does not answer: ${temporal}`);
}

/** GET /readyz with the kubeconfig's server, CA and token: 'ok', or what went wrong. */
async function apiserverReadyz(kubeconfigFile: string): Promise<string> {
  const kubeconfig = JSON.parse(await readFile(kubeconfigFile, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { token: string } }>;
  };
  const { server, 'certificate-authority-data': ca } = kubeconfig.clusters[0]!.cluster;
  const url = `${server}/readyz`;
  return new Promise((resolve, reject) => {
    const options = {
      ca: Buffer.from(ca, 'base64'),
      headers: { authorization: `Bearer ${kubeconfig.users[0]!.user.token}` },
      timeout: PROBE_TIMEOUT_MS,
    };
    const req = request(url, options, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve(response.statusCode === 200 ? body.trim() : `${url} answered ${response.statusCode} ${body.trim()}`),
      );
    });
    req.on('error', (error) => reject(new Error(`${url}: ${error.message}`)));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    req.end();
  });
}

/** The gRPC health check of Temporal's frontend: 'SERVING', or its status. */
async function temporalHealth(address: string): Promise<string> {
  const connection = await Connection.connect({ address, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    const { status } = await connection.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () =>
      connection.healthService.check({}),
    );
    // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
    return Number(status) === 1 ? 'SERVING' : `health status ${status}`;
  } finally {
    await connection.close();
  }
}

/**
 * Stops the test bed's supervisor, which stops everything it started and restores the machine. After a
 * supervisor that was killed (SIGKILL) and stopped nothing, clears what it left: its components and the machine.
 */
export async function testbedDown(stateDir: string): Promise<void> {
  const pid = supervisorPid(stateDir);
  if (pid !== undefined && isAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    await waitFor(() => Promise.resolve(!isAlive(pid)), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'the test bed to stop',
    });
  }
  await clearCrashedTestbed(stateDir, () => undefined);
  await rm(envFile(stateDir), { force: true });
}

function supervisorPid(stateDir: string): number | undefined {
  const env = readTestbedEnv(stateDir);
  if (env !== undefined && isAlive(Number(env.TESTBED_PID))) return Number(env.TESTBED_PID);
  // Still starting: find it by its command line.
  return testbedProcesses(stateDir).find((p) => p.command.includes('supervisor.js'))?.pid;
}

/**
 * What a stopped test bed left behind, one line each: its processes, and what its real node changed on the
 * machine (iptables chains, the bridge, veths, network namespaces, cgroups, mounts, sysctls, files).
 */
export function testbedLeftovers(stateDir: string): string[] {
  return [
    ...testbedProcesses(stateDir).map((p) => `process ${p.pid} ${p.command.slice(0, 100)}`),
    ...hostLeftovers(stateDir),
  ];
}

/** A live process; `started` (clock ticks after boot) tells it from a later process with the same pid. */
export interface LiveProcess {
  pid: number;
  started: number;
  /** The parent's pid. */
  parent: number;
  command: string;
  /** A pod's process on the process node (it carries TESTBED_MARKER in its environment), not a component. */
  pod: boolean;
}

/** Every live process but this one for which `matches(command line, environment variables)` holds. */
export function findProcesses(matches: (command: string, environment: string[]) => boolean): LiveProcess[] {
  const found: LiveProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      // Fields 4 (parent) and 22 (start time) of stat, counted after the command name, which may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pod = environment.some((variable) => variable.startsWith(`${TESTBED_MARKER}=`));
      if (matches(command, environment)) {
        found.push({ pid: Number(entry), started: Number(fields[19]), parent: Number(fields[1]), command, pod });
      }
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** Every live process whose command line names this test bed's state folder (its components and pods). */
export function testbedProcesses(stateDir: string): LiveProcess[] {
  // Pod processes are recognised by the marker the node agent puts in their environment.
  return findProcesses(
    (command, environment) => command.includes(stateDir) || environment.includes(`${TESTBED_MARKER}=${stateDir}`),
  );
}

/**
 * The test bed's own components in `stateDir`: its supervisor and every process under it but the process node's
 * pods (etcd, kube-apiserver, kubelet, containerd, Temporal, the machine lock's helper...). Containers of the
 * real node are not among them: their shims leave the supervisor's tree.
 */
export function testbedComponents(stateDir: string): LiveProcess[] {
  const processes = testbedProcesses(stateDir);
  const all = findProcesses(() => true);
  const components = new Set(processes.filter((p) => p.command.includes('supervisor.js')).map((p) => p.pid));
  // Descendants, parents first: a child's pid is not always larger than its parent's, so repeat until stable.
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!components.has(p.pid) && components.has(p.parent) && !p.pod) {
        components.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => components.has(p.pid));
}
