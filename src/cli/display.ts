/**
 * What the commands print for people: a live view of a running LoadTest (redrawn in place on a terminal,
 * one `key=value` line per update otherwise, so CI logs stay plain and parseable), the results table, the
 * status block with its schedule and run history, and the list table.
 */
import type { LoadTestOutcome, LoadTestSnapshot } from '../client/run.js';
import type { LastRun } from '../client/memo.js';
import type { LoadTestRunInfo } from '../client/runs.js';
import { counts, requestLine, round1, row } from '../loadtest/format.js';
import type { RunRecord } from '../loadtest/run-history.js';
import type { LoadTestResults, ThresholdResult } from '../loadtest/spec.js';
import type { LoadTestRef } from '../loadtest/workflow-id.js';
import type { ScheduleView } from '../../workflows/definitions.js';

export interface LiveDisplay {
  update(snapshot: LoadTestSnapshot): void;
  /** Leaves the last view on screen; later output starts below it. */
  finish(): void;
}

/**
 * A live view on `stream`: redrawn in place when it is a terminal that can move the cursor, plain lines
 * otherwise (not a terminal, or TERM=dumb). Nothing here is coloured, so NO_COLOR holds as it is.
 */
export function liveDisplay(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  ref: LoadTestRef,
  env: NodeJS.ProcessEnv = process.env,
): LiveDisplay {
  const redraw = stream.isTTY === true && env.TERM !== 'dumb';
  return redraw ? new TerminalDisplay(stream, ref) : new PlainDisplay(stream, ref);
}

/** The numbers a live view shows. */
export interface LiveFigures {
  state: string;
  /** The workflow's step; `starting` while runners wait for their common start time. */
  step: string;
  /** Until the runners start sending, or until a duration-based test should end, ms. */
  startsInMs?: number;
  remainingMs?: number;
  generation?: number;
  elapsedMs: number;
  requests?: number;
  errors?: number;
  rps?: number;
  p99Ms?: number;
  runners?: string;
}

export function liveFigures(snapshot: LoadTestSnapshot): LiveFigures {
  const { status, live } = snapshot;
  const results = status?.results;
  const final = results !== undefined && snapshot.settled;
  const now = snapshot.at.getTime();
  const startAt = status?.progress.startAt === undefined ? undefined : Date.parse(status.progress.startAt);
  const end = status?.progress.expectedEnd === undefined ? undefined : Date.parse(status.progress.expectedEnd);
  const ongoing = !snapshot.settled && snapshot.execution === 'RUNNING';
  const starting = ongoing && startAt !== undefined && startAt > now;
  let step = status?.progress.step ?? (snapshot.execution === 'RUNNING' ? 'unknown' : snapshot.execution.toLowerCase());
  if (starting && step === 'running') step = 'starting';
  return {
    state: snapshot.state ?? 'unknown',
    step,
    startsInMs: starting ? startAt - now : undefined,
    remainingMs: ongoing && !starting && end !== undefined ? Math.max(0, end - now) : undefined,
    generation: snapshot.generation,
    elapsedMs: final
      ? Date.parse(results.endTime) - snapshot.runStartTime.getTime()
      : snapshot.at.getTime() - snapshot.runStartTime.getTime(),
    // Before the common start time there is nothing to count yet.
    requests: final ? results.requests : starting ? undefined : live?.sent,
    errors: final ? results.errors : starting ? undefined : live?.failed,
    rps: final ? results.rps : starting ? undefined : live?.rps,
    p99Ms: final ? results.latencyMs.p99 : starting ? undefined : live?.p99Ms,
    runners:
      live !== undefined
        ? `${live.reporting}/${live.runners}`
        : status === undefined || status.children.length === 0
          ? undefined
          : `${status.children.length}/${status.progress.replicas}`,
  };
}

/** One logfmt line: `time=... loadtest=ns/name state=executing ... p99_ms=4.1`. */
export function plainLine(ref: LoadTestRef, figures: LiveFigures, at: Date): string {
  const fields: Array<[string, string | number | undefined]> = [
    ['time', at.toISOString()],
    ['loadtest', `${ref.namespace}/${ref.name}`],
    ['generation', figures.generation],
    ['state', figures.state],
    ['step', figures.step],
    ['elapsed_s', round1(figures.elapsedMs / 1000)],
    ['starts_in_s', figures.startsInMs === undefined ? undefined : round1(figures.startsInMs / 1000)],
    ['remaining_s', figures.remainingMs === undefined ? undefined : round1(figures.remainingMs / 1000)],
    ['requests', figures.requests],
    ['errors', figures.errors],
    ['rps', figures.rps === undefined ? undefined : round1(figures.rps)],
    ['p99_ms', figures.p99Ms === undefined ? undefined : round1(figures.p99Ms)],
    ['runners', figures.runners],
  ];
  return fields
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}

