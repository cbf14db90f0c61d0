/** Bringing the test bed up and down from another process (the CLI and mocha's global setup). */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../src/util/process.js';
import { errorFile, isAlive, readTestbedEnv, supervisorLog, TESTBED_MARKER, type TestbedEnv } from './state.js';

/** Cold builds of kube-apiserver take 10–25 minutes on 2 cores; a warm start takes seconds. */
const UP_TIMEOUT_MS = 40 * 60_000;

export async function testbedUp(stateDir: string, options: { parentPid?: number } = {}): Promise<TestbedEnv> {
  const running = readTestbedEnv(stateDir);
  if (running !== undefined && isAlive(Number(running.TESTBED_PID))) return running;
  await mkdir(stateDir, { recursive: true });
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
  return waitFor(
    () => {
      if (existsSync(errorFile(stateDir)) && !isAlive(pid))
        throw new TestbedStartError(readFileSync(errorFile(stateDir), 'utf8'));
      if (!isAlive(pid)) throw new TestbedStartError(`the test bed supervisor exited; see ${supervisorLog(stateDir)}`);
      return Promise.resolve(readTestbedEnv(stateDir));
    },
    { timeoutMs: UP_TIMEOUT_MS, intervalMs: 200, what: `the test bed (log: ${supervisorLog(stateDir)})` },
  );
}

export class TestbedStartError extends Error {}

export async function testbedDown(stateDir: string): Promise<void> {
  const pid = supervisorPid(stateDir);
  if (pid === undefined || !isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(() => Promise.resolve(!isAlive(pid)), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'the test bed to stop',
  });
}

function supervisorPid(stateDir: string): number | undefined {
  const env = readTestbedEnv(stateDir);
  if (env !== undefined) return Number(env.TESTBED_PID);
  // Still starting: find it by its command line.
  return testbedProcesses(stateDir).find((p) => p.command.includes('supervisor.js'))?.pid;
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
