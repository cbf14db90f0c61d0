/**
 * What the LoadTest CRD lets into a cluster: every row of spec-cases.ts applied with a server-side dry run, each
 * invalid one rejected with a message naming the problem (test/loadtest/spec-cases.test.ts runs the same rows
 * through the zod schema). A misspelled field is rejected, not silently dropped, whether the user applies with
 * kubectl (strict field validation, its default) or with `loadtest-operator run` (the zod schema first, and the
 * server-side apply behind it).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIELD_MANAGER } from '../../src/cli/kubernetes.js';
import { createKubernetes, describeApiError, loadKubeConfig } from '../../src/k8s/index.js';
import { runCli } from '../cli/cli-process.js';
import { ensureCrd } from '../operator/cluster.js';
import type { RunRecord } from '../../src/loadtest/run-history.js';
import { createNamespace, getJson, kubectl, kubectlOk } from '../support/kubectl.js';
import { SPEC_CASES } from './spec-cases.js';

function manifest(name: string, namespace: string, spec: unknown): string {
  return JSON.stringify({ apiVersion: 'example.org/v1', kind: 'LoadTest', metadata: { name, namespace }, spec });
}

/** A spec that would run 3 requests per runner, but for the misspelling. */
const MISSPELLED = { replicas: 1, test: { serviceName: 'checkout', repaet: 3 } };

