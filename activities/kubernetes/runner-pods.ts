/**
 * Runner pods as Kubernetes objects: their names, their manifest, and what their status says about the runner.
 * Pure functions, so the rules are visible and tested without a cluster.
 */
import type { V1Pod, V1PodSecurityContext, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import { dirname } from 'node:path';
import {
  COMPONENT_LABEL,
  GENERATION_LABEL,
  LOADTEST_NAME_LABEL,
  LOADTEST_UID_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  RUNNER_COMPONENT,
} from '../../src/k8s/labels.js';
import { isOperatorAnnotationKey, isOperatorLabelKey } from '../../src/loadtest/kubernetes-values.js';
import { secretUses } from '../../src/loadtest/secrets.js';
import { LOADTEST_API_VERSION, LOADTEST_KIND, type LoadTestSpec, type RunnerSpec } from '../../src/loadtest/spec.js';
import type { LoadTestRef } from '../../src/loadtest/workflow-id.js';
import {
  DEFAULT_TERMINATION_MESSAGE_PATH,
  labelSafe,
  parseRunnerSummary,
  POD_ANNOTATIONS_FILE,
  RUNNER_EXIT,
  runnerArgs,
  runnerName,
  runnerOptionsFromSpec,
} from '../../src/runner/contract.js';
import { CONTROL_PORT, CONTROL_PORT_NAME, CONTROL_TOKEN_ENV } from '../../src/runner/control-api.js';
import { CONTROL_TOKEN_KEY, controlSecretName } from './runner-control.js';

export const RUNNER_CONTAINER = 'runner';
const PODINFO_VOLUME = 'podinfo';

export interface RunnerPodInput {
  loadTest: LoadTestRef;
  generation: number;
  index: number;
  spec: LoadTestSpec;
  image: string;
}

export function runnerLabels(loadTest: LoadTestRef, generation: number): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [COMPONENT_LABEL]: RUNNER_COMPONENT,
    [LOADTEST_UID_LABEL]: loadTest.uid,
    [LOADTEST_NAME_LABEL]: labelSafe(loadTest.name),
    [GENERATION_LABEL]: String(generation),
  };
}

