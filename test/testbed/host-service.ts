/**
 * A server on this machine (a test's target) exposed in the cluster as a selector-less Service, reachable from
 * pods on both nodes as `<service>.<namespace>.svc:<port>`:
 *
 * - on the process node, the node agent's proxy connects to 127.0.0.1 for endpoints at NODE_IP;
 * - on the real node, kube-proxy routes to BRIDGE_IP, where pods reach the host; the server gets a second
 *   listener there.
 *
 * One EndpointSlice per node, each endpoint naming its node, and `internalTrafficPolicy: Local`: each node's
 * proxy uses only its own node's endpoint (kube-proxy would otherwise also pick NODE_IP, which is not on this
 * machine, and the test bed's guard drops such traffic).
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { apply } from '../support/kubectl.js';
import { BRIDGE_IP } from './host-state.js';
import { NODE_IP } from './node-agent.js';
import { PROCESS_NODE, REAL_NODE } from './nodes.js';

export interface HostService {
  /** The server's port on the real node's address (BRIDGE_IP). */
  bridgePort: number;
  close(): Promise<void>;
}

/**
 * Creates Service `name` (port `servicePort`) whose endpoints are `server`, which must listen on 127.0.0.1.
 * Connections to BRIDGE_IP are handed to `server` as if it had accepted them.
 */
export async function exposeHostServer(
  server: Server,
  name: string,
  namespace: string,
  servicePort = 80,
): Promise<HostService> {
  const loopbackPort = (server.address() as AddressInfo).port;
  const bridge = createServer((socket) => server.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    bridge.once('error', reject);
    bridge.listen(0, BRIDGE_IP, resolve);
  });
  const bridgePort = (bridge.address() as AddressInfo).port;
  const slice = (node: string, address: string, port: number) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-${node}`, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], nodeName: node, conditions: { ready: true } }],
  });
  await apply(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: {
        internalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: servicePort, targetPort: loopbackPort, protocol: 'TCP' }],
      },
    },
    slice(PROCESS_NODE, NODE_IP, loopbackPort),
    slice(REAL_NODE, BRIDGE_IP, bridgePort),
  );
  return {
    bridgePort,
    close: () => new Promise<void>((resolve) => bridge.close(() => resolve())),
  };
}
