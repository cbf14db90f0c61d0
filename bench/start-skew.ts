/**
 * How closely runner pods start together: once every runner pod runs, the operator sends each runner's control
 * endpoint the start instant (POST /v1/start, src/runner/control-api.ts), a few seconds ahead.
 *
 *   npm run bench:start-skew [-- --replicas 10 --rounds 3]
 *
 * On the test bed (started here when it is not up), the operator runs a LoadTest of N replicas × 20 requests
 * against a counting server on the real node; every runner's summary (its termination message) says when it sent
 * its first request. Printed per round: the skew (latest first send − earliest) as the bench computes it and as
 * the operator published it (`.status.results.startSkewMs`), and how late the earliest and latest runner began
 * after the start instant (from the LoadTest's Executing Event). The process node cannot run controlled runners:
 * its pods share the host's loopback address, so they cannot all listen on the control port.
 */
import { parseArgs } from 'node:util';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  getJson,
  kubectl,
  loadTestManifest,
  Operator,
  waitForJsonPath,
} from '../test/operator/cluster.js';
import { benchTestbed } from './testbed.js';
import { DEFAULT_NODE, type TestbedNode } from '../test/testbed/nodes.js';
import { parseRunnerSummary } from '../src/runner/contract.js';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    node: { type: 'string', default: DEFAULT_NODE },
  },
});
if (values.node !== 'real')
  throw new Error(`--node real only (controlled runners cannot share the process node's loopback), not ${values.node}`);
const node: TestbedNode = values.node;
const replicas = Number(values.replicas);
const rounds = Number(values.rounds);

interface PodList {
  items: Array<{
    metadata: { name: string; annotations?: Record<string, string> };
    status?: { containerStatuses?: Array<{ containerID?: string; state?: { terminated?: { message?: string } } }> };
  }>;
}

const testbed = await benchTestbed();
const namespace = `skew-${Date.now().toString(36)}`;
const operator = new Operator('bench-start-skew');
const target = new CountingServer();
try {
  await ensureCrd();
  await createNamespace(namespace, node);
  await target.expose(namespace, 'target');
  operator.start();
  console.log(`start skew of ${replicas} runner pods (${rounds} rounds)`);
  console.log('round  skew ms  published ms  first late ms  last late ms  node');
  for (let round = 1; round <= rounds; round++) {
    const name = `skew-${round}`;
    await apply(
      loadTestManifest(namespace, name, {
        replicas,
        test: { serviceName: 'target', repeat: 20, connections: 1 },
        // Ten runners at the default request of 250m would not fit the test bed's 2-core node.
        runner: { resources: { requests: { cpu: '50m' } } },
      }),
    );
    await waitForJsonPath(`ld/${name}`, namespace, '{.status.state}', 'finished', 300);
    const pods = await getJson<PodList>(['get', 'pods', '-n', namespace, '-l', `loadtest.example.org/name=${name}`]);
    const starts: number[] = [];
    const startAt = await startInstant(name);
    const published = (
      await getJson<{ status?: { results?: { startSkewMs?: number } } }>(['get', 'ld', name, '-n', namespace])
    ).status?.results?.startSkewMs;
    let runtime = '';
    for (const pod of pods.items) {
      const status = pod.status?.containerStatuses?.[0];
      runtime = status?.containerID?.split('://')[0] ?? 'process';
      const summary = parseRunnerSummary(status?.state?.terminated?.message ?? '');
      if (summary === undefined) throw new Error(`pod ${pod.metadata.name} left no summary`);
      starts.push(summary.start);
    }
    const first = Math.min(...starts);
    const last = Math.max(...starts);
    console.log(
      `${String(round).padStart(5)}  ${String(last - first).padStart(7)}  ${String(published ?? '-').padStart(12)}  ${String(first - startAt).padStart(13)}  ${String(last - startAt).padStart(12)}  ${runtime} (${starts.length} pods)`,
    );
    await kubectl(['delete', 'ld', name, '-n', namespace, '--wait=true']);
  }
} finally {
  await operator.stop();
  await target.close();
  await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  await testbed.release();
}

/** The start instant the operator chose, from the LoadTest's Executing Event ("runners start at <ISO time>"). */
async function startInstant(name: string): Promise<number> {
  const events = await getJson<{ items: Array<{ message: string; involvedObject: { name: string } }> }>([
    'get',
    'events',
    '-n',
    namespace,
    '--field-selector',
    `reason=Executing,involvedObject.name=${name}`,
  ]);
  const iso = /start at (\S+)/.exec(events.items[0]?.message ?? '')?.[1];
  if (iso === undefined) throw new Error(`no Executing Event for ${name}`);
  return Date.parse(iso);
}
