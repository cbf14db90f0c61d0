/**
 * The operator's long-running processes as `loadtest-operator worker` and `loadtest-operator watcher`, and the
 * optional `codec-server` that lets the Temporal Web UI show encrypted payloads.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { startCodecServer } from '../temporal/codec-server.js';
import { PAYLOAD_KEY_ENV, payloadCodecFromEnv } from '../temporal/payload-codec.js';
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
  RESYNC_INTERVAL_MS  how often the watcher re-lists every LoadTest (default 300000)
  LOADTEST_PAYLOAD_KEY          encrypt Temporal payloads with this key (base64 of 32 bytes; default: off)
  LOADTEST_PAYLOAD_DECRYPT_KEYS earlier keys, comma-separated, still accepted for decrypting`;

function portFlag(text: string): number {
  const port = Number(text);
  if (!/^[0-9]+$/.test(text) || port > 65_535) throw new InvalidArgumentError('expected a port from 0 to 65535.');
  return port;
}

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
  program
    .command('codec-server')
    .description(
      `Decrypt payloads for the Temporal Web UI and CLI (--codec-endpoint) with ${PAYLOAD_KEY_ENV}: POST /decode, ` +
        '/encode. Whoever reaches it can decrypt every payload: keep it on 127.0.0.1 or behind your own proxy',
    )
    .option('--port <port>', 'port to listen on', portFlag, 8888)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--cors-origin <origin...>', 'origins of the Web UIs allowed to call it from a browser', [
      'http://localhost:8233',
      'http://127.0.0.1:8233',
    ])
    .addHelpText('after', ENVIRONMENT)
    .action(async (flags: { port: number; host: string; corsOrigin: string[] }) => {
      const codec = payloadCodecFromEnv();
      if (codec === undefined)
        throw new Error(`codec-server needs ${PAYLOAD_KEY_ENV}: the key payloads are encrypted with`);
      const server = await startCodecServer({
        codec,
        port: flags.port,
        host: flags.host,
        corsOrigins: flags.corsOrigin,
      });
      process.stdout.write(
        `codec server on http://${flags.host}:${server.port} (origins: ${flags.corsOrigin.join(', ')})\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve).once('SIGINT', resolve);
      });
      await server.close();
    });
}
