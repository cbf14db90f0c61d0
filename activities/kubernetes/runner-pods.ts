/**
 * Runner pods as Kubernetes objects: their names, their manifest, and what their status says about the runner.
 * Pure functions, so the rules are visible and tested without a cluster.
 */
import type { V1Pod } from '@kubernetes/client-node';
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
import { LOADTEST_API_VERSION, LOADTEST_KIND, type LoadTestSpec } from '../../src/loadtest/spec.js';
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

/**
 * One runner: owned by its LoadTest (so deleting the LoadTest deletes it), never restarted, waiting for the
 * start time that startRunners writes into its annotations (seen through a downwardAPI volume), and writing
 * its summary where Kubernetes reads the termination message.
 */
export function runnerPodManifest({ loadTest, generation, index, spec, image }: RunnerPodInput): V1Pod {
  const options = { ...runnerOptionsFromSpec(spec, loadTest.namespace), startAtFile: POD_ANNOTATIONS_FILE };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: runnerName(loadTest.name, generation, index),
      namespace: loadTest.namespace,
      labels: runnerLabels(loadTest, generation),
      ownerReferences: [
        {
          apiVersion: LOADTEST_API_VERSION,
          kind: LOADTEST_KIND,
          name: loadTest.name,
          uid: loadTest.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      restartPolicy: 'Never',
      // Runners are stateless load generators; a deleted one need not finish politely.
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: RUNNER_CONTAINER,
          image,
          args: runnerArgs(options, { summaryFile: DEFAULT_TERMINATION_MESSAGE_PATH }),
          terminationMessagePolicy: 'File',
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

export type RunnerState =
  | { kind: 'pending'; detail?: string }
  | { kind: 'running' }
  | { kind: 'succeeded'; summary: string }
  | { kind: 'failed'; reason: string };

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
      return { kind: 'failed', reason: describeExit(terminated.exitCode, terminated.reason, terminated.message) };
    }
    const why = [pod.status?.reason, pod.status?.message].filter(Boolean).join(': ');
    return { kind: 'failed', reason: `failed${why ? `: ${why}` : ''}` };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason !== undefined && STUCK_REASONS.has(waiting.reason)) {
    return {
      kind: 'failed',
      reason: `cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
    };
  }
  if (pod.metadata?.deletionTimestamp !== undefined) return { kind: 'failed', reason: 'was deleted' };
  if (phase === 'Running') return { kind: 'running' };
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const detail = waiting?.reason ?? (unscheduled ? `${unscheduled.reason}: ${unscheduled.message}` : undefined);
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
