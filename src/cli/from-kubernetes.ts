/**
 * The kubectl-plugin mode: `list`, `status`, `watch`, `cancel` and `run` answered from what kubectl has, the
 * LoadTests' `.status`, when Temporal cannot be reached. A kubectl user needs only a kubeconfig; Temporal adds
 * what only it has (live progress, history, deleted LoadTests) when it is reachable.
 */
import { stringify } from 'yaml';
import type { LoadTestObject } from '../k8s/index.js';
import { row } from '../loadtest/format.js';
import { parseLoadTestMemo } from '../client/memo.js';
import { CONCURRENCY_POLICIES, LOADTEST_GROUP } from '../loadtest/spec.js';
import { loadTestWorkflowId } from '../loadtest/workflow-id.js';
import { CliError, EXIT, usageError } from './common.js';
import {
  age,
  formatColumns,
  formatHistory,
  formatResults,
  formatSchedule,
  formatThreshold,
  lastRunCell,
  type ScheduleLine,
} from './display.js';
import type { LoadTestReader, LoadTestWriter } from './kubernetes.js';

/** -o of list and status: a table, a wider one, every field, or `loadtest.example.org/NAME` per line. */
export type ListOutput = 'text' | 'wide' | 'json' | 'yaml' | 'name';

/** One LoadTest as the plugin mode shows it: identity and `.status`, as the API server has them. */
export interface LoadTestRow {
  source: 'kubernetes';
  ref: { namespace: string; name: string; uid: string };
  generation: number;
  observedGeneration?: number;
  state?: string;
  /** Runners created / replicas of the run `.status` describes, e.g. "5/5". */
  runners?: string;
  message?: string;
  creationTimestamp?: string;
  /** spec.schedule, spec.suspend and spec.concurrencyPolicy, with `.status`'s tick times; absent without one. */
  schedule?: ScheduleLine;
  status: LoadTestObject['status'];
}

/** The schedule a LoadTest's spec names, with the tick times its `.status` has; fields of the wrong type are left out. */
export function scheduleOf(object: LoadTestObject): ScheduleLine | undefined {
  const spec = object.spec;
  if (typeof spec !== 'object' || spec === null) return undefined;
  const { schedule, suspend, concurrencyPolicy } = spec as Record<string, unknown>;
  if (typeof schedule !== 'string' || schedule.trim() === '') return undefined;
  const policy = CONCURRENCY_POLICIES.find((known) => known === concurrencyPolicy);
  return {
    expression: schedule,
    suspended: suspend === true,
    ...(policy === undefined ? {} : { concurrencyPolicy: policy }),
    ...(object.status?.lastScheduleTime === undefined ? {} : { lastScheduleTime: object.status.lastScheduleTime }),
    ...(object.status?.nextScheduleTime === undefined ? {} : { nextScheduleTime: object.status.nextScheduleTime }),
  };
}

export function rowOf(object: LoadTestObject): LoadTestRow {
  const { status } = object;
  const schedule = scheduleOf(object);
  return {
    source: 'kubernetes',
    ref: { namespace: object.metadata.namespace, name: object.metadata.name, uid: object.metadata.uid },
    generation: object.metadata.generation ?? 1,
    observedGeneration: status?.observedGeneration,
    state: status?.state,
    runners: status?.runners ?? (status?.children === undefined ? undefined : String(status.children.length)),
    message: status?.message,
    creationTimestamp: object.metadata.creationTimestamp?.toString(),
    ...(schedule === undefined ? {} : { schedule }),
    status,
  };
}

/** `kubectl -o name`: kind.group/name, one per line. */
export function resourceName(name: string): string {
  return `loadtest.${LOADTEST_GROUP}/${name}`;
}

