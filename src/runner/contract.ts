/**
 * The contract between the operator and the runner it starts in every runner pod (or local process): runner
 * names, the command-line flags the operator passes, the progress lines and the JSON summary the runner writes
 * back, and its exit codes. The runner and both backends (activities/kubernetes, activities/local) import this
 * module so they cannot drift apart.
 */
import { createHash } from 'node:crypto';
import { parseDurationMs } from '../loadtest/duration.js';
import { targetUrl, type LoadTestSpec, type TestSpec } from '../loadtest/spec.js';
import { bodyFromEnv, headersFromEnv } from '../loadtest/secrets.js';
import { thresholdTexts } from '../loadtest/thresholds.js';

/** Exit codes of `loadtest-operator runner`. */
export const RUNNER_EXIT = {
  /** Every request got an accepted status. */
  ok: 0,
  /** The run completed but some requests failed (errors or unexpected statuses). */
  requestsFailed: 1,
  /** Bad flags: nothing was sent. */
  usage: 2,
} as const;

/** Where Kubernetes reads the termination message from by default. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** Kubernetes truncates termination messages beyond this many bytes. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/**
 * One request of a mix (`spec.test.requests`): sent to the run's origin (scheme, host, port of `url`) with its
 * own `path`, or to its own absolute `url` (exactly one of the two).
 */
export interface MixRequestOptions {
  /** Unique within the mix; names the request's results and thresholds ("p99{name:checkout} < 300ms"). */
  name: string;
  /** Default GET. */
  method?: string;
  /** Path and query, starting with "/", on the run's origin. */
  path?: string;
  /** An absolute http:// or https:// URL, instead of path. */
  url?: string;
  /** Added to (and overriding) the run's headers. */
  headers?: Record<string, string>;
  body?: string;
  /** Header name → environment variable holding its value (from a Secret: src/loadtest/secrets.ts). */
  headersFromEnv?: Record<string, string>;
  /** The environment variable holding the body (from a Secret), instead of body. */
  bodyFromEnv?: string;
  /** Share of the requests: weight / Σ weights (non-negative; 0 never sends it). */
  weight: number;
}

/** What one runner is asked to do. Mirrors `spec.test`, with the target resolved to a URL. */
export interface RunnerOptions {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Header name → environment variable the runner reads its value from at start: how values from Secrets
   * (spec.test.headersFrom) reach a runner without being written into its args. Over `headers` of the same name.
   */
  headersFromEnv?: Record<string, string>;
  /** The environment variable the runner reads the body from at start (spec.test.bodyFrom), instead of body. */
  bodyFromEnv?: string;
  /** Requests to send in total (closed model: the seed's `repeat`). */
  requests?: number;
  /** Run length in ms, when `requests` is not set. */
  durationMs?: number;
  /** Concurrent connections. Default 1. */
  connections?: number;
  /** Requests per second (open model); unset = closed model. */
  rate?: number;
  /** Per-request timeout in ms. Default 10 000. */
  timeoutMs?: number;
  /** Accepted statuses: codes ("200") or classes ("2xx"). Default 2xx and 3xx. */
  expectStatus?: string[];
  /** Requests in flight per connection. Default 1 (no pipelining). */
  pipelining?: number;
  /**
   * Open model through stages: the arrival rate ramps linearly from 0 to each stage's target (requests per
   * second for this runner) over its duration. Excludes rate, requests and durationMs.
   */
  stages?: { durationMs: number; target: number }[];
  /**
   * What the stages' targets are: 'open' (default) arrival rates; 'closed' numbers of connections, ramped like
   * k6's ramping-vus (a connection taken away finishes its request in flight first). Only with stages.
   */
  model?: 'open' | 'closed';
  /** Several requests picked by weight instead of the one request of url/method/headers/body. */
  requestMix?: MixRequestOptions[];
  /** Threads to send from; default the CPUs the runner may use (src/runner/cpus.ts), at most `connections`. */
  threads?: number;
  /** Wall-clock time (epoch ms) at which to start sending, so that all replicas start together. */
  startAtMs?: number;
  /**
   * A file in Downward API format (`key="value"` lines, e.g. the pod's annotations) that the runner watches
   * until it holds START_AT_ANNOTATION; the operator sets that annotation once every runner pod is running.
   * The runner gives up waiting after START_AT_WAIT_LIMIT_MS and starts anyway, saying so on stderr.
   */
  startAtFile?: string;
  /**
   * Exit 0 even when requests failed or were dropped (the counts are in the summary either way). The operator
   * sets it when an `errorRate` threshold is to judge failed requests, so that such a run ends with merged
   * results and a threshold verdict rather than a failed runner.
   */
  tolerateFailedRequests?: boolean;
  /**
   * Serve the control endpoint (control-api.ts) on this port (0 = any free one), with the token from the
   * environment variable CONTROL_TOKEN_ENV. Without startAtMs or startAtFile the runner then waits for
   * POST /v1/start (up to START_AT_WAIT_LIMIT_MS).
   */
  controlPort?: number;
}

