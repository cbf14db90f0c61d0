/**
 * One runner thread (see threads.ts): plans its share of the run, sets up its connections, starts at the time
 * the main thread names and sends its summary back. Nothing here writes to stdout or stderr.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { executePlan, type EngineLive } from './engine.js';
import { planRun } from './plan.js';
import type { FromThread, ThreadData, ToThread } from './threads.js';

const port = parentPort!;
const data = workerData as ThreadData;
const post = (message: FromThread): void => port.postMessage(message);

async function main(): Promise<void> {
  const plan = planRun(data.options);
  const abort = new AbortController();
  let live: EngineLive | undefined;
  // Changes that came before this thread began sending (another thread began first): applied when it does.
  const early: Extract<ToThread, { type: 'config' }>[] = [];
  const startAt = new Promise<number>((resolve) => {
    port.on('message', (message: ToThread) => {
      if (message.type === 'start') resolve(message.atEpochMs - performance.timeOrigin);
      else if (message.type === 'stop') abort.abort();
      else if (message.type === 'snapshot') post({ type: 'snapshot', id: message.id, summary: live?.snapshot() });
      else if (live === undefined) {
        early.push(message);
        post({ type: 'config', id: message.id, applied: true });
      } else post({ type: 'config', id: message.id, applied: live.change(message.change, message.atMs) });
    });
  });
  post({ type: 'ready' });
  const summary = await executePlan(plan, {
    part: { index: data.index, count: data.count },
    startAt,
    signal: abort.signal,
    progressIntervalMs: data.progressIntervalMs,
    onProgress: data.progressIntervalMs === undefined ? undefined : (progress) => post({ type: 'progress', progress }),
    onLive:
      data.controlled === true
        ? (engineLive) => {
            live = engineLive;
            for (const change of early) engineLive.change(change.change, change.atMs);
            post({ type: 'started', atMs: engineLive.startedAtMs });
          }
        : undefined,
  });
  post({ type: 'done', summary });
  port.close();
}

main().catch((error: unknown) => {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  port.close();
});
