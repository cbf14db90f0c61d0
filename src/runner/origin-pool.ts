/**
 * A runner connection for a request mix whose requests go to several origins (a mix entry's own `url`): one
 * connection per origin under one id, each request sent over the one of its origin. To the load models it is
 * one connection (one slot of `connections`, its requests in flight counted together, like a k6 virtual user
 * that holds a connection to each host it calls); to each server it is one keep-alive connection, opened on
 * the first request to that origin.
 */
import type { Connection, ConnectionEvents } from './connection.js';
import type { ErrorKind } from './error-kind.js';

export class OriginPoolConnection implements Connection, ConnectionEvents {
  private readonly perOrigin: Connection[];

  /**
   * @param originOf the origin (index into `open`'s calls) of each request of the mix, by request index
   * @param open makes the connection to origin `origin`, reporting to the given events
   */
  constructor(
    readonly id: number,
    private readonly events: ConnectionEvents,
    private readonly originOf: readonly number[],
    origins: number,
    open: (origin: number, events: ConnectionEvents) => Connection,
  ) {
    this.perOrigin = Array.from({ length: origins }, (_, origin) => open(origin, this));
  }

  get inFlight(): number {
    let sum = 0;
    for (const connection of this.perOrigin) sum += connection.inFlight;
    return sum;
  }

  get bytesRead(): number {
    return this.perOrigin.reduce((sum, connection) => sum + connection.bytesRead, 0);
  }

  send(intendedMs: number, nowMs: number, request: number): void {
    this.perOrigin[this.originOf[request]!]!.send(intendedMs, nowMs, request);
  }

  expire(nowMs: number, timeoutMs: number): void {
    for (const connection of this.perOrigin) connection.expire(nowMs, timeoutMs);
  }

  close(): void {
    for (const connection of this.perOrigin) connection.close();
  }

  onResponse(status: number, intendedMs: number, sentMs: number, nowMs: number, request: number): void {
    this.events.onResponse(status, intendedMs, sentMs, nowMs, request);
  }

  onFailure(kind: ErrorKind, nowMs: number, request: number): void {
    this.events.onFailure(kind, nowMs, request);
  }

  onRetry(intendedMs: number, request: number): void {
    this.events.onRetry(intendedMs, request);
  }

  onCapacity(_connection: Connection, nowMs: number): void {
    this.events.onCapacity(this, nowMs);
  }
}