/** Pod annotation holding the synchronized start time (epoch ms) of every runner of one run. */
export const START_AT_ANNOTATION = 'loadtest.example.org/start-at';
/** Where runner pods mount their annotations (a downwardAPI volume). */
export const POD_ANNOTATIONS_FILE = '/etc/loadtest/podinfo/annotations';
export const START_AT_WAIT_LIMIT_MS = 5 * 60_000;

/**
 * The compact JSON a runner reports. Histograms are HdrHistogram compressed base64 strings (hdr-histogram-js
 * `encodeIntoCompressedBase64`), recorded in microseconds.
 */
export interface RunnerSummary {
  /** Format version, bumped on incompatible change. */
  v: 1;
  /**
   * Requests sent (written to a socket), counting also those whose connection could not be opened (refused,
   * dns): every request the runner tried, so that sent = completed + Σ errors. A request the server announced
   * it would not process (pipelined behind `Connection: close`) is sent again and counted once.
   */
  sent: number;
  /** Requests that got a complete response (any status). */
  completed: number;
  /** Requests whose response status was not accepted, plus requests that got no response. */
  failed: number;
  /**
   * Open model: requests that could not be sent within the request timeout of their intended time (every
   * connection busy). Not part of `sent`; the runner exits with RUNNER_EXIT.requestsFailed when any were dropped.
   */
  dropped: number;
  /** Status code → count. */
  status: Record<string, number>;
  /** Error kind (refused, timeout, reset, dns, other) → count. */
  errors: Record<string, number>;
  bytesRead: number;
  /** Epoch ms of the first send and of the last completion. */
  start: number;
  end: number;
  /** Latency from the intended send time, µs, compressed. */
  latency: string;
  /** Service time (from the actual send), µs, compressed; present in the open model only. */
  service?: string;
  pipelining?: number;
  /**
   * Per request of a mix, by name (absent without a mix). Each adds up to the totals: Σ sent = sent,
   * Σ completed = completed, Σ failed = failed (dropped requests had no request picked yet: totals only).
   */
  byRequest?: Record<string, RequestSummary>;
  /** Requests written per second of the run (index 0 = the first second); dropped first when space is short. */
  sentPerSecond?: number[];
  /**
   * Set when the summary had to be shortened to fit the termination message: histograms carry fewer
   * significant digits and/or status codes are summed per class ("5xx"). Counts are never dropped.
   */
  truncated?: boolean;
}

/** One request's share of a RunnerSummary. */
export interface RequestSummary {
  sent: number;
  completed: number;
  failed: number;
  status: Record<string, number>;
  errors: Record<string, number>;
  /**
   * Latency from the intended send time, µs, compressed. Absent only when the summary had to drop it to fit
   * the termination message (then `truncated` is set on the summary); the counts are always there.
   */
  latency?: string;
}

/**
 * A progress snapshot, printed by `runner --progress-interval MS` as one JSON line `{"progress":{...}}` on
 * stderr every MS milliseconds while sending, so that whoever started the runner (local mode) can show live
 * progress without waiting for the summary.
 */
export interface RunnerProgress {
  /** Epoch ms of this snapshot. */
  at: number;
  sent: number;
  completed: number;
  failed: number;
  /** Completions per second over the last interval. */
  rps: number;
  /** p99 latency so far, ms. */
  p99Ms: number;
}

/** The line `runner --progress-interval` prints on stderr for each snapshot. */
export function progressLine(progress: RunnerProgress): string {
  return `${JSON.stringify({ progress })}\n`;
}

const PROGRESS_FIELDS = ['at', 'sent', 'completed', 'failed', 'rps', 'p99Ms'] as const;

/** Whether a value has every field of a RunnerProgress, each a number. */
export function isRunnerProgress(value: unknown): value is RunnerProgress {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return PROGRESS_FIELDS.every((key) => typeof fields[key] === 'number');
}

/** Parses one runner stderr line: the progress snapshot when it is one (`{"progress":{...}}`), else undefined. */
export function parseProgressLine(line: string): RunnerProgress | undefined {
  if (!line.startsWith('{"progress"')) return undefined;
  try {
    const progress = (JSON.parse(line) as { progress?: unknown }).progress;
    return isRunnerProgress(progress) ? progress : undefined;
  } catch {
    return undefined;
  }
}

