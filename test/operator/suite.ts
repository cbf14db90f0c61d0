/**
 * The set-up most operator integration suites share: an operator (worker and watcher processes) for the suite,
 * and per-test namespaces and target servers, removed after each test. Call inside `describe`.
 */
import { DEFAULT_SERVICE_ACCOUNT_WAIT } from '../support/kubectl.js';
import { apply, CountingServer, ensureCrd, kubectl, Operator } from './cluster.js';

export interface OperatorSuite {
  operator: Operator;
  /** A fresh namespace whose default ServiceAccount exists, deleted after the test. */
  namespace: () => Promise<string>;
  /** A target Service `target` in `ns` answering `status` after `delayMs`, closed after the test. */
  serve: (ns: string, options?: { status?: number; delayMs?: number }) => Promise<CountingServer>;
}

/** `env`: the operator processes' environment over the test bed's (e.g. LOG_LEVEL). */
export function operatorSuite(name: string, env: Record<string, string> = {}): OperatorSuite {
  const operator = new Operator(name, env);
  const namespaces: string[] = [];
  const servers: CountingServer[] = [];
  let testNumber = 0;

  before(async () => {
    await ensureCrd();
    operator.start();
  });

  after(async () => {
    await operator.stop();
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const namespace of namespaces.splice(0)) {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
    }
  });

  return {
    operator,
    namespace: async () => {
      const namespace = `${name}-${process.pid}-${++testNumber}`;
      await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      await kubectl(DEFAULT_SERVICE_ACCOUNT_WAIT(namespace));
      namespaces.push(namespace);
      return namespace;
    },
    serve: async (ns, { status = 200, delayMs = 0 } = {}) => {
      const server = new CountingServer(status, delayMs);
      servers.push(server);
      await server.expose(ns, 'target');
      return server;
    },
  };
}
