/**
 * Turns RunnerOptions (from flags or from the operator) into a validated RunPlan, or a UsageError that names
 * the offending option. Nothing is sent before the plan is complete.
 */
import { HTTP_METHODS } from '../loadtest/spec.js';
import type { RunnerOptions, RunnerProgress } from './contract.js';

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
}

export interface RunPlan {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** 'open' when a rate is set. */
  model: 'closed' | 'open';
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

function parseTargetUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`url "${text}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`url must start with http:// or https://, not ${url.protocol}//`);
  }
  if (url.username !== '' || url.password !== '') throw new UsageError('url must not contain credentials');
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
  const transport = options.transport ?? 'auto';
  if (transport === 'socket' && url.protocol === 'https:') {
    throw new UsageError('the socket transport speaks plain http:// only; use undici for https://');
  }
  const expectStatus = options.expectStatus ?? DEFAULT_EXPECT_STATUS;
  const plan: RunPlan = {
    url,
    method,
    headers: checkHeaders(options.headers ?? {}),
    body: options.body,
    model: rate === undefined ? 'closed' : 'open',
    connections: positiveInteger('connections', options.connections, 100_000) ?? 1,
    pipelining: positiveInteger('pipelining', options.pipelining, MAX_PIPELINING) ?? 1,
    timeoutMs: positiveNumber('timeout', options.timeoutMs) ?? DEFAULT_TIMEOUT_MS,
    accepted: acceptedStatusTable(expectStatus),
    expectStatus,
    transport: transport === 'auto' ? (url.protocol === 'https:' ? 'undici' : 'socket') : transport,
    insecure: options.insecure ?? false,
  };
  positiveInteger('progress interval', options.progressIntervalMs);
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
