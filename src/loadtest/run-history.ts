/**
 * `.status.history`: the last runs of a LoadTest (one per generation applied, or per schedule tick), newest
 * first, with their verdict and headline numbers. Pure: the workflow builds it, the CLI and the client show it.
 */
import type { LoadTestResults } from './spec.js';

/** `.status.history` keeps this many runs unless spec.historyLimit says otherwise. */
export const DEFAULT_HISTORY_LIMIT = 10;

/** How a run ended: its verdict, or cancelled (a newer generation, a delete, or a Replace schedule took over). */
export type RunVerdict = 'finished' | 'failed' | 'cancelled';

export interface RunRecord {
  /** The Temporal workflow id of the run: its Web UI page, and `temporal workflow show -w`. */
  workflowId: string;
  /** What started it: a spec generation applied, or a schedule tick. */
  trigger: 'apply' | 'schedule';
  generation: number;
  /** For a schedule tick: the time the schedule named (ISO). */
  scheduledTime?: string;
  /** ISO times the run started and settled. */
  startTime?: string;
  completionTime?: string;
  state: RunVerdict;
  /** `.status.message` when the run settled. */
  message: string;
  /** Headline numbers of the merged results, when the runners sent. */
  requests?: number;
  rps?: number;
  errorRate?: number;
  p99Ms?: number;
}

/** The headline numbers of a run's results, as a RunRecord keeps them. */
export function headlineNumbers(
  results: LoadTestResults | undefined,
): Pick<RunRecord, 'requests' | 'rps' | 'errorRate' | 'p99Ms'> {
  if (results === undefined) return {};
  return {
    requests: results.requests,
    rps: results.rps,
    errorRate: results.errorRate,
    p99Ms: results.latencyMs.p99,
  };
}

/** `history` with `record` added newest first, at most `limit` long; a record of the same run replaces it. */
export function withRunRecord(history: readonly RunRecord[], record: RunRecord, limit: number): RunRecord[] {
  return [record, ...history.filter((old) => old.workflowId !== record.workflowId)].slice(0, Math.max(0, limit));
}