describe('the LoadTest CRD', function () {
  let namespace: string;

  before(async () => {
    await ensureCrd();
    namespace = await createNamespace('crd');
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  describe('kubectl apply --dry-run=server', () => {
    for (const [index, { name, spec, valid, messageIncludes }] of SPEC_CASES.entries()) {
      it(`${valid ? 'accepts' : 'rejects'} ${name}`, async () => {
        const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], {
          input: manifest(`case-${index}`, namespace, spec),
        });

        if (valid) {
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stdout, /loadtest\.example\.org\/case-\d+ created \(server dry run\)/);
          return;
        }
        assert.notEqual(result.code, 0, `accepted: ${result.stdout}`);
        for (const text of messageIncludes) {
          assert.ok(
            result.stderr.toLowerCase().includes(text.toLowerCase()),
            `"${result.stderr}" does not name "${text}"`,
          );
        }
      });
    }
  });

  it('drops fields given as null and fills in their defaults', async () => {
    const result = await kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], {
      input: manifest('nulls', namespace, { replicas: 1, test: { serviceName: 'checkout', port: null, path: null } }),
    });

    assert.equal(result.code, 0, result.stderr);
    const { spec } = JSON.parse(result.stdout) as { spec: unknown };
    assert.deepEqual(spec, {
      replicas: 1,
      test: { serviceName: 'checkout', method: 'GET', port: 80, path: '/' },
      onRunnerFailure: 'fail',
    });
  });

  describe('a scheduled LoadTest stored with its run history', () => {
    /** Every field of a RunRecord, as the workflow writes them into .status.history. */
    const record: RunRecord = {
      workflowId: 'loadtest/crd/scheduled/2026-12-01T03:00:00Z',
      trigger: 'schedule',
      generation: 1,
      scheduledTime: '2026-12-01T03:00:00Z',
      startTime: '2026-12-01T03:00:01Z',
      completionTime: '2026-12-01T03:00:11Z',
      state: 'finished',
      message: 'finished: 1000 requests, 100 rps, p99 12.5ms',
      requests: 1000,
      rps: 99.8,
      errorRate: 0.001,
      p99Ms: 12.5,
    };
    const status = {
      history: [record, { ...record, workflowId: 'loadtest/crd/scheduled/g1', trigger: 'apply', state: 'cancelled' }],
      lastScheduleTime: '2026-12-01T03:00:00Z',
      nextScheduleTime: '2026-12-02T03:00:00Z',
    };
    const patchStatus = (patch: unknown) =>
      kubectl([
        ...['patch', 'ld', 'scheduled', '-n', namespace, '--subresource=status', '--type=merge'],
        ...['-p', JSON.stringify({ status: patch })],
      ]);

    before(async () => {
      await kubectlOk(['apply', '-f', '-'], {
        input: manifest('scheduled', namespace, {
          replicas: 1,
          test: { serviceName: 'checkout', duration: '10s' },
          schedule: '0 3 * * MON-FRI',
          concurrencyPolicy: 'Replace',
          historyLimit: 5,
        }),
      });
    });

    it('keeps .status.history, lastScheduleTime and nextScheduleTime as the workflow writes them', async () => {
      const patched = await patchStatus(status);

      assert.equal(patched.code, 0, patched.stderr);
      const stored = await getJson<{ status: typeof status }>('ld/scheduled', namespace);
      assert.deepEqual(stored.status, status);
    });

    it('refuses a history record with a state other than finished, failed or cancelled', async () => {
      const patched = await patchStatus({ history: [{ ...record, state: 'running' }] });

      assert.notEqual(patched.code, 0, patched.stdout);
      assert.match(patched.stderr, /status\.history\[0\]\.state: Unsupported value: "running"/);
    });

    it('shows Schedule and Next only with -o wide, after the existing columns', async () => {
      await patchStatus(status);

      const table = await kubectlOk(['get', 'ld', 'scheduled', '-n', namespace]);
      const wide = await kubectlOk(['get', 'ld', 'scheduled', '-n', namespace, '-o', 'wide']);

      assert.match(table, /^NAME\s+STATE\s+RUNNERS\s+REQUESTS\/S\s+P99\s+AGE\n/);
      assert.match(wide, /^NAME\s+STATE\s+RUNNERS\s+REQUESTS\/S\s+P99\s+AGE\s+MESSAGE\s+SCHEDULE\s+NEXT\n/);
      assert.match(wide, /\s0 3 \* \* MON-FRI\s+2026-12-02T03:00:00Z\n$/);
    });
  });

  describe('a misspelled field (spec.test.repaet)', () => {
    it('is rejected by kubectl apply --server-side too, naming the field', async () => {
      const result = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], {
        input: manifest('misspelled', namespace, MISSPELLED),
      });

      assert.notEqual(result.code, 0, `accepted: ${result.stdout}`);
      assert.match(result.stderr, /repaet/);
    });

    it('is rejected by the server-side apply `run` uses, naming the field, and nothing is created', async () => {
      const { loadTests } = createKubernetes(loadKubeConfig(process.env.KUBECONFIG));

      const error = await loadTests.apply({ namespace, name: 'misspelled', spec: MISSPELLED }, FIELD_MANAGER).then(
        () => undefined,
        (rejected: unknown) => rejected,
      );

      // Server-side apply refuses fields its schema does not declare, whatever the field validation asked for.
      assert.ok(error !== undefined, 'the API server accepted the misspelled field');
      assert.match(describeApiError(error), /\.spec\.test\.repaet: field not declared in schema/);
      assert.equal(await loadTests.get(namespace, 'misspelled'), undefined);
    });

    it('makes `run FILE` exit 2 with one line naming it', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'loadtest-crd-'));
      try {
        const file = join(dir, 'misspelled.yaml');
        await writeFile(file, manifest('misspelled', namespace, MISSPELLED));

        const result = await runCli(['run', file]);

        assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
        assert.match(result.stderr, /^error: .*spec\.test: unknown field "repaet"\n$/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('an empty file', () => {
    let dir: string;
    let file: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'loadtest-crd-'));
      file = join(dir, 'empty.yaml');
      await writeFile(file, '');
    });

    after(() => rm(dir, { recursive: true, force: true }));

    it('is refused by kubectl apply', async () => {
      const result = await kubectl(['apply', '--dry-run=server', '-f', file]);

      assert.notEqual(result.code, 0, result.stdout);
      assert.match(result.stderr, /no objects passed to apply/);
    });

    it('makes `run FILE` exit 2 saying it holds no LoadTest', async () => {
      const result = await runCli(['run', file]);

      assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
      assert.equal(result.stderr, `error: ${file}: expected a LoadTest (apiVersion example.org/v1), found nothing\n`);
      assert.equal(result.stdout, '');
    });
  });
});
