/**
 * Runner processes on this machine: what runner pods are in a cluster. Each runner is `loadtest-operator
 * runner ...` (the same flags runnerArgs() gives a pod) that waits at the start line for its start-at file,
 * prints progress snapshots on stderr and writes its summary to a file when done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { LoadTestRef } from '../types.js';
import {
  parseProgressLine,
  parseRunnerSummary,
  START_AT_ANNOTATION,
  type RunnerProgress,
  type RunnerSummary,
} from '../../src/runner/contract.js';
import { CONTROL_TOKEN_ENV } from '../../src/runner/control-api.js';
import { RunnerControl } from '../../src/runner/control-client.js';

/** `node <this package's CLI>`: the runner command in a local checkout or an installed package. */
export function defaultRunnerCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../src/cli.js', import.meta.url))];
}

/** Lines of a runner's stderr kept to explain a failure. */
const STDERR_TAIL_LINES = 20;
/** How long a runner gets to write its summary after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5000;

export type RunnerOutcome = { kind: 'succeeded'; summary: RunnerSummary } | { kind: 'failed'; reason: string };

/** One runner process. */
export class RunnerProcess {
  /** The latest progress snapshot, once the runner has printed one. */
  progress?: RunnerProgress;
  /** Resolves once the process has exited (or failed to start) with what it achieved. */
  readonly outcome: Promise<RunnerOutcome>;
  /** Resolves once the process has started, or failed to. */
  readonly started: Promise<RunnerOutcome | undefined>;
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  /** This runner's control token: only this worker knows it (the runner reads it from its environment). */
  private readonly token = randomBytes(32).toString('base64url');
  /** The port of the runner's control endpoint, once it has printed it (`--control-port 0`). */
  private controlPort?: number;
  private exited = false;
  private stopping = false;

  constructor(
    readonly name: string,
    readonly loadTest: LoadTestRef,
    readonly generation: number,
    readonly files: { summary: string; startAt: string },
    command: readonly string[],
    args: readonly string[],
    private readonly logger?: Logger,
  ) {
    const [executable, ...leading] = command;
    if (executable === undefined) throw new Error('the runner command is empty');
    // A process group of its own: Ctrl-C in a terminal reaches the command, which stops runners as the workflow
    // decides, rather than every runner at once (they would report partial results as a finished run).
    this.child = spawn(executable, [...leading, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      env: { ...process.env, [CONTROL_TOKEN_ENV]: this.token },
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.onStderr(line));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      this.child.once('error', (error) => resolve({ code: null, signal: null, error }));
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    this.started = new Promise((resolve) => {
      this.child.once('spawn', () => resolve(undefined));
      void exit.then(() => resolve(this.outcome));
    });
    this.outcome = exit.then(async ({ code, signal, error }) => {
      this.exited = true;
      const outcome = await this.judge(code, signal, error);
      this.logger?.info({ runner: name, code, signal, outcome: outcome.kind }, 'runner exited');
      return outcome;
    });
  }

  get finished(): boolean {
    return this.exited;
  }

  /** The runner's control endpoint, once it listens (and while it runs). */
  get control(): RunnerControl | undefined {
    if (this.controlPort === undefined || this.exited) return undefined;
    return new RunnerControl(`http://127.0.0.1:${this.controlPort}`, this.token);
  }

  /** Kills the runner at once (synchronous: for process exit). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Asks the runner to stop (it still writes its summary); kills it if it has not exited after a grace period. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.stopping = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.outcome;
    clearTimeout(timer);
  }

  private onStderr(line: string): void {
    const progress = parseProgressLine(line);
    if (progress !== undefined) {
      this.progress = progress;
      return;
    }
    const port = controlPortLine(line);
    if (port !== undefined) {
      this.controlPort = port;
      return;
    }
    this.logger?.debug({ runner: this.name, line }, 'runner stderr');
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
  }

  private async judge(
    code: number | null,
    signal: NodeJS.Signals | null,
    error: Error | undefined,
  ): Promise<RunnerOutcome> {
    if (error !== undefined) return { kind: 'failed', reason: `could not be started: ${error.message}` };
    if (this.stopping) return { kind: 'failed', reason: 'was stopped' };
    const said = this.stderrTail.filter((line) => line.trim() !== '').at(-1);
    const saying = said === undefined ? '' : `: ${said.trim()}`;
    if (signal !== null) return { kind: 'failed', reason: `was killed by ${signal}${saying}` };
    // Exit code 1 means "some requests failed": the run itself completed and its summary counts.
    if (code !== 0 && code !== 1) return { kind: 'failed', reason: `exited with code ${code}${saying}` };
    let text: string;
    try {
      text = await readFile(this.files.summary, 'utf8');
    } catch (readError) {
      const why = saying === '' ? ` (${String(readError)})` : saying;
      return { kind: 'failed', reason: `exited with code ${code} and left no summary${why}` };
    }
    const summary = parseRunnerSummary(text);
    if (summary === undefined) return { kind: 'failed', reason: `exited with code ${code} but its summary is not one` };
    return { kind: 'succeeded', summary };
  }
}

export interface LocalRunnersOptions {
  /** Executable and leading arguments of `loadtest-operator`; runner flags follow. Default defaultRunnerCommand(). */
  command?: readonly string[];
  /** Directory for summary and start-at files. Default: a new directory under the OS temp directory. */
  workDir?: string;
  /** How often each runner prints a progress snapshot, ms. Default 1000. */
  progressIntervalMs?: number;
  logger?: Logger;
}

/** Every runner process this worker started, by LoadTest uid and runner name. */
export class LocalRunners {
  readonly command: readonly string[];
  readonly workDir: string;
  readonly progressIntervalMs: number;
  private readonly runners = new Map<string, RunnerProcess>();