class PlainDisplay implements LiveDisplay {
  private last = '';

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly ref: LoadTestRef,
  ) {}

  update(snapshot: LoadTestSnapshot): void {
    const figures = liveFigures(snapshot);
    // While waiting, only changes are worth a line; while sending, every update is.
    const key = plainLine(this.ref, { ...figures, elapsedMs: 0, startsInMs: undefined }, new Date(0));
    if (key === this.last && snapshot.live === undefined) return;
    this.last = key;
    this.stream.write(`${plainLine(this.ref, figures, snapshot.at)}\n`);
  }

  finish(): void {}
}

class TerminalDisplay implements LiveDisplay {
  private lines = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly ref: LoadTestRef,
  ) {}

  update(snapshot: LoadTestSnapshot): void {
    const figures = liveFigures(snapshot);
    const timing =
      figures.startsInMs !== undefined
        ? ` · sending in ${seconds(figures.startsInMs)}`
        : figures.remainingMs !== undefined
          ? ` · ${seconds(figures.remainingMs)} left`
          : '';
    const head = `${this.ref.namespace}/${this.ref.name}  ${figures.state} · ${figures.step} · ${seconds(figures.elapsedMs)}${timing}`;
    const numbers =
      figures.requests === undefined || figures.startsInMs !== undefined
        ? '  waiting for the runners…'
        : `  ${figures.requests.toLocaleString('en-US')} requests  ${figures.errors ?? 0} errors  ` +
          `${round1(figures.rps ?? 0)} req/s  p99 ${round1(figures.p99Ms ?? 0)} ms` +
          (figures.runners === undefined ? '' : `  runners ${figures.runners}`);
    // Up to the first line of the previous view, clear to the end of the screen, draw again.
    const rewind = this.lines > 0 ? `\x1b[${this.lines}F\x1b[0J` : '';
    this.stream.write(`${rewind}${head}\n${numbers}\n`);
    this.lines = 2;
  }

  finish(): void {
    this.lines = 0;
  }
}

/** The results of a settled run as a table, thresholds included. */
export function formatOutcome(outcome: LoadTestOutcome): string {
  const lines = [row('LoadTest', `${outcome.ref.namespace}/${outcome.ref.name} (generation ${outcome.generation})`)];
  lines.push(row('Result', `${outcome.state.toUpperCase()}: ${outcome.message}`));
  if (outcome.results !== undefined) lines.push(...formatResults(outcome.results));
  if (outcome.thresholds !== undefined && outcome.thresholds.length > 0) {
    lines.push(row('Thresholds', formatThreshold(outcome.thresholds[0]!)));
    for (const threshold of outcome.thresholds.slice(1)) lines.push(row('', formatThreshold(threshold)));
  }
  return `${lines.join('\n')}\n`;
}

export function formatResults(results: LoadTestResults): string[] {
  const seconds = (Date.parse(results.endTime) - Date.parse(results.startTime)) / 1000;
  const errorPercent = round1(results.errorRate * 100);
  const lines = [
    row(
      'Requests',
      `${results.requests} sent, ${results.completed} completed, ${results.errors} errors (${errorPercent}%)` +
        (results.dropped > 0 ? `, ${results.dropped} dropped` : ''),
    ),
    row('Throughput', `${round1(results.rps)} req/s over ${seconds.toFixed(2)} s`),
    row('Statuses', counts(results.statusCodes)),
  ];
  if (Object.keys(results.errorsByKind).length > 0) lines.push(row('Errors', counts(results.errorsByKind)));
  const latency = results.latencyMs;
  const header = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean'].map((label) => label.padStart(9)).join('');
  const values = [latency.p50, latency.p90, latency.p95, latency.p99, latency.p999, latency.max, latency.mean]
    .map((value) => value.toFixed(2).padStart(9))
    .join('');
  lines.push(row('Latency ms', header), row('', values));
  const byRequest = Object.entries(results.byRequest ?? {});
  for (const [index, [name, request]] of byRequest.entries()) {
    lines.push(row(index === 0 ? 'By request' : '', requestLine(name, request)));
  }
  return lines;
}

