/**
 * The one place that opens connections to Temporal: a client connection for the watcher and the CLI, a
 * native connection for workers. Everything else receives a Client or NativeConnection from here. TLS, mTLS and
 * API keys come from the environment and profile file through @temporalio/envconfig (src/config.ts). Payloads
 * are encrypted when LOADTEST_PAYLOAD_KEY is set (payload-codec.ts): every Client made here, and every Worker given
 * workerDataConverter(), uses the same codec.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadTemporalSettings, type TemporalSecurity } from '../config.js';
import { dataConverterFromEnv } from './payload-codec.js';

export { loadTemporalSettings, TemporalSettingsError, type TemporalSecurity } from '../config.js';

export interface TemporalTarget {
  /** host:port of the frontend. */
  address: string;
  /** Temporal namespace. */
  namespace: string;
  /** How long connectClient tries before giving up, ms. Default the SDK's (10 s). */
  connectTimeoutMs?: number;
  /**
   * TLS, API key and metadata. Default: what the environment and profile file say (loadTemporalSettings);
   * `{}` for plain gRPC, e.g. an embedded dev server.
   */
  security?: TemporalSecurity;
}

function securityOf(target: TemporalTarget): TemporalSecurity {
  const { tls, apiKey, metadata } = target.security ?? loadTemporalSettings();
  return { tls, apiKey, metadata };
}

/** A workflow client; close it with `client.connection.close()`. */
export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    connectTimeout: target.connectTimeoutMs,
    ...securityOf(target),
  });
  return new Client({ connection, namespace: target.namespace, dataConverter: dataConverterFromEnv() });
}

/** What `Worker.create` takes as `dataConverter`: the payload codec when LOADTEST_PAYLOAD_KEY is set. */
export function workerDataConverter(): ReturnType<typeof dataConverterFromEnv> {
  return dataConverterFromEnv();
}

/** A connection for `Worker.create`; close it after the worker has shut down. */
export function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address, ...securityOf(target) });
}

/**
 * A workflow client sharing a worker's connection, for activities that call Temporal itself (the Schedules of
 * activities/schedules.ts): one connection per process, closed with the worker's.
 */
export function clientOverWorker(connection: NativeConnection, namespace: string): Client {
  return new Client({ connection, namespace, dataConverter: dataConverterFromEnv() });
}
