/**
 * The kubectl-plugin conventions without any server: what list and status print from `.status` (table, -o wide,
 * -o name, -o yaml), the completion script (run by a real bash), and plain progress lines under TERM=dumb.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { LoadTestSnapshot } from '../../src/client/run.js';
import { liveDisplay } from '../../src/cli/display.js';
import {
  formatData,
  formatKubernetesList,
  formatKubernetesStatus,
  resourceName,
  rowOf,
  settledState,
} from '../../src/cli/from-kubernetes.js';
import type { LoadTestObject } from '../../src/k8s/index.js';
import { sampleResults } from '../workflows/fake-backend.js';
import { runCli } from './cli-process.js';

const run = promisify(execFile);

function loadTest(name: string, status: LoadTestObject['status'], generation = 1): LoadTestObject {
  return {
    apiVersion: 'example.org/v1',
    kind: 'LoadTest',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      generation,
      creationTimestamp: new Date(Date.now() - 90_000),
    },
    spec: { replicas: 1000 },
    status,
  };
}

describe('CLI as a kubectl plugin (no server)', function () {
  this.timeout(60_000);

  it('lists LoadTests from .status with runner counts, not names, and more columns with -o wide', () => {
    const children = Array.from({ length: 1000 }, (_, index) => `big-g1-${index}`);
    const rows = [
      loadTest('big', { state: 'executing', observedGeneration: 1, children, runners: '1000/1000' }),
      loadTest('done', { state: 'finished', observedGeneration: 1, runners: '2/2', rps: '812', p99: '4ms' }),
    ].map(rowOf);

    const table = formatKubernetesList(rows, new Date(), false).split('\n');
    const wide = formatKubernetesList(rows, new Date(), true).split('\n');

    assert.match(table[0]!, /^NAMESPACE +NAME +STATE +GENERATION +RUNNERS +SCHEDULE +LAST +AGE$/);
    assert.match(table[1]!, /^shop +big +executing +1 +1000\/1000 +- +- +9\ds$/);
    assert.ok(table[1]!.length < 80, table[1]);
    assert.match(wide[2]!, /^shop +done +finished +1 +2\/2 +- +- +9\ds +812 +4ms$/);
  });

  it('prints -o name as kubectl does, and -o yaml that parses back', () => {
    const row = rowOf(loadTest('done', { state: 'finished', observedGeneration: 1 }));
    assert.equal(resourceName(row.ref.name), 'loadtest.example.org/done');
    assert.deepEqual(parse(formatData([row], 'yaml')), JSON.parse(formatData([row], 'json')));
  });

  it('shows status from Kubernetes with results, thresholds and where it came from', () => {
    const status = formatKubernetesStatus(
      rowOf(
        loadTest('done', {
          state: 'failed',
          observedGeneration: 1,
          runners: '2/2',
          message: 'threshold breached',
          results: sampleResults({ rps: 50 }),
          thresholds: [{ threshold: 'p99 < 1ms', actual: 4, passed: false }],
        }),
      ),
    );
    assert.match(status, /^State {7}failed: threshold breached$/m);
    assert.match(status, /^Runners {5}2\/2$/m);
    assert.match(status, /^Thresholds {2}BREACHED {2}p99 < 1ms \(actual 4\)$/m);
    assert.match(status, /^Source {6}Kubernetes \.status/m);
  });

  it('shows the schedule from the spec and the run history from .status, in list and status', () => {
    const now = new Date();
    const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
    const object: LoadTestObject = {
      ...loadTest('nightly', {
        state: 'finished',
        observedGeneration: 1,
        lastScheduleTime: minutesAgo(3),
        history: [
          {
            workflowId: 'loadtest/shop/nightly/uid-nightly-2026-01-01T00:00:00Z',
            trigger: 'schedule',
            generation: 1,
            startTime: minutesAgo(3),
            completionTime: minutesAgo(2),
            state: 'failed',
            message: 'the target did not answer',
          },
        ],
      }),
      spec: { replicas: 1, schedule: '@daily', suspend: true, concurrencyPolicy: 'Replace' },
    };

    const list = formatKubernetesList([rowOf(object)], now, false).split('\n');
    const status = formatKubernetesStatus(rowOf(object), now);

    assert.match(list[1]!, /^shop +nightly +finished +1 +@daily \(suspended\) +failed 2m ago +9\ds$/);
    assert.match(status, /^Schedule {4}@daily \(Replace\), suspended, last 3m ago \(.+Z\)$/m);
    assert.match(status, /^RUN +TRIGGER +STARTED +TOOK +VERDICT +REQUESTS +RPS +P99 +MESSAGE$/m);
    assert.match(
      status,
      /^2026-01-01T00:00:00Z +schedule +3m ago +1m00s +failed +- +- +- +the target did not answer$/m,
    );
  });

  it('shows a LoadTest whose .status has no history, or malformed records, without a crash', () => {
    const broken = {
      state: 'failed',
      history: [{ state: 'exploded', message: 42 }],
    } as unknown as LoadTestObject['status'];
    const row = rowOf(loadTest('odd', broken));

    assert.match(formatKubernetesList([row], new Date(), false).split('\n')[1]!, /^shop +odd +failed +- +- +9\ds$/);
    assert.match(formatKubernetesStatus(row), /^- +- +- +- +exploded +- +- +-$/m);
  });

  it('counts a run as settled only once .status describes the generation asked for', () => {
    const object = loadTest('x', { state: 'finished', observedGeneration: 1 }, 2);
    assert.equal(settledState(object), undefined);
    assert.equal(settledState(object, 1), 'finished');
  });

  it('prints plain key=value lines, not cursor movements, on a terminal with TERM=dumb', () => {
    let written = '';
    const stream = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          written += chunk.toString();
          done();
        },
      }),
      { isTTY: true },
    );
    const snapshot: LoadTestSnapshot = {
      at: new Date(),
      execution: 'RUNNING',
      runStartTime: new Date(),
      state: 'executing',
      generation: 1,
      settled: false,
    };
    const display = liveDisplay(stream, { namespace: 'shop', name: 'x', uid: 'u' }, { TERM: 'dumb' });
    display.update(snapshot);
    display.finish();
    assert.match(written, /^time=\S+ loadtest=shop\/x generation=1 state=executing/);
    assert.ok(!written.includes('\u001b'), JSON.stringify(written));
  });

  describe('completion', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'loadtest-completion-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('generates a bash script that completes commands, options and -o values', async () => {
      const result = await runCli(['completion', 'bash']);
      assert.equal(result.code, 0, result.stderr);
      const script = join(dir, 'completion.bash');
      await writeFile(script, result.stdout);
      const complete = async (...words: string[]) => {
        const line = [
          `source ${script}`,
          `COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')})`,
          `COMP_CWORD=${words.length - 1}`,
          '_loadtest_operator_complete',
          'echo "${COMPREPLY[@]}"',
        ].join('; ');
        return (await run('bash', ['-c', line])).stdout.trim();
      };
      assert.equal(await complete('kubectl-loadtest', 'ca'), 'cancel');
      assert.equal(await complete('kubectl-loadtest', 'list', '-o', ''), 'text wide json yaml name');
      assert.equal(await complete('kubectl-loadtest', 'status', 'x', '--kubec'), '--kubeconfig');
      assert.equal(await complete('kubectl-loadtest', 'completion', ''), 'bash zsh');
    });

    it('generates a zsh script through bashcompinit', async () => {
      const result = await runCli(['completion', 'zsh']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^#compdef loadtest-operator kubectl-loadtest\n/);
      assert.match(result.stdout, /bashcompinit/);
      assert.match(result.stdout, /complete -F _loadtest_operator_complete loadtest-operator kubectl-loadtest/);
    });
  });
});
