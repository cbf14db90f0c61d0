/**
 * The operator's cost and latency at scale (issue 15): N LoadTests applied at once, measured end to end.
 *
 *   npm run bench:operator [-- --n 20,100 --replicas 1 --repeat 5 --rate 5 --json]
 *   npm run bench:operator -- --simulate --n 1 --replicas 1000
 *   npm run bench:operator -- --n 20 --cpu-prof /tmp/prof   (the worker's V8 CPU profiles, to see where it spends)
 *
 * On the test bed (started here when it is not up), for each N: a fresh operator (worker and watcher, so their
 * peak RSS is this batch's), one `kubectl apply` of N LoadTests (each runner sends `repeat` requests at `rate`/s to
 * a counting server), then a wait until every LoadTest is settled and its run workflows are closed. The bench's
 * own watches (the product's informers, in this process) time every step to the millisecond: "apply" is the
 * moment the bench's watch sees the LoadTest, and a pod is "created" or "ended" when the watch sees it so.
 * CPU is utime+stime from /proc over the whole batch, divided by N; API requests are the operator's own
 * counters (worker and watcher) and the kube-apiserver's, before/after, divided by N; history events and
 * payloads come from Temporal. With --simulate the runners are stand-ins on the simulated node
 * (bench/sim-node.ts) that report requests they never send: only the operator is measured.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import {
  createKubernetes,
  LOADTEST_NAME_LABEL,
  loadKubeConfig,
  loadTestInformer,
  runnerPodInformer,
  type LoadTestObject,
} from '../src/k8s/index.js';
import { loadTestWorkflowId } from '../src/loadtest/workflow-id.js';
import { writeWorkflowBundle } from '../src/temporal/workflow-bundle.js';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  eventually,
  freePort,
  kubectl,
  loadTestManifest,
  Operator,
  REPO,
  temporalClient,
} from '../test/operator/cluster.js';
import { findProcesses, testbedComponents } from '../test/testbed/lifecycle.js';
import { defaultStateDir } from '../test/testbed/state.js';
import { apiserverRequestCounts, countDelta, operatorRequestCounts } from './metrics.js';
import { startSimulatedNode, type SimulatedNode } from './sim-node.js';
import { benchTestbed } from './testbed.js';

const readArgs = () =>
  parseArgs({
    options: {
      n: { type: 'string', default: '20,100' },
      replicas: { type: 'string', default: '1' },
      repeat: { type: 'string', default: '5' },
      rate: { type: 'string', default: '5' },
      timeout: { type: 'string', default: '1200' },
      simulate: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  }).values;

/** A whole number ≥ 1 from an option, or a clear error naming it. */
function positiveInteger(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${option} must be a whole number of at least 1, not "${text}"`);
  }
  return value;
}

function parseOptions() {
  const values = readArgs();
  const rate = Number(values.rate);
  if (!(rate > 0)) throw new Error(`--rate must be a number of requests per second above 0, not "${values.rate}"`);
  return {
    ns: values.n.split(',').map((text) => positiveInteger('n', text)),
    replicas: positiveInteger('replicas', values.replicas),
    repeat: positiveInteger('repeat', values.repeat),
    rate,
    timeoutS: positiveInteger('timeout', values.timeout),
    simulate: values.simulate,
    cpuProfDir: values['cpu-prof'],
    json: values.json,
  };
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions();
} catch (error) {
  console.error(`bench:operator: ${(error as Error).message}`);
  process.exit(2);
}
const { ns: batchSizes, replicas, repeat, rate, timeoutS, simulate, cpuProfDir } = options;

const KIB = 1024;
/** Temporal warns above this payload size (its limit is 2 MB). */
const PAYLOAD_WARN_BYTES = 256 * KIB;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Spread {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank p50/p99 and max; undefined without samples. */
function spread(samples: number[]): Spread | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1)! };
}

/** utime + stime of a process so far, ms (its threads included); undefined once it is gone. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Peak resident set of a process (VmHWM), MiB. */
function peakRssMiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) / KIB;
  } catch {
    return undefined;
  }
}

/** The processes whose CPU a batch is charged with. */
interface Measured {
  worker: number[];
  watcher: number[];
  temporal: number[];
  apiserver: number[];
}

function measuredProcesses(operator: Operator): Measured {
  const ofOperator = (command: 'worker' | 'watcher') =>
    findProcesses(
      (line, environment) => environment.includes(`TASK_QUEUE=${operator.taskQueue}`) && line.endsWith(` ${command}`),
    ).map((p) => p.pid);
  const components = testbedComponents(defaultStateDir());
  const pick = (pattern: RegExp) => components.filter((p) => pattern.test(p.command)).map((p) => p.pid);
  return {
    worker: ofOperator('worker'),
    watcher: ofOperator('watcher'),
    temporal: pick(/\btemporal\b.*\bstart-dev\b/),
    apiserver: pick(/\bkube-apiserver\b/),
  };
}

function cpuOf(processes: Measured): Record<keyof Measured, number> {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + (cpuMs(pid) ?? 0), 0);
  return {
    worker: sum(processes.worker),
    watcher: sum(processes.watcher),
    temporal: sum(processes.temporal),
    apiserver: sum(processes.apiserver),
  };
}

/** What the bench's watches saw of one LoadTest and its runner pods, epoch ms. */
interface Observed {
  appliedAt: number;
  executingAt?: number;
  settledAt?: number;
  object: LoadTestObject;
}

/** What the bench's watch saw of one runner pod, epoch ms. */
interface ObservedPod {
  createdAt: number;
  endedAt?: number;
}

/** Bytes of the largest Payload anywhere in a workflow history (data plus metadata). */
function largestPayload(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  const record = value as Record<string, unknown>;
  let largest = 0;
  if (record.data instanceof Uint8Array && typeof record.metadata === 'object' && record.metadata !== null) {
    largest = record.data.byteLength;
    for (const [key, meta] of Object.entries(record.metadata)) {
      largest += key.length + (meta instanceof Uint8Array ? meta.byteLength : 0);
    }
  }
  for (const child of Array.isArray(value) ? value : Object.values(record)) {
    largest = Math.max(largest, largestPayload(child));
  }
  return largest;
}

async function history(client: Client, workflowId: string): Promise<{ events: number; largestPayload: number }> {
  const handle = client.workflow.getHandle(workflowId);
  const [description, events] = await Promise.all([handle.describe(), handle.fetchHistory()]);
  return { events: description.historyLength, largestPayload: largestPayload(events) };
}

/** The run workflows of a LoadTest: those its `.status.history` names, else the first generation's. */
function runWorkflowIds(object: LoadTestObject): string[] {
  const fromHistory = (object.status?.history ?? []).map((run) => run.workflowId);
  if (fromHistory.length > 0) return fromHistory;
  const { namespace, name, uid } = object.metadata as { namespace: string; name: string; uid: string };
  return [`${loadTestWorkflowId({ namespace, name, uid })}/g1`];
}

/** Races `promise` against a deadline, rejecting with `what`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000}s`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface BatchResult {
  n: number;
  settled: number;
  failedRuns: number;
  kubectlApplyMs: number;
  applyToPodCreatedMs?: Spread;
  applyToExecutingMs?: Spread;
  applyToAllRunnersStartedMs?: number;
  lastRunnerEndedToSettledMs?: Spread;
  cpuMsPerLoadTest: Record<keyof Measured, number>;
  peakRssMiB: { worker?: number; watcher?: number };
  operatorRequestsPerLoadTest: Record<string, number>;
  operatorRequestsPerLoadTestTotal: number;
  apiserverRequestsPerLoadTest?: Record<string, number>;
  apiserverRequestsPerLoadTestTotal?: number;
  historyEvents: { loadTestWorkflow?: Spread; runWorkflow?: Spread };
  largestPayloadBytes: number;
  payloadOver256KiB: boolean;
  largestStatusBytes: number;
  exact: boolean;
  exactness: string;
  /** The machine's 1-minute load average as the batch settled: other work on the cores shows here. */
  loadAverage: number;
}

let bundle: Promise<string> | undefined;
/** The workflow bundle the workers load, written once per bench run into a temporary folder. */
function workflowBundle(): Promise<string> {
  bundle ??= mkdtemp(join(tmpdir(), 'bench-operator-')).then((dir) =>
    writeWorkflowBundle(join(dir, 'workflow-bundle.js')),
  );
  return bundle;
}

async function runBatch(n: number, stamp: string, client: Client): Promise<BatchResult> {
  const namespace = `bench-op-${stamp}-n${n}`;
  const operator = new Operator(`bench-operator-${stamp}-n${n}`);
  const target = simulate ? undefined : new CountingServer();
  let node: SimulatedNode | undefined;
  const kube = createKubernetes(loadKubeConfig(process.env.KUBECONFIG));
  const loadTests = loadTestInformer(kube, {}, namespace);
  const pods = runnerPodInformer(kube, {}, namespace);
  const observed = new Map<string, Observed>();
  /** LoadTest name → its runner pods (kept apart: a pod may be seen before its LoadTest is). */
  const observedPods = new Map<string, Map<string, ObservedPod>>();
  const names = Array.from({ length: n }, (_, index) => `op-${index}`);
  let settle: () => void = () => undefined;
  const allSettled = new Promise<void>((resolve) => (settle = resolve));
  const sendMs = (repeat / rate) * 1000;
  try {
    await createNamespace(namespace);
    if (simulate) {
      node = await startSimulatedNode({ requestsPerRunner: repeat, sendMs });
      await apply({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, annotations: node.namespaceAnnotations },
      });
    } else {
      await target!.expose(namespace, 'target');
    }
    const workerPort = await freePort();
    // --cpu-prof DIR: the worker writes V8 CPU profiles (one per thread) there when it stops.
    operator.startWorker(
      // As in the image: the workflow code prebuilt, so the worker runs no webpack (and its peak RSS is not webpack's).
      { HEALTH_PORT: String(workerPort), WORKFLOW_BUNDLE: await workflowBundle() },
      cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`],
    );
    const watcherPort = await operator.startWatcherReady();
    await eventually(
      () =>
        fetch(`http://127.0.0.1:${workerPort}/readyz`).then(
          (response) => (response.status === 200 ? true : undefined),
          () => undefined,
        ),
      60_000,
      `worker /readyz (see ${operator.logFile('worker')})`,
    );

    const onLoadTest = (object: LoadTestObject) => {
      const now = Date.now();
      const name = object.metadata?.name ?? '';
      const seen = observed.get(name) ?? { appliedAt: now, object };
      seen.object = object;
      const state = object.status?.state;
      if (state === 'executing') seen.executingAt ??= now;
      if ((state === 'finished' || state === 'failed') && seen.settledAt === undefined) {
        seen.settledAt = now;
        if (names.every((each) => observed.get(each)?.settledAt !== undefined || each === name)) settle();
      }
      observed.set(name, seen);
    };
    const onPod = (pod: V1Pod) => {
      const now = Date.now();
      const owner = pod.metadata?.labels?.[LOADTEST_NAME_LABEL] ?? '';
      const ofOwner = observedPods.get(owner) ?? new Map<string, ObservedPod>();
      const seen = ofOwner.get(pod.metadata!.name!) ?? { createdAt: now };
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') seen.endedAt ??= now;
      ofOwner.set(pod.metadata!.name!, seen);
      observedPods.set(owner, ofOwner);
    };
    loadTests.on('add', onLoadTest);
    loadTests.on('update', onLoadTest);
    pods.on('add', onPod);
    pods.on('update', onPod);
    loadTests.start();
    pods.start();
    await Promise.all([loadTests.waitForSync(), pods.waitForSync()]);

    const processes = measuredProcesses(operator);
    for (const [what, pids] of Object.entries(processes) as Array<[string, number[]]>) {
      if (pids.length === 0) throw new Error(`bench:operator: found no ${what} process to measure`);
    }
    const cpuBefore = cpuOf(processes);
    const operatorBefore = [await operatorRequestCounts(workerPort), await operatorRequestCounts(watcherPort)];
    const apiserverBefore = await apiserverRequestCounts();

    const test = simulate
      ? { url: 'http://simulated-target.invalid/', repeat, rate }
      : { serviceName: 'target', repeat, rate };
    const items = names.map((name) => loadTestManifest(namespace, name, { replicas, cleanup: undefined, test }));
    const applyStart = Date.now();
    await apply({ apiVersion: 'v1', kind: 'List', items });
    const kubectlApplyMs = Date.now() - applyStart;
    await within(allSettled, timeoutS * 1000, `all ${n} LoadTests settled (finished or failed)`);

    // Quiet: every run workflow closed, and no LoadTest workflow with an activity still to do.
    const everyObject = names.map((name) => observed.get(name)!.object);
    await within(
      Promise.all(
        everyObject.flatMap((object) =>
          runWorkflowIds(object).map((id) =>
            client.workflow
              .getHandle(id)
              .result()
              .catch(() => undefined),
          ),
        ),
      ),
      timeoutS * 1000,
      'every run workflow closed',
    );
    const loadTestWorkflowIds = everyObject.map((object) => {
      const { namespace: space, name, uid } = object.metadata as { namespace: string; name: string; uid: string };
      return loadTestWorkflowId({ namespace: space, name, uid });
    });
    await eventually(
      async () => {
        for (const id of loadTestWorkflowIds) {
          const description = await client.workflow.getHandle(id).describe();
          if ((description.raw.pendingActivities ?? []).length > 0) return undefined;
        }
        return true;
      },
      120_000,
      'no LoadTest workflow with a pending activity',
    );

    const cpuAfter = cpuOf(processes);
    const rss = {
      worker: processes.worker.map(peakRssMiB).find((value) => value !== undefined),
      watcher: processes.watcher.map(peakRssMiB).find((value) => value !== undefined),
    };
    const operatorAfter = [await operatorRequestCounts(workerPort), await operatorRequestCounts(watcherPort)];
    const apiserverAfter = apiserverBefore === undefined ? undefined : await apiserverRequestCounts();

    const operatorRequests = new Map<string, number>();
    for (const [index, process] of ['worker', 'watcher'].entries()) {
      for (const [key, count] of countDelta(operatorBefore[index]!, operatorAfter[index]!)) {
        operatorRequests.set(`${process} ${key}`, count / n);
      }
    }
    const apiserverRequests =
      apiserverBefore === undefined || apiserverAfter === undefined
        ? undefined
        : new Map([...countDelta(apiserverBefore, apiserverAfter)].map(([key, count]) => [key, count / n]));

    const loadTestHistories = await Promise.all(loadTestWorkflowIds.map((id) => history(client, id)));
    const runHistories = await Promise.all(
      everyObject.flatMap((object) => runWorkflowIds(object).map((id) => history(client, id))),
    );
    const largestPayloadBytes = Math.max(0, ...[...loadTestHistories, ...runHistories].map((h) => h.largestPayload));

    const final = names.map((name) => ({
      ...observed.get(name)!,
      pods: observedPods.get(name) ?? new Map<string, ObservedPod>(),
    }));
    const expectedPerLoadTest = replicas * repeat;
    const wrong = final.filter((each) => each.object.status?.results?.requests !== expectedPerLoadTest);
    const counted = final.reduce((sum, each) => sum + (each.object.status?.results?.requests ?? 0), 0);
    let exactness = `${n - wrong.length}/${n} LoadTests report ${expectedPerLoadTest} requests`;
    if (wrong.length > 0) {
      const sample = wrong
        .slice(0, 3)
        .map((each) => `${each.object.metadata?.name}: ${each.object.status?.results?.requests}`);
      exactness += ` (${sample.join(', ')}${wrong.length > 3 ? ', ...' : ''})`;
    }
    let exact = wrong.length === 0;
    if (target !== undefined) {
      exactness += `; target counted ${target.requests} of ${counted}`;
      exact &&= target.requests === counted;
    }

    const podLatencies = final.flatMap((each) => [...each.pods.values()].map((pod) => pod.createdAt - each.appliedAt));
    const timeline = node?.timeline();
    const firstApplied = Math.min(...final.map((each) => each.appliedAt));
    return {
      n,
      settled: final.filter((each) => each.settledAt !== undefined).length,
      failedRuns: final.filter((each) => each.object.status?.state === 'failed').length,
      kubectlApplyMs,
      applyToPodCreatedMs: spread(podLatencies),
      applyToExecutingMs: spread(
        final.flatMap((each) => (each.executingAt === undefined ? [] : [each.executingAt - each.appliedAt])),
      ),
      applyToAllRunnersStartedMs:
        timeline === undefined || timeline.started.length === 0
          ? undefined
          : Math.max(...timeline.started) - firstApplied,
      lastRunnerEndedToSettledMs: spread(
        final.flatMap((each) => {
          const ends = [...each.pods.values()].map((pod) => pod.endedAt);
          if (each.settledAt === undefined || ends.length === 0 || ends.some((end) => end === undefined)) return [];
          return [each.settledAt - Math.max(...(ends as number[]))];
        }),
      ),
      cpuMsPerLoadTest: {
        worker: (cpuAfter.worker - cpuBefore.worker) / n,
        watcher: (cpuAfter.watcher - cpuBefore.watcher) / n,
        temporal: (cpuAfter.temporal - cpuBefore.temporal) / n,
        apiserver: (cpuAfter.apiserver - cpuBefore.apiserver) / n,
      },
      peakRssMiB: rss,
      operatorRequestsPerLoadTest: Object.fromEntries([...operatorRequests].sort(([a], [b]) => a.localeCompare(b))),
      operatorRequestsPerLoadTestTotal: [...operatorRequests.values()].reduce((sum, count) => sum + count, 0),
      apiserverRequestsPerLoadTest:
        apiserverRequests && Object.fromEntries([...apiserverRequests].sort(([a], [b]) => a.localeCompare(b))),
      apiserverRequestsPerLoadTestTotal:
        apiserverRequests && [...apiserverRequests.values()].reduce((sum, count) => sum + count, 0),
      historyEvents: {
        loadTestWorkflow: spread(loadTestHistories.map((h) => h.events)),
        runWorkflow: spread(runHistories.map((h) => h.events)),
      },
      largestPayloadBytes,
      payloadOver256KiB: largestPayloadBytes > PAYLOAD_WARN_BYTES,
      largestStatusBytes: Math.max(
        0,
        ...final.map((each) => Buffer.byteLength(JSON.stringify(each.object.status ?? {}), 'utf8')),
      ),
      exact,
      exactness,
      loadAverage: loadavg()[0]!,
    };
  } finally {
    // The LoadTests go while the operator still runs, so their workflows complete rather than linger.
    await kubectl(['delete', 'loadtests', '--all', '-n', namespace, '--timeout=120s']).catch((error: unknown) =>
      console.error(`bench:operator: deleting the LoadTests of ${namespace}: ${String(error)}`),
    );
    await Promise.all([loadTests.stop(), pods.stop()]);
    await operator.stop();
    await target?.close();
    await node?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  }
}

