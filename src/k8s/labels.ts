/** Labels and annotations that tie runner pods to their LoadTest; the selectors the operator watches with. */

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'loadtest-operator';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const RUNNER_COMPONENT = 'runner';
/** uid of the owning LoadTest: names can be reused, uids cannot. */
export const LOADTEST_UID_LABEL = 'loadtest.example.org/uid';
/** Name of the owning LoadTest (shortened when longer than a label value may be). */
export const LOADTEST_NAME_LABEL = 'loadtest.example.org/name';
/** metadata.generation of the spec the runner runs. */
export const GENERATION_LABEL = 'loadtest.example.org/generation';

/** Every runner pod this operator manages, in any namespace: what the worker's pod informer watches. */
export const RUNNER_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY},${COMPONENT_LABEL}=${RUNNER_COMPONENT}`;

/** The runner pods of one LoadTest. */
export function runnersOf(uid: string): string {
  return `${RUNNER_SELECTOR},${LOADTEST_UID_LABEL}=${uid}`;
}
