/**
 * The runner on every CPU it was given: one worker thread per CPU (node:worker_threads, each with its own event
 * loop, connections and histograms), each running its share of the plan (see ThreadPart in engine.ts), started
 * together on one clock and merged exactly at the end (mergeRunnerSummaries: counts add up, histograms are
 * added bucket by bucket), so a threaded runner's summary reads like a one-thread runner's.
 *
 * Why threads and not processes: a runner pod runs one process (its termination message is one summary), and
 * threads share that process's memory limit with little overhead (a V8 isolate each, a few MiB).
 */
import { Worker } from 'node:worker_threads';
import type { RunnerProgress, RunnerSummary } from './contract.js';
import type { ConfigChange } from './control-api.js';
import { mergeRunnerSummaries } from './merge.js';
import type { RunOptions } from './plan.js';
import type { LiveRun } from './run-control.js';

/** What a thread is given: the runner's options without their functions and signal, and its share. */
export interface ThreadData {
  options: RunOptions;
  index: number;
  count: number;
  progressIntervalMs?: number;
  /** The run is controlled (--control-port): report 'started', answer snapshot and config requests. */
  controlled?: boolean;
}

/** Messages from a thread. */
export type FromThread =
  | { type: 'ready' }
  | { type: 'progress'; progress: RunnerProgress }
  | { type: 'done'; summary: RunnerSummary }
  | { type: 'failed'; message: string }
  /** Controlled runs: the thread began sending (wall-clock epoch ms). */
  | { type: 'started'; atMs: number }
  /** Answer to a snapshot request: the thread's cumulative summary (absent before it began sending). */
  | { type: 'snapshot'; id: number; summary?: RunnerSummary }
  /** Answer to a config request: whether the thread took the change (false once it stopped sending). */
  | { type: 'config'; id: number; applied: boolean };

/**
 * Messages to a thread: start at an epoch time (ms, fractional), or stop sending; in controlled runs also a
 * snapshot request and a config change from `atMs` after the common start.
 */
export type ToThread =
  | { type: 'start'; atEpochMs: number }
  | { type: 'stop' }
  | { type: 'snapshot'; id: number }
  | { type: 'config'; id: number; change: ConfigChange; atMs: number };

/** Lead time between "every thread is ready" and the common start, so that each has its timer set in time. */
const START_LEAD_MS = 20;

/** Serialisable options: functions and the signal stay on the main thread. */
function threadOptions(options: RunOptions): RunOptions {
  const { signal: _signal, log: _log, onProgress: _onProgress, ...rest } = options;
  void _signal;
  void _log;
  void _onProgress;
  return { ...rest, startAtMs: undefined, startAtFile: undefined, control: undefined };
}

/** Requests to the threads that wait for one answer from each (controlled runs only). */
class ThreadRequests {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { thread: number; answer: (message: FromThread) => void; gone: (final?: RunnerSummary) => void }
  >();
  private readonly gone: boolean[];
  private readonly finals: (RunnerSummary | undefined)[];

  constructor(private readonly workers: readonly Worker[]) {
    this.gone = workers.map(() => false);
    this.finals = workers.map(() => undefined);
  }

  /**
   * Sends a request to every thread and collects the answers; a thread that is done (or finishes before it
   * answers) is answered for from its final summary.
   */
  ask<T>(
    request: (id: number) => ToThread,
    fromAnswer: (message: FromThread) => T,
    fromGone: (final?: RunnerSummary) => T,
  ): Promise<T[]> {
    return Promise.all(
      this.workers.map(
        (worker, thread) =>
          new Promise<T>((resolve) => {
            if (this.gone[thread] === true) {
              resolve(fromGone(this.finals[thread]));
              return;
            }
            const id = this.nextId++;
            this.pending.set(id, {
              thread,
              answer: (message) => resolve(fromAnswer(message)),
              gone: (final) => resolve(fromGone(final)),
            });
            worker.postMessage(request(id));
          }),
      ),
    );
  }

  answered(id: number, message: FromThread): void {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    pending?.answer(message);
  }

  threadGone(thread: number, final?: RunnerSummary): void {
    this.gone[thread] = true;
    this.finals[thread] = final;
    for (const [id, pending] of this.pending) {
      if (pending.thread !== thread) continue;
      this.pending.delete(id);
      pending.gone(final);
    }
  }
}

/** Hooks of a controlled run (see run-control.ts). */
export interface ThreadsControl {
  /** Called once, when the first thread began sending. */
  onLive(live: LiveRun): void;
}