// ---- printing ----

const seconds = (ms: number | undefined) => (ms === undefined ? '—' : (ms / 1000).toFixed(2));
const spreadCell = (value: Spread | undefined, three = true) =>
  value === undefined
    ? '—'
    : three
      ? `${seconds(value.p50)}/${seconds(value.p99)}/${seconds(value.max)} s`
      : `${seconds(value.p50)}/${seconds(value.max)} s`;
const countCell = (value: Spread | undefined) => (value === undefined ? '—' : `${value.p50}/${value.max}`);
const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '—' : value.toFixed(digits));

function table(results: BatchResult[]): string[] {
  const rows: Array<[string, string[]]> = [];
  const row = (label: string, cell: (result: BatchResult) => string) => rows.push([label, results.map(cell)]);
  row('LoadTests settled (failed runs)', (r) => `${r.settled}/${r.n} (${r.failedRuns})`);
  row('kubectl apply of the batch', (r) => `${seconds(r.kubectlApplyMs)} s`);
  row('apply → runner pod created p50/p99/max', (r) => spreadCell(r.applyToPodCreatedMs));
  row('apply → executing p50/p99/max', (r) => spreadCell(r.applyToExecutingMs));
  if (simulate) row('apply → all runners started', (r) => `${seconds(r.applyToAllRunnersStartedMs)} s`);
  row('last runner ended → settled p50/max', (r) => spreadCell(r.lastRunnerEndedToSettledMs, false));
  row('CPU ms / LoadTest: worker', (r) => fixed(r.cpuMsPerLoadTest.worker));
  row('CPU ms / LoadTest: watcher', (r) => fixed(r.cpuMsPerLoadTest.watcher));
  row('CPU ms / LoadTest: Temporal server', (r) => fixed(r.cpuMsPerLoadTest.temporal));
  row('CPU ms / LoadTest: kube-apiserver', (r) => fixed(r.cpuMsPerLoadTest.apiserver));
  row('peak RSS MiB: worker', (r) => fixed(r.peakRssMiB.worker, 0));
  row('peak RSS MiB: watcher', (r) => fixed(r.peakRssMiB.watcher, 0));
  row('operator API requests / run: total', (r) => fixed(r.operatorRequestsPerLoadTestTotal, 2));
  const operatorKeys = [...new Set(results.flatMap((r) => Object.keys(r.operatorRequestsPerLoadTest)))].sort();
  for (const key of operatorKeys) row(`  ${key}`, (r) => fixed(r.operatorRequestsPerLoadTest[key] ?? 0, 2));
  row('apiserver requests / LoadTest (all clients)', (r) => fixed(r.apiserverRequestsPerLoadTestTotal, 1));
  const apiserverKeys = [...new Set(results.flatMap((r) => Object.keys(r.apiserverRequestsPerLoadTest ?? {})))]
    .filter((key) => results.some((r) => (r.apiserverRequestsPerLoadTest?.[key] ?? 0) >= 0.5))
    .sort();
  for (const key of apiserverKeys) row(`  ${key}`, (r) => fixed(r.apiserverRequestsPerLoadTest?.[key] ?? 0, 1));
  row('history events p50/max: LoadTest workflow', (r) => countCell(r.historyEvents.loadTestWorkflow));
  row('history events p50/max: run workflow', (r) => countCell(r.historyEvents.runWorkflow));
  row('largest payload in histories, bytes', (r) => String(r.largestPayloadBytes));
  row('any payload over 256 KB', (r) => (r.payloadOver256KiB ? 'YES' : 'no'));
  row('largest .status, bytes', (r) => String(r.largestStatusBytes));
  row('every target count exact', (r) => (r.exact ? 'yes' : 'NO'));
  row('load average (1 min) as the batch settled', (r) => fixed(r.loadAverage, 1));
  const labelWidth = Math.max(...rows.map(([label]) => label.length)) + 2;
  const widths = results.map((_, index) => Math.max(10, ...rows.map(([, cells]) => cells[index]!.length)) + 2);
  const line = (label: string, cells: string[]) =>
    `${label.padEnd(labelWidth)}${cells.map((cell, index) => cell.padStart(widths[index]!)).join('')}`;
  return [
    line(
      'N concurrent LoadTests',
      results.map((r) => String(r.n)),
    ),
    ...rows.map(([label, cells]) => line(label, cells)),
    ...results.map((r) => `N=${r.n} exactness: ${r.exactness}`),
  ];
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? commit : `${commit}+changes`;
  } catch {
    return 'unknown';
  }
}

