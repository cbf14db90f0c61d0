/**
 * Turns RunnerOptions (from flags or from the operator) into a validated RunPlan, or a UsageError that names
 * the offending option. Nothing is sent before the plan is complete.
 */
import { HTTP_METHODS, REQUEST_NAME_PATTERN } from '../loadtest/spec.js';
import type { MixRequestOptions, RunnerOptions, RunnerProgress } from './contract.js';
import { availableCpus } from './cpus.js';
import type { RunnerController } from './run-control.js';
import { rampingRate, type Stage } from './schedule.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options of `runRunner` beyond the operator's contract. */
export interface RunOptions extends RunnerOptions {
  /**
   * Which HTTP client sends the requests. 'auto' (default): the raw-socket fast path for http://, undici for
   * https://. 'socket' is only possible for http://.
   */
  transport?: 'auto' | 'socket' | 'undici';
  /** Accept any TLS certificate (https only). Default false. */
  insecure?: boolean;
  /** Longest wait for the start-at annotation and start time, ms. Default START_AT_WAIT_LIMIT_MS. */
  startAtWaitLimitMs?: number;
  /** Stops sending (as if the duration had elapsed) and ends the run once requests in flight finish. */
  signal?: AbortSignal;
  /** Receives notes about the run (start synchronisation, for instance). Default: one line each on stderr. */
  log?: (line: string) => void;
  /** Report progress every this many ms while sending (see RunnerProgress). Default: no progress reports. */
  progressIntervalMs?: number;
  /** Receives the progress reports. Default: a `{"progress":{...}}` line each on stderr. */
  onProgress?: (progress: RunnerProgress) => void;
  /**
   * The control endpoint's view of this run (--control-port, see run-control.ts): it can name the start, stop
   * the run and change it. Default: none (no server, nothing extra on the hot path).
   */
  control?: RunnerController;
}

/** One request of the plan's mix, resolved: its own method, path, headers (over the run's) and body. */
export interface PlannedRequest {
  name: string;
  method: string;
  /** The target URL with this request's path and query. */
  url: URL;
  headers: Record<string, string>;
  body?: string;
  weight: number;
}

export interface RunPlan {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** 'open' when a rate or stages are set (unless the stages are closed-model ones). */
  model: 'closed' | 'open';
  /**
   * Stages (instead of rate and duration/requests): in the open model their targets are arrival rates, in the
   * closed model numbers of connections (then `connections` is the largest target, the connections opened at most).
   */
  stages?: Stage[];
  /**
   * What is sent: one request (url, method, headers, body, named "default") or the mix, picked by weight
   * (src/runner/request-mix.ts). `mixed` says which, for reports and for per-request results.
   */
  requestList: PlannedRequest[];
  mixed: boolean;
  /** Threads (each with its own event loop, connections and histograms); at most `connections`. */
  threads: number;
  /** Closed model: total requests, or undefined when bounded by durationMs. */
  requests?: number;
  durationMs?: number;
  /** Open model: requests per second and the number of requests that schedule yields. */
  rate?: number;
  scheduledRequests?: number;
  connections: number;
  /** 1 = no pipelining. */
  pipelining: number;
  timeoutMs: number;
  /** Index = status code, 1 = accepted. */
  accepted: Uint8Array;
  expectStatus: string[];
  transport: 'socket' | 'undici';
  insecure: boolean;
}

export const MAX_MIX_REQUESTS = 16;
/** Most threads a runner starts, whatever the CPU count says. */
export const MAX_THREADS = 64;

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_EXPECT_STATUS = ['2xx', '3xx'];
export const MAX_PIPELINING = 256;
const STATUS_MATCHER = /^[1-5]([0-9]{2}|xx)$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible Latin-1 characters, spaces and tabs: anything else could break the request's framing.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A lookup table: index = status code, 1 = accepted by one of the matchers ("200", "2xx"). */
export function acceptedStatusTable(matchers: readonly string[]): Uint8Array {
  const table = new Uint8Array(1000);
  for (const matcher of matchers) {
    if (!STATUS_MATCHER.test(matcher))
      throw new UsageError(`expect-status entries look like "200" or "2xx", not "${matcher}"`);
    if (matcher.endsWith('xx')) {
      const base = Number(matcher[0]) * 100;
      table.fill(1, base, base + 100);
    } else {
      table[Number(matcher)] = 1;
    }
  }
  return table;
}

