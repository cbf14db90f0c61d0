/**
 * The Temporal server local mode talks to: the one TEMPORAL_ADDRESS names, else an embedded dev server (the
 * same `temporal server start-dev` the test bed runs, from the `temporal` on PATH when there is one) that lives
 * as long as this process.
 */
import { join } from 'node:path';
import { findTemporalOnPath, startDevServer } from '../temporal/dev-server.js';

export interface LocalTemporal {
  address: string;
  namespace: string;
  /** Temporal Web UI, when known (embedded server, or TEMPORAL_UI_URL). */
  uiUrl?: string;
  /** Whether this process started the server (and stop() stops it). */
  embedded: boolean;
  stop(): Promise<void>;
}

export interface LocalTemporalOptions {
  /** An existing server, host:port; default: start an embedded dev server. */
  address?: string;
  /** Default `default`. */
  namespace?: string;
  /** Web UI of an existing server, for links. */
  uiUrl?: string;
  /** Whether the embedded server serves its Web UI. Default true. */
  ui?: boolean;
  /** Where the embedded server's log goes. */
  logDir: string;
  /** `temporal` executable of the embedded server; default the one on PATH, else the cached install. */
  binary?: string;
}

/** Connects to the given server, or starts an embedded one that is stopped by stop() or when this process exits. */
export async function localTemporal(options: LocalTemporalOptions): Promise<LocalTemporal> {
  const namespace = options.namespace ?? 'default';
  if (options.address !== undefined) {
    return {
      address: options.address,
      namespace,
      uiUrl: options.uiUrl,
      embedded: false,
      stop: () => Promise.resolve(),
    };
  }
  const server = await startDevServer({
    // A `temporal` CLI the user already has; else the pinned one, installed into the cache on first use.
    binary: options.binary ?? findTemporalOnPath(),
    namespace,
    uiPort: options.ui === false ? false : undefined,
    logFile: join(options.logDir, 'temporal-dev-server.log'),
  });
  // A last resort when the process ends without stop() (an uncaught error): never leave the server behind.
  const killOnExit = () => server.process.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    address: server.address,
    namespace,
    uiUrl: server.uiUrl,
    embedded: true,
    stop: async () => {
      process.off('exit', killOnExit);
      await server.stop();
    },
  };
}

/** A link to a workflow run in the Temporal Web UI. */
export function workflowUiLink(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId === undefined ? base : `${base}/${encodeURIComponent(runId)}/history`;
}