function sumProgress(snapshots: readonly (RunnerProgress | undefined)[]): RunnerProgress {
  const present = snapshots.filter((snapshot): snapshot is RunnerProgress => snapshot !== undefined);
  return {
    at: Date.now(),
    sent: present.reduce((sum, snapshot) => sum + snapshot.sent, 0),
    completed: present.reduce((sum, snapshot) => sum + snapshot.completed, 0),
    failed: present.reduce((sum, snapshot) => sum + snapshot.failed, 0),
    rps: Math.round(present.reduce((sum, snapshot) => sum + snapshot.rps, 0) * 10) / 10,
    // The largest thread p99 bounds the runner's p99 from above; the exact figure comes with the summary.
    p99Ms: Math.max(0, ...present.map((snapshot) => snapshot.p99Ms)),
  };
}

/**
 * Runs the options on `count` threads and returns their merged summary. The threads are started (modules loaded,
 * plans made: a few hundred ms) before `beforeStart` is awaited, so that waiting for a synchronised start time
 * overlaps with that work rather than making this runner start late.
 */
export async function runThreads(
  options: RunOptions,
  count: number,
  onProgress?: (progress: RunnerProgress) => void,
  beforeStart: () => Promise<void> = () => Promise.resolve(),
  control?: ThreadsControl,
): Promise<RunnerSummary> {
  const workers: Worker[] = [];
  let requests: ThreadRequests | undefined;
  let startEpochMs = 0;
  let live: LiveRun | undefined;
  const goLive = (startedAtMs: number): void => {
    if (live !== undefined || control === undefined || requests === undefined) return;
    const asked = requests;
    live = {
      startedAtMs,
      snapshot: async () => {
        const parts = await asked.ask(
          (id) => ({ type: 'snapshot', id }),
          (message) => (message.type === 'snapshot' ? message.summary : undefined),
          (final) => final,
        );
        const present = parts.filter((part): part is RunnerSummary => part !== undefined);
        return present.length === 0 ? undefined : mergeRunnerSummaries(present);
      },
      change: async (change) => {
        // One instant for every thread, relative to their common start, so they keep one schedule.
        const atMs = performance.timeOrigin + performance.now() - startEpochMs;
        const applied = await asked.ask(
          (id) => ({ type: 'config', id, change, atMs }),
          (message) => message.type === 'config' && message.applied,
          () => false,
        );
        return applied.some(Boolean);
      },
    };
    control.onLive(live);
  };
  const snapshots: (RunnerProgress | undefined)[] = new Array<RunnerProgress | undefined>(count).fill(undefined);
  const stop = (): void => {
    for (const worker of workers) worker.postMessage({ type: 'stop' } satisfies ToThread);
  };
  let readyCount = 0;
  let progressTimer: NodeJS.Timeout | undefined;
  const reportProgress = (): void => {
    if (onProgress !== undefined && options.progressIntervalMs !== undefined) {
      progressTimer = setInterval(() => onProgress(sumProgress(snapshots)), options.progressIntervalMs);
    }
  };
  const results = Array.from({ length: count }, (_, index) => {
    const data: ThreadData = {
      options: threadOptions(options),
      index,
      count,
      progressIntervalMs: onProgress === undefined ? undefined : options.progressIntervalMs,
      controlled: control !== undefined,
    };
    const worker = new Worker(new URL('./thread-worker.js', import.meta.url), { workerData: data });
    workers.push(worker);
    return new Promise<RunnerSummary>((resolve, reject) => {
      worker.on('message', (message: FromThread) => {
        if (message.type === 'ready' && ++readyCount === count) {
          beforeStart().then(() => {
            const atEpochMs = performance.timeOrigin + performance.now() + START_LEAD_MS;
            startEpochMs = atEpochMs;
            for (const each of workers) each.postMessage({ type: 'start', atEpochMs } satisfies ToThread);
            if (options.signal?.aborted === true) stop();
            reportProgress();
          }, reject);
        } else if (message.type === 'progress') {
          snapshots[index] = message.progress;
        } else if (message.type === 'done') {
          requests?.threadGone(index, message.summary);
          resolve(message.summary);
        } else if (message.type === 'failed') {
          requests?.threadGone(index);
          reject(new Error(`runner thread ${index}: ${message.message}`));
        } else if (message.type === 'started') {
          goLive(message.atMs);
        } else if (message.type === 'snapshot' || message.type === 'config') {
          requests?.answered(message.id, message);
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        requests?.threadGone(index);
        reject(new Error(`runner thread ${index} exited with code ${code}`));
      });
    });
  });
  if (control !== undefined) requests = new ThreadRequests(workers);
  options.signal?.addEventListener('abort', stop);
  try {
    return mergeRunnerSummaries(await Promise.all(results));
  } catch (error) {
    for (const worker of workers) await worker.terminate();
    throw error;
  } finally {
    clearInterval(progressTimer);
    options.signal?.removeEventListener('abort', stop);
  }
}
