import { strict as assert } from 'node:assert';
import { describeExit, runnerPodManifest, runnerState } from '../../../activities/kubernetes/runner-pods.js';
import { POD_ANNOTATIONS_FILE } from '../../../src/runner/contract.js';
import { runnerSummary, withPhase } from './fakes.js';

const loadTest = { namespace: 'team-a', name: 'example-02', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' };
const test = { method: 'GET' as const, serviceName: 'nginx', port: 80, path: '/', repeat: 10 };

describe('runner pods', () => {
  describe('failed requests', () => {
    const argsFor = (thresholds?: string[]) =>
      runnerPodManifest({ loadTest, generation: 1, index: 0, spec: { replicas: 1, test, thresholds }, image: 'x' })
        .spec!.containers[0]!.args!;

    it('fail the runner unless an errorRate threshold is there to judge them', () => {
      assert.ok(!argsFor().includes('--tolerate-failed-requests'));
      assert.ok(!argsFor(['p99 < 250ms']).includes('--tolerate-failed-requests'));
      assert.ok(argsFor(['p99 < 250ms', 'errorRate < 1%']).includes('--tolerate-failed-requests'));
    });
  });

  describe('manifest', () => {
    const pod = runnerPodManifest({
      loadTest,
      generation: 2,
      index: 1,
      spec: { replicas: 2, test },
      image: 'loadtest-operator:dev',
    });
    const container = pod.spec!.containers[0]!;

    it('is owned by its LoadTest as controller, blocking the LoadTest’s deletion until it is gone', () => {
      assert.deepEqual(pod.metadata?.ownerReferences, [
        {
          apiVersion: 'example.org/v1',
          kind: 'LoadTest',
          name: 'example-02',
          uid: loadTest.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    });

    it('carries labels naming the operator, the LoadTest uid and the generation', () => {
      assert.equal(pod.metadata?.labels?.['app.kubernetes.io/managed-by'], 'loadtest-operator');
      assert.equal(pod.metadata?.labels?.['loadtest.example.org/uid'], loadTest.uid);
      assert.equal(pod.metadata?.labels?.['loadtest.example.org/generation'], '2');
      assert.equal(pod.metadata?.name, 'example-02-g2-1');
      assert.equal(pod.metadata?.namespace, 'team-a');
    });

    it('never restarts and runs the runner against the Service, waiting for its start annotation', () => {
      assert.equal(pod.spec?.restartPolicy, 'Never');
      assert.equal(container.image, 'loadtest-operator:dev');
      const args = container.args!;
      assert.deepEqual(args.slice(0, 5), ['runner', '--url', 'http://nginx.team-a.svc:80/', '--method', 'GET']);
      assert.equal(args[args.indexOf('--requests') + 1], '10');
      assert.equal(args[args.indexOf('--start-at-file') + 1], POD_ANNOTATIONS_FILE);
      assert.equal(args[args.indexOf('--summary-file') + 1], '/dev/termination-log');
    });

    it('exposes its annotations through a downwardAPI volume where the runner looks for them', () => {
      assert.deepEqual(container.volumeMounts, [
        { name: 'podinfo', mountPath: '/etc/loadtest/podinfo', readOnly: true },
      ]);
      assert.deepEqual(pod.spec?.volumes?.[0]?.downwardAPI?.items, [
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
      ]);
    });
  });

  describe('state', () => {
    const pod = runnerPodManifest({ loadTest, generation: 1, index: 0, spec: { replicas: 1, test }, image: 'x' });

    it('is failed with exit code, meaning and the failed requests when the runner exits 1', () => {
      const message = JSON.stringify(runnerSummary(10, 1000, 7));
      const state = runnerState(withPhase(pod, 'Failed', { exitCode: 1, reason: 'Error', message }));
      assert.deepEqual(state, {
        kind: 'failed',
        reason: 'exited with code 1 (some requests failed): 7 of 10 requests failed (status 503: 7)',
        // What it measured still counts when the run stopped it (abortOnFail).
        summary: message,
      });
    });

    it('is failed with what the runner said when it exits with a usage error', () => {
      assert.equal(
        describeExit(2, 'Error', 'error: unknown option --nope\n'),
        'exited with code 2 (bad arguments): error: unknown option --nope',
      );
    });

    it('is failed saying it ran out of memory, with the limit, when the kernel OOM-killed it', () => {
      const limited = {
        ...pod,
        spec: {
          ...pod.spec!,
          containers: [{ ...pod.spec!.containers[0]!, resources: { limits: { memory: '24Mi' } } }],
        },
      };
      assert.deepEqual(runnerState(withPhase(limited, 'Failed', { exitCode: 137, reason: 'OOMKilled' })), {
        kind: 'failed',
        reason: 'was killed for running out of memory (OOMKilled, memory limit 24Mi)',
      });
    });

    it('is failed when the image cannot be pulled, instead of waiting forever', () => {
      const stuck = {
        ...pod,
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'runner',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ImagePullBackOff', message: 'pull access denied' } },
            },
          ],
        },
      };
      assert.deepEqual(runnerState(stuck), {
        kind: 'failed',
        reason: 'cannot start: ImagePullBackOff: pull access denied',
      });
    });

    it('waits while the kubelet cannot read the control-token Secret yet, but fails when a Secret is missing', () => {
      const waitingWith = (message: string) => ({
        ...pod,
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'runner',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'CreateContainerConfigError', message } },
            },
          ],
        },
      });
      // Seen on the real node: the Node authorizer learns of a new pod's Secrets a moment after it is bound.
      assert.deepEqual(runnerState(waitingWith('failed to sync secret cache: timed out waiting for the condition')), {
        kind: 'pending',
        detail: 'CreateContainerConfigError',
      });
      assert.deepEqual(runnerState(waitingWith('secret "other" not found')), {
        kind: 'failed',
        reason: 'cannot start: CreateContainerConfigError: secret "other" not found',
      });
    });

    it('is pending with the scheduler’s reason while unscheduled', () => {
      const unscheduled = {
        ...pod,
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' }],
        },
      };
      assert.deepEqual(runnerState(unscheduled), { kind: 'pending', detail: 'Unschedulable: no nodes' });
    });

    it('is succeeded with the termination message as summary', () => {
      const state = runnerState(withPhase(pod, 'Succeeded', { exitCode: 0, message: '{"v":1}' }));
      assert.deepEqual(state, { kind: 'succeeded', summary: '{"v":1}' });
    });
  });
});
