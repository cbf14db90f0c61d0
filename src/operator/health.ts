/** `/healthz` (the process is alive) and `/readyz` (it is doing its job) for Kubernetes probes. */
import { createServer, type Server } from 'node:http';

export interface HealthServer {
  close(): Promise<void>;
}

/** Serves the probes on `port` (all interfaces, as probes come from the kubelet); port 0 serves nothing. */
export async function startHealthServer(port: number, ready: () => boolean): Promise<HealthServer> {
  if (port === 0) return { close: () => Promise.resolve() };
  const server: Server = createServer((request, response) => {
    if (request.url === '/healthz') response.writeHead(200).end('ok\n');
    else if (request.url === '/readyz') {
      if (ready()) response.writeHead(200).end('ready\n');
      else response.writeHead(503).end('not ready\n');
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}
