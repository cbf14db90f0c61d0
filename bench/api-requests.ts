/**
 * Kubernetes API requests the operator's worker makes for one run, and whether they grow with the test's duration.
 *
 *   npm run bench:api-requests [-- --replicas 5 --durations 10s,60s]
 *
 * On the test bed (started here when it is not up), the operator runs one LoadTest per duration (N replicas at
 * 5 requests/s each) against a counting server, and reads the worker's counter
 * loadtest_operator_kubernetes_requests_total (every call of a src/k8s client, by resource and method) before and
 * after each run. Printed: the calls of each run by resource and method, and their total. The runner pods are
 * watched through one shared informer, whose list and watch are not per run and not counted here.
 */
import { parseArgs } from 'node:util';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  eventually,
  kubectl,
  loadTestManifest,
  Operator,
  waitForJsonPath,
} from '../test/operator/cluster.js';
import { operatorRequestCounts } from './metrics.js';
import { benchTestbed } from './testbed.js';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '5' },
    durations: { type: 'string', default: '10s,60s' },
  },
});
const replicas = Number(values.replicas);
const durations = values.durations.split(',');

const testbed = await benchTestbed();
const namespace = `api-requests-${Date.now().toString(36)}`;
const operator = new Operator('bench-api-requests');
const target = new CountingServer();
const HEALTH_PORT = 18_000 + (process.pid % 1000);

const requestCounts = () => operatorRequestCounts(HEALTH_PORT);

try {
  await ensureCrd();
  await createNamespace(namespace);
  await target.expose(namespace, 'target');
  operator.startWorker({ HEALTH_PORT: String(HEALTH_PORT) });
  operator.startWatcher();
  const rows = new Map<string, number[]>();
  for (const [index, duration] of durations.entries()) {
    const name = `api-${index}`;
    const before = await requestCounts().catch(() => new Map<string, number>());
    await apply(loadTestManifest(namespace, name, { replicas, test: { serviceName: 'target', rate: 5, duration } }));
    await waitForJsonPath(`ld/${name}`, namespace, '{.status.state}', 'finished', 600);
    // The Finished Event is the run's last call.
    await eventually(
      async () =>
        (
          await kubectl([
            'get',
            'events',
            '-n',
            namespace,
            '-o',
            'name',
            '--field-selector',
            `reason=Finished,involvedObject.name=${name}`,
          ])
        ).trim() || undefined,
      30_000,
      `the Finished Event of ${name}`,
    );
    const after = await requestCounts();
    for (const [key, count] of after) {
      const row = rows.get(key) ?? new Array<number>(durations.length).fill(0);
      row[index] = count - (before.get(key) ?? 0);
      rows.set(key, row);
    }
  }
  console.log(`Kubernetes API calls of the worker per run, ${replicas} replicas at 5 req/s each`);
  console.log(`${'resource call'.padEnd(28)}${durations.map((d) => d.padStart(8)).join('')}`);
  const totals = new Array<number>(durations.length).fill(0);
  for (const [key, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
    if (row.every((count) => count === 0)) continue;
    row.forEach((count, index) => (totals[index]! += count));
    console.log(`${key.padEnd(28)}${row.map((count) => String(count).padStart(8)).join('')}`);
  }
  console.log(`${'total'.padEnd(28)}${totals.map((count) => String(count).padStart(8)).join('')}`);
} finally {
  await operator.stop();
  await target.close();
  await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  await testbed.release();
}
