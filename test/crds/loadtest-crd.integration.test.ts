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
import { createNamespace, kubectl } from '../support/kubectl.js';
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