/** Makes the LoadTest the controller of what a run creates, so that deleting it deletes them. */
export function ownedBy(loadTest: LoadTestRef) {
  return [
    {
      apiVersion: LOADTEST_API_VERSION,
      kind: LOADTEST_KIND,
      name: loadTest.name,
      uid: loadTest.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

/** The uid and gid the runner image runs as (Dockerfile: `USER 1000:1000`). */
export const RUNNER_UID = 1000;

/**
 * What the `restricted` Pod Security Standard asks of a pod, so that runner pods are admitted in any namespace:
 * a non-root numeric user, the runtime's default seccomp profile.
 */
export const RUNNER_POD_SECURITY: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUNNER_UID,
  runAsGroup: RUNNER_UID,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** ... and of each container: no privilege escalation, no capabilities; the runner writes nothing to its image. */
export const RUNNER_CONTAINER_SECURITY: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

type ResourceName = 'cpu' | 'memory' | 'ephemeral-storage';
type ResourceList = Partial<Record<ResourceName, string>>;
const RESOURCE_NAMES: readonly ResourceName[] = ['cpu', 'memory', 'ephemeral-storage'];

/**
 * Resources of a runner container for every resource `spec.runner.resources` does not name. A runner is one Node.js
 * process (measured: 82-89 MB resident with 1 to 1000 connections); the request keeps it out of BestEffort
 * (first to be evicted, and refused by a ResourceQuota that requires requests) and the memory limit stops a runaway
 * runner before it hurts its node. A quarter of a core is enough to start and pace a test, and the runner may use
 * whatever CPU is idle on its node beyond that: there is deliberately no CPU limit, because CFS throttling stalls a
 * throttled process for the rest of its 100 ms period, and the runner would measure those stalls as the target's
 * latency.
 */
export const DEFAULT_RUNNER_RESOURCES: { readonly requests: ResourceList; readonly limits: ResourceList } = {
  requests: { cpu: '250m', memory: '128Mi' },
  limits: { memory: '256Mi' },
};

/**
 * The runner container's resources: for each resource the LoadTest names (in requests or limits), what it wrote
 * and nothing more; for each it does not, the defaults. (A default memory limit beside a memory request written
 * larger would make the pod invalid.)
 */
export function runnerResources(resources: RunnerSpec['resources']): V1ResourceRequirements {
  const requests: ResourceList = {};
  const limits: ResourceList = {};
  for (const name of RESOURCE_NAMES) {
    const named = resources?.requests?.[name] !== undefined || resources?.limits?.[name] !== undefined;
    const request = named ? resources?.requests?.[name] : DEFAULT_RUNNER_RESOURCES.requests[name];
    const limit = named ? resources?.limits?.[name] : DEFAULT_RUNNER_RESOURCES.limits[name];
    if (request !== undefined) requests[name] = String(request);
    if (limit !== undefined) limits[name] = String(limit);
  }
  return { requests, limits };
}

/** The LoadTest's own labels or annotations for its runners, without any key the operator keeps for itself. */
function usersOwn(map: Record<string, string> | undefined, isOperators: (key: string) => boolean) {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([key]) => !isOperators(key)));
}

/**
 * One runner: owned by its LoadTest (so deleting the LoadTest deletes it), never restarted, waiting for the
 * start that startRunners sends to its control endpoint (or, as a fallback, writes into its annotations, seen
 * through a downwardAPI volume), and writing its summary where Kubernetes reads the termination message.
 */
export function runnerPodManifest({ loadTest, generation, index, spec, image }: RunnerPodInput): V1Pod {
  const options = {
    ...runnerOptionsFromSpec(spec, loadTest.namespace),
    startAtFile: POD_ANNOTATIONS_FILE,
    controlPort: CONTROL_PORT,
  };
  const runner: RunnerSpec = spec.runner ?? {};
  const annotations = usersOwn(runner.annotations, isOperatorAnnotationKey);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: runnerName(loadTest.name, generation, index),
      namespace: loadTest.namespace,
      // The CRD refuses the operator's keys in spec.runner; a LoadTest stored before it did still cannot take them.
      labels: { ...usersOwn(runner.labels, isOperatorLabelKey), ...runnerLabels(loadTest, generation) },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ownerReferences: ownedBy(loadTest),
    },
    spec: {
      restartPolicy: 'Never',
      // Runners are stateless load generators; a deleted one need not finish politely.
      terminationGracePeriodSeconds: 5,
      // Runners call no Kubernetes API, so they get no token, whichever ServiceAccount spec.runner names.
      automountServiceAccountToken: false,
      securityContext: RUNNER_POD_SECURITY,
      ...(runner.serviceAccountName !== undefined ? { serviceAccountName: runner.serviceAccountName } : {}),
      ...(runner.priorityClassName !== undefined ? { priorityClassName: runner.priorityClassName } : {}),
      ...(runner.nodeSelector !== undefined ? { nodeSelector: runner.nodeSelector } : {}),
      ...(runner.tolerations !== undefined ? { tolerations: runner.tolerations } : {}),
      // Affinity passes as written (the CRD checks only its three kinds); the API server validates it on create.
      ...(runner.affinity !== undefined ? { affinity: runner.affinity } : {}),
      ...(runner.imagePullSecrets !== undefined ? { imagePullSecrets: runner.imagePullSecrets } : {}),
      containers: [
        {
          name: RUNNER_CONTAINER,
          image,
          args: runnerArgs(options, { summaryFile: DEFAULT_TERMINATION_MESSAGE_PATH }),
          ports: [{ name: CONTROL_PORT_NAME, containerPort: CONTROL_PORT, protocol: 'TCP' }],
          // The run's control token: only the operator and these runners know it (src/runner/control-api.ts).
          env: [
            {
              name: CONTROL_TOKEN_ENV,
              valueFrom: { secretKeyRef: { name: controlSecretName(loadTest, generation), key: CONTROL_TOKEN_KEY } },
            },
            // headersFrom and bodyFrom: the kubelet reads the user's Secrets (the operator needs no access to them),
            // and a missing Secret or key holds the pod in CreateContainerConfigError, which fails the run at once.
            ...secretUses(spec.test).map(({ env, secretKeyRef }) => ({
              name: env,
              valueFrom: { secretKeyRef: { name: secretKeyRef.name, key: secretKeyRef.key } },
            })),
          ],
          terminationMessagePolicy: 'File',
          securityContext: RUNNER_CONTAINER_SECURITY,
          resources: runnerResources(runner.resources),
          volumeMounts: [{ name: PODINFO_VOLUME, mountPath: dirname(POD_ANNOTATIONS_FILE), readOnly: true }],
        },
      ],
      volumes: [
        {
          name: PODINFO_VOLUME,
          downwardAPI: {
            items: [{ path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }],
          },
        },
      ],
    },
  };
}

