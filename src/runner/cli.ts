/**
 * `loadtest-operator runner`: the program every runner pod runs. Flags are those of runnerArgs() in
 * contract.ts, plus a few for people running it by hand (--output, --transport, --insecure).
 */
import { access, constants, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { HTTP_METHODS } from '../loadtest/spec.js';
import { parseDurationMs } from '../loadtest/duration.js';
import {
  DEFAULT_TERMINATION_MESSAGE_PATH,
  progressLine,
  RUNNER_EXIT,
  START_AT_ANNOTATION,
  type MixRequestOptions,
} from './contract.js';
import { formatTable } from './report.js';
import { CONTROL_PATHS, CONTROL_TOKEN_ENV } from './control-api.js';
import { startControlServer, type ControlServer } from './control-server.js';
import { MAX_PIPELINING, MAX_THREADS, planRun, UsageError, type RunOptions } from './plan.js';
import { RunnerController } from './run-control.js';
import { runRunner } from './run.js';
import { fitSummary } from './summary-fit.js';

/** Where the runner writes its output and reads its cancellation from. */
export interface RunnerIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborting ends the run early (what SIGTERM and SIGINT do in the CLI). */
  signal?: AbortSignal;
  /** Where CONTROL_TOKEN_ENV and --header-from-env / --body-from-env are read from. Default: process.env. */
  env?: Record<string, string | undefined>;
}

interface RunnerFlags {
  url: string;
  method: string;
  header: string[];
  body?: string;
  headerFromEnv: [string, string][];
  bodyFromEnv?: string;
  requests?: number;
  duration?: number;
  connections?: number;
  rate?: number;
  timeout?: number;
  expectStatus?: string[];
  pipelining?: number;
  stage: { durationMs: number; target: number }[];
  model?: 'open' | 'closed';
  requestMix?: MixRequestOptions[];
  threads?: number;
  startAt?: number;
  startAtFile?: string;
  startAtWaitLimit?: number;
  controlPort?: number;
  summaryFile?: string;
  progressInterval?: number;
  tolerateFailedRequests?: boolean;
  output: 'table' | 'json';
  transport: 'auto' | 'socket' | 'undici';
  insecure?: boolean;
}

function integerFlag(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

function positiveNumberFlag(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError('expected a positive number.');
  }
  return value;
}

function durationFlag(text: string): number {
  try {
    const ms = parseDurationMs(text);
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError('expected a duration such as 500ms, 30s or 1m30s.');
}

/** `--stage 30s:100`: ramp to 100 over 30 s (requests per second, or connections with `--model closed`). */
function collectStage(
  text: string,
  stages: { durationMs: number; target: number }[],
): { durationMs: number; target: number }[] {
  const colon = text.lastIndexOf(':');
  const target = Number(text.slice(colon + 1));
  let durationMs = Number.NaN;
  try {
    durationMs = parseDurationMs(text.slice(0, colon));
  } catch {
    // reported below
  }
  if (colon < 0 || !(durationMs > 0) || text.slice(colon + 1).trim() === '' || !(target >= 0)) {
    throw new InvalidArgumentError('expected <duration>:<target>, e.g. 30s:100 (duration > 0, target >= 0).');
  }
  return [...stages, { durationMs, target }];
}

/** `--request-mix '[{"name":"home","path":"/","weight":3}, ...]'`: the shape of MixRequestOptions. */
function requestMixFlag(text: string): MixRequestOptions[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('expected a JSON array of {name, method?, path | url, headers?, body?, weight}.');
  }
  const isEntry = (entry: unknown): entry is MixRequestOptions =>
    typeof entry === 'object' &&
    entry !== null &&
    typeof (entry as MixRequestOptions).name === 'string' &&
    (typeof (entry as MixRequestOptions).path === 'string' || typeof (entry as MixRequestOptions).url === 'string') &&
    typeof (entry as MixRequestOptions).weight === 'number';
  if (!Array.isArray(value) || !value.every(isEntry)) {
    throw new InvalidArgumentError('expected a JSON array of {name, method?, path | url, headers?, body?, weight}.');
  }
  return value;
}

function collectHeader(text: string, headers: string[]): string[] {
  if (!/^[^:\s]+:/.test(text)) throw new InvalidArgumentError('expected "Name: value".');
  return [...headers, text];
}

