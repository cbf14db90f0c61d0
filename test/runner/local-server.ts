/** A local HTTP server on 127.0.0.1 that counts requests per path, for runner tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingServer {
  origin: string;
  /** Requests received, by path (with query). */
  byPath: Map<string, number>;
  total(): number;
}

export async function withCountingServer<T>(
  body: (server: CountingServer) => Promise<T>,
  status: (path: string) => number = () => 200,
): Promise<T> {
  const byPath = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const path = request.url ?? '';
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    request.resume();
    request.on('end', () => {
      response.statusCode = status(path);
      response.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body({
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      byPath,
      total: () => [...byPath.values()].reduce((sum, count) => sum + count, 0),
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
