/**
 * A local HTTP server on 127.0.0.1 that records when each connection opens and closes (epoch ms, the clock of
 * the runner's summary) and counts the requests it answers, for tests of how the runner holds connections.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConnectionServer {
  origin: string;
  /** Epoch ms of each connection's open and (once closed) close, in the order they opened. */
  connections: { openedMs: number; closedMs?: number }[];
  /** Requests answered (a complete response written). */
  answered(): number;
  /** Requests received, by path (with query). */
  byPath: Map<string, number>;
  /** Connections open at epoch `ms`, by the records above. */
  openAt(ms: number): number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** @param answerAfterMs how long the server takes to answer each request (its service time) */
export async function withConnectionServer<T>(
  body: (server: ConnectionServer) => Promise<T>,
  answerAfterMs = 0,
): Promise<T> {
  const connections: ConnectionServer['connections'] = [];
  const byPath = new Map<string, number>();
  let answered = 0;
  const server = http.createServer((request, response) => {
    const path = request.url ?? '';
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    request.resume();
    request.on('end', () => {
      const answer = (): void => {
        response.end('ok', () => answered++);
      };
      if (answerAfterMs > 0) setTimeout(answer, answerAfterMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    const record: { openedMs: number; closedMs?: number } = { openedMs: epochNow() };
    connections.push(record);
    socket.on('close', () => (record.closedMs = epochNow()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body({
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      connections,
      answered: () => answered,
      byPath,
      openAt: (ms) =>
        connections.filter((record) => record.openedMs <= ms && (record.closedMs === undefined || record.closedMs > ms))
          .length,
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