/** Data as -o json or -o yaml prints it. */
export function formatData(value: unknown, output: 'json' | 'yaml'): string {
  return output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/**
 * `list` from Kubernetes: a kubectl-style table (REQUESTS/S, P99, MESSAGE too with -o wide); SCHEDULE from the
 * spec, LAST from `.status.history`.
 */
export function formatKubernetesList(rows: readonly LoadTestRow[], now: Date, wide: boolean): string {
  const header = ['NAMESPACE', 'NAME', 'STATE', 'GENERATION', 'RUNNERS', 'SCHEDULE', 'LAST', 'AGE'];
  if (wide) header.push('REQUESTS/S', 'P99', 'MESSAGE');
  const cells = rows.map((item) => {
    const created = item.creationTimestamp === undefined ? undefined : Date.parse(item.creationTimestamp);
    const line = [
      item.ref.namespace,
      item.ref.name,
      item.state ?? 'unknown',
      String(item.observedGeneration ?? ''),
      item.runners ?? '',
      item.schedule === undefined ? '-' : `${item.schedule.expression}${item.schedule.suspended ? ' (suspended)' : ''}`,
      // The same checks as the memo's: .status is only as well-formed as whoever patched it.
      lastRunCell(parseLoadTestMemo({ lastRun: item.status?.history?.[0] }).lastRun, now),
      created === undefined ? '' : age(now.getTime() - created),
    ];
    if (wide) line.push(item.status?.rps ?? '', item.status?.p99 ?? '', item.message ?? '');
    return line;
  });
  return formatColumns(header, cells);
}

/** `status` from Kubernetes: state, runners, schedule, results, thresholds and run history as `.status` records them. */
export function formatKubernetesStatus(item: LoadTestRow, now = new Date()): string {
  const { status } = item;
  const lines = [
    row('LoadTest', `${item.ref.namespace}/${item.ref.name}`),
    row('State', `${item.state ?? 'unknown'}${item.message ? `: ${item.message}` : ''}`),
    row('Generation', `${item.generation} (status is for ${item.observedGeneration ?? 'none yet'})`),
  ];
  if (item.runners !== undefined) lines.push(row('Runners', item.runners));
  if (item.schedule !== undefined) lines.push(row('Schedule', formatSchedule(item.schedule, now)));
  if (status?.results !== undefined) lines.push(...formatResults(status.results));
  for (const [index, threshold] of (status?.thresholds ?? []).entries()) {
    lines.push(row(index === 0 ? 'Thresholds' : '', formatThreshold(threshold)));
  }
  lines.push(row('Source', 'Kubernetes .status (Temporal unreachable: no live progress)'));
  const history = status?.history ?? [];
  const table = history.length === 0 ? '' : `\n${formatHistory(history, loadTestWorkflowId(item.ref), now)}`;
  return `${lines.join('\n')}\n${table}`;
}

/** A run whose `.status` describes the object's current generation and has finished or failed. */
export function settledState(object: LoadTestObject, generation?: number): 'finished' | 'failed' | undefined {
  const state = object.status?.state;
  const observed = object.status?.observedGeneration ?? 0;
  const wanted = generation ?? object.metadata.generation ?? 1;
  if (observed < wanted) return undefined;
  return state === 'finished' || state === 'failed' ? state : undefined;
}

export interface WatchOptions {
  /** Generation to await; default the object's current one. */
  generation?: number;
  signal: AbortSignal;
  /** Default 1000 ms. */
  pollIntervalMs?: number;
  /** One logfmt line per change of state, runners or message. */
  progress: NodeJS.WritableStream;
  /**
   * How long the operator may take to publish a `.status` for the awaited generation; then a CliError (exit 3)
   * whose message ends with `why`. Default: no limit.
   */
  startTimeout?: { ms: number; why: string };
}

/** ` requests=… errors=… rps=… p99_ms=…` from `.status.progress` while executing; '' otherwise. */
function progressFields(object: LoadTestObject): string {
  const progress = object.status?.progress;
  if (object.status?.state !== 'executing' || progress === undefined) return '';
  return ` requests=${progress.requests} errors=${progress.errors} rps=${progress.rps} p99_ms=${progress.p99Ms}`;
}

/** Follows `.status` until the run settles; returns the last object. Usage error when it does not exist. */
export async function watchKubernetes(
  kubernetes: LoadTestReader,
  namespace: string,
  name: string,
  options: WatchOptions,
): Promise<LoadTestObject> {
  let shown = '';
  const deadline = options.startTimeout === undefined ? undefined : Date.now() + options.startTimeout.ms;
  for (;;) {
    options.signal.throwIfAborted();
    const object = await kubernetes.get(namespace, name);
    if (object === undefined) {
      throw shown === ''
        ? noSuchLoadTest(namespace, name)
        : new CliError(`LoadTest ${namespace}/${name} was deleted before its run settled`, EXIT.failed);
    }
    const item = rowOf(object);
    const line =
      `loadtest=${namespace}/${name} generation=${item.observedGeneration ?? ''} state=${item.state ?? 'unknown'} ` +
      `runners=${item.runners ?? ''}${progressFields(object)} message=${JSON.stringify(item.message ?? '')}`;
    if (line !== shown) {
      options.progress.write(`time=${new Date().toISOString()} ${line}\n`);
      shown = line;
    }
    if (settledState(object, options.generation) !== undefined) return object;
    const started = (object.status?.observedGeneration ?? 0) >= (options.generation ?? object.metadata.generation ?? 1);
    if (!started && deadline !== undefined && Date.now() > deadline) {
      throw new CliError(
        `the operator did not pick up LoadTest ${namespace}/${name} within ${options.startTimeout!.ms / 1000}s` +
          ` (no .status for its generation); ${options.startTimeout!.why}`,
        EXIT.unavailable,
      );
    }
    await sleep(options.pollIntervalMs ?? 1000, options.signal);
  }
}

/** Deletes the LoadTest (the operator then deletes its runners) and, with `waitMs`, waits until it is gone. */
export async function cancelInKubernetes(
  kubernetes: LoadTestWriter,
  namespace: string,
  name: string,
  waitMs: number | undefined,
  signal: AbortSignal,
): Promise<string> {
  if (!(await kubernetes.delete(namespace, name))) throw noSuchLoadTest(namespace, name);
  if (waitMs === undefined) return `LoadTest ${namespace}/${name}: deleted from Kubernetes.`;
  const deadline = Date.now() + waitMs;
  while ((await kubernetes.get(namespace, name)) !== undefined) {
    if (Date.now() > deadline) {
      throw new CliError(
        `LoadTest ${namespace}/${name}: deleted from Kubernetes, but still there after ${waitMs / 1000} s`,
        EXIT.unavailable,
      );
    }
    await sleep(500, signal);
  }
  return `LoadTest ${namespace}/${name} cancelled (deleted from Kubernetes).`;
}

export function noSuchLoadTest(namespace: string, name: string): CliError {
  return usageError(`no LoadTest "${name}" in namespace "${namespace}" (see: list -A)`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
