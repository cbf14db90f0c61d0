/** A child process of the test bed: output to its own log file, stopped with SIGTERM then SIGKILL. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export class ManagedProcess implements RunningProcess {
  /** Every process spawned in this program and still running: the supervisor's last sweep on stop. */
  static readonly spawned = new Set<ManagedProcess>();
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
    ManagedProcess.spawned.add(this);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        ManagedProcess.spawned.delete(this);
        resolve();
      }),
    );
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

/** What the supervisor needs of a running component's process: its child, and how to stop it. */
export interface RunningProcess {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * One component of the test bed under the supervisor: started (and restarted) by `launch`, which resolves once
 * the component serves. An exit the supervisor did not ask for (not a stop, not a restart) is reported to
 * `onUnexpectedExit`, so that a dying component takes the test bed down rather than leaving half a cluster.
 */
export class Component<P extends RunningProcess = RunningProcess> {
  private expectingExit = false;
  private launched: P | undefined;

  private constructor(
    readonly name: string,
    private readonly launch: () => Promise<P>,
    private readonly onUnexpectedExit: (component: Component, description: string) => void,
  ) {}

  static async start<P extends RunningProcess>(
    name: string,
    launch: () => Promise<P>,
    onUnexpectedExit: (component: Component, description: string) => void,
  ): Promise<Component<P>> {
    const component = new Component(name, launch, onUnexpectedExit);
    await component.launchAndWatch();
    return component;
  }

  /** The process currently running. */
  get process(): P {
    if (this.launched === undefined) throw new Error(`${this.name} is not running`);
    return this.launched;
  }

  /** Stops the process and starts it again with the same command line; resolves once it serves again. */
  async restart(): Promise<void> {
    this.expectingExit = true;
    await this.launched?.stop();
    this.expectingExit = false;
    try {
      await this.launchAndWatch();
    } catch (error) {
      this.onUnexpectedExit(this, `${this.name} did not come back after a restart: ${String(error)}`);
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.expectingExit = true;
    await this.launched?.stop();
  }

  private async launchAndWatch(): Promise<void> {
    const launched = await this.launch();
    this.launched = launched;
    const { child } = launched;
    const watch = () => {
      if (this.expectingExit || this.launched !== launched) return;
      const description =
        launched instanceof ManagedProcess
          ? launched.describeExit()
          : `${this.name} exited (code ${child.exitCode}, signal ${child.signalCode})`;
      this.onUnexpectedExit(this, description);
    };
    if (child.exitCode !== null || child.signalCode !== null) watch();
    else child.once('exit', watch);
  }
}
