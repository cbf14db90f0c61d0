/**
 * Runs a plan on this thread: opens the connections, drives them with the closed or open model, enforces
 * per-request timeouts with one sweep timer (cheaper than a timer per request) and returns the summary. With
 * threads (src/runner/threads.ts), each thread runs its share of the plan here: its part of the connections and
 * of the requests, or every n-th request of the open model's schedule.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Connection, ConnectionEvents } from './connection.js';
import { AdjustableRate } from './adjustable-rate.js';
import type { RunnerProgress, RunnerSummary } from './contract.js';
import type { ConfigChange } from './control-api.js';
import { ClosedModel } from './closed-model.js';
import { buildRequestBytes, requestTarget } from './http1/request.js';
import { SocketConnection } from './http1/socket-connection.js';
import { OpenModel } from './open-model.js';
import { OriginPoolConnection } from './origin-pool.js';
import type { RunPlan } from './plan.js';
import { reportProgress } from './progress.js';
import { Recorder } from './recorder.js';
import { WeightedRoundRobin } from './request-mix.js';
import { connectionsAt, constantRate, rampingRate, splitEvenly, threadShare } from './schedule.js';

/** Socket reads go into one scratch buffer per run, parsed before the next read. */
const READ_BUFFER_BYTES = 64 * 1024;

type LoadModel = (ClosedModel | OpenModel) & ConnectionEvents;

/** How often timeouts are checked: a twentieth of the timeout, between 1 ms and 100 ms. */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.min(100, Math.max(1, Math.floor(timeoutMs / 20)));
}

/** Which share of a plan one thread runs: thread `index` of `count`. */
export interface ThreadPart {
  index: number;
  count: number;
}

const WHOLE: ThreadPart = { index: 0, count: 1 };

/**
 * What a run offers to the control endpoint while it sends (see run-control.ts). Times are ms after this thread's
 * start, on its performance.now() clock.
 */
export interface EngineLive {
  /** Epoch ms (wall clock) when this thread began sending. */
  startedAtMs: number;
  /** ms since the start, now. */
  elapsedMs(): number;
  /** The cumulative summary so far (the final one once the run has ended). */
  snapshot(): RunnerSummary;
  /**
   * Applies a change from `atMs` after the start: rate (open model, constant rate) and/or duration. Returns false
   * when the run has stopped sending (nothing changed). The caller has checked that the plan can take it.
   */
  change(change: ConfigChange, atMs: number): boolean;
}

/** An adjustable schedule for a controlled open-model constant-rate run; undefined otherwise. */
function adjustableSchedule(plan: RunPlan, controlled: boolean): AdjustableRate | undefined {
  if (!controlled || plan.model !== 'open' || plan.stages !== undefined) return undefined;
  return new AdjustableRate(
    plan.rate!,
    plan.durationMs,
    plan.durationMs === undefined ? plan.scheduledRequests : undefined,
  );
}

function createModel(
  plan: RunPlan,
  recorder: Recorder,
  part: ThreadPart,
  connections: number,
  adjustable: AdjustableRate | undefined,
): LoadModel {
  const mix = new WeightedRoundRobin(plan.requestList.map((request) => request.weight));
  if (plan.model === 'open') {
    const schedule =
      adjustable ??
      (plan.stages === undefined ? constantRate(plan.rate!, plan.scheduledRequests!) : rampingRate(plan.stages));
    return new OpenModel(
      recorder,
      plan.pipelining,
      threadShare(schedule, part.index, part.count),
      plan.timeoutMs,
      connections,
      mix,
    );
  }
  const requests = plan.requests === undefined ? undefined : splitEvenly(plan.requests, part.index, part.count);
  // Closed-model stages: this thread's share of the connections the ramp says, at every moment.
  const stages = plan.stages;
  const ramp =
    stages === undefined
      ? undefined
      : { activeAt: (ms: number) => splitEvenly(connectionsAt(stages, ms), part.index, part.count) };
  return new ClosedModel(recorder, plan.pipelining, requests, mix, ramp);
}

type OpenConnection = (id: number, origin: number, events: ConnectionEvents) => Connection;

/**
 * The address to connect to for `host`: one lookup, as `net.connect` would make it. A name that does not resolve
 * stays a name, so the connections fail with the same `dns` errors they always did.
 */
async function resolveOnce(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch {
    return host;
  }
}

/** How to open a connection to each origin of the plan's requests (one origin unless a mix names urls). */
async function connectionMaker(plan: RunPlan, origins: readonly URL[]): Promise<OpenConnection> {
  if (plan.transport === 'socket') {
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const requests = plan.requestList.map((request) => buildRequestBytes(request));
    // Names are resolved now, before the start: a lookup at the first send (CoreDNS for a Service name) made
    // runners that were told one start instant begin sending up to a few hundred ms apart (bench:start-skew).
    const hosts = await Promise.all(origins.map((origin) => resolveOnce(origin.hostname.replace(/^\[(.*)\]$/, '$1'))));
    const targets = origins.map((origin, index) => ({
      host: hosts[index]!,
      port: Number(origin.port || 80),
      requests,
      headRequests: plan.requestList.every((request) => request.method === 'HEAD'),
      capacity: plan.pipelining,
    }));
    return (id, origin, events) => new SocketConnection(id, targets[origin]!, events, readBuffer);
  }
  // Loaded only when used: undici adds a tenth of a second to the start-up of every runner.
  const { UndiciConnection } = await import('./undici-connection.js');
  const requests = plan.requestList.map((request) => ({
    path: requestTarget(request.url),
    method: request.method,
    headers: request.headers,
    body: request.body,
  }));
  const targets = origins.map((origin) => ({
    origin: origin.origin,
    requests,
    capacity: plan.pipelining,
    insecure: plan.insecure,
  }));
  return (id, origin, events) => new UndiciConnection(id, targets[origin]!, events);
}

