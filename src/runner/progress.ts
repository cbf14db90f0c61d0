/** Live progress snapshots (RunnerProgress), taken periodically while a run is sending. */
import type { RunnerProgress } from './contract.js';
import type { Recorder } from './recorder.js';

/** Calls `report` every `intervalMs` with a snapshot of `recorder`; returns a function that stops it. */
export function reportProgress(
  recorder: Recorder,
  intervalMs: number,
  report: (progress: RunnerProgress) => void,
): () => void {
  let lastCompleted = 0;
  let lastMs = performance.now();
  const timer = setInterval(() => {
    const nowMs = performance.now();
    const completed = recorder.completed;
    report({
      at: Date.now(),
      sent: recorder.completed + recorder.unanswered,
      completed,
      failed: recorder.rejected + recorder.unanswered,
      rps: Math.round(((completed - lastCompleted) * 10_000) / (nowMs - lastMs)) / 10,
      p99Ms: completed === 0 ? 0 : recorder.latency.getValueAtPercentile(99) / 1000,
    });
    lastCompleted = completed;
    lastMs = nowMs;
  }, intervalMs);
  return () => clearInterval(timer);
}
