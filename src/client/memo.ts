/**
 * The LoadTest workflow's memo (LoadTestMemo: the schedule and the last run's verdict) as visibility returns it,
 * read defensively: workflows started before the memo existed have none, and a memo is untyped data that any
 * writer could have set, so a field that does not have its expected shape is left out rather than trusted.
 */
import type { RunVerdict } from '../loadtest/run-history.js';
import type { LoadTestMemo } from '../../workflows/definitions.js';

/** The last settled run, as the memo records it. */
export type LastRun = NonNullable<LoadTestMemo['lastRun']>;

const VERDICTS: ReadonlySet<string> = new Set<RunVerdict>(['finished', 'failed', 'cancelled']);

/** The well-formed fields of a memo; `{}` for none, or for anything that is not a memo. */
export function parseLoadTestMemo(memo: unknown): LoadTestMemo {
  if (!isRecord(memo)) return {};
  const parsed: LoadTestMemo = {};
  if (typeof memo.schedule === 'string' && memo.schedule.trim() !== '') parsed.schedule = memo.schedule;
  const lastRun = parseLastRun(memo.lastRun);
  if (lastRun !== undefined) parsed.lastRun = lastRun;
  return parsed;
}

function parseLastRun(value: unknown): LastRun | undefined {
  if (!isRecord(value)) return undefined;
  const { state, workflowId, message, completionTime } = value;
  // Without a verdict and a run to point at there is nothing worth showing.
  if (typeof state !== 'string' || !VERDICTS.has(state)) return undefined;
  if (typeof workflowId !== 'string' || workflowId === '') return undefined;
  const lastRun: LastRun = {
    state: state as RunVerdict,
    workflowId,
    message: typeof message === 'string' ? message : '',
  };
  if (typeof completionTime === 'string' && !Number.isNaN(Date.parse(completionTime))) {
    lastRun.completionTime = completionTime;
  }
  return lastRun;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
