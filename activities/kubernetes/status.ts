/** How the workflow's StatusReport becomes the LoadTest's `.status` (a merge patch). Pure. */
import type { LoadTestObject, LoadTestStatusPatch } from '../../src/k8s/index.js';
import type { LoadTestState } from '../../src/loadtest/spec.js';
import type { StatusReport } from '../types.js';

/** The one condition, Knative-style: Unknown while running, True when finished, False when failed. */
export const SUCCEEDED_CONDITION = 'Succeeded';
/** How the latest live change of the spec went: True applied to the running runners, False refused. */
export const SPEC_APPLIED_CONDITION = 'SpecApplied';

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

const CONDITION_STATUS: Record<LoadTestState, Condition['status']> = {
  pending: 'Unknown',
  executing: 'Unknown',
  finished: 'True',
  failed: 'False',
};

const REASONS: Record<LoadTestState, string> = {
  pending: 'Pending',
  executing: 'Executing',
  finished: 'Finished',
  failed: 'Failed',
};

/** "812.3" requests/s for the printer column. */
export function formatRps(rps: number): string {
  return rps >= 100 ? String(Math.round(rps)) : String(Math.round(rps * 10) / 10);
}

/** "4.1ms", "1.25s" for the printer column. */
export function formatLatency(ms: number): string {
  if (ms >= 1000) return `${Math.round(ms / 10) / 100}s`;
  return `${Math.round(ms * 10) / 10}ms`;
}

/**
 * "created/replicas" for the Runners printer column: a count stays readable at 1000 replicas where the
 * names (`.status.children`) do not. Just the count when the spec's replicas are of another generation.
 */
export function runnersColumn(created: number, replicas: number | undefined): string {
  return replicas === undefined ? String(created) : `${created}/${replicas}`;
}

/**
 * The merge patch for `.status`. Fields the report leaves out are removed (null), so a new generation's
 * pending status does not show the previous run's results. The condition keeps its lastTransitionTime
 * while its status stays the same. `replicas`: spec.replicas of the report's generation, when known.
 */
export function statusPatch(
  report: StatusReport,
  current?: LoadTestObject['status'],
  replicas?: number,
): LoadTestStatusPatch {
  const conditions = (current?.conditions as Condition[] | undefined) ?? [];
  const previous = conditions.find((c) => c.type === SUCCEEDED_CONDITION);
  const status = CONDITION_STATUS[report.state];
  const condition: Condition = {
    type: SUCCEEDED_CONDITION,
    status,
    reason: REASONS[report.state],
    message: report.message,
    observedGeneration: report.generation,
    lastTransitionTime:
      previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : report.transitionTime,
  };
  return {
    state: report.state,
    children: report.children,
    runners: runnersColumn(report.children.length, replicas),
    observedGeneration: report.generation,
    message: report.message,
    startTime: report.startTime ?? null,
    completionTime: report.completionTime ?? null,
    results: report.results ?? null,
    thresholds: report.thresholds ?? null,
    // While executing, the live view owns these columns (activities/kubernetes/live-run.ts).
    ...(report.state === 'executing'
      ? {}
      : {
          rps: report.results ? formatRps(report.results.rps) : null,
          p99: report.results ? formatLatency(report.results.latencyMs.p99) : null,
        }),
    // A merge patch replaces the whole list: keep the conditions others own (SpecApplied, from live changes).
    conditions: [condition, ...otherConditions(conditions, report)],
    // A new run starts without the previous run's live numbers; a settled one keeps its last view.
    ...(report.state === 'pending' ? { progress: null } : {}),
  };
}

/** The conditions besides Succeeded: SpecApplied as the report says (or as it was), and any others as they are. */
function otherConditions(conditions: readonly Condition[], report: StatusReport): Condition[] {
  const others = conditions.filter((c) => c.type !== SUCCEEDED_CONDITION);
  const applied = report.specApplied;
  if (applied === undefined) return others;
  const previous = others.find((c) => c.type === SPEC_APPLIED_CONDITION);
  const condition: Condition = {
    type: SPEC_APPLIED_CONDITION,
    status: applied.status,
    reason: applied.reason,
    message: applied.message,
    observedGeneration: applied.generation,
    lastTransitionTime:
      previous?.status === applied.status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : report.transitionTime,
  };
  return [...others.filter((c) => c.type !== SPEC_APPLIED_CONDITION), condition];
}
