/**
 * The library path: one undici Client (a single connection) per runner connection. Used for https:// and
 * whenever `transport: 'undici'` is asked for; slower per request than the socket fast path, but complete
 * (TLS, and whatever else undici handles).
 */
import { Client, type Dispatcher } from 'undici';
import type { Connection, ConnectionEvents } from './connection.js';
import { errorKindOf } from './error-kind.js';

/** One request of the mix, as undici takes it. */
export interface UndiciRequest {
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: string;
}

export interface UndiciTarget {
  origin: string;
  /** The requests of the mix (one when there is no mix). */
  requests: readonly UndiciRequest[];
  /** Requests in flight at most (the pipelining depth). */
  capacity: number;
  /** Accept any TLS certificate. */
  insecure: boolean;
}

interface RequestInFlight {
  request: number;
  intendedMs: number;
  sentMs: number;
  abort: AbortController;
}

export class UndiciConnection implements Connection {
  /** Body bytes received (undici does not expose the size of response heads). */
  bytesRead = 0;
  private readonly requests = new Set<RequestInFlight>();
  /** Made on the first send after construction or close(), so that a closed connection can be used again. */
  private client: Client | null = null;

  constructor(
    readonly id: number,
    private readonly target: UndiciTarget,
    private readonly events: ConnectionEvents,
  ) {}

  private openClient(): Client {
    this.client = new Client(this.target.origin, {
      pipelining: this.target.capacity,
      // The runner enforces its own per-request timeout (see expire()).
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { rejectUnauthorized: !this.target.insecure },
    });
    return this.client;
  }

  get inFlight(): number {
    return this.requests.size;
  }

  send(intendedMs: number, nowMs: number, index: number): void {
    const request: RequestInFlight = { request: index, intendedMs, sentMs: nowMs, abort: new AbortController() };
    this.requests.add(request);
    this.exchange(request).then(
      (status) => {
        if (!this.requests.delete(request)) return;
        const doneMs = performance.now();
        this.events.onResponse(status, request.intendedMs, request.sentMs, doneMs, request.request);
        this.events.onCapacity(this, doneMs);
      },
      (error: unknown) => {
        if (!this.requests.delete(request)) return;
        const doneMs = performance.now();
        this.events.onFailure(errorKindOf(error), doneMs, request.request);
        this.events.onCapacity(this, doneMs);
      },
    );
  }

  expire(nowMs: number, timeoutMs: number): void {
    let expired = 0;
    for (const request of this.requests) {
      if (nowMs - request.sentMs < timeoutMs) continue;
      this.requests.delete(request);
      request.abort.abort();
      this.events.onFailure('timeout', nowMs, request.request);
      expired++;
    }
    if (expired > 0) this.events.onCapacity(this, nowMs);
  }

  close(): void {
    for (const request of this.requests) request.abort.abort();
    this.requests.clear();
    this.client?.destroy().catch(() => undefined);
    this.client = null;
  }

  private async exchange(request: RequestInFlight): Promise<number> {
    const { path, method, headers, body } = this.target.requests[request.request]!;
    const client = this.client ?? this.openClient();
    const response = await client.request({ path, method, headers, body, signal: request.abort.signal });
    for await (const chunk of response.body as AsyncIterable<Buffer>) this.bytesRead += chunk.length;
    return response.statusCode;
  }
}
