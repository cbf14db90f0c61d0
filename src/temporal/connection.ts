/**
 * The one place that opens connections to Temporal: a client connection for the watcher and the CLI, a
 * native connection for workers. Everything else receives a Client or NativeConnection from here.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export interface TemporalTarget {
  /** host:port of the frontend. */
  address: string;
  /** Temporal namespace. */
  namespace: string;
  /** How long connectClient tries before giving up, ms. Default the SDK's (10 s). */
  connectTimeoutMs?: number;
}

/** A workflow client; close it with `client.connection.close()`. */
export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({ address: target.address, connectTimeout: target.connectTimeoutMs });
  return new Client({ connection, namespace: target.namespace });
}

/** A connection for `Worker.create`; close it after the worker has shut down. */
export function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address });
}
