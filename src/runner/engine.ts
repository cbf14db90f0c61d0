/**
 * Runs a plan: opens the connections, drives them with the closed or open model, enforces per-request
 * timeouts with one sweep timer (cheaper than a timer per request) and returns the runner's summary.
 */
import type { Connection, ConnectionEvents } from './connection.js';
import type { RunnerProgress, RunnerSummary } from './contract.js';
import { ClosedModel } from './closed-model.js';
import { buildRequestBytes, requestTarget } from './http1/request.js';
import { SocketConnection } from './http1/socket-connection.js';
import { OpenModel } from './open-model.js';
import type { RunPlan } from './plan.js';
import { reportProgress } from './progress.js';
import { Recorder } from './recorder.js';

/** Socket reads go into one scratch buffer per run, parsed before the next read. */
const READ_BUFFER_BYTES = 64 * 1024;

type LoadModel = (ClosedModel | OpenModel) & ConnectionEvents;

/** How often timeouts are checked: a twentieth of the timeout, between 1 ms and 100 ms. */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.min(100, Math.max(1, Math.floor(timeoutMs / 20)));
}

function createModel(plan: RunPlan, recorder: Recorder): LoadModel {
  if (plan.model === 'open') {
    return new OpenModel(
      recorder,
      plan.pipelining,
      plan.rate!,
      plan.scheduledRequests!,
      plan.timeoutMs,
      plan.connections,
    );
  }
  return new ClosedModel(recorder, plan.pipelining, plan.requests);
}

async function createConnections(plan: RunPlan, events: ConnectionEvents): Promise<Connection[]> {
  const connections: Connection[] = [];
  if (plan.transport === 'socket') {
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const target = {
      host: plan.url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(plan.url.port || 80),
      request: buildRequestBytes(plan),
      headRequests: plan.method === 'HEAD',
      capacity: plan.pipelining,
    };
    for (let id = 0; id < plan.connections; id++) {
      connections.push(new SocketConnection(id, target, events, readBuffer));
    }
    return connections;
  }
  // Loaded only when used: undici adds a tenth of a second to the start-up of every runner.
  const { UndiciConnection } = await import('./undici-connection.js');
  const target = {
    origin: plan.url.origin,
    path: requestTarget(plan.url),
    method: plan.method,
    headers: plan.headers,
    body: plan.body,
    capacity: plan.pipelining,
    insecure: plan.insecure,
  };
  for (let id = 0; id < plan.connections; id++) connections.push(new UndiciConnection(id, target, events));
  return connections;
}

export interface ExecuteOptions {
  /** Ends the run early, as if its duration had elapsed. */
  signal?: AbortSignal;
  /** Receives a progress snapshot every progressIntervalMs while sending. */
  onProgress?: (progress: RunnerProgress) => void;
  progressIntervalMs?: number;
}

export async function executePlan(plan: RunPlan, options: ExecuteOptions = {}): Promise<RunnerSummary> {
  const { signal, onProgress, progressIntervalMs } = options;
  const recorder = new Recorder(plan.accepted, plan.model === 'open');
  const model = createModel(plan, recorder);
  const connections = await createConnections(plan, model);
  const stop = (): void => model.stop();
  const sweeper = setInterval(() => {
    const nowMs = performance.now();
    for (const connection of connections) connection.expire(nowMs, plan.timeoutMs);
    model.tick(nowMs);
  }, sweepIntervalMs(plan.timeoutMs));
  // In the open model the duration only sets how many requests are scheduled.
  const durationTimer =
    plan.model === 'closed' && plan.durationMs !== undefined ? setTimeout(stop, plan.durationMs) : undefined;
  signal?.addEventListener('abort', stop);
  const stopProgress =
    onProgress !== undefined && progressIntervalMs !== undefined
      ? reportProgress(recorder, progressIntervalMs, onProgress)
      : undefined;
  const startMs = performance.now();
  try {
    if (signal?.aborted === true) stop();
    model.start(connections, startMs);
    await model.done;
  } finally {
    clearInterval(sweeper);
    clearTimeout(durationTimer);
    stopProgress?.();
    signal?.removeEventListener('abort', stop);
    for (const connection of connections) connection.close();
  }
  const endMs = Number.isNaN(recorder.lastDoneMs) ? startMs : recorder.lastDoneMs;
  const bytesRead = connections.reduce((sum, connection) => sum + connection.bytesRead, 0);
  const summary = recorder.toSummary({
    startMs,
    endMs,
    bytesRead,
    pipelining: plan.pipelining > 1 ? plan.pipelining : undefined,
  });
  recorder.destroy();
  return summary;
}