export function formatThreshold(threshold: ThresholdResult): string {
  return `${threshold.passed ? 'passed' : 'BREACHED'}  ${threshold.threshold} (actual ${threshold.actual})`;
}

/** `status NAME`: where the LoadTest is, and its results once it has some. */
export function formatSnapshot(ref: LoadTestRef, snapshot: LoadTestSnapshot, workflowId: string): string {
  const { status } = snapshot;
  const lines = [
    row('LoadTest', `${ref.namespace}/${ref.name}`),
    row('State', `${snapshot.state ?? 'unknown'}${status?.message ? `: ${status.message}` : ''}`),
    row('Generation', String(snapshot.generation ?? 'unknown')),
  ];
  if (snapshot.unanswered !== undefined) {
    const source = status === undefined ? 'the search attributes' : 'the workflow history';
    lines.push(row('Details', `no worker answered (${snapshot.unanswered.split('\n')[0]}); shown from ${source}`));
  }
  if (status !== undefined) {
    lines.push(row('Step', status.progress.step));
    if (status.children.length > 0) lines.push(row('Runners', status.children.join(', ')));
    if (status.progress.startAt !== undefined) lines.push(row('Start at', status.progress.startAt));
  }
  if (snapshot.live !== undefined) {
    const live = snapshot.live;
    lines.push(row('Live', `${live.sent} requests, ${live.failed} errors, ${live.rps} req/s, p99 ${live.p99Ms} ms`));
  }
  lines.push(row('Workflow', `${workflowId} (${snapshot.execution.toLowerCase()})`));
  if (status?.schedule !== undefined) lines.push(row('Schedule', formatSchedule(status.schedule, snapshot.at)));
  if (status?.results !== undefined) lines.push(...formatResults(status.results));
  for (const [index, threshold] of (status?.thresholds ?? []).entries()) {
    lines.push(row(index === 0 ? 'Thresholds' : '', formatThreshold(threshold)));
  }
  const history = status?.history ?? [];
  return `${lines.join('\n')}\n${history.length === 0 ? '' : `\n${formatHistory(history, workflowId, snapshot.at)}`}`;
}

/** The fields of a schedule the status line shows (ScheduleView, or what a LoadTest's spec and `.status` say). */
export type ScheduleLine = Pick<ScheduleView, 'expression' | 'suspended' | 'lastScheduleTime' | 'nextScheduleTime'> &
  Partial<Pick<ScheduleView, 'concurrencyPolicy'>>;

/** `*\/5 * * * * (Forbid), next in 4m (2026-…Z), last 1m ago (2026-…Z)`; "suspended" instead of the next tick. */
export function formatSchedule(schedule: ScheduleLine, now: Date): string {
  const parts = [
    schedule.concurrencyPolicy === undefined
      ? schedule.expression
      : `${schedule.expression} (${schedule.concurrencyPolicy})`,
  ];
  if (schedule.suspended) parts.push('suspended');
  else if (schedule.nextScheduleTime !== undefined) {
    parts.push(`next in ${age(Date.parse(schedule.nextScheduleTime) - now.getTime())} (${schedule.nextScheduleTime})`);
  }
  if (schedule.lastScheduleTime !== undefined) {
    parts.push(`last ${ago(schedule.lastScheduleTime, now)} (${schedule.lastScheduleTime})`);
  } else parts.push('no tick yet');
  return parts.join(', ');
}

/**
 * The run history as a table, in the order given (newest first): the run, what started it, when, how long it
 * took, its verdict and headline numbers; MESSAGE says why a run failed or was cancelled. A field that is
 * missing or of the wrong type (`.status` is only as good as whoever patched it) shows as "-".
 */
