/** A child process of the test bed: output to its own log file, stopped with SIGTERM then SIGKILL. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export class ManagedProcess {
  readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    readonly component: string,
    readonly logFile: string,
    command: string,
    args: string[],
    options: SpawnOptions = {},
  ) {
    const fd = openSync(logFile, 'a');
    // Its own process group, so stop() also reaches anything the component forked.
    this.child = spawn(command, args, { ...options, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Why it is not running, for error messages. */
  describeExit(): string {
    return `${this.component} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}); see ${this.logFile}`;
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    signalGroup(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.child.pid ?? 0, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Leftovers of the group (if the leader exited first) are killed too.
    signalGroup(this.child.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
