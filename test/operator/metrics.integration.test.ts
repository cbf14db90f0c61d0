/**
 * /metrics of the worker and watcher on the test bed, scraped during and after a real run: runs by state while it
 * executes; afterwards its last results per LoadTest, reconciles, signals, re-lists, runner start latency; and
 * the Temporal SDK's own metrics on the worker's second port (SDK_METRICS_PORT).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../src/util/process.js';
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
} from './cluster.js';

/** Every sample of a Prometheus text scrape whose series starts with `prefix`, by full series. */
function samples(text: string, prefix: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const space = line.lastIndexOf(' ');
    found.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return found;
}

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

describe('operator /metrics during and after a run', function () {
  this.timeout(240_000);
  let namespace: string;
  let operator: Operator;
  let web: CountingServer;
  let workerPort: number;
  let watcherPort: number;
  let sdkPort: number;

  before(async function () {
    this.timeout(120_000);
    namespace = `metrics-${randomUUID().slice(0, 6)}`;
    await ensureCrd();
    await createNamespace(namespace);
    web = new CountingServer();
    await web.expose(namespace, 'web');
    [workerPort, sdkPort] = [await freePort(), await freePort()];
    operator = new Operator(`metrics-${randomUUID().slice(0, 6)}`);
    operator.startWorker({ HEALTH_PORT: String(workerPort), SDK_METRICS_PORT: String(sdkPort) });
    watcherPort = await operator.startWatcherReady();
  });

  after(async () => {
    await operator?.stop();
    await web?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  it('shows the run executing, then its results and the operator counters', async () => {
    await apply(
      loadTestManifest(namespace, 'scraped', { replicas: 2, test: { serviceName: 'web', duration: '8s', rate: 5 } }),
    );
    await waitForJsonPath('loadtest/scraped', namespace, '{.status.state}', 'executing');
    const during = await eventually(
      async () => {
        const text = await scrape(watcherPort);
        return (samples(text, 'loadtest_operator_runs{state="executing"').values().next().value ?? 0) >= 1
          ? text
          : undefined;
      },
      30_000,
      'loadtest_operator_runs{state="executing"} >= 1',
    );
    assert.equal(samples(during, 'loadtest_requests{').size, 0, 'no results before the run settles');

    await waitForJsonPath('loadtest/scraped', namespace, '{.status.state}', 'finished', 120);
    const labels = `namespace="${namespace}",name="scraped",process="watcher"`;
    const after = await eventually(
      async () => {
        const text = await scrape(watcherPort);
        return samples(text, `loadtest_requests{${labels}}`).size > 0 ? text : undefined;
      },
      30_000,
      'loadtest_requests for the finished run',
    );
    const one = (text: string, series: string) => {
      const value = samples(text, series).values().next().value;
      assert.notEqual(value, undefined, `${series} missing in:\n${text}`);
      return value!;
    };
    assert.equal(one(after, `loadtest_requests{${labels}}`), web.requests);
    assert.equal(one(after, `loadtest_errors{${labels}}`), 0);
    assert.ok(one(after, `loadtest_requests_per_second{${labels}}`) > 0);
    const p50 = one(after, `loadtest_latency_p50_seconds{${labels}}`);
    const p99 = one(after, `loadtest_latency_p99_seconds{${labels}}`);
    assert.ok(p50 > 0 && p50 <= p99 && p99 < 5, `p50 ${p50} s, p99 ${p99} s`);
    assert.equal(one(after, `loadtest_passed{${labels}}`), 1);
    assert.ok(one(after, 'loadtest_operator_runs{state="finished"') >= 1);
    assert.ok(one(after, 'loadtest_operator_reconciles_total{result="signalled"') >= 1);
    assert.ok(one(after, 'loadtest_operator_signals_total{signal="update"') >= 1);
    assert.ok(one(after, 'loadtest_operator_relists_total{resource="loadtests"') >= 1);

    const worker = await scrape(workerPort);
    assert.ok(one(worker, 'loadtest_operator_runner_start_seconds_count{process="worker"}') >= 2);
    // Kubernetes times are in whole seconds: a runner that starts within the second counts 0.
    const startSum = one(worker, 'loadtest_operator_runner_start_seconds_sum{process="worker"}');
    assert.ok(startSum >= 0 && startSum < 120, `runner start seconds, summed: ${startSum}`);
    assert.ok(one(worker, 'loadtest_operator_relists_total{resource="pods"') >= 1);

    // What the run cost the API server (issue 15): replicas + 9 calls, whatever the test's length under the
    // progress period. A status patch refused for a stale cache (409) is rebuilt from one GET: it costs a GET and
    // a patch more, so the patches less the GETs are exact.
    await waitForJsonPath('loadtest/scraped', namespace, '{.status.history[0].state}', 'finished', 60);
    const calls = new Map<string, number>();
    for (const [series, count] of samples(await scrape(workerPort), 'loadtest_operator_kubernetes_requests_total{')) {
      const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(series)?.[1];
      calls.set(`${label('resource')} ${label('call')}`, count);
    }
    const made = (call: string) => calls.get(call) ?? 0;
    const breakdown = JSON.stringify(Object.fromEntries(calls));
    assert.equal(made('pods create'), 2, breakdown);
    assert.equal(made('secrets create'), 1, breakdown);
    assert.equal(made('services get'), 1, breakdown);
    assert.equal(made('events create'), 3, `RunnersCreated, Executing, Finished: ${breakdown}`);
    assert.equal(
      made('loadtests patchStatus') - made('loadtests get'),
      4,
      `pending, executing, finished, and the run history; no progress write in an 8 s test: ${breakdown}`,
    );
    assert.equal(made('pods list'), 0, `runner pods come from the informer: ${breakdown}`);
    const total = [...calls.values()].reduce((sum, count) => sum + count, 0);
    assert.equal(total - 2 * made('loadtests get'), 2 + 9, breakdown);

    const sdk = await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text();
    assert.match(sdk, /^temporal_activity_execution_latency\w*\{/m);
    assert.match(sdk, /^temporal_workflow_task_execution_latency\w*\{/m);
  });
});
