/**
 * Driving a LoadTest from code: start it, watch its live progress, await the outcome, delete it.
 *
 * Self-contained: it starts an embedded Temporal dev server with an in-process worker (local mode) and a tiny
 * target server. Against a cluster, connect instead and start nothing: the operator's watcher starts one
 * workflow per LoadTest object, found by namespace and name:
 *
 *   const runs = await LoadTestRuns.connect({ address: 'temporal:7233', namespace: 'default' });
 *   const run = await runs.find('default', 'checkout');
 *
 * Run it with `npm run build && node dist/examples/run-loadtest.js`.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalEnvironment, type LoadTestSpec } from '../src/index.js';

const target = createServer((_request, response) => response.end('ok')).listen(0, '127.0.0.1');
await new Promise((resolve) => target.once('listening', resolve));
const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;

Runtime.install({ logger: new DefaultLogger('WARN') }); // the worker's own logs: warnings only
const local = await startLocalEnvironment(); // TEMPORAL_ADDRESS unset: an embedded dev server
try {
  const spec: LoadTestSpec = {
    replicas: 2,
    test: { method: 'GET', url, port: 80, path: '/', duration: '3s', connections: 2 },
    thresholds: ['p99 < 100ms'],
  };
  const run = await local.runs.start({ namespace: 'default', name: 'example', spec });
  console.log(`started ${run.workflowId}`);

  // Live progress: the status query plus the runners' progress from the activity heartbeats.
  for await (const snapshot of run.watch({ pollIntervalMs: 1000 })) {
    const live = snapshot.live === undefined ? '' : ` ${snapshot.live.sent} requests, ${snapshot.live.rps} req/s`;
    console.log(`${snapshot.state} (${snapshot.status?.progress.step})${live}`);
  }

  const outcome = await run.result();
  console.log(`${outcome.state}: ${outcome.message}`);
  for (const threshold of outcome.thresholds ?? []) console.log(`  ${threshold.threshold}: ${threshold.passed}`);

  await run.delete(); // stops any runner left and completes the workflow
  await run.deleted();
  process.exitCode = outcome.passed ? 0 : 1;
} finally {
  await local.close();
  target.close();
}