function positiveInteger(name: string, value: number | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new UsageError(`${name} must be an integer between 1 and ${max}, not ${value}`);
  }
  return value;
}

function positiveNumber(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${name} must be a positive number, not ${value}`);
  return value;
}

/** @param request the name of the mix's request whose url this is, for the message */
function parseTargetUrl(text: string, request?: string): URL {
  const what = request === undefined ? 'url' : `request "${request}": url`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} "${text}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${what} must start with http:// or https://, not ${url.protocol}//`);
  }
  if (url.username !== '' || url.password !== '') throw new UsageError(`${what} must not contain credentials`);
  return url;
}

function checkHeaders(headers: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new UsageError(`invalid header name "${name}"`);
    if (!HEADER_VALUE.test(value)) throw new UsageError(`header "${name}" has characters not allowed in a value`);
    if (/^(content-length|transfer-encoding)$/i.test(name)) {
      throw new UsageError(`header "${name}" is set by the runner from the body`);
    }
  }
  return headers;
}

/** `base` with `overrides` over it; names compare case-insensitively, as HTTP's do (one X-Token, not two). */
function withOverrides(base: Record<string, string>, overrides: Record<string, string>): Record<string, string> {
  const overridden = new Set(Object.keys(overrides).map((name) => name.toLowerCase()));
  const kept = Object.entries(base).filter(([name]) => !overridden.has(name.toLowerCase()));
  return { ...Object.fromEntries(kept), ...overrides };
}

/** The most connections a closed-model stage may ramp to (as --connections). */
export const MAX_CONNECTIONS = 100_000;

function planStages(stages: readonly Stage[] | undefined, closed: boolean): Stage[] | undefined {
  if (stages === undefined) return undefined;
  if (stages.length === 0) throw new UsageError('stages must have at least one stage');
  return stages.map((stage, index) => {
    if (!Number.isFinite(stage.durationMs) || stage.durationMs <= 0) {
      throw new UsageError(`stage ${index + 1}: duration must be greater than 0, not ${stage.durationMs} ms`);
    }
    if (closed && !(Number.isInteger(stage.target) && stage.target >= 0 && stage.target <= MAX_CONNECTIONS)) {
      throw new UsageError(
        `stage ${index + 1}: in the closed model a target is a whole number of connections from 0 to ${MAX_CONNECTIONS}, not ${stage.target}`,
      );
    }
    if (!Number.isFinite(stage.target) || stage.target < 0) {
      throw new UsageError(`stage ${index + 1}: target must be 0 or more requests per second, not ${stage.target}`);
    }
    return { durationMs: stage.durationMs, target: stage.target };
  });
}

function planMix(mix: readonly MixRequestOptions[], url: URL, headers: Record<string, string>): PlannedRequest[] {
  if (mix.length === 0 || mix.length > MAX_MIX_REQUESTS) {
    throw new UsageError(`a request mix has 1 to ${MAX_MIX_REQUESTS} requests, not ${mix.length}`);
  }
  const names = new Set<string>();
  const planned = mix.map((request) => {
    if (!REQUEST_NAME_PATTERN.test(request.name)) {
      throw new UsageError(`request name "${request.name}" must be 1-32 lower-case letters, digits, "-", "_" or "."`);
    }
    if (names.has(request.name)) throw new UsageError(`request name "${request.name}" is used twice`);
    names.add(request.name);
    const method = (request.method ?? 'GET').toUpperCase();
    if (!(HTTP_METHODS as readonly string[]).includes(method)) {
      throw new UsageError(`request "${request.name}": method must be one of ${HTTP_METHODS.join(', ')}`);
    }
    if ((request.path === undefined) === (request.url === undefined)) {
      throw new UsageError(`request "${request.name}": set exactly one of path and url`);
    }
    if (request.path !== undefined && !request.path.startsWith('/')) {
      throw new UsageError(`request "${request.name}": path must start with "/"`);
    }
    const requestUrl =
      request.url === undefined ? new URL(request.path!, url.origin) : parseTargetUrl(request.url, request.name);
    if (!Number.isFinite(request.weight) || request.weight < 0) {
      throw new UsageError(`request "${request.name}": weight must be 0 or more, not ${request.weight}`);
    }
    return {
      name: request.name,
      method,
      url: requestUrl,
      headers: checkHeaders(withOverrides(headers, request.headers ?? {})),
      body: request.body,
      weight: request.weight,
    };
  });
  if (!(planned.reduce((sum, request) => sum + request.weight, 0) > 0)) {
    throw new UsageError('the weights of the request mix must sum to more than 0');
  }
  return planned;
}

