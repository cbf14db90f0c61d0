/**
 * /metrics of the worker and watcher without a cluster: the named series on a real HTTP health server, runs by
 * state and every LoadTest's last results read from the LoadTests given, and runner start latency.
 */
import { strict as assert } from 'node:assert';
import { freePort } from '../../src/util/process.js';
import { startHealthServer } from '../../src/operator/health.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { countActivityErrors, createOperatorMetrics, runnerStartSeconds } from '../../src/operator/metrics.js';
import type { LoadTestObject } from '../../src/k8s/index.js';
import { sampleResults } from '../workflows/fake-backend.js';

function loadTest(namespace: string, name: string, status: LoadTestObject['status']): LoadTestObject {
  return { metadata: { namespace, name, uid: `uid-${name}` }, status };
}

/** The value of one series in a Prometheus text scrape, undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('operator metrics', () => {
  it('serves the named series on /metrics of the health port, with last results per LoadTest', async () => {
    const metrics = createOperatorMetrics('watcher');
    const loadTests = [
      loadTest('shop', 'checkout', {
        state: 'finished',
        results: sampleResults({ requests: 30, errors: 1, rps: 812.5 }),
      }),
      loadTest('shop', 'running', { state: 'executing' }),
    ];
    metrics.exposeLoadTests(() => loadTests);
    metrics.reconciled('signalled');
    metrics.signalled('update');
    metrics.signalled('delete');
    metrics.watchRestarted('loadtests', 'ended');
    metrics.relisted('loadtests');
    metrics.activityFailed('createRunners');
    metrics.runnerStarted(1.5);
    const port = await freePort();
    const health = await startHealthServer(port, () => true, metrics.scrape);
    let text: string;
    let contentType: string | null;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      contentType = response.headers.get('content-type');
      text = await response.text();
    } finally {
      await health.close();
    }

    assert.match(contentType ?? '', /^text\/plain/);
    const labels = 'namespace="shop",name="checkout",process="watcher"';
    const latency = sampleResults({}).latencyMs;
    assert.equal(sample(text, `loadtest_requests{${labels}}`), 30);
    assert.equal(sample(text, `loadtest_errors{${labels}}`), 1);
    assert.equal(sample(text, `loadtest_requests_per_second{${labels}}`), 812.5);
    assert.equal(sample(text, `loadtest_latency_p99_seconds{${labels}}`), latency.p99 / 1000);
    assert.equal(sample(text, `loadtest_passed{${labels}}`), 1);
    assert.equal(sample(text, 'loadtest_requests{namespace="shop",name="running",process="watcher"}'), undefined);
    assert.equal(sample(text, 'loadtest_operator_runs{state="executing",process="watcher"}'), 1);
    assert.equal(sample(text, 'loadtest_operator_runs{state="failed",process="watcher"}'), 0);
    assert.equal(sample(text, 'loadtest_operator_reconciles_total{result="signalled",process="watcher"}'), 1);
    assert.equal(sample(text, 'loadtest_operator_signals_total{signal="delete",process="watcher"}'), 1);
    assert.equal(
      sample(text, 'loadtest_operator_watch_restarts_total{resource="loadtests",reason="ended",process="watcher"}'),
      1,
    );
    assert.equal(sample(text, 'loadtest_operator_relists_total{resource="loadtests",process="watcher"}'), 1);
    assert.equal(
      sample(text, 'loadtest_operator_activity_errors_total{activity="createRunners",process="watcher"}'),
      1,
    );
    assert.equal(sample(text, 'loadtest_operator_runner_start_seconds_count{process="watcher"}'), 1);
    assert.ok((sample(text, 'process_cpu_user_seconds_total{process="watcher"}') ?? -1) >= 0);
  });

  it('drops a deleted LoadTest from the last-result gauges at the next scrape', async () => {
    const metrics = createOperatorMetrics('watcher');
    let loadTests = [loadTest('shop', 'gone', { state: 'failed', results: sampleResults({}) })];
    metrics.exposeLoadTests(() => loadTests);
    const before = (await metrics.scrape()).body;
    loadTests = [];
    const after = (await metrics.scrape()).body;

    assert.equal(sample(before, 'loadtest_passed{namespace="shop",name="gone",process="watcher"}'), 0);
    assert.doesNotMatch(after, /name="gone"/);
  });

  it('measures a runner pod from its creation until its container runs, and not before', () => {
    const created = new Date('2026-01-01T00:00:00.000Z');
    assert.equal(runnerStartSeconds({ metadata: { creationTimestamp: created } }), undefined);
    const running = {
      metadata: { creationTimestamp: created },
      status: { containerStatuses: [{ state: { running: { startedAt: new Date('2026-01-01T00:00:02.500Z') } } }] },
    };
    assert.equal(runnerStartSeconds(running), 2.5);
  });
});

describe('activity error metric', () => {
  it('counts an activity attempt that throws, by activity type, and not one that returns', async () => {
    const metrics = createOperatorMetrics('worker');
    const environment = new MockActivityEnvironment(
      { activityType: 'createRunners' },
      { interceptors: [countActivityErrors(metrics)] },
    );
    await environment.run(() => Promise.resolve('fine'));
    await assert.rejects(
      environment.run(() => Promise.reject(new Error('apiserver said no'))),
      /apiserver said no/,
    );
    const text = (await metrics.scrape()).body;
    assert.equal(sample(text, 'loadtest_operator_activity_errors_total{activity="createRunners",process="worker"}'), 1);
  });
});