function headersFromFlags(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** `--header-from-env "Authorization=LOADTEST_HEADER_0"`: the header's value is read from that variable at start. */
function collectHeaderFromEnv(text: string, pairs: [string, string][]): [string, string][] {
  const equals = text.indexOf('=');
  const name = text.slice(0, equals).trim();
  const env = text.slice(equals + 1).trim();
  if (equals < 1 || name === '' || env === '') throw new InvalidArgumentError('expected "Name=ENVIRONMENT_VARIABLE".');
  return [...pairs, [name, env]];
}

/**
 * The value of an environment variable that carries a Secret's value, or a usage error naming the variable (never
 * the value). A Secret written from a file often ends with a newline, which no header value may hold: a header
 * drops one trailing line break; a body is sent exactly as stored.
 */
function fromEnv(env: Record<string, string | undefined>, name: string, what: string, header: boolean): string {
  const value = env[name];
  if (value === undefined) {
    throw new UsageError(`${what} comes from the environment variable ${name}, which is not set`);
  }
  return header ? value.replace(/\r?\n$/, '') : value;
}

/** Headers and body with the values named by --header-from-env / --body-from-env (and a mix's own) filled in. */
function withValuesFromEnv(
  source: {
    headers?: Record<string, string>;
    body?: string;
    headersFromEnv?: Record<string, string>;
    bodyFromEnv?: string;
  },
  env: Record<string, string | undefined>,
  where: string,
): { headers?: Record<string, string>; body?: string } {
  const headers = { ...source.headers };
  for (const [name, variable] of Object.entries(source.headersFromEnv ?? {})) {
    headers[name] = fromEnv(env, variable, `${where}header "${name}"`, true);
  }
  if (source.bodyFromEnv !== undefined && source.body !== undefined) {
    throw new UsageError(`${where}set at most one of a body and a body from the environment`);
  }
  const body = source.bodyFromEnv === undefined ? source.body : fromEnv(env, source.bodyFromEnv, `${where}body`, false);
  return { headers, body };
}

function optionsFromFlags(flags: RunnerFlags, io: RunnerIo): RunOptions {
  const env = io.env ?? process.env;
  const main = withValuesFromEnv(
    {
      headers: headersFromFlags(flags.header),
      body: flags.body,
      headersFromEnv: Object.fromEntries(flags.headerFromEnv),
      bodyFromEnv: flags.bodyFromEnv,
    },
    env,
    '',
  );
  const requestMix = flags.requestMix?.map(({ headersFromEnv, bodyFromEnv, ...request }) => ({
    ...request,
    ...withValuesFromEnv({ ...request, headersFromEnv, bodyFromEnv }, env, `request "${request.name}": `),
  }));
  return {
    url: flags.url,
    method: flags.method,
    headers: main.headers,
    body: main.body,
    requests: flags.requests,
    durationMs: flags.duration,
    connections: flags.connections,
    rate: flags.rate,
    timeoutMs: flags.timeout,
    expectStatus: flags.expectStatus,
    pipelining: flags.pipelining,
    stages: flags.stage.length > 0 ? flags.stage : undefined,
    model: flags.model,
    requestMix,
    threads: flags.threads,
    startAtMs: flags.startAt,
    startAtFile: flags.startAtFile,
    startAtWaitLimitMs: flags.startAtWaitLimit,
    transport: flags.transport,
    insecure: flags.insecure,
    progressIntervalMs: flags.progressInterval,
    onProgress: (progress) => io.stderr(progressLine(progress)),
    signal: io.signal,
    log: (line) => io.stderr(`${line}\n`),
  };
}

/**
 * Checks before sending that the summary can be written: the file itself when it exists (a kubelet bind-mounts
 * /dev/termination-log writable into a /dev the runner's user cannot write to), else its directory.
 */
async function checkWritable(file: string): Promise<void> {
  try {
    await access(file, constants.W_OK);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`cannot write the summary file ${file}: it is read-only`);
    }
  }
  try {
    await access(dirname(file), constants.W_OK);
  } catch {
    throw new UsageError(`cannot write the summary file ${file}: its directory is missing or read-only`);
  }
}