/** Container waiting reasons that will not resolve by themselves. */
const STUCK_REASONS = new Set([
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * Waiting messages of a stuck-looking reason that the kubelet gets over by itself: it could not read the run's
 * control-token Secret yet (the Node authorizer learns of a new pod's Secrets a moment after the pod is bound), and
 * retries. Seen on the test bed's real node as `CreateContainerConfigError: failed to sync secret cache: timed out
 * waiting for the condition`; the run's start timeout still bounds the wait.
 */
const TRANSIENT_WAIT_MESSAGES = [/failed to sync secret cache/, /failed to sync configmap cache/];

function isTransientWait(message: string | undefined): boolean {
  return message !== undefined && TRANSIENT_WAIT_MESSAGES.some((pattern) => pattern.test(message));
}

export type RunnerState =
  | { kind: 'pending'; detail?: string }
  | { kind: 'running' }
  | { kind: 'succeeded'; summary: string }
  /** `summary`: the termination message of a runner that ended with failed requests (it still reports them). */
  | { kind: 'failed'; reason: string; summary?: string };

/** What a runner pod's status says about its runner. */
export function runnerState(pod: V1Pod): RunnerState {
  const container = pod.status?.containerStatuses?.find((status) => status.name === RUNNER_CONTAINER);
  const terminated = container?.state?.terminated;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded') return { kind: 'succeeded', summary: terminated?.message ?? '' };
  if (phase === 'Failed') {
    if (terminated?.reason === 'OOMKilled') {
      // The kernel killed it at its memory limit: the exit code (137) alone reads like any SIGKILL.
      const limit = pod.spec?.containers.find((c) => c.name === RUNNER_CONTAINER)?.resources?.limits?.memory;
      return {
        kind: 'failed',
        reason: `was killed for running out of memory (OOMKilled, memory limit ${limit ?? 'of its node'})`,
      };
    }
    if (terminated !== undefined) {
      const reason = describeExit(terminated.exitCode, terminated.reason, terminated.message);
      if (terminated.exitCode === RUNNER_EXIT.requestsFailed && terminated.message !== undefined) {
        return { kind: 'failed', reason, summary: terminated.message };
      }
      return { kind: 'failed', reason };
    }
    const why = [pod.status?.reason, pod.status?.message].filter(Boolean).join(': ');
    return { kind: 'failed', reason: `failed${why ? `: ${why}` : ''}` };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason !== undefined && STUCK_REASONS.has(waiting.reason) && !isTransientWait(waiting.message)) {
    return {
      kind: 'failed',
      reason: `cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
    };
  }
  if (pod.metadata?.deletionTimestamp !== undefined) return { kind: 'failed', reason: 'was deleted' };
  if (phase === 'Running') return { kind: 'running' };
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const scheduler = unscheduled && [unscheduled.reason, unscheduled.message].filter(Boolean).join(': ');
  const detail = waiting?.reason ?? (scheduler || undefined);
  return { kind: 'pending', detail };
}

/** "exited with code 1 (some requests failed): 7 of 10 requests failed (status 503: 7)". */
export function describeExit(exitCode: number, reason?: string, message?: string): string {
  const meaning =
    exitCode === RUNNER_EXIT.requestsFailed
      ? 'some requests failed'
      : exitCode === RUNNER_EXIT.usage
        ? 'bad arguments'
        : (reason ?? 'error');
  const said = message?.trim() ? `: ${describeRunnerMessage(message)}` : '';
  return `exited with code ${exitCode} (${meaning})${said}`;
}

/** A summary in words when the message is one, else the message itself, shortened. */
function describeRunnerMessage(message: string): string {
  const summary = parseRunnerSummary(message);
  if (summary === undefined) return shorten(message.trim(), 300);
  const details = [
    ...Object.entries(summary.status)
      .filter(([code]) => !code.startsWith('2') && !code.startsWith('3'))
      .map(([code, count]) => `status ${code}: ${count}`),
    ...Object.entries(summary.errors).map(([kind, count]) => `${kind}: ${count}`),
  ];
  return `${summary.failed} of ${summary.sent} requests failed${details.length ? ` (${details.join(', ')})` : ''}`;
}

function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
