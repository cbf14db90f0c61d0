/**
 * `npm run test:faults`: LoadTests on the test bed while something dies at a random moment (seeded; the seed is
 * printed, FAULT_SEED=<n> repeats it). Per fault it counts wrong outcomes, duplicate runner pods, orphan pods
 * (left after the LoadTest is deleted), and requests lost or counted twice (the target's count against
 * `.status.results`), and times recovery: how long after the fault was over (and the runners had ended) the run
 * settled. Prints one table and fails on any non-zero cell of the first four columns. Not part of `npm test`
 * (it takes about 10 minutes); README "Faults".
 */
import { strict as assert } from 'node:assert';
import { GENERATION_LABEL, LOADTEST_UID_LABEL } from '../../src/k8s/labels.js';
import { loadTestWorkflowId } from '../../src/loadtest/workflow-id.js';
import { requestRestart } from '../testbed/control.js';
import { defaultStateDir } from '../testbed/state.js';
import {
  apply,
  CountingServer,
  eventually,
  getJson,
  kubectl,
  loadTestManifest,
  temporalClient,
} from '../operator/cluster.js';
import { operatorSuite, type OperatorSuite } from '../operator/suite.js';
import { seededRandom } from '../runner/samples.js';

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REPLICAS = 2;
const RUNNER_LABEL = 'app.kubernetes.io/component=runner';

interface LoadTestJson {
  metadata: { uid: string; generation: number };
  status?: {
    state?: string;
    message?: string;
    observedGeneration?: number;
    completionTime?: string;
    results?: { requests: number };
  };
}

interface PodJson {
  metadata: { name: string; labels?: Record<string, string> };
  status: { phase?: string; containerStatuses?: Array<{ state?: { terminated?: { finishedAt?: string } } }> };
}

/** One LoadTest of a fault's runs: its namespace, its target, and (for an edit) the target its new spec names. */
interface Subject {
  ns: string;
  name: string;
  uid: string;
  target: CountingServer;
  editedTarget?: CountingServer;
}

/** What a run should end as, given its fault. */
type Expected = 'finished' | 'runner-lost' | 'new-generation' | 'deleted';

interface Fault {
  name: string;
  runs: number;
  expected: Expected;
  /** Injects the fault; resolves with the time (epoch ms) it was over: the component back, the edit applied. */
  inject: (subjects: Subject[], suite: OperatorSuite) => Promise<number>;
}

interface Row {
  fault: string;
  runs: number;
  wrong: number;
  duplicates: number;
  orphans: number;
  miscounted: number;
  recoveryMs: number[];
  notes: string[];
}

const restart = async (component: string) => {
  const answer = await requestRestart(defaultStateDir(), component);
  if (!answer.ok) throw new Error(answer.message);
  return Date.now();
};

const FAULTS: Fault[] = [
  {
    name: 'worker SIGKILL',
    runs: 3,
    expected: 'finished',
    inject: async (_subjects, { operator }) => {
      await operator.killWorker();
      operator.startWorker();
      return Date.now();
    },
  },
  {
    name: 'watcher SIGKILL',
    runs: 2,
    expected: 'finished',
    inject: async (_subjects, { operator }) => {
      await operator.killWatcher();
      operator.startWatcher();
      return Date.now();
    },
  },
  {
    name: 'worker and watcher SIGKILL',
    runs: 2,
    expected: 'finished',
    inject: async (_subjects, { operator }) => {
      await Promise.all([operator.killWorker(), operator.killWatcher()]);
      operator.start();
      return Date.now();
    },
  },
  { name: 'Temporal server restart', runs: 2, expected: 'finished', inject: () => restart('temporal') },
  { name: 'kube-apiserver restart', runs: 2, expected: 'finished', inject: () => restart('kube-apiserver') },
  { name: 'kubelet restart', runs: 2, expected: 'finished', inject: () => restart('kubelet') },
  {
    name: 'runner pod deleted',
    runs: 2,
    expected: 'runner-lost',
    inject: async (subjects) => {
      for (const subject of subjects) {
        const pod = await eventually(
          async () => (await runnerPods(subject)).find((p) => p.status.phase === 'Running'),
          120_000,
          `a running runner of ${subject.name}`,
        );
        await kubectl(['delete', 'pod', pod.metadata.name, '-n', subject.ns, '--wait=false']);
      }
      return Date.now();
    },
  },
  {
    name: 'LoadTest edited',
    runs: 3,
    expected: 'new-generation',
    inject: async (subjects) => {
      for (const subject of subjects) {
        const patch = JSON.stringify({ spec: { test: { serviceName: 'edited' } } });
        await kubectl(['patch', 'loadtest', subject.name, '-n', subject.ns, '--type=merge', '-p', patch]);
      }
      return Date.now();
    },
  },
  {
    name: 'LoadTest deleted',
    runs: 3,
    expected: 'deleted',
    inject: async (subjects) => {
      for (const subject of subjects) {
        await kubectl(['delete', 'loadtest', subject.name, '-n', subject.ns, '--wait=false']);
      }
      return Date.now();
    },
  },
];

