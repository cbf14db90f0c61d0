/**
 * Bad input in a LoadTest file, as `run FILE` answers it before anything runs (issue 16): the one line a user
 * sees, word for word, and exit code 2, in local mode and in cluster mode alike (the zod schema answers before
 * any connection, so no cluster is needed here). What `kubectl apply` says of the same input is in
 * test/crds/bad-inputs.integration.test.ts and test/crds/spec-cases.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli-process.js';

/** A LoadTest manifest (JSON is YAML) of one runner over a local url with these `test` fields. */
const manifest = (test: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'example.org/v1',
    kind: 'LoadTest',
    metadata: { name: 'bad' },
    spec: { replicas: 1, test: { url: 'http://127.0.0.1:9/', repeat: 1, ...test } },
  });

const FIVE_MB = 5 * 1024 * 1024;

const CASES: Array<[string, Record<string, unknown>, string]> = [
  [
    'a 5 MB body',
    { method: 'POST', body: 'b'.repeat(FIVE_MB) },
    'spec.test.body: body must be at most 65536 characters',
  ],
  [
    'duplicate header names differing only in case',
    { headers: { 'X-Token': 'a', 'x-token': 'b' } },
    'spec.test.headers: header names are case-insensitive: set each header once (not both "X-Token" and "x-token"): ' +
      '"X-Token" and "x-token"',
  ],
  [
    'a header value with CR LF',
    { headers: { 'X-Token': 'a\r\nX-Admin: 1' } },
    'spec.test.headers: header values must be printable Latin-1 text: no CR, LF or other control characters ' +
      '(they would split the request): "X-Token"',
  ],
  [
    'a url with credentials',
    { url: 'http://user:pass@127.0.0.1:9/' },
    'spec.test.url: a url may not hold credentials (user:password@): send them in a header, from a Secret with ' +
      'test.headersFrom',
  ],
  [
    'a body on GET, the default method',
    { body: '{"q":1}' },
    'spec.test.body: test.body needs a method that sends one: set test.method to POST, PUT, PATCH or DELETE ' +
      '(GET, the default, and HEAD send no body)',
  ],
  [
    'a duration of 0',
    { repeat: undefined, duration: '0s' },
    'spec.test.duration: test.duration must be greater than 0',
  ],
];

describe('run FILE with bad input: one line, word for word, exit 2', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-bad-inputs-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [index, [what, test, message]] of CASES.entries()) {
    for (const mode of ['--local', 'cluster'] as const) {
      it(`${what} (${mode === '--local' ? 'run --local' : 'run, in a cluster'})`, async () => {
        const file = join(dir, `case-${index}.yaml`);
        await writeFile(file, manifest(test));

        const result = await runCli(
          mode === '--local' ? ['run', file, '--local'] : ['run', file],
          // Nowhere to connect to: the answer must come before any connection.
          { KUBECONFIG: join(dir, 'no-kubeconfig'), KUBERNETES_SERVICE_HOST: undefined },
        );

        assert.equal(result.code, 2, result.stderr.slice(0, 500));
        assert.equal(result.stderr, `error: ${file}: invalid LoadTest "bad": ${message}\n`);
        assert.equal(result.stdout, '');
      });
    }
  }
});
