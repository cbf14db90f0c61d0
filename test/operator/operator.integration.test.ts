/**
 * The operator end to end on the test bed: kubectl apply → watcher → workflow → activities → runner pods →
 * status, with runner pods as containers of the product's image on the real node (kubelet, containerd, runc),
 * sending real requests through kube-proxy to a server on this machine. Histories of these runs can be kept as replay
 * fixtures with RECORD_HISTORIES=1.
 */
import type { Client } from '@temporalio/client';
import { strict as assert } from 'node:assert';
import { loadTestWorkflowId } from '../../src/loadtest/workflow-id.js';
import { REAL_NODE } from '../testbed/nodes.js';
import { saveHistoriesIfRecording } from '../workflows/histories.js';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  eventually,
  followStates,
  getJson,
  kubectl,
  KubectlError,
  loadTestManifest,
  Operator,
  podNames,
  signalNames,
  temporalClient,
  waitForJsonPath,
} from './cluster.js';

interface RunnerPodJson {
  metadata: { ownerReferences: Array<{ uid: string; controller: boolean }> };
  spec: { nodeName: string };
  status: { containerStatuses: Array<{ containerID?: string }> };
}

interface LoadTestJson {
  metadata: { name: string; namespace: string; uid: string; generation: number };
  status?: {
    state?: string;
    children?: string[];
    message?: string;
    observedGeneration?: number;
    results?: { requests: number };
  };
}

const SEED_SPEC = { replicas: 5, test: { method: 'GET', serviceName: 'nginx', path: '/', repeat: 10 } };

