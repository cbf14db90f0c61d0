/**
 * What the load models (closed and open) need from a connection, whichever transport is behind it: raw
 * sockets (the fast path, src/runner/http1/) or undici (https and anything else).
 * All times are `performance.now()` milliseconds.
 */
import type { ErrorKind } from './error-kind.js';

/** What a connection reports. Called synchronously from I/O callbacks, so implementations must be cheap. */
export interface ConnectionEvents {
  /**
   * A complete response arrived for a request intended at `intendedMs` and written at `sentMs`. `request` is
   * the request's index in the run's request mix (0 when there is one request), as given to send().
   */
  onResponse(status: number, intendedMs: number, sentMs: number, nowMs: number, request: number): void;
  /** A request got no response. */
  onFailure(kind: ErrorKind, nowMs: number, request: number): void;
  /** A request was not processed (the server closed the connection first, as it announced): send it again. */
  onRetry(intendedMs: number, request: number): void;
  /** The connection has room for more requests (after responses, failures or retries). */
  onCapacity(connection: Connection, nowMs: number): void;
}

export interface Connection {
  /** Position in the run's connection list. */
  readonly id: number;
  /** Requests written and not yet answered or failed. */
  readonly inFlight: number;
  /** Bytes received so far. */
  readonly bytesRead: number;
  /**
   * Sends request number `request` of the run's mix (0 when there is one), connecting first when needed. The
   * caller keeps `inFlight` within the pipelining depth.
   */
  send(intendedMs: number, nowMs: number, request: number): void;
  /** Fails every request in flight if the oldest was sent `timeoutMs` or longer ago. */
  expire(nowMs: number, timeoutMs: number): void;
  /** Closes the connection without reporting anything. */
  close(): void;
}