const machine = {
  cores: cpus().length,
  ramGiB: Math.round((totalmem() / KIB ** 3) * 10) / 10,
  node: process.version,
  commit: gitCommit(),
};
const header =
  `operator cost at scale — ${machine.cores} cores, ${machine.ramGiB} GiB RAM, Node ${machine.node}, ` +
  `commit ${machine.commit}; N = ${batchSizes.join(', ')}; replicas ${replicas}, ` +
  `${repeat} requests per runner at ${rate}/s`;

const testbed = await benchTestbed();
const stamp = Date.now().toString(36);
const client = await temporalClient();
const results: BatchResult[] = [];
try {
  await ensureCrd();
  for (const n of batchSizes) {
    console.error(`bench:operator: N=${n}...`);
    results.push(await runBatch(n, stamp, client));
  }
  const lines = [
    header,
    ...(simulate ? ['SIMULATION: runners are stand-ins (bench/sim-node.ts); they send no requests'] : []),
    `apply = the bench's watch sees the LoadTest; times are observed by the bench's own watches (ms)`,
    ...table(results),
  ];
  if (options.json) {
    console.log(JSON.stringify({ header, machine, replicas, repeat, rate, simulate, results }, null, 2));
    console.error(lines.join('\n'));
  } else {
    console.log(lines.join('\n'));
  }
} finally {
  await client.connection.close();
  await testbed.release();
}
