/**
 * `loadtest-operator watcher`: watches every LoadTest and keeps one workflow per LoadTest in step with it.
 * Stops on SIGTERM/SIGINT after the calls in flight.
 */
import type { Logger } from 'pino';
import type { OperatorConfig } from '../config.js';
import { createKubernetes, loadKubeConfig, loadTestInformer } from '../k8s/index.js';
import { connectClient } from '../temporal/connection.js';
import { startHealthServer } from './health.js';
import { createOperatorMetrics } from './metrics.js';
import { LoadTestWatcher } from './watcher.js';

export async function runWatcher(config: OperatorConfig, log: Logger): Promise<void> {
  const kube = createKubernetes(loadKubeConfig(config.kubeconfig));
  const client = await connectClient({ address: config.temporalAddress, namespace: config.temporalNamespace });
  const metrics = createOperatorMetrics('watcher');
  const source = loadTestInformer(
    kube,
    {
      relistIntervalMs: config.resyncIntervalMs,
      onError: (error, retryInMs) => log.warn({ err: error, retryInMs }, 'LoadTest watch failed'),
      onWatchRestart: (reason) => metrics.watchRestarted('loadtests', reason),
    },
    config.watchNamespace,
  );
  // Runs by state and every LoadTest's last results, read from the informer's cache at each scrape.
  metrics.exposeLoadTests(() => source.list());
  const watcher = new LoadTestWatcher({
    client,
    source,
    loadTests: kube.loadTests,
    taskQueue: config.taskQueue,
    namespace: config.watchNamespace,
    timing: config.runnerStartTimeoutMs === undefined ? undefined : { runningTimeoutMs: config.runnerStartTimeoutMs },
    log,
    metrics,
  });
  const health = await startHealthServer(config.healthPort, () => watcher.ready, metrics.scrape);
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  watcher.start();
  log.info(
    { taskQueue: config.taskQueue, temporal: config.temporalAddress, namespace: config.watchNamespace ?? '*' },
    'watcher started',
  );
  const signal = await stopped;
  log.info({ signal }, 'watcher stopping');
  await watcher.stop();
  await health.close();
  await client.connection.close();
  log.info('watcher stopped');
}
