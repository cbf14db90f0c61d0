/**
 * Start synchronisation: all runners of one run begin sending at the same wall-clock time. The time comes
 * either from `--start-at` or from a Downward API annotations file that the operator fills in once every runner
 * pod is running. Kubernetes updates such files by swapping a symlink, which file watchers can miss, so the
 * file is polled (one small read per interval); a directory watch only shortens the wait.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { START_AT_ANNOTATION, START_AT_WAIT_LIMIT_MS } from './contract.js';

/** How often the annotations file is read while waiting. */
export const START_AT_POLL_MS = 500;
/** setTimeout cannot wait longer than this in one go. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StartSyncOptions {
  /** Epoch ms to start at; wins over startAtFile. */
  startAtMs?: number;
  /** Downward API file to watch for START_AT_ANNOTATION. */
  startAtFile?: string;
  /** Longest total wait, ms. Default START_AT_WAIT_LIMIT_MS. */
  waitLimitMs?: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** Parses Downward API `key="value"` lines (values are Go-quoted strings). */
export function parseDownwardApiFile(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    const equals = line.indexOf('=');
    if (equals <= 0) continue;
    const raw = line.slice(equals + 1).trim();
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, raw.endsWith('"') ? -1 : undefined);
      }
    }
    entries.set(line.slice(0, equals).trim(), value);
  }
  return entries;
}

/** Reads an epoch-ms start time (or an ISO 8601 date) from the annotation value. */
export function parseStartAt(value: string): number | undefined {
  const trimmed = value.trim();
  const time = /^[0-9]+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  return Number.isFinite(time) ? time : undefined;
}

async function readStartAtAnnotation(file: string): Promise<number | undefined> {
  try {
    const value = parseDownwardApiFile(await readFile(file, 'utf8')).get(START_AT_ANNOTATION);
    return value === undefined ? undefined : parseStartAt(value);
  } catch {
    return undefined; // not mounted yet, or mid-update
  }
}

/** Resolves after `ms`, earlier when `wake` is called or the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined, onWakeable?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    signal?.addEventListener('abort', done, { once: true });
    onWakeable?.(done);
  });
}

function watchDirectory(file: string, onChange: () => void): FSWatcher | undefined {
  try {
    return watch(dirname(file), { persistent: false }, onChange);
  } catch {
    return undefined;
  }
}

/** Waits for the annotation in `file` until `deadline` (epoch ms); its start time, or undefined. */
export async function waitForAnnotation(
  file: string,
  deadline: number,
  options: StartSyncOptions,
): Promise<number | undefined> {
  let wake: (() => void) | undefined;
  const watcher = watchDirectory(file, () => wake?.());
  try {
    for (;;) {
      const startAt = await readStartAtAnnotation(file);
      if (startAt !== undefined) return startAt;
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted === true) return undefined;
      await pause(Math.min(START_AT_POLL_MS, left), options.signal, (w) => (wake = w));
    }
  } finally {
    watcher?.close();
  }
}

/** Waits until the synchronised start time (no-op when neither option is set). */
export async function waitForStart(options: StartSyncOptions): Promise<void> {
  const waitLimitMs = options.waitLimitMs ?? START_AT_WAIT_LIMIT_MS;
  const deadline = Date.now() + waitLimitMs;
  let startAt = options.startAtMs;
  if (startAt === undefined && options.startAtFile !== undefined) {
    startAt = await waitForAnnotation(options.startAtFile, deadline, options);
    if (startAt === undefined) {
      if (options.signal?.aborted !== true) {
        options.log(
          `runner: no ${START_AT_ANNOTATION} in ${options.startAtFile} after ${waitLimitMs} ms; starting now`,
        );
      }
      return;
    }
  }
  if (startAt === undefined) return;
  const waitMs = startAt - Date.now();
  if (waitMs <= 0) return;
  if (startAt > deadline) {
    options.log(
      `runner: start time ${new Date(startAt).toISOString()} is beyond the wait limit; starting at the limit`,
    );
  }
  const target = Math.min(startAt, deadline);
  // Timers may fire a little early against the wall clock; loop until the start time has really come.
  while (Date.now() < target && options.signal?.aborted !== true) await pause(target - Date.now(), options.signal);
}
