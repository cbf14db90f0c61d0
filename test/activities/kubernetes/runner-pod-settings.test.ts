/**
 * What a runner pod carries besides its runner: the restricted Pod Security settings every cluster admits, the
 * default resources, and everything `spec.runner` asks for, with the operator's own labels kept the operator's.
 * Specs go through validateLoadTestSpec, as the watcher's do, so the builder sees what a workflow would pass it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { V1Pod } from '@kubernetes/client-node';
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createKubernetesActivities } from '../../../activities/kubernetes/index.js';
import {
  DEFAULT_RUNNER_RESOURCES,
  RUNNER_UID,
  runnerLabels,
  runnerPodManifest,
} from '../../../activities/kubernetes/runner-pods.js';
import { RUNNER_POD_REJECTED } from '../../../activities/types.js';
import { isOperatorAnnotationKey, isOperatorLabelKey } from '../../../src/loadtest/kubernetes-values.js';
import { validateLoadTestSpec, type LoadTestSpec } from '../../../src/loadtest/spec.js';
import { START_AT_ANNOTATION } from '../../../src/runner/contract.js';
import { FakeEvents, FakeLoadTests, FakePodCache, FakePods, FakeSecrets, FakeServices } from './fakes.js';

const DOCKERFILE = fileURLToPath(new URL('../../../../Dockerfile', import.meta.url));
const loadTest = { namespace: 'team-a', name: 'checkout', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' };

function specWith(runner?: unknown): LoadTestSpec {
  const { spec, problems } = validateLoadTestSpec({ replicas: 2, test: { serviceName: 'nginx', repeat: 3 }, runner });
  assert.ok(spec !== undefined, problems.join('; '));
  return spec;
}

function podFor(runner?: unknown): V1Pod {
  return runnerPodManifest({ loadTest, generation: 3, index: 0, spec: specWith(runner), image: 'loadtest-operator:t' });
}

describe('runner pod settings', () => {
  describe('without spec.runner', () => {
    const pod = podFor();
    const container = pod.spec!.containers[0]!;

    it('meets the restricted Pod Security Standard: non-root uid 1000, RuntimeDefault seccomp, no privileges', () => {
      assert.deepEqual(pod.spec?.securityContext, {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      assert.deepEqual(container.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    });

    it('mounts no ServiceAccount token', () => {
      assert.equal(pod.spec?.automountServiceAccountToken, false);
    });

    it('runs as the user the image declares (Dockerfile USER)', () => {
      const user = /^USER\s+(\d+):(\d+)\s*$/m.exec(readFileSync(DOCKERFILE, 'utf8'));
      assert.ok(user, 'the Dockerfile has no numeric USER uid:gid');
      assert.deepEqual([Number(user[1]), Number(user[2])], [RUNNER_UID, RUNNER_UID]);
    });

    it('requests 250m CPU and 128Mi memory, limits memory to 256Mi and sets no CPU limit', () => {
      assert.deepEqual(container.resources, {
        requests: { cpu: '250m', memory: '128Mi' },
        limits: { memory: '256Mi' },
      });
      assert.deepEqual(container.resources, DEFAULT_RUNNER_RESOURCES);
    });

    it('sets no placement, pull secrets, priority, ServiceAccount or annotations of its own', () => {
      for (const field of [
        'nodeSelector',
        'tolerations',
        'affinity',
        'imagePullSecrets',
        'priorityClassName',
        'serviceAccountName',
      ] as const) {
        assert.equal(pod.spec?.[field], undefined, field);
      }
      assert.equal(pod.metadata?.annotations, undefined);
      assert.deepEqual(pod.metadata?.labels, runnerLabels(loadTest, 3));
    });
  });

  describe('with every spec.runner field', () => {
    const runner = {
      resources: { requests: { cpu: '1', 'ephemeral-storage': '1Gi' }, limits: { cpu: 2, memory: '1Gi' } },
      nodeSelector: { 'kubernetes.io/os': 'linux', pool: 'load' },
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'load', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['load'] }] }],
          },
        },
      },
      imagePullSecrets: [{ name: 'registry' }],
      priorityClassName: 'load-tests',
      serviceAccountName: 'runner',
      labels: { team: 'checkout', 'example.com/cost-center': 'c-42' },
      annotations: { 'example.com/owner': 'payments team' },
    };
    const pod = podFor(runner);
    const container = pod.spec!.containers[0]!;

    it('carries each of them as written', () => {
      assert.deepEqual(pod.spec?.nodeSelector, runner.nodeSelector);
      assert.deepEqual(pod.spec?.tolerations, runner.tolerations);
      assert.deepEqual(pod.spec?.affinity, runner.affinity);
      assert.deepEqual(pod.spec?.imagePullSecrets, runner.imagePullSecrets);
      assert.equal(pod.spec?.priorityClassName, 'load-tests');
      assert.equal(pod.spec?.serviceAccountName, 'runner');
      assert.deepEqual(pod.metadata?.annotations, runner.annotations);
    });

    it('adds the LoadTest’s labels to the operator’s', () => {
      assert.deepEqual(pod.metadata?.labels, { ...runner.labels, ...runnerLabels(loadTest, 3) });
    });

    it('takes each resource it names as written, as strings, and the default for the one it does not', () => {
      // cpu and memory are named (memory in limits only: Kubernetes then requests what it limits); the default
      // memory request would be a second opinion, so only what was written is there.
      assert.deepEqual(container.resources, {
        requests: { cpu: '1', 'ephemeral-storage': '1Gi' },
        limits: { cpu: '2', memory: '1Gi' },
      });
      const onlyCpu = podFor({ resources: { requests: { cpu: '100m' } } }).spec!.containers[0]!.resources;
      assert.deepEqual(onlyCpu, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    });

    it('still mounts no ServiceAccount token, and keeps the restricted settings', () => {
      assert.equal(pod.spec?.automountServiceAccountToken, false);
      assert.equal(pod.spec?.securityContext?.runAsNonRoot, true);
      assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    });
  });

  describe('the operator’s own labels and annotations', () => {
    // The CRD and the zod schema refuse these keys; a LoadTest stored before they did reaches the builder as this.
    const stored: LoadTestSpec = {
      ...specWith(),
      runner: {
        labels: {
          'app.kubernetes.io/managed-by': 'someone-else',
          'loadtest.example.org/uid': 'another-uid',
          'loadtest.example.org/extra': 'x',
          team: 'a',
        },
        annotations: { [START_AT_ANNOTATION]: '0', 'example.com/note': 'kept' },
      },
    };
    const pod = runnerPodManifest({ loadTest, generation: 3, index: 0, spec: stored, image: 'x' });

    it('win over a LoadTest’s labels of the same key, and no other label under the operator’s prefix gets in', () => {
      assert.deepEqual(pod.metadata?.labels, { team: 'a', ...runnerLabels(loadTest, 3) });
    });

    it('keep the start signal the operator’s: a start-at annotation from the spec is dropped', () => {
      assert.deepEqual(pod.metadata?.annotations, { 'example.com/note': 'kept' });
    });

    it('are exactly what the schema reserves: every label and annotation key the operator sets', () => {
      for (const key of Object.keys(runnerLabels(loadTest, 3))) assert.ok(isOperatorLabelKey(key), key);
      assert.ok(isOperatorAnnotationKey(START_AT_ANNOTATION));
      for (const [key, value] of Object.entries(runnerLabels(loadTest, 3))) {
        const { problems } = validateLoadTestSpec({ ...specWith(), runner: { labels: { [key]: value } } });
        assert.match(problems.join(), /may not set the operator's own labels/, key);
      }
    });
  });

  describe('createRunners when the cluster refuses a runner pod', () => {
    /** Pods a ResourceQuota of `pods: 1` governs, answering as the API server does. */
    class QuotaPods extends FakePods {
      override create(pod: V1Pod) {
        if (this.pods.size >= 1) {
          this.calls.push(`create ${pod.metadata?.name} (refused)`);
          const message = `pods "${pod.metadata?.name}" is forbidden: exceeded quota: runners, requested: pods=1, used: pods=1, limited: pods=1`;
          return Promise.reject(
            Object.assign(new Error('HTTP-Code: 403'), { code: 403, body: JSON.stringify({ message }) }),
          );
        }
        return super.create(pod);
      }
    }

    function activitiesOver(pods: FakePods) {
      const loadTests = new FakeLoadTests();
      loadTests.add(loadTest.namespace, loadTest.name, loadTest.uid);
      return createKubernetesActivities({
        secrets: new FakeSecrets(),
        pods,
        loadTests,
        loadTestCache: loadTests.cache,
        services: new FakeServices(),
        events: new FakeEvents(),
        runnerPods: new FakePodCache(),
        runnerImage: 'x',
        concurrency: 1,
      });
    }

    it('fails for good quoting the API server (the quota’s name) and deletes the runners it did create', async () => {
      const pods = new QuotaPods();
      const activities = activitiesOver(pods);
      const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

      await assert.rejects(
        env.run(activities.createRunners, { loadTest, generation: 3, spec: specWith() }),
        (error: unknown) =>
          error instanceof ApplicationFailure &&
          error.type === RUNNER_POD_REJECTED &&
          error.nonRetryable &&
          error.message ===
            'cannot create runner pod checkout-g3-1: pods "checkout-g3-1" is forbidden: exceeded quota: runners, ' +
              'requested: pods=1, used: pods=1, limited: pods=1',
      );
      assert.deepEqual([...pods.pods.keys()], []);
      assert.ok(pods.calls.includes('delete checkout-g3-0'), pods.calls.join());
    });

    it('leaves other failures to Temporal’s retries', async () => {
      const pods = new (class extends FakePods {
        override create(): Promise<never> {
          return Promise.reject(Object.assign(new Error('HTTP-Code: 500'), { code: 500 }));
        }
      })();
      const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

      await assert.rejects(
        env.run(activitiesOver(pods).createRunners, { loadTest, generation: 3, spec: specWith() }),
        (error: unknown) => !(error instanceof ApplicationFailure) && /500/.test(String(error)),
      );
    });
  });
});
