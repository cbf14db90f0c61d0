/**
 * The fast path: one keep-alive HTTP/1.1 connection on a raw `net` socket, writing a prebuilt request and
 * framing responses with ResponseParser. It reads into a caller-supplied buffer (`onread`), so reading
 * allocates nothing; requests in flight live in two small ring buffers of timestamps.
 */
import net from 'node:net';
import type { Connection, ConnectionEvents } from '../connection.js';
import { errorKindOf, type ErrorKind } from '../error-kind.js';
import { ResponseParser, type ResponseListener } from './response-parser.js';

export interface SocketTarget {
  host: string;
  port: number;
  /** The serialised requests of the mix (one when there is no mix), each written as is whenever it is sent. */
  requests: readonly Buffer[];
  /** True when the request method is HEAD, whose responses have no body. */
  headRequests: boolean;
  /** Requests in flight at most (the pipelining depth). */
  capacity: number;
}

export class SocketConnection implements Connection, ResponseListener {
  inFlight = 0;
  bytesRead = 0;
  private socket: net.Socket | null = null;
  private readonly parser: ResponseParser;
  private readonly intendedTimes: Float64Array;
  private readonly sentTimes: Float64Array;
  /** Which request of the mix each slot holds. */
  private readonly requestIds: Uint16Array;
  /** Ring index of the oldest request in flight. */
  private oldest = 0;

  /** @param readBuffer scratch memory for socket reads; may be shared, because data is parsed before the next read */
  constructor(
    readonly id: number,
    private readonly target: SocketTarget,
    private readonly events: ConnectionEvents,
    private readonly readBuffer: Buffer,
  ) {
    this.parser = new ResponseParser(this, target.headRequests);
    this.intendedTimes = new Float64Array(target.capacity);
    this.sentTimes = new Float64Array(target.capacity);
    this.requestIds = new Uint16Array(target.capacity);
  }

  send(intendedMs: number, nowMs: number, request: number): void {
    const socket = this.socket ?? this.connect();
    let slot = this.oldest + this.inFlight;
    if (slot >= this.target.capacity) slot -= this.target.capacity;
    this.intendedTimes[slot] = intendedMs;
    this.sentTimes[slot] = nowMs;
    this.requestIds[slot] = request;
    this.inFlight++;
    socket.write(this.target.requests[request]!);
  }

  expire(nowMs: number, timeoutMs: number): void {
    if (this.inFlight > 0 && nowMs - this.sentTimes[this.oldest]! >= timeoutMs) {
      this.drop('timeout');
      this.events.onCapacity(this, nowMs);
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
    this.parser.reset();
  }

  onResponse(status: number, closeAfter: boolean): boolean {
    const nowMs = performance.now();
    if (this.inFlight === 0) {
      // A response nobody asked for (e.g. 408 on an idle connection): the connection is unusable.
      this.drop(null);
      return false;
    }
    const slot = this.oldest;
    this.oldest = slot + 1 === this.target.capacity ? 0 : slot + 1;
    this.inFlight--;
    if (closeAfter) this.drop(null);
    this.events.onResponse(status, this.intendedTimes[slot]!, this.sentTimes[slot]!, nowMs, this.requestIds[slot]!);
    this.events.onCapacity(this, nowMs);
    return !closeAfter;
  }

  onProtocolError(): void {
    this.drop('other');
    this.events.onCapacity(this, performance.now());
  }

  private connect(): net.Socket {
    const socket = net.connect({
      host: this.target.host,
      port: this.target.port,
      noDelay: true,
      onread: {
        buffer: this.readBuffer,
        callback: (bytes: number): boolean => {
          this.bytesRead += bytes;
          if (socket === this.socket) this.parser.execute(this.readBuffer, 0, bytes);
          return true;
        },
      },
    });
    socket.on('error', (error) => this.onSocketError(socket, error));
    socket.on('close', () => this.onSocketClose(socket));
    this.socket = socket;
    return socket;
  }

  private onSocketError(socket: net.Socket, error: Error): void {
    if (socket !== this.socket) return;
    this.drop(errorKindOf(error));
    this.events.onCapacity(this, performance.now());
  }

  /** The server closed the connection (errors are handled before 'close' and detach the socket). */
  private onSocketClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    // May complete a response delimited by the close, which detaches the socket itself.
    this.parser.finish();
    if (socket !== this.socket) return;
    this.drop('reset');
    this.events.onCapacity(this, performance.now());
  }

  /**
   * Detaches from the socket. Requests still in flight failed with `failure`, or, when it is null, were
   * refused by a server that announced the close and are handed back to be sent again.
   */
  private drop(failure: ErrorKind | null): void {
    this.socket?.destroy();
    this.socket = null;
    this.parser.reset();
    const nowMs = performance.now();
    let slot = this.oldest;
    for (let left = this.inFlight; left > 0; left--) {
      if (failure === null) this.events.onRetry(this.intendedTimes[slot]!, this.requestIds[slot]!);
      else this.events.onFailure(failure, nowMs, this.requestIds[slot]!);
      slot = slot + 1 === this.target.capacity ? 0 : slot + 1;
    }
    this.inFlight = 0;
    this.oldest = 0;
  }
}
