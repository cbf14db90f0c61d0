/**
 * `loadtest-operator worker`: runs LoadTest workflows and their Kubernetes activities. One shared informer of
 * runner pods serves every waiting activity and every clean-up, and one of LoadTests every read of a LoadTest
 * (activities/kubernetes GET one only where the cache could be wrong). Stops on SIGTERM/SIGINT (Temporal's runtime shuts the worker
 * down, letting running activities finish within the grace time), then closes the informer and connection.
 */
import { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createKubernetesActivities } from '../../activities/kubernetes/index.js';
import { createScheduleActivities } from '../../activities/schedules.js';
import type { OperatorConfig } from '../config.js';
import { createKubernetes, loadKubeConfig, loadTestInformer, runnerPodInformer } from '../k8s/index.js';
import { clientOverWorker, connectWorker, workerDataConverter } from '../temporal/connection.js';
import { workflowCodeOptions } from '../temporal/workflow-bundle.js';
import { startHealthServer } from './health.js';
import { installTemporalRuntime } from './logging.js';
import {
  countActivityErrors,
  countingClient,
  createOperatorMetrics,
  runnerStartSeconds,
  type OperatorMetrics,
  type StartedPod,
} from './metrics.js';

export async function runWorker(config: OperatorConfig, log: Logger): Promise<void> {
  installTemporalRuntime(log, config.logLevel, config.sdkMetricsPort);
  const metrics = createOperatorMetrics('worker');
  const kube = createKubernetes(loadKubeConfig(config.kubeconfig));
  const runnerPods = runnerPodInformer(
    kube,
    {
      onError: (error, retryInMs) => log.warn({ err: error, retryInMs }, 'runner pod watch failed'),
      onWatchRestart: (reason) => metrics.watchRestarted('pods', reason),
    },
    config.watchNamespace,
  );
  observeRunnerStarts(runnerPods, metrics);
  runnerPods.on('synced', () => metrics.relisted('pods'));
  runnerPods.start();
  const loadTests = loadTestInformer(
    kube,
    {
      onError: (error, retryInMs) => log.warn({ err: error, retryInMs }, 'LoadTest watch failed'),
      onWatchRestart: (reason) => metrics.watchRestarted('loadtests', reason),
    },
    config.watchNamespace,
  );
  loadTests.on('synced', () => metrics.relisted('loadtests'));
  loadTests.start();
  const connection = await connectWorker({ address: config.temporalAddress, namespace: config.temporalNamespace });
  let worker: Worker | undefined;
  const health = await startHealthServer(
    config.healthPort,
    () => runnerPods.hasSynced && loadTests.hasSynced && worker?.getState() === 'RUNNING',
    metrics.scrape,
  );
  try {
    worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      dataConverter: workerDataConverter(),
      ...workflowCodeOptions(config.workflowBundle),
      activities: {
        ...createScheduleActivities(clientOverWorker(connection, config.temporalNamespace)),
        ...createKubernetesActivities({
          ...kube,
          loadTests: countingClient(kube.loadTests, 'loadtests', metrics),
          pods: countingClient(kube.pods, 'pods', metrics),
          services: countingClient(kube.services, 'services', metrics),
          secrets: countingClient(kube.secrets, 'secrets', metrics),
          events: countingClient(kube.events, 'events', metrics),
          runnerPods,
          loadTestCache: loadTests,
          runnerImage: config.runnerImage,
        }),
      },
      maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
      shutdownGraceTime: '10s',
      // Heartbeat details carry the merged live view (activities/kubernetes/live-run.ts), and the activities beat
      // every 3 s against a 10 s heartbeat timeout (workflows/activity-options.ts): send them as they come.
      maxHeartbeatThrottleInterval: '3s',
      interceptors: { activity: [countActivityErrors(metrics)] },
    });
    log.info(
      { taskQueue: config.taskQueue, temporal: config.temporalAddress, namespace: config.watchNamespace ?? '*' },
      'worker started',
    );
    await worker.run();
    log.info('worker stopped');
  } finally {
    await health.close();
    await runnerPods.stop();
    await loadTests.stop();
    await connection.close();
  }
}

/** Observes each runner pod's start latency once, when the pod informer first sees its container running. */
function observeRunnerStarts(
  pods: {
    on(
      event: 'add' | 'update' | 'delete',
      handler: (pod: StartedPod & { metadata?: { uid?: string } }) => void,
    ): () => void;
  },
  metrics: OperatorMetrics,
): void {
  const seen = new Set<string>();
  const observe = (pod: StartedPod & { metadata?: { uid?: string } }) => {
    const uid = pod.metadata?.uid;
    const seconds = runnerStartSeconds(pod);
    if (uid === undefined || seconds === undefined || seen.has(uid)) return;
    seen.add(uid);
    metrics.runnerStarted(seconds);
  };
  pods.on('add', observe);
  pods.on('update', observe);
  pods.on('delete', (pod) => seen.delete(pod.metadata?.uid ?? ''));
}
