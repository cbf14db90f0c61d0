/**
 * `loadtest-operator worker`: runs LoadTest workflows and their Kubernetes activities. One shared informer of
 * runner pods serves every waiting activity. Stops on SIGTERM/SIGINT (Temporal's runtime shuts the worker
 * down, letting running activities finish within the grace time), then closes the informer and connection.
 */
import { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createKubernetesActivities } from '../../activities/kubernetes/index.js';
import type { OperatorConfig } from '../config.js';
import { createKubernetes, loadKubeConfig, runnerPodInformer } from '../k8s/index.js';
import { connectWorker } from '../temporal/connection.js';
import { workflowCodeOptions } from '../temporal/workflow-bundle.js';
import { startHealthServer } from './health.js';

export async function runWorker(config: OperatorConfig, log: Logger): Promise<void> {
  const kube = createKubernetes(loadKubeConfig(config.kubeconfig));
  const runnerPods = runnerPodInformer(
    kube,
    { onError: (error, retryInMs) => log.warn({ error: String(error), retryInMs }, 'runner pod watch failed') },
    config.watchNamespace,
  );
  runnerPods.start();
  const connection = await connectWorker({ address: config.temporalAddress, namespace: config.temporalNamespace });
  let worker: Worker | undefined;
  const health = await startHealthServer(
    config.healthPort,
    () => runnerPods.hasSynced && worker?.getState() === 'RUNNING',
  );
  try {
    worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      ...workflowCodeOptions(),
      activities: createKubernetesActivities({ ...kube, runnerPods, runnerImage: config.runnerImage }),
      shutdownGraceTime: '10s',
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
    await connection.close();
  }
}
