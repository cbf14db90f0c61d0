/** The operator's long-running processes as `loadtest-operator worker` and `loadtest-operator watcher`. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { createProcessLogger } from './logging.js';
import { runWatcher } from './watcher-process.js';
import { runWorker } from './worker.js';

const ENVIRONMENT = `
Environment:
  KUBECONFIG          kubeconfig file (default: in-cluster service account, else ~/.kube/config)
  TEMPORAL_ADDRESS    Temporal frontend (default 127.0.0.1:7233)
  TEMPORAL_NAMESPACE  Temporal namespace (default "default")
  TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE
                      a secured Temporal server, as the temporal CLI reads them (@temporalio/envconfig)
  TASK_QUEUE          task queue (default "loadtest-operator")
  RUNNER_IMAGE        runner pod image (worker; default "loadtest-operator:dev")
  HEALTH_PORT         port of /healthz, /readyz and /metrics (default 0: off)
  SDK_METRICS_PORT    worker: port of the Temporal SDK's own Prometheus metrics (default 0: off)
  LOG_LEVEL           trace, debug, info, warn, error, fatal or silent (default info)
  WATCH_NAMESPACE     handle LoadTests and runner pods of this namespace only (default: every namespace)
  RESYNC_INTERVAL_MS  how often the watcher re-lists every LoadTest (default 300000)`;

export function registerOperatorCommands(program: Command): void {
  program
    .command('worker')
    .description('Run LoadTest workflows and their Kubernetes activities (stops on SIGTERM)')
    .addHelpText('after', ENVIRONMENT)
    .action(async () => {
      const config = loadConfig();
      await runWorker(config, createProcessLogger('worker', config.logLevel));
    });
  program
    .command('watcher')
    .description('Watch LoadTests and start, update and delete their workflows (stops on SIGTERM)')
    .addHelpText('after', ENVIRONMENT)
    .action(async () => {
      const config = loadConfig();
      await runWatcher(config, createProcessLogger('watcher', config.logLevel));
    });
}