export function formatHistory(history: readonly RunRecord[], loadTestWorkflowId: string, now: Date): string {
  const header = ['RUN', 'TRIGGER', 'STARTED', 'TOOK', 'VERDICT', 'REQUESTS', 'RPS', 'P99', 'MESSAGE'];
  const cells = history.map((record) => {
    const startTime = textOf(record.startTime);
    return [
      runLabel(record, loadTestWorkflowId),
      textOf(record.trigger) ?? '-',
      startTime === undefined ? '-' : ago(startTime, now),
      took(startTime, textOf(record.completionTime)),
      textOf(record.state) ?? '-',
      numberOf(record.requests) ?? '-',
      numberOf(record.rps, round1) ?? '-',
      numberOf(record.p99Ms, (ms) => `${round1(ms)}ms`) ?? '-',
      record.state === 'finished' ? '' : (textOf(record.message)?.split('\n')[0]!.trim() ?? ''),
    ];
  });
  return formatColumns(header, cells);
}

/**
 * A run's short name: its workflow id after the LoadTest's (`g3`, `2026-01-01T00:05:00Z`), else the tick time
 * of a scheduled run, else the generation; a workflow id that is not the LoadTest's is shown whole.
 */
export function runLabel(record: RunRecord, loadTestWorkflowId: string): string {
  const id = textOf(record.workflowId) ?? '';
  if (id !== '' && !id.startsWith(loadTestWorkflowId)) return id;
  const rest = id.slice(loadTestWorkflowId.length).replace(/^[/:_-]+/, '');
  if (rest !== '') return rest;
  return textOf(record.scheduledTime) ?? numberOf(record.generation, (generation) => `g${generation}`) ?? '-';
}

/** LAST of `list`: "failed 3m ago", the verdict alone without a time, "-" before the first run. */
export function lastRunCell(lastRun: LastRun | undefined, now: Date): string {
  if (lastRun === undefined) return '-';
  return lastRun.completionTime === undefined ? lastRun.state : `${lastRun.state} ${ago(lastRun.completionTime, now)}`;
}

/** How long a run took: "42s", "3m12s", "1h02m"; "-" when it has no start or end. */
export function took(startTime: string | undefined, completionTime: string | undefined): string {
  if (startTime === undefined || completionTime === undefined) return '-';
  const ms = Date.parse(completionTime) - Date.parse(startTime);
  if (Number.isNaN(ms)) return '-';
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(total / 3600)}h${String(Math.floor((total % 3600) / 60)).padStart(2, '0')}m`;
}

/** "3m ago" for an ISO time; "?" when it is not one. */
function ago(iso: string, now: Date): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '?' : `${age(now.getTime() - at)} ago`;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numberOf(value: unknown, show: (value: number) => string | number = String): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? String(show(value)) : undefined;
}

/** `list`: a kubectl-style table; SCHEDULE and LAST come from the workflows' memo ("-" when there is none). */
export function formatList(rows: readonly LoadTestRunInfo[], now: Date, wide = false): string {
  const header = ['NAMESPACE', 'NAME', 'STATE', 'GENERATION', 'SCHEDULE', 'LAST', 'AGE'];
  if (wide) header.push('WORKFLOW', 'TASK QUEUE');
  const cells = rows.map((info) => {
    const cellsOfRow = [
      info.ref.namespace,
      info.ref.name,
      info.execution === 'RUNNING' ? (info.state ?? 'unknown') : `${info.state ?? 'unknown'} (deleted)`,
      String(info.generation ?? ''),
      info.schedule ?? '-',
      lastRunCell(info.lastRun, now),
      age(now.getTime() - info.startTime.getTime()),
    ];
    if (wide) cellsOfRow.push(info.workflowId, info.taskQueue);
    return cellsOfRow;
  });
  return formatColumns(header, cells);
}

/** A kubectl-style table: left-aligned columns three spaces apart, the last column as wide as it needs. */
export function formatColumns(header: readonly string[], cells: readonly string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const render = (line: readonly string[]) =>
    line
      .map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column]! + 3)))
      .join('')
      .trimEnd();
  return `${[header, ...cells].map(render).join('\n')}\n`;
}

/** kubectl's age format: 45s, 12m, 3h, 5d. */
export function age(ms: number): string {
  const secondsTotal = Math.max(0, Math.floor(ms / 1000));
  if (secondsTotal < 120) return `${secondsTotal}s`;
  if (secondsTotal < 7200) return `${Math.floor(secondsTotal / 60)}m`;
  if (secondsTotal < 172_800) return `${Math.floor(secondsTotal / 3600)}h`;
  return `${Math.floor(secondsTotal / 86_400)}d`;
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}
