/** Bringing the test bed up and down from another process (the CLI and mocha's global setup). */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../src/util/process.js';
import { clearCrashedTestbed, hostLeftovers } from './host-state.js';
import {
  envFile,
  errorFile,
  isAlive,
  readTestbedEnv,
  supervisorLog,
  TESTBED_MARKER,
  type TestbedEnv,
} from './state.js';

/** Cold builds of kube-apiserver take 10–25 minutes on 2 cores; a warm start takes seconds. */
const UP_TIMEOUT_MS = 40 * 60_000;

export async function testbedUp(stateDir: string, options: { parentPid?: number } = {}): Promise<TestbedEnv> {
  const running = readTestbedEnv(stateDir);
  if (running !== undefined && isAlive(Number(running.TESTBED_PID))) return running;
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

/** Every live process whose command line names this test bed's state folder (its components and pods). */
export function testbedProcesses(stateDir: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      // Pod processes are recognised by the marker the node agent puts in their environment.
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (command.includes(stateDir) || environment.includes(`${TESTBED_MARKER}=${stateDir}`)) {
        found.push({ pid: Number(entry), command });
      }
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}