describe('operator on the test bed', function () {
  this.timeout(180_000);
  let operator: Operator;
  let temporal: Client;
  let testNumber = 0;
  let namespace: string;
  const servers: CountingServer[] = [];

  before(async function () {
    await ensureCrd();
    temporal = await temporalClient();
    operator = new Operator('integration');
    operator.start();
  });

  after(async () => {
    await operator?.stop();
    await temporal?.connection.close();
  });

  beforeEach(async () => {
    namespace = `op-${process.pid}-${++testNumber}`;
    await createNamespace(namespace, 'real');
  });

  afterEach(async () => {
    operator.ensureStarted();
    for (const server of servers.splice(0)) await server.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  async function serve(name = 'nginx', status = 200): Promise<CountingServer> {
    const server = new CountingServer(status);
    servers.push(server);
    await server.expose(namespace, name);
    return server;
  }

  const loadTest = (name: string) => getJson<LoadTestJson>(['get', 'ld', name, '-n', namespace]);
  const workflowOf = (object: LoadTestJson) =>
    temporal.workflow.getHandle(
      loadTestWorkflowId({
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        uid: object.metadata.uid,
      }),
    );
  /** With RECORD_HISTORIES=1, keeps every run of the LoadTest's workflow as a replay fixture. */
  const keepHistory = (title: string, object: LoadTestJson) =>
    saveHistoriesIfRecording(`integration-${title}`, workflowOf(object).workflowId, process.env.TEMPORAL_ADDRESS!);
  const runnersOf = (object: LoadTestJson) => podNames(namespace, `loadtest.example.org/uid=${object.metadata.uid}`);
  /** The LoadTest's runner pods, name → pod uid: a pod deleted and created again under its name shows. */
  const runnerUids = async (object: LoadTestJson) => {
    const list = await getJson<{ items: Array<{ metadata: { name: string; uid: string } }> }>([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      `loadtest.example.org/uid=${object.metadata.uid}`,
    ]);
    return new Map(list.items.map((pod) => [pod.metadata.name, pod.metadata.uid] as const).sort());
  };

  it('runs the seed example: five owned runner pods, pending → executing → finished, exactly 50 requests', async () => {
    const server = await serve();
    const follow = await followStates(namespace, 'example-02');
    await apply(loadTestManifest(namespace, 'example-02', SEED_SPEC));
    await waitForJsonPath('ld/example-02', namespace, '{.status.state}', 'finished');
    follow.stop();

    const object = await loadTest('example-02');
    assert.deepEqual(follow.states, ['pending', 'executing', 'finished']);
    assert.equal(server.requests, 50);
    assert.equal(object.status?.results?.requests, 50);
    const pods = await runnersOf(object);
    assert.deepEqual(
      pods,
      [0, 1, 2, 3, 4].map((index) => `example-02-g1-${index}`),
    );
    assert.deepEqual(object.status?.children, pods);
    for (const name of pods) {
      const pod = await getJson<RunnerPodJson>(['get', 'pod', name, '-n', namespace]);
      assert.deepEqual(
        pod.metadata.ownerReferences.map((owner) => [owner.uid, owner.controller]),
        [[object.metadata.uid, true]],
      );
      // A container that containerd ran on the real node, not a process of the process node.
      assert.equal(pod.spec.nodeName, REAL_NODE);
      assert.match(pod.status.containerStatuses[0]?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
    }
    // The kubelet serves the container's output: the runner's report of its 10 requests.
    const logs = await kubectl(['logs', pods[0]!, '-n', namespace]);
    assert.match(logs, /\b10 requests\b|requests\s+10\b/, logs);
    const table = await kubectl(['get', 'ld', 'example-02', '-n', namespace]);
    // Counts, not names: readable at any number of replicas.
    assert.match(table, /STATE\s+RUNNERS\s+REQUESTS\/S\s+P99\s+AGE/);
    assert.match(table, /finished\s+5\/5\s+\d/);
    await keepHistory('seed-example-finished', object);
  });

  it('ends failed when a runner fails, naming the pod and the reason, with a Warning event', async () => {
    await serve('nginx', 500);
    await apply(loadTestManifest(namespace, 'failing', { replicas: 2, test: { serviceName: 'nginx', repeat: 3 } }));
    await waitForJsonPath('ld/failing', namespace, '{.status.state}', 'failed');

    const object = await loadTest('failing');
    assert.match(
      object.status?.message ?? '',
      /^runner failing-g1-[01] exited with code 1 \(some requests failed\): 3 of 3 requests failed \(status 500: 3\)$/,
    );
    // The Event is posted after the status is written: wait for it rather than race it.
    const events = await eventually(
      async () => {
        const list = await getJson<{ items: Array<{ type: string; reason: string; message: string }> }>([
          'get',
          'events',
          '-n',
          namespace,
          '--field-selector',
          `involvedObject.uid=${object.metadata.uid},type=Warning`,
        ]);
        return list.items.length > 0 ? list.items : undefined;
      },
      30_000,
      'a Warning Event of the failed LoadTest',
    );
    assert.deepEqual(
      events.map((event) => [event.reason, event.message]),
      [['Failed', object.status?.message]],
    );
    await keepHistory('runner-failed', object);
  });

  it('replaces the runners when the spec changes while executing, and finishes the new generation', async () => {
    const server = await serve();
    const slow = { replicas: 2, test: { serviceName: 'nginx', duration: '60s', rate: 2 } };
    await apply(loadTestManifest(namespace, 'changing', slow));
    await waitForJsonPath('ld/changing', namespace, '{.status.state}', 'executing');

    await apply(loadTestManifest(namespace, 'changing', { replicas: 3, test: { serviceName: 'nginx', repeat: 4 } }));
    await waitForJsonPath('ld/changing', namespace, '{.status.observedGeneration}', '2');
    await waitForJsonPath('ld/changing', namespace, '{.status.state}', 'finished');

    const object = await loadTest('changing');
    assert.deepEqual(object.status?.children, ['changing-g2-0', 'changing-g2-1', 'changing-g2-2']);
    assert.equal(object.status?.results?.requests, 12);
    await eventually(
      async () => ((await runnersOf(object)).every((name) => name.includes('-g2-')) ? true : undefined),
      30_000,
      'generation 1 runners gone',
    );
    assert.deepEqual(await runnersOf(object), ['changing-g2-0', 'changing-g2-1', 'changing-g2-2']);
    assert.ok(server.requests >= 12);
    await keepHistory('spec-changed-while-executing', object);
  });

  it('deletes every runner and completes the workflow within 30 s of kubectl delete while executing', async () => {
    await serve();
    await apply(
      loadTestManifest(namespace, 'doomed', { replicas: 3, test: { serviceName: 'nginx', duration: '120s', rate: 2 } }),
    );
    await waitForJsonPath('ld/doomed', namespace, '{.status.state}', 'executing');
    const object = await loadTest('doomed');

    await kubectl(['delete', 'ld', 'doomed', '-n', namespace, '--wait=false']);
    const result = (await workflowOf(object).result()) as { reason: string };
    await eventually(
      async () => ((await runnersOf(object)).length === 0 ? true : undefined),
      30_000,
      'runners deleted',
    );

    assert.equal(result.reason, 'deleted');
    await keepHistory('deleted-while-executing', object);
  });

  it('cleans up a LoadTest deleted while the watcher was down: the restarted watcher signals delete to its workflow', async () => {
    await serve();
    await apply(
      loadTestManifest(namespace, 'before', { replicas: 1, test: { serviceName: 'nginx', duration: '120s', rate: 1 } }),
    );
    await waitForJsonPath('ld/before', namespace, '{.status.state}', 'executing');
    const before = await loadTest('before');
    const workflow = workflowOf(before);

    // The worker is down as well, so no activity can find the LoadTest gone: only the watcher can tell the workflow.
    await operator.stopWatcher();
    await operator.stopWorker();
    await kubectl(['delete', 'ld', 'before', '-n', namespace, '--wait=false']);
    await operator.startWatcherReady();
    await eventually(
      async () => ((await signalNames(workflow)).includes('delete') ? true : undefined),
      30_000,
      'a delete signal from the restarted watcher',
    );
    assert.equal((await workflow.describe()).status.name, 'RUNNING');

    operator.startWorker();
    assert.equal(((await workflow.result()) as { reason: string }).reason, 'deleted');
    await eventually(
      async () => ((await runnersOf(before)).length === 0 ? true : undefined),
      30_000,
      'runners of the deleted LoadTest gone',
    );
    await keepHistory('deleted-while-watcher-down', before);
  });

  it('runs a LoadTest created while the watcher was down, and a restarted watcher starts no second run of it', async () => {
    await serve();
    const spec = { replicas: 2, test: { serviceName: 'nginx', repeat: 5 } };
    await operator.stopWatcher();
    await apply(loadTestManifest(namespace, 'after', spec));
    await operator.startWatcherReady();
    await waitForJsonPath('ld/after', namespace, '{.status.state}', 'finished');
    const after = await loadTest('after');
    const { runId } = await workflowOf(after).describe();
    const pods = await runnerUids(after);
    assert.deepEqual([...pods.keys()], ['after-g1-0', 'after-g1-1']);

    assert.match(await apply(loadTestManifest(namespace, 'after', spec)), /unchanged/);
    await operator.stopWatcher();
    // Created while the watcher is down, this one runs only once the restarted watcher has listed and reconciled.
    await apply(loadTestManifest(namespace, 'later', { replicas: 1, test: { serviceName: 'nginx', repeat: 1 } }));
    await operator.startWatcherReady();
    await waitForJsonPath('ld/later', namespace, '{.status.state}', 'finished');

    // The unchanged LoadTest, listed by that same watcher: still its one workflow and run, with the same pods.
    const runs: Array<[string, string]> = [];
    for await (const execution of temporal.workflow.list({
      // The LoadTest's workflow, not its runs' own workflows (workflows/run.ts).
      query: `LoadTestNamespace = '${namespace}' AND LoadTestName = 'after' AND WorkflowType = 'loadTestWorkflow'`,
    })) {
      runs.push([execution.workflowId, execution.runId]);
    }
    assert.deepEqual(runs, [[workflowOf(after).workflowId, runId]]);
    assert.deepEqual(await runnerUids(after), pods);
    await keepHistory('created-while-watcher-down', after);
  });

  it('judges thresholds end to end: a passing one is recorded, a breached one ends failed naming the measured value', async () => {
    await serve();
    // Latency is never under a microsecond, and nothing fails against the counting server.
    const spec = {
      replicas: 2,
      test: { serviceName: 'nginx', repeat: 5 },
      thresholds: ['errorRate < 1%', 'p99 < 1us'],
    };
    await apply(loadTestManifest(namespace, 'gated', spec));
    await waitForJsonPath('ld/gated', namespace, '{.status.state}', 'failed');

    const object = await getJson<
      LoadTestJson & { status: { thresholds: Array<{ threshold: string; passed: boolean }> } }
    >(['get', 'ld', 'gated', '-n', namespace]);
    assert.equal(object.status.results?.requests, 10);
    assert.deepEqual(
      object.status.thresholds.map((t) => [t.threshold, t.passed]),
      [
        ['errorRate < 1%', true],
        ['p99 < 1us', false],
      ],
    );
    assert.match(object.status.message ?? '', /^threshold "p99 < 1us" breached: p99 was [0-9.]+us$/);
  });

  it('lets an errorRate threshold judge failed requests: the run ends with results and the breach', async () => {
    await serve('nginx', 503);
    const spec = { replicas: 2, test: { serviceName: 'nginx', repeat: 5 }, thresholds: ['errorRate < 1%'] };
    await apply(loadTestManifest(namespace, 'flaky', spec));
    await waitForJsonPath('ld/flaky', namespace, '{.status.state}', 'failed');

    const object = await loadTest('flaky');
    assert.equal(object.status?.results?.requests, 10);
    assert.equal(object.status?.message, 'threshold "errorRate < 1%" breached: errorRate was 100%');
  });

  it('ends failed saying a runner ran out of memory when the kernel OOM-kills it at its memory limit', async () => {
    await serve();
    // Too little memory for Node to start.
    const runner = { resources: { limits: { memory: '24Mi' } } };
    await apply(
      loadTestManifest(namespace, 'starved', { replicas: 1, runner, test: { serviceName: 'nginx', repeat: 1 } }),
    );
    await waitForJsonPath('ld/starved', namespace, '{.status.state}', 'failed');

    const object = await loadTest('starved');
    assert.equal(
      object.status?.message,
      'runner starved-g1-0 was killed for running out of memory (OOMKilled, memory limit 24Mi)',
    );
  });

  it('ends failed saying so when the target Service does not exist', async () => {
    await apply(loadTestManifest(namespace, 'nowhere', { replicas: 1, test: { serviceName: 'missing', repeat: 1 } }));
    await waitForJsonPath('ld/nowhere', namespace, '{.status.state}', 'failed');

    const object = await loadTest('nowhere');
    assert.equal(object.status?.message, `Service "missing" does not exist in namespace "${namespace}"`);
    assert.deepEqual(await runnersOf(object), []);
    await keepHistory('service-missing', object);
  });

  describe('kubectl apply rejects invalid specs with clear messages', () => {
    const rejected = async (spec: object): Promise<string> => {
      try {
        await apply(loadTestManifest(namespace, 'invalid', spec));
      } catch (error) {
        if (error instanceof KubectlError) return error.stderr;
        throw error;
      }
      assert.fail('kubectl apply accepted an invalid LoadTest');
    };
    const test = { serviceName: 'nginx', repeat: 1 };

    it('replicas 0 and -1', async () => {
      assert.match(
        await rejected({ replicas: 0, test }),
        /spec\.replicas: Invalid value: 0: spec\.replicas in body should be greater than or equal to 1/,
      );
      assert.match(
        await rejected({ replicas: -1, test }),
        /spec\.replicas: Invalid value: -1: .*greater than or equal to 1/,
      );
    });

    it('method FETCH', async () => {
      assert.match(
        await rejected({ replicas: 1, test: { ...test, method: 'FETCH' } }),
        /spec\.test\.method: Unsupported value: "FETCH": supported values: "GET", "POST"/,
      );
    });

    it('a path without a leading slash', async () => {
      assert.match(
        await rejected({ replicas: 1, test: { ...test, path: 'index.html' } }),
        /spec\.test\.path: Invalid value: .*test\.path must start with "\/"/,
      );
    });

    it('a missing test', async () => {
      assert.match(await rejected({ replicas: 1 }), /spec\.test: Required value/);
    });

    it('both serviceName and url, or both repeat and duration', async () => {
      assert.match(
        await rejected({ replicas: 1, test: { ...test, url: 'http://x.test/' } }),
        /set exactly one of test\.serviceName and test\.url/,
      );
      assert.match(
        await rejected({ replicas: 1, test: { ...test, duration: '1s' } }),
        /set at most one of test\.repeat and test\.duration/,
      );
    });
  });
});

describe('operator on the test bed, with a runner image that does not exist', function () {
  this.timeout(180_000);
  const image = 'localhost/loadtest-no-such-image:1';
  const namespace = `op-${process.pid}-missing-image`;
  let operator: Operator;
  let server: CountingServer;

  before(async () => {
    await ensureCrd();
    operator = new Operator('missing-image', { RUNNER_IMAGE: image });
    operator.start();
    await createNamespace(namespace, 'real');
    server = new CountingServer();
    await server.expose(namespace, 'nginx');
  });

  after(async () => {
    await operator?.stop();
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  it("fails the LoadTest with the kubelet's reason, naming the runner, before the start timeout", async () => {
    await apply(loadTestManifest(namespace, 'unpullable', { replicas: 2, test: { serviceName: 'nginx', repeat: 1 } }));
    await waitForJsonPath('ld/unpullable', namespace, '{.status.state}', 'failed');

    const object = await getJson<LoadTestJson>(['get', 'ld', 'unpullable', '-n', namespace]);
    // The kubelet's back-off after a failed pull, not the start timeout's "did not start within".
    assert.match(
      object.status?.message ?? '',
      /^runner unpullable-g1-[01] cannot start: ImagePullBackOff: Back-off pulling image "localhost\/loadtest-no-such-image:1"/,
    );
    assert.equal(server.requests, 0);
  });
});
