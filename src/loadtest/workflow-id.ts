/**
 * One workflow per LoadTest object: its id names the namespace and name (readable in the Temporal UI and
 * `temporal workflow list`) and the uid, so that a LoadTest deleted and created again under the same name gets
 * a new workflow while re-applying the same object always reaches the same one.
 */

export interface LoadTestRef {
  namespace: string;
  name: string;
  uid: string;
}

const PREFIX = 'loadtest';

/** `loadtest/<namespace>/<name>/<uid>`; Kubernetes names and uids never contain "/". */
export function loadTestWorkflowId(ref: LoadTestRef): string {
  return `${PREFIX}/${ref.namespace}/${ref.name}/${ref.uid}`;
}

/** The LoadTest a workflow id belongs to, or undefined for ids this operator did not make. */
export function parseLoadTestWorkflowId(workflowId: string): LoadTestRef | undefined {
  const parts = workflowId.split('/');
  if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
  const [, namespace, name, uid] = parts as [string, string, string, string];
  if (namespace === '' || name === '' || uid === '') return undefined;
  return { namespace, name, uid };
}
