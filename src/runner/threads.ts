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
import { mergeRunnerSummaries } from './merge.js';
import type { RunOptions } from './plan.js';

/** What a thread is given: the runner's options without their functions and signal, and its share. */
export interface ThreadData {
  options: RunOptions;
  index: number;
  count: number;
  progressIntervalMs?: number;
}

/** Messages from a thread. */
export type FromThread =
  | { type: 'ready' }
  | { type: 'progress'; progress: RunnerProgress }
  | { type: 'done'; summary: RunnerSummary }
  | { type: 'failed'; message: string };

/** Messages to a thread: start at an epoch time (ms, fractional), or stop sending. */
export type ToThread = { type: 'start'; atEpochMs: number } | { type: 'stop' };

/** Lead time between "every thread is ready" and the common start, so that each has its timer set in time. */
const START_LEAD_MS = 20;

/** Serialisable options: functions and the signal stay on the main thread. */
function threadOptions(options: RunOptions): RunOptions {
  const { signal: _signal, log: _log, onProgress: _onProgress, ...rest } = options;
  void _signal;
  void _log;
  void _onProgress;
  return { ...rest, startAtMs: undefined, startAtFile: undefined };
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
): Promise<RunnerSummary> {
  const workers: Worker[] = [];
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
    };
    const worker = new Worker(new URL('./thread-worker.js', import.meta.url), { workerData: data });
    workers.push(worker);
    return new Promise<RunnerSummary>((resolve, reject) => {
      worker.on('message', (message: FromThread) => {
        if (message.type === 'ready' && ++readyCount === count) {
          beforeStart().then(() => {
            const atEpochMs = performance.timeOrigin + performance.now() + START_LEAD_MS;
            for (const each of workers) each.postMessage({ type: 'start', atEpochMs } satisfies ToThread);
            if (options.signal?.aborted === true) stop();
            reportProgress();
          }, reject);
        } else if (message.type === 'progress') {
          snapshots[index] = message.progress;
        } else if (message.type === 'done') {
          resolve(message.summary);
        } else if (message.type === 'failed') {
          reject(new Error(`runner thread ${index}: ${message.message}`));
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`runner thread ${index} exited with code ${code}`)));
    });
  });
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