/** The control endpoint of --control-port, once the options are known to be valid; undefined without the flag. */
async function openControl(
  flags: RunnerFlags,
  options: RunOptions,
  io: RunnerIo,
): Promise<{ controller: RunnerController; server: ControlServer } | undefined> {
  if (flags.controlPort === undefined) return undefined;
  const token = (io.env ?? process.env)[CONTROL_TOKEN_ENV];
  if (token === undefined || token.trim() === '') {
    throw new UsageError(`--control-port needs the control token in the environment variable ${CONTROL_TOKEN_ENV}`);
  }
  planRun(options); // a usage error before anything listens
  const controller = new RunnerController();
  let server: ControlServer;
  try {
    server = await startControlServer({ port: flags.controlPort, token: token.trim(), controller });
  } catch (error) {
    throw new UsageError(`cannot listen on control port ${flags.controlPort}: ${(error as Error).message}`);
  }
  io.stderr(`${JSON.stringify({ control: { port: server.port } })}\n`);
  return { controller, server };
}

/** Runs the command once its flags are parsed; returns the exit code. */
async function runFromFlags(flags: RunnerFlags, io: RunnerIo): Promise<number> {
  let control: { controller: RunnerController; server: ControlServer } | undefined;
  try {
    if (flags.summaryFile !== undefined) await checkWritable(flags.summaryFile);
    const options = optionsFromFlags(flags, io);
    control = await openControl(flags, options, io);
    const run = await runRunner({ ...options, control: control?.controller });
    io.stdout(
      flags.output === 'json'
        ? `${JSON.stringify({ results: run.results, summary: run.summary, threads: run.plan.threads }, null, 2)}\n`
        : formatTable(run.plan, run.results),
    );
    if (flags.summaryFile !== undefined) await writeFile(flags.summaryFile, JSON.stringify(fitSummary(run.summary)));
    control?.controller.done();
    return flags.tolerateFailedRequests === true ? RUNNER_EXIT.ok : run.exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n`);
      return RUNNER_EXIT.usage;
    }
    throw error;
  } finally {
    // The endpoint must not keep the process alive once the summary is written.
    await control?.server.close();
  }
}

const DESCRIPTION = [
  'Send HTTP/1.1 load to one URL and report latency and status counts.',
  'Closed model (default): each connection sends its next request when the previous response arrives, for ' +
    '--requests requests in total or for --duration. Open model (--rate): requests are due at fixed times; latency ' +
    'is measured from the intended time (no coordinated omission), service time from the actual send, and ' +
    'requests that cannot be sent within --timeout of their intended time are dropped.',
  `Exit codes: ${RUNNER_EXIT.ok} every request got an accepted status; ${RUNNER_EXIT.requestsFailed} some failed ` +
    `or were dropped; ${RUNNER_EXIT.usage} bad flags.`,
].join('\n\n');

/** Declares the subcommand, its flags and help; the caller attaches the action. */
function defineRunnerCommand(program: Command): Command {
  return program
    .command('runner')
    .summary('run one load-test runner (what every runner pod runs)')
    .description(DESCRIPTION)
    .requiredOption('--url <url>', 'target URL (http:// or https://)')
    .addOption(
      new Option('--method <method>', 'HTTP method').default('GET').argParser((text) => {
        const method = text.toUpperCase();
        if (!(HTTP_METHODS as readonly string[]).includes(method)) {
          throw new InvalidArgumentError(`expected one of ${HTTP_METHODS.join(', ')}.`);
        }
        return method;
      }),
    )
    .addOption(
      new Option('--header <name: value>', 'request header; repeat for more')
        .argParser(collectHeader)
        .default([], 'none'),
    )
    .option('--body <text>', 'request body (sent with Content-Length)')
    .addOption(
      new Option(
        '--header-from-env <name=variable>',
        "request header whose value is read from an environment variable at start (how a runner pod gets a Secret's value); repeat for more",
      )
        .argParser(collectHeaderFromEnv)
        .default([], 'none'),
    )
    .option(
      '--body-from-env <variable>',
      'read the request body from this environment variable at start, instead of --body',
    )
    .option('--requests <n>', 'total requests across connections (default 1 without --duration)', integerFlag(1))
    .option('--duration <duration>', 'how long to send, e.g. 30s or 1m30s', durationFlag)
    .option('--connections <n>', 'concurrent connections (default 1)', integerFlag(1, 100_000))
    .option('--rate <per-second>', 'open model: requests per second across all connections', positiveNumberFlag)
    .option('--timeout <duration>', 'per-request timeout (default 10s)', durationFlag)
    .option('--expect-status <list>', 'accepted statuses, e.g. 200,3xx (default 2xx,3xx)', (text) =>
      text.split(',').map((entry) => entry.trim()),
    )
    .option(
      '--pipelining <n>',
      `requests in flight per connection, 1-${MAX_PIPELINING} (default 1: off)`,
      integerFlag(1, MAX_PIPELINING),
    )
    .addOption(
      new Option(
        '--stage <duration:target>',
        'ramping stages: ramp linearly (from 0) to <target> over <duration>; repeat for more stages. <target>: requests per second (open model), or connections with --model closed',
      )
        .argParser(collectStage)
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--model <model>',
        'what --stage targets are: open (default) arrival rates, closed numbers of connections (only with --stage)',
      ).choices(['open', 'closed']),
    )
    .option(
      '--request-mix <json>',
      'a weighted mix instead of one request: [{"name","method","path" or "url","headers","body","weight"}, ...]',
      requestMixFlag,
    )
    .option(
      '--threads <n>',
      `threads to send from, 1-${MAX_THREADS} (default: the CPUs this process may use, at most --connections)`,
      integerFlag(1, MAX_THREADS),
    )
    .option('--start-at <epoch-ms>', 'wall-clock time to start sending (epoch milliseconds)', integerFlag(0))
    .option(
      '--start-at-file <path>',
      `Downward API annotations file; wait until it holds ${START_AT_ANNOTATION}, then start at that time`,
    )
    .option(
      '--start-at-wait-limit <duration>',
      'give up waiting for the start time after this long (default 5m)',
      durationFlag,
    )
    .option(
      '--control-port <port>',
      `serve the control endpoint (${Object.values(CONTROL_PATHS).join(', ')}) on this port, 0 = any free one; ` +
        `the bearer token comes from ${CONTROL_TOKEN_ENV}. Prints {"control":{"port":N}} on stderr once listening. ` +
        'Without --start-at or --start-at-file the runner waits for POST /v1/start',
      integerFlag(0, 65_535),
    )
    .option(
      '--summary-file <path>',
      `write the compact JSON summary here, at most 4096 bytes (in pods: ${DEFAULT_TERMINATION_MESSAGE_PATH})`,
    )
    .option(
      '--tolerate-failed-requests',
      'exit 0 even when requests failed or were dropped (set when an errorRate threshold judges them)',
    )
    .option(
      '--progress-interval <ms>',
      'print a {"progress":{...}} JSON line on stderr every <ms> milliseconds while sending',
      integerFlag(1),
    )
    .addOption(
      new Option(
        '--output <format>',
        'stdout: a table, or JSON {"results": LoadTestResults, "summary": RunnerSummary, "threads": n}',
      )
        .choices(['table', 'json'])
        .default('table'),
    )
    .addOption(
      new Option('--transport <name>', 'auto: raw sockets for http://, undici for https://')
        .choices(['auto', 'socket', 'undici'])
        .default('auto'),
    )
    .option('--insecure', 'accept any TLS certificate')
    .exitOverride((error) => {
      // Commander exits with 1 on bad flags; the runner's contract says 2.
      throw new CommanderError(error.exitCode === 0 ? 0 : RUNNER_EXIT.usage, error.code, error.message);
    });
}

/**
 * Adds the `runner` subcommand to the CLI. Its action sets process.exitCode; SIGTERM and SIGINT end the run
 * early (the summary is still written). Flag errors throw a CommanderError with exitCode RUNNER_EXIT.usage,
 * which the program's caller turns into the process exit code.
 */
export function registerRunnerCommand(program: Command): Command {
  return defineRunnerCommand(program).action(async (flags: RunnerFlags) => {
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    process.once('SIGTERM', stop).once('SIGINT', stop);
    try {
      process.exitCode = await runFromFlags(flags, processIo(abort.signal));
    } finally {
      process.off('SIGTERM', stop).off('SIGINT', stop);
    }
  });
}

function processIo(signal?: AbortSignal): RunnerIo {
  return { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), signal };
}

/**
 * Runs `runner` with the given flags (as produced by runnerArgs(), without the leading "runner") and returns
 * the exit code instead of setting it. Output goes to `io` (default: the process's stdout and stderr).
 */
export async function runRunnerCommand(args: readonly string[], io: RunnerIo = processIo()): Promise<number> {
  let exitCode: number = RUNNER_EXIT.ok;
  const program = new Command('loadtest-operator').exitOverride();
  defineRunnerCommand(program)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (flags: RunnerFlags) => {
      exitCode = await runFromFlags(flags, io);
    });
  try {
    await program.parseAsync(['runner', ...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  return exitCode;
}
