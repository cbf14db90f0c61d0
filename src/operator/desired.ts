/** What the watcher reads from a LoadTest object: which workflow it belongs to and what it should run. Pure. */
import type { LoadTestObject } from '../k8s/index.js';
import { validateLoadTestSpec } from '../loadtest/spec.js';
import type { LoadTestRef } from '../loadtest/workflow-id.js';
import type { DesiredRun } from '../../workflows/definitions.js';

export function refOf(object: LoadTestObject): LoadTestRef {
  return { namespace: object.metadata.namespace, name: object.metadata.name, uid: object.metadata.uid };
}

export function generationOf(object: LoadTestObject): number {
  return object.metadata.generation ?? 1;
}

/**
 * Whether the LoadTest's workflow still has to hear about its current generation: the workflow records every
 * generation it takes on in `.status.observedGeneration`, so that is the level the watcher reconciles to.
 */
export function needsSignal(object: LoadTestObject): boolean {
  const generation = generationOf(object);
  if (object.status?.observedGeneration === generation) return false;
  // A live change the running workflow refused for good stays refused until the spec changes again.
  const conditions = (object.status?.conditions ?? []) as Array<{
    type?: string;
    reason?: string;
    observedGeneration?: number;
  }>;
  return !conditions.some(
    (c) => c.type === 'SpecApplied' && c.reason === 'Rejected' && c.observedGeneration === generation,
  );
}

export function isBeingDeleted(object: LoadTestObject): boolean {
  return object.metadata.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

/**
 * The run the workflow should do for this object. A spec the CRD let through but the operator cannot run (an
 * older CRD, a hand-edited object) still gets a workflow, which ends failed listing the problems.
 */
export function desiredRunOf(object: LoadTestObject): DesiredRun {
  const generation = generationOf(object);
  const { spec, problems } = validateLoadTestSpec(object.spec);
  return spec !== undefined ? { generation, spec } : { generation, problems, spec: object.spec };
}
