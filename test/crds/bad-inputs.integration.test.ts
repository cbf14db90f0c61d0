/**
 * Bad input the API server answers before the CRD's schema is consulted, with the words a user sees (issue 16):
 * a body so big the request itself is refused, and a LoadTest created in a namespace being deleted. The rows that
 * the CRD and the zod schema answer alike are in spec-cases.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/cli-process.js';
import { ensureCrd } from '../operator/cluster.js';
import { createNamespace, kubectl, kubectlOk } from '../support/kubectl.js';

function manifest(name: string, namespace: string, test: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'example.org/v1',
    kind: 'LoadTest',
    metadata: { name, namespace },
    spec: { replicas: 1, test: { url: 'http://shop.example/', ...test } },
  });
}

describe('bad input the API server refuses before validation', function () {
  this.timeout(120_000);
  let namespace: string;
  let dir: string;

  before(async () => {
    await ensureCrd();
    namespace = await createNamespace('crd-bad');
    dir = await mkdtemp(join(tmpdir(), 'loadtest-crd-bad-'));
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await rm(dir, { recursive: true, force: true });
  });

  describe('a 5 MB body', () => {
    const big = () => manifest('big', namespace, { method: 'POST', body: 'b'.repeat(5 * 1024 * 1024) });

    it('makes kubectl apply say only that the request is too large (the 3 MiB request limit, not the CRD)', async () => {
      const result = await kubectl(['apply', '-f', '-'], { input: big() });

      assert.notEqual(result.code, 0, result.stdout);
      assert.equal(
        result.stderr,
        'Error from server (RequestEntityTooLarge): error when creating "STDIN": Request entity too large: limit is 3145728\n',
      );
    });

    it('is named by `run FILE`, which validates before sending: spec.test.body, exit 2', async () => {
      const file = join(dir, 'big.yaml');
      await writeFile(file, big());

      const result = await runCli(['run', file]);

      assert.equal(result.code, 2, result.stderr.slice(0, 500));
      assert.equal(
        result.stderr,
        `error: ${file}: invalid LoadTest "big": spec.test.body: body must be at most 65536 characters\n`,
      );
    });

    it('a 300 kB body: kubectl apply names the body, and its own last-applied annotation', async () => {
      const result = await kubectl(['apply', '-f', '-'], {
        input: manifest('big', namespace, { method: 'POST', body: 'b'.repeat(300_000) }),
      });

      assert.notEqual(result.code, 0, result.stdout);
      assert.equal(
        result.stderr,
        [
          'The LoadTest "big" is invalid: ',
          '* metadata.annotations: Too long: may not be more than 262144 bytes',
          '* spec.test.body: Too long: may not be more than 65536 bytes',
          '* <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; ' +
            'correct the existing errors to complete validation',
          '',
        ].join('\n'),
      );
    });
  });

  describe('a LoadTest created in a namespace being deleted', () => {
    let terminating: string;

    before(async () => {
      // A finalizer on a ConfigMap holds the namespace in Terminating until the test lets it go.
      terminating = await createNamespace('crd-terminating');
      await kubectlOk(['create', 'configmap', 'hold', '-n', terminating]);
      await kubectlOk([
        ...['patch', 'configmap', 'hold', '-n', terminating, '--type=merge'],
        ...['-p', JSON.stringify({ metadata: { finalizers: ['example.org/hold'] } })],
      ]);
      await kubectlOk(['delete', 'namespace', terminating, '--wait=false']);
      await kubectlOk([
        ...['wait', `namespace/${terminating}`, '--for=jsonpath={.status.phase}=Terminating', '--timeout=60s'],
      ]);
    });

    after(async () => {
      await kubectl([
        ...['patch', 'configmap', 'hold', '-n', terminating, '--type=merge'],
        ...['-p', JSON.stringify({ metadata: { finalizers: null } })],
      ]);
    });

    it('is forbidden by the API server, saying the namespace is being terminated', async () => {
      const result = await kubectl(['apply', '-f', '-'], { input: manifest('late', terminating, {}) });

      assert.notEqual(result.code, 0, result.stdout);
      assert.equal(
        result.stderr,
        `Error from server (Forbidden): error when creating "STDIN": loadtests.example.org "late" is forbidden: ` +
          `unable to create new content in namespace ${terminating} because it is being terminated\n`,
      );
    });

    it('makes `run FILE` exit 2 (bad input, not "unreachable") with the same words in one line', async () => {
      const file = join(dir, 'late.yaml');
      await writeFile(file, manifest('late', terminating, {}));

      const result = await runCli(['run', file]);

      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `error: cannot apply LoadTest ${terminating}/late: loadtests.example.org "late" is forbidden: ` +
          `unable to create new content in namespace ${terminating} because it is being terminated\n`,
      );
    });
  });
});