async function runnerPods(subject: Subject, generation?: number): Promise<PodJson[]> {
  const pods = await getJson<{ items: PodJson[] }>(['get', 'pods', '-n', subject.ns, '-l', RUNNER_LABEL]);
  return pods.items.filter(
    (pod) =>
      pod.metadata.labels?.[LOADTEST_UID_LABEL] === subject.uid &&
      (generation === undefined || pod.metadata.labels?.[GENERATION_LABEL] === String(generation)),
  );
}

async function loadTestOf(subject: Subject): Promise<LoadTestJson | undefined> {
  try {
    return await getJson<LoadTestJson>(['get', 'loadtest', subject.name, '-n', subject.ns]);
  } catch (error) {
    if (String(error).includes('NotFound')) return undefined;
    throw error;
  }
}

/** When the last runner of `generation` ended (epoch ms), from the pods' termination times. */
function lastRunnerEnded(pods: PodJson[]): number | undefined {
  const ends = pods.flatMap((pod) =>
    (pod.status.containerStatuses ?? []).map((status) => Date.parse(status.state?.terminated?.finishedAt ?? '')),
  );
  return ends.length === 0 || ends.some(Number.isNaN) ? undefined : Math.max(...ends);
}

describe(`fault suite (seed ${SEED})`, function () {
  this.timeout(30 * 60_000);
  const suite = operatorSuite('faults');
  // Seeded, so a failing sequence of fault moments can be replayed.
  const random = seededRandom(SEED);
  const rows: Row[] = [];

  after(() => {
    console.log(`\nfault suite, seed ${SEED} (FAULT_SEED=${SEED} npm run test:faults repeats it)\n`);
    console.log(table(rows));
  });

  for (const fault of FAULTS) {
    it(`${fault.name}: ${fault.runs} runs end as they should, with exact counts and no duplicate or orphan pod`, async () => {
      suite.operator.ensureStarted();
      const subjects: Subject[] = [];
      for (let i = 0; i < fault.runs; i++) {
        const ns = await suite.namespace();
        const target = await suite.serve(ns);
        let editedTarget: CountingServer | undefined;
        if (fault.expected === 'new-generation') {
          editedTarget = new CountingServer();
          await editedTarget.expose(ns, 'edited');
        }
        subjects.push({ ns, name: `run-${i}`, uid: '', target, editedTarget });
      }
      try {
        await runFault(fault, subjects);
      } finally {
        for (const subject of subjects) await subject.editedTarget?.close();
      }
    });
  }

  async function runFault(fault: Fault, subjects: Subject[]): Promise<void> {
    const spec = { replicas: REPLICAS, cleanup: 'keep', test: { serviceName: 'target', rate: 25, duration: '8s' } };
    await Promise.all(subjects.map((s) => apply(loadTestManifest(s.ns, s.name, spec))));
    const appliedAt = Date.now();
    for (const subject of subjects) subject.uid = (await loadTestOf(subject))!.metadata.uid;
    // Anywhere from pending (runners being created) to the last seconds of sending.
    const delayMs = Math.round(1000 + random() * 9000);
    await new Promise((resolve) => setTimeout(resolve, appliedAt + delayMs - Date.now()));
    const overAt = await fault.inject(subjects, suite);

    const row: Row = {
      fault: fault.name,
      runs: subjects.length,
      wrong: 0,
      duplicates: 0,
      orphans: 0,
      miscounted: 0,
      recoveryMs: [],
      notes: [`fault ${delayMs} ms after apply`],
    };
    rows.push(row);
    await Promise.all(subjects.map((subject) => judge(fault.expected, subject, overAt, row)));
    // Every LoadTest goes, and its runners with it: what is left a minute later is an orphan.
    for (const subject of subjects)
      await kubectl(['delete', 'loadtest', subject.name, '-n', subject.ns, '--ignore-not-found']);
    for (const subject of subjects) {
      const left = await eventually(
        async () => {
          const pods = await runnerPods(subject);
          return pods.length === 0 || Date.now() - overAt > 120_000 ? pods : undefined;
        },
        150_000,
        `${subject.name}'s runners gone`,
      ).catch(() => [] as PodJson[]);
      row.orphans += left.length;
    }
    assert.deepEqual(
      { wrong: row.wrong, duplicates: row.duplicates, orphans: row.orphans, miscounted: row.miscounted },
      { wrong: 0, duplicates: 0, orphans: 0, miscounted: 0 },
      `${fault.name}: ${row.notes.join('; ')}`,
    );
  }

  async function judge(expected: Expected, subject: Subject, overAt: number, row: Row): Promise<void> {
    const note = (what: string) => row.notes.push(`${subject.ns}/${subject.name}: ${what}`);
    if (expected === 'deleted') {
      const workflow = (await temporalClient()).workflow.getHandle(
        loadTestWorkflowId({ namespace: subject.ns, name: subject.name, uid: subject.uid }),
      );
      const closed = await eventually(
        async () => {
          const status = (await workflow.describe()).status.name;
          return status === 'RUNNING' ? undefined : status;
        },
        120_000,
        `${subject.name}'s workflow completed`,
      ).catch(() => 'RUNNING');
      if (closed !== 'COMPLETED') {
        row.wrong++;
        note(`workflow ${closed} after the delete`);
      }
      const gone = await eventually(
        async () => ((await runnerPods(subject)).length === 0 ? Date.now() : undefined),
        120_000,
        'runners gone',
      ).catch(() => undefined);
      if (gone !== undefined) row.recoveryMs.push(gone - overAt);
      return;
    }
    const generation = expected === 'new-generation' ? 2 : 1;
    const settled = await eventually(
      async () => {
        const object = await loadTestOf(subject);
        const status = object?.status;
        const done = status?.state === 'finished' || status?.state === 'failed';
        return done && (status?.observedGeneration ?? 0) >= generation ? object : undefined;
      },
      240_000,
      `${subject.name} settled`,
    ).catch(() => undefined);
    if (settled === undefined) {
      row.wrong++;
      note(`did not settle at generation ${generation}`);
      return;
    }
    const { status } = settled;
    const wanted = expected === 'runner-lost' ? 'failed' : 'finished';
    if (status?.state !== wanted || (expected === 'runner-lost' && !/runner /.test(status.message ?? ''))) {
      row.wrong++;
      note(`${status?.state}: ${status?.message}`);
    }
    const pods = await runnerPods(subject, generation);
    if (pods.length > REPLICAS) {
      row.duplicates += pods.length - REPLICAS;
      note(`${pods.length} runner pods for ${REPLICAS} replicas`);
    }
    if (status?.state === 'finished') {
      const target = expected === 'new-generation' ? subject.editedTarget! : subject.target;
      const counted = status.results?.requests ?? -1;
      if (counted !== target.requests) {
        row.miscounted += Math.abs(counted - target.requests);
        note(`.status.results says ${counted} requests, the target counted ${target.requests}`);
      }
      const ended = lastRunnerEnded(pods);
      if (ended !== undefined && status.completionTime !== undefined) {
        row.recoveryMs.push(Math.max(0, Date.parse(status.completionTime) - Math.max(ended, overAt)));
      }
    }
  }
});

function table(rows: Row[]): string {
  const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  const header = [
    'fault',
    'runs',
    'wrong outcomes',
    'duplicate pods',
    'orphan pods',
    'lost/double requests',
    'recovery p50',
    'recovery max',
  ];
  const lines = rows.map((row) => {
    const sorted = [...row.recoveryMs].sort((a, b) => a - b);
    return [
      row.fault,
      String(row.runs),
      String(row.wrong),
      String(row.duplicates),
      String(row.orphans),
      String(row.miscounted),
      seconds(sorted[Math.floor((sorted.length - 1) / 2)]),
      seconds(sorted.at(-1)),
    ];
  });
  const widths = header.map((cell, i) => Math.max(cell.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}
