/**
 * Headers and bodies from Secrets (spec.test.headersFrom, bodyFrom): the runner pod names the Secret keys in its
 * environment and the variables in its args, the real runner reads the values from that environment and sends them,
 * and local mode refuses such a test with a message that names the way out.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runnerPodManifest } from '../../activities/kubernetes/runner-pods.js';
import { loadTestDetails } from '../../src/loadtest/describe.js';
import { validateLoadTestSpec, type LoadTestSpec } from '../../src/loadtest/spec.js';
import { runRunnerCommand } from '../../src/runner/cli.js';
import { runnerArgs, runnerOptionsFromSpec } from '../../src/runner/contract.js';
import { CONTROL_TOKEN_ENV } from '../../src/runner/control-api.js';
import { runCli } from '../cli/cli-process.js';

const TOKEN = 'Bearer s3cr3t-token-1f2e';
const PAYLOAD = '{"card":"4111 1111 1111 1111"}\n';
const MIX_TOKEN = 'mix-token-77';

function specOf(test: Record<string, unknown>): LoadTestSpec {
  const { spec, problems } = validateLoadTestSpec({ replicas: 1, test });
  assert.deepEqual(problems, []);
  return spec!;
}

const secretTest = (url: string) =>
  specOf({
    url,
    method: 'POST',
    repeat: 2,
    headers: { accept: 'application/json' },
    headersFrom: [{ name: 'Authorization', secretKeyRef: { name: 'api-token', key: 'header' } }],
    bodyFrom: { secretKeyRef: { name: 'payloads', key: 'checkout.json' } },
  });

const secretMix = (url: string) =>
  specOf({
    url,
    repeat: 1,
    headers: { 'X-Token': 'placeholder' },
    requests: [
      {
        name: 'pay',
        method: 'POST',
        path: '/pay',
        weight: 1,
        headersFrom: [{ name: 'X-Token', secretKeyRef: { name: 'mix', key: 'token' } }],
        bodyFrom: { secretKeyRef: { name: 'mix', key: 'body' } },
      },
    ],
  });

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('headers and bodies from Secrets', () => {
  let server: http.Server;
  let url: string;
  let seen: Seen[];

  before(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push({ path: request.url ?? '', headers: request.headers, body });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  beforeEach(() => (seen = []));
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("gives the runner pod each Secret key as an env var's secretKeyRef, and its args only the variables' names", () => {
    const spec = secretTest('http://target.example/');
    spec.test.requests = secretMix('http://target.example/').test.requests;

    const pod = runnerPodManifest({
      loadTest: { namespace: 'shop', name: 'checkout', uid: 'u-1' },
      generation: 3,
      index: 0,
      spec,
      image: 'runner:1',
    });
    const container = pod.spec!.containers[0]!;

    assert.deepEqual(
      container.env!.filter((env) => env.name !== CONTROL_TOKEN_ENV),
      [
        { name: 'LOADTEST_HEADER_0', valueFrom: { secretKeyRef: { name: 'api-token', key: 'header' } } },
        { name: 'LOADTEST_BODY', valueFrom: { secretKeyRef: { name: 'payloads', key: 'checkout.json' } } },
        { name: 'LOADTEST_REQUEST_0_HEADER_0', valueFrom: { secretKeyRef: { name: 'mix', key: 'token' } } },
        { name: 'LOADTEST_REQUEST_0_BODY', valueFrom: { secretKeyRef: { name: 'mix', key: 'body' } } },
      ],
    );
    const args = container.args!;
    assert.equal(args[args.indexOf('--header-from-env') + 1], 'Authorization=LOADTEST_HEADER_0');
    assert.equal(args[args.indexOf('--body-from-env') + 1], 'LOADTEST_BODY');
    const mix = JSON.parse(args[args.indexOf('--request-mix') + 1]!) as unknown[];
    assert.deepEqual(mix, [
      {
        name: 'pay',
        method: 'POST',
        path: '/pay',
        weight: 1,
        headersFromEnv: { 'X-Token': 'LOADTEST_REQUEST_0_HEADER_0' },
        bodyFromEnv: 'LOADTEST_REQUEST_0_BODY',
      },
    ]);
    assert.ok(!args.includes('--body') && !args.some((arg) => /secretKeyRef|api-token/.test(arg)), args.join(' '));
  });

  it('sends the values the runner reads from its environment, exactly, as the pod args ask', async () => {
    const args = runnerArgs(runnerOptionsFromSpec(secretTest(url), 'shop')).slice(1);
    const stderr: string[] = [];

    const code = await runRunnerCommand(args, {
      stdout: () => undefined,
      stderr: (text) => stderr.push(text),
      // A Secret written from a file ends in a newline: the header drops it, the body keeps it.
      env: { LOADTEST_HEADER_0: `${TOKEN}\n`, LOADTEST_BODY: PAYLOAD },
    });

    assert.equal(code, 0, stderr.join(''));
    assert.equal(seen.length, 2);
    for (const request of seen) {
      assert.equal(request.headers.authorization, TOKEN);
      assert.equal(request.headers.accept, 'application/json');
      assert.equal(request.body, PAYLOAD);
    }
  });

  it("sends a mix request's header and body from the environment, over the test's inline header", async () => {
    const args = runnerArgs(runnerOptionsFromSpec(secretMix(url), 'shop')).slice(1);

    const code = await runRunnerCommand(args, {
      stdout: () => undefined,
      stderr: () => undefined,
      env: { LOADTEST_REQUEST_0_HEADER_0: MIX_TOKEN, LOADTEST_REQUEST_0_BODY: 'mix-body' },
    });

    assert.equal(code, 0);
    assert.deepEqual(
      seen.map(({ path, headers, body }) => [path, headers['x-token'], body]),
      [['/pay', MIX_TOKEN, 'mix-body']],
    );
  });

  it('exits 2 naming the missing variable, without sending', async () => {
    const args = runnerArgs(runnerOptionsFromSpec(secretTest(url), 'shop')).slice(1);
    const stderr: string[] = [];

    const code = await runRunnerCommand(args, {
      stdout: () => undefined,
      stderr: (text) => stderr.push(text),
      env: { LOADTEST_BODY: PAYLOAD },
    });

    assert.equal(code, 2);
    assert.equal(
      stderr.join(''),
      'error: header "Authorization" comes from the environment variable LOADTEST_HEADER_0, which is not set\n',
    );
    assert.equal(seen.length, 0);
  });

  it("describes where the values come from in the Web UI's details, never the values", () => {
    const details = loadTestDetails({ namespace: 'shop', name: 'checkout' }, secretTest(url));

    assert.match(
      details,
      /^- \*\*From Secrets:\*\* spec\.test\.headersFrom Authorization ← api-token\/header, spec\.test\.bodyFrom ← payloads\/checkout\.json$/m,
    );
  });

  it('local mode refuses a test that reads Secrets, naming each one and the alternatives (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secrets-local-'));
    try {
      const file = join(dir, 'loadtest.yaml');
      await writeFile(
        file,
        [
          'apiVersion: example.org/v1',
          'kind: LoadTest',
          'metadata: { name: checkout, namespace: shop }',
          'spec:',
          '  replicas: 1',
          '  test:',
          `    url: ${url}`,
          '    headersFrom: [{ name: Authorization, secretKeyRef: { name: api-token, key: header } }]',
          '',
        ].join('\n'),
      );

      const result = await runCli(['run', file, '--local']);

      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /local runners cannot read Kubernetes Secrets: spec\.test\.headersFrom Authorization \(Secret api-token, key header\)\. Run it in a cluster \(without --local\), or for a local run write the values into headers and body instead/,
      );
      assert.equal(seen.length, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
