/** Runs the built CLI (dist/src/cli.js) the way a user or CI does: a child process, stdout not a terminal. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  process: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout has a line matching `pattern`. */
  untilStdout(pattern: RegExp): Promise<string>;
  done: Promise<CliResult>;
}

/** Starts `loadtest-operator ...args`; `env` entries set to undefined are removed from the environment. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete fullEnv[key];
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters.splice(0)) waiter();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      for (const waiter of waiters.splice(0)) waiter();
      resolve({ code, stdout, stderr });
    });
  });
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    async untilStdout(pattern) {
      for (;;) {
        const line = stdout.split('\n').find((candidate) => pattern.test(candidate));
        if (line !== undefined) return line;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the CLI exited without printing ${String(pattern)}:\n${stdout}\n${stderr}`);
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    done,
  };
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** Parses one `key=value key=value` progress line. */
export function parseLogfmt(line: string): Record<string, string> {
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .map((pair) => {
        const equals = pair.indexOf('=');
        return [pair.slice(0, equals), pair.slice(equals + 1)];
      }),
  );
}

/** A LoadTest manifest in YAML, as a user writes it: `test` holds the lines under spec.test. */
export function loadTestYaml(name: string, namespace: string, test: string, thresholds: string[] = []): string {
  const lines = [
    'apiVersion: example.org/v1',
    'kind: LoadTest',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  replicas: 2',
    '  test:',
    ...test.split('\n').map((line) => `    ${line}`),
  ];
  if (thresholds.length > 0) lines.push('  thresholds:', ...thresholds.map((threshold) => `    - "${threshold}"`));
  return `${lines.join('\n')}\n`;
}