  /** Runners live in process groups of their own, so nothing else stops them if this process ends abruptly. */
  private readonly killAll = () => {
    for (const runner of this.runners.values()) runner.kill();
  };

  constructor(private readonly options: LocalRunnersOptions = {}) {
    this.command = options.command ?? defaultRunnerCommand();
    this.workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'loadtest-runners-'));
    this.progressIntervalMs = options.progressIntervalMs ?? 1000;
    process.once('exit', this.killAll);
  }

  get(loadTest: LoadTestRef, name: string): RunnerProcess | undefined {
    return this.runners.get(key(loadTest, name));
  }

  /** The runners of one LoadTest, in start order. */
  of(loadTest: LoadTestRef): RunnerProcess[] {
    return [...this.runners.values()].filter((runner) => runner.loadTest.uid === loadTest.uid);
  }

  /** Starts a runner unless one of that name runs already (so a retried activity starts no duplicate). */
  start(loadTest: LoadTestRef, generation: number, name: string, runnerFlags: readonly string[]): RunnerProcess {
    const existing = this.get(loadTest, name);
    if (existing !== undefined) return existing;
    const base = join(this.workDir, `${loadTest.uid}-${name}`);
    const files = { summary: `${base}.summary.json`, startAt: `${base}.start-at` };
    const args = [
      ...runnerFlags,
      '--summary-file',
      files.summary,
      '--start-at-file',
      files.startAt,
      '--progress-interval',
      String(this.progressIntervalMs),
      // Any free port: the runner prints it, and the worker talks to it as the operator talks to runner pods.
      '--control-port',
      '0',
    ];
    const runner = new RunnerProcess(name, loadTest, generation, files, this.command, args, this.options.logger);
    this.runners.set(key(loadTest, name), runner);
    this.options.logger?.info({ runner: name, args }, 'runner started');
    return runner;
  }

  /** Hands a runner its start time, the way the Downward API shows pod annotations (atomically replaced). */
  async setStartAt(runner: RunnerProcess, startAtMs: number): Promise<void> {
    const temporary = `${runner.files.startAt}.tmp`;
    await writeFile(temporary, `${START_AT_ANNOTATION}="${startAtMs}"\n`);
    await rename(temporary, runner.files.startAt);
  }

  /** Stops a runner if it still runs and forgets it, removing its files. */
  async remove(runner: RunnerProcess): Promise<void> {
    await runner.stop();
    this.runners.delete(key(runner.loadTest, runner.name));
    await Promise.all([rm(runner.files.summary, { force: true }), rm(runner.files.startAt, { force: true })]);
  }

  /** Stops every runner (worker shutdown) and removes the work directory when this pool created it. */
  async stopAll(): Promise<void> {
    process.off('exit', this.killAll);
    await Promise.all([...this.runners.values()].map((runner) => this.remove(runner)));
    if (this.options.workDir === undefined) await rm(this.workDir, { recursive: true, force: true });
  }
}

/** The port of `{"control":{"port":N}}`, the line a runner prints once its control endpoint listens. */
function controlPortLine(line: string): number | undefined {
  if (!line.startsWith('{"control"')) return undefined;
  try {
    const port = (JSON.parse(line) as { control?: { port?: unknown } }).control?.port;
    return typeof port === 'number' ? port : undefined;
  } catch {
    return undefined;
  }
}

function key(loadTest: LoadTestRef, name: string): string {
  return `${loadTest.uid}/${name}`;
}