async function createConnections(plan: RunPlan, events: ConnectionEvents, count: number): Promise<Connection[]> {
  // Connections are per origin: the run's, or those of a mix's own urls (see origin-pool.ts).
  const originNames = [...new Set(plan.requestList.map((request) => request.url.origin))];
  const origins = originNames.map((name) => new URL(name));
  const open = await connectionMaker(plan, origins);
  const connections: Connection[] = [];
  if (origins.length === 1) {
    for (let id = 0; id < count; id++) connections.push(open(id, 0, events));
    return connections;
  }
  const originOf = plan.requestList.map((request) => originNames.indexOf(request.url.origin));
  for (let id = 0; id < count; id++) {
    connections.push(
      new OriginPoolConnection(id, events, originOf, origins.length, (origin, poolEvents) =>
        open(id, origin, poolEvents),
      ),
    );
  }
  return connections;
}

export interface ExecuteOptions {
  /** Ends the run early, as if its duration had elapsed. */
  signal?: AbortSignal;
  /** Receives a progress snapshot every progressIntervalMs while sending. */
  onProgress?: (progress: RunnerProgress) => void;
  progressIntervalMs?: number;
  /** This thread's share of the plan; default all of it. */
  part?: ThreadPart;
  /**
   * Waits for this (a promise of a performance.now() time, possibly in the past) once the connections are set
   * up, then starts the schedule at that time: threads start together on one clock.
   */
  startAt?: Promise<number>;
  /** Given when the run is controlled (--control-port): receives the live run once sending begins. */
  onLive?: (live: EngineLive) => void;
}

export async function executePlan(plan: RunPlan, options: ExecuteOptions = {}): Promise<RunnerSummary> {
  const { signal, onProgress, progressIntervalMs, part = WHOLE, onLive } = options;
  const connectionCount = splitEvenly(plan.connections, part.index, part.count);
  const recorder = new Recorder(
    plan.accepted,
    plan.model === 'open',
    plan.mixed ? plan.requestList.map((request) => request.name) : undefined,
  );
  const adjustable = adjustableSchedule(plan, onLive !== undefined);
  const model = createModel(plan, recorder, part, connectionCount, adjustable);
  const connections = await createConnections(plan, model, connectionCount);
  const startAt = options.startAt === undefined ? undefined : await options.startAt;
  if (startAt !== undefined && startAt > performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, startAt - performance.now()));
  }
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    model.stop();
  };
  const sweeper = setInterval(() => {
    const nowMs = performance.now();
    for (const connection of connections) connection.expire(nowMs, plan.timeoutMs);
    model.tick(nowMs);
  }, sweepIntervalMs(plan.timeoutMs));
  // In the open model the duration only sets how many requests are scheduled.
  let durationTimer =
    plan.model === 'closed' && plan.durationMs !== undefined ? setTimeout(stop, plan.durationMs) : undefined;
  signal?.addEventListener('abort', stop);
  const stopProgress =
    onProgress !== undefined && progressIntervalMs !== undefined
      ? reportProgress(recorder, progressIntervalMs, onProgress)
      : undefined;
  const startMs = startAt ?? performance.now();
  recorder.startMs = startMs;
  const bytesSoFar = (): number => connections.reduce((sum, connection) => sum + connection.bytesRead, 0);
  const summarise = (): RunnerSummary =>
    recorder.toSummary({
      startMs,
      endMs: Number.isNaN(recorder.lastDoneMs) ? startMs : recorder.lastDoneMs,
      bytesRead: bytesSoFar(),
      pipelining: plan.pipelining > 1 ? plan.pipelining : undefined,
    });
  // Set once the run has ended: snapshots then return it (the recorder's histograms are freed).
  const ended: { summary?: RunnerSummary } = {};
  const live: EngineLive = {
    startedAtMs: Date.now(),
    elapsedMs: () => performance.now() - startMs,
    snapshot: () => ended.summary ?? summarise(),
    change: (change, atMs) => {
      if (stopped || ended.summary !== undefined) return false;
      if (adjustable !== undefined) {
        if (change.rate !== undefined) adjustable.setRate(change.rate, atMs);
        if (change.durationMs !== undefined) adjustable.setDurationMs(change.durationMs);
        return (model as OpenModel).reschedule(performance.now());
      }
      if (durationTimer === undefined || change.durationMs === undefined) return false;
      clearTimeout(durationTimer);
      durationTimer = setTimeout(stop, Math.max(0, startMs + change.durationMs - performance.now()));
      return true;
    },
  };
  try {
    if (signal?.aborted === true) stop();
    model.start(connections, startMs);
    // After start(): a change must not dispatch from a schedule that has not begun.
    onLive?.(live);
    await model.done;
  } finally {
    clearInterval(sweeper);
    clearTimeout(durationTimer);
    stopProgress?.();
    signal?.removeEventListener('abort', stop);
    for (const connection of connections) connection.close();
  }
  const summary = summarise();
  ended.summary = summary;
  recorder.destroy();
  return summary;
}