/** The runner's summary from its JSON text (termination message or summary file), or undefined when not one. */
export function parseRunnerSummary(text: string): RunnerSummary | undefined {
  try {
    const value = JSON.parse(text) as Partial<RunnerSummary> | null;
    if (value?.v === 1 && typeof value.sent === 'number' && typeof value.latency === 'string') {
      return value as RunnerSummary;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Kubernetes names and label values are at most 63 characters. */
const NAME_LIMIT = 63;

/**
 * A DNS label no longer than `limit` that stands for `name`: the name itself when it fits and has no dots,
 * else a shortened form plus a hash of the whole name, so that two names never share a result.
 */
export function labelSafe(name: string, limit = NAME_LIMIT): string {
  if (name.length <= limit && !name.includes('.')) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  const stem = name
    .replace(/\./g, '-')
    .slice(0, limit - hash.length - 1)
    .replace(/-+$/, '');
  return `${stem}-${hash}`;
}

/**
 * `<name>-g<generation>-<index>`, at most 63 characters: the same runner always gets the same name, so a
 * retried create finds the runner it made before (pod name in a cluster, process name locally).
 */
export function runnerName(loadTestName: string, generation: number, index: number): string {
  const suffix = `-g${generation}-${index}`;
  return `${labelSafe(loadTestName, NAME_LIMIT - suffix.length)}${suffix}`;
}

/** Builds the runner's options from a LoadTest's `spec.test`, resolving a service target inside a namespace. */
export function runnerOptionsFromTest(test: TestSpec, namespace: string): RunnerOptions {
  return {
    url: targetUrl(test, namespace),
    method: test.method,
    headers: test.headers,
    body: test.body,
    headersFromEnv: headersFromEnv(test),
    bodyFromEnv: bodyFromEnv(test),
    requests: test.duration === undefined && test.stages === undefined ? (test.repeat ?? 1) : undefined,
    durationMs: test.duration === undefined ? undefined : parseDurationMs(test.duration),
    connections: test.connections,
    rate: test.rate,
    timeoutMs: test.timeout === undefined ? undefined : parseDurationMs(test.timeout),
    expectStatus: test.expectStatus,
    pipelining: test.pipelining,
    stages: test.stages?.map((stage) => ({ durationMs: parseDurationMs(stage.duration), target: stage.target })),
    model: test.model,
    // The mix without its Secret references: the runner reads each value from the variable named instead.
    requestMix: test.requests?.map(({ headersFrom, bodyFrom, ...request }, index) => ({
      ...request,
      headersFromEnv: headersFromEnv({ headersFrom }, index),
      bodyFromEnv: bodyFromEnv({ bodyFrom }, index),
    })),
  };
}

/**
 * The runner options for one runner of a LoadTest: its test, plus tolerance of failed requests when an
 * `errorRate` threshold is there to judge them (without one, any failed request fails the runner and the run).
 */
export function runnerOptionsFromSpec(spec: LoadTestSpec, namespace: string): RunnerOptions {
  const judgesErrors = thresholdTexts(spec.thresholds).some((threshold) => /^\s*errorRate\b/.test(threshold));
  return { ...runnerOptionsFromTest(spec.test, namespace), tolerateFailedRequests: judgesErrors || undefined };
}

/** Turns runner options into `loadtest-operator runner` flags (the pod's args). */
export function runnerArgs(options: RunnerOptions, output: { summaryFile?: string } = {}): string[] {
  const args = ['runner', '--url', options.url, '--method', options.method];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('--header', `${name}: ${value}`);
  if (options.body !== undefined) args.push('--body', options.body);
  for (const [name, env] of Object.entries(options.headersFromEnv ?? {}))
    args.push('--header-from-env', `${name}=${env}`);
  if (options.bodyFromEnv !== undefined) args.push('--body-from-env', options.bodyFromEnv);
  if (options.requests !== undefined) args.push('--requests', String(options.requests));
  if (options.durationMs !== undefined) args.push('--duration', `${options.durationMs}ms`);
  if (options.connections !== undefined) args.push('--connections', String(options.connections));
  if (options.rate !== undefined) args.push('--rate', String(options.rate));
  if (options.timeoutMs !== undefined) args.push('--timeout', `${options.timeoutMs}ms`);
  if (options.expectStatus !== undefined) args.push('--expect-status', options.expectStatus.join(','));
  if (options.pipelining !== undefined) args.push('--pipelining', String(options.pipelining));
  for (const stage of options.stages ?? []) args.push('--stage', `${stage.durationMs}ms:${stage.target}`);
  if (options.model !== undefined) args.push('--model', options.model);
  if (options.requestMix !== undefined) args.push('--request-mix', JSON.stringify(options.requestMix));
  if (options.threads !== undefined) args.push('--threads', String(options.threads));
  if (options.startAtMs !== undefined) args.push('--start-at', String(options.startAtMs));
  if (options.startAtFile !== undefined) args.push('--start-at-file', options.startAtFile);
  if (options.tolerateFailedRequests === true) args.push('--tolerate-failed-requests');
  if (options.controlPort !== undefined) args.push('--control-port', String(options.controlPort));
  if (output.summaryFile !== undefined) args.push('--summary-file', output.summaryFile);
  return args;
}