export function planRun(options: RunOptions): RunPlan {
  const url = parseTargetUrl(options.url);
  const method = options.method.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`method must be one of ${HTTP_METHODS.join(', ')}, not "${options.method}"`);
  }
  const requests = positiveInteger('requests', options.requests);
  const durationMs = positiveNumber('duration', options.durationMs);
  if (requests !== undefined && durationMs !== undefined)
    throw new UsageError('set at most one of requests and duration');
  const rate = positiveNumber('rate', options.rate);
  if (options.model !== undefined && options.model !== 'open' && options.model !== 'closed') {
    throw new UsageError(`model is open or closed, not "${String(options.model)}"`);
  }
  if (options.model !== undefined && options.stages === undefined) {
    throw new UsageError('model says what stage targets mean: set it only with stages');
  }
  const closedStages = options.model === 'closed';
  const stages = planStages(options.stages, closedStages);
  if (stages !== undefined && (rate !== undefined || requests !== undefined || durationMs !== undefined)) {
    throw new UsageError('stages set the rate and the length of the run: leave out rate, requests and duration');
  }
  if (closedStages && options.connections !== undefined) {
    throw new UsageError('closed-model stages set the number of connections: leave out connections');
  }
  const headers = checkHeaders(options.headers ?? {});
  const requestList =
    options.requestMix === undefined
      ? [{ name: 'default', method, url, headers, body: options.body, weight: 1 }]
      : planMix(options.requestMix, url, headers);
  const someHead = requestList.some((request) => request.method === 'HEAD');
  const allHead = requestList.every((request) => request.method === 'HEAD');
  let transport = options.transport ?? 'auto';
  const someHttps = requestList.some((request) => request.url.protocol === 'https:');
  if (transport === 'socket' && someHttps) {
    throw new UsageError('the socket transport speaks plain http:// only; use undici for https://');
  }
  // The socket path frames responses as HEAD or not per connection: a mix of both goes through undici.
  if (someHead && !allHead) {
    if (transport === 'socket') throw new UsageError('the socket transport cannot mix HEAD with other methods');
    transport = 'undici';
  }
  const connections = closedStages
    ? Math.max(1, ...stages!.map((stage) => stage.target))
    : (positiveInteger('connections', options.connections, MAX_CONNECTIONS) ?? 1);
  const threads = Math.min(positiveInteger('threads', options.threads, MAX_THREADS) ?? availableCpus(), connections);
  const expectStatus = options.expectStatus ?? DEFAULT_EXPECT_STATUS;
  const plan: RunPlan = {
    url,
    method,
    headers,
    body: options.body,
    model: closedStages || (rate === undefined && stages === undefined) ? 'closed' : 'open',
    stages,
    requestList,
    mixed: options.requestMix !== undefined,
    threads,
    connections,
    pipelining: positiveInteger('pipelining', options.pipelining, MAX_PIPELINING) ?? 1,
    timeoutMs: positiveNumber('timeout', options.timeoutMs) ?? DEFAULT_TIMEOUT_MS,
    accepted: acceptedStatusTable(expectStatus),
    expectStatus,
    transport: transport === 'auto' ? (someHttps ? 'undici' : 'socket') : transport,
    insecure: options.insecure ?? false,
  };
  positiveInteger('progress interval', options.progressIntervalMs);
  if (stages !== undefined) {
    if (!closedStages) plan.scheduledRequests = rampingRate(stages).total;
    plan.durationMs = stages.reduce((sum, stage) => sum + stage.durationMs, 0);
    return plan;
  }
  if (rate === undefined) {
    // As in the LoadTest spec: without a duration, `repeat` (requests) defaults to 1.
    if (durationMs === undefined) plan.requests = requests ?? 1;
    else plan.durationMs = durationMs;
  } else {
    plan.rate = rate;
    plan.durationMs = durationMs;
    plan.scheduledRequests =
      requests ?? (durationMs === undefined ? 1 : Math.max(1, Math.ceil((rate * durationMs) / 1000)));
  }
  return plan;
}
