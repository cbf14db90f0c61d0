/**
 * The demo's built-in target: a small JSON API on 127.0.0.1 that answers in a few milliseconds, with a slower
 * answer now and then, so the latency percentiles have something to show.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoTarget {
  url: string;
  close(): Promise<void>;
}

export async function startDemoTarget(port = 0): Promise<DemoTarget> {
  const server = createServer((_request, response) => {
    const delayMs = Math.random() < 0.02 ? 20 + Math.random() * 30 : Math.random() * 4;
    setTimeout(() => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ items: [1, 2, 3], servedInMs: Math.round(delayMs) }));
    }, delayMs);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
