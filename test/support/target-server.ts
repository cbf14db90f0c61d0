/**
 * A test HTTP server on 127.0.0.1 that counts requests, exposed in the cluster as a selector-less Service with
 * an EndpointSlice, so that `<service>.<namespace>.svc:<port>` reaches it from pods on the test bed node.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apply } from './kubectl.js';
import { NODE_IP } from '../testbed/node-agent.js';

export interface TargetServer {
  port: number;
  /** Requests received so far, by method and path. */
  requests: Array<{ method: string; path: string }>;
  server: Server;
  close(): Promise<void>;
}

export async function startTargetServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => response.end('ok'),
): Promise<TargetServer> {
  const requests: TargetServer['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', path: request.url ?? '' });
    handler(request, response);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Creates Service `name` (port `servicePort`) in `namespace` whose only endpoint is this host at `targetPort`
 * (the node's address, which the test bed's service proxy maps to 127.0.0.1).
 */
export async function exposeAsService(
  name: string,
  namespace: string,
  targetPort: number,
  servicePort = 80,
): Promise<void> {
  await apply(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { ports: [{ name: 'http', port: servicePort, targetPort, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-local`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: targetPort, protocol: 'TCP' }],
      endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
    },
  );
}
