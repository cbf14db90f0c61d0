/**
 * `/healthz` (the process is alive), `/readyz` (it is doing its job) for Kubernetes probes, and `/metrics`
 * (Prometheus text format) when the process has metrics.
 */
import { createServer, type Server } from 'node:http';

export interface HealthServer {
  close(): Promise<void>;
}

/** What /metrics serves: a scrape's content type and text. */
export type MetricsScrape = () => Promise<{ contentType: string; body: string }>;

/** Serves the probes on `port` (all interfaces, as probes come from the kubelet); port 0 serves nothing. */
export async function startHealthServer(
  port: number,
  ready: () => boolean,
  metrics?: MetricsScrape,
): Promise<HealthServer> {
  if (port === 0) return { close: () => Promise.resolve() };
  const server: Server = createServer((request, response) => {
    if (request.url === '/healthz') response.writeHead(200).end('ok\n');
    else if (request.url === '/readyz') {
      if (ready()) response.writeHead(200).end('ready\n');
      else response.writeHead(503).end('not ready\n');
    } else if (request.url === '/metrics' && metrics !== undefined) {
      metrics().then(
        ({ contentType, body }) => response.writeHead(200, { 'Content-Type': contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(`${error instanceof Error ? error.message : String(error)}\n`),
      );
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}
