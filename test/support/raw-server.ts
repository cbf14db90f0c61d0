/**
 * A TCP server on 127.0.0.1 that hands each request (bodiless requests, as the runner tests send them) to a
 * handler with the raw socket, so tests can answer with exact bytes, split packets, resets or silence.
 */
import net from 'node:net';

export type RawRequestHandler = (socket: net.Socket, request: string, index: number) => void;

export interface RawServer {
  origin: string;
  /** Requests received so far, across connections. */
  readonly requests: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startRawServer(onRequest: RawRequestHandler): Promise<RawServer> {
  let requests = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        onRequest(socket, request, requests++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Writes `data` in pieces of `size` bytes, each in its own event-loop turn (so in separate packets). */
export async function writeInPieces(socket: net.Socket, data: string | Buffer, size: number): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  for (let offset = 0; offset < bytes.length; offset += size) {
    if (socket.destroyed) return;
    socket.write(bytes.subarray(offset, offset + size));
    // Waiting a moment between writes is what puts the pieces in separate TCP segments.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
