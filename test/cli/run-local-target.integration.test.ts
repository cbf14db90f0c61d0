/**
 * README: `run FILE --local --target URL` runs the same YAML with no Kubernetes. A manifest written for a cluster
 * (its target a Service) sends every request to --target: replicas × repeat of them, on the spec's path.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTargetServer, type TargetServer } from '../support/target-server.js';
import { runCli } from './cli-process.js';

const REPLICAS = 3;
const REPEAT = 7;

describe('loadtest-operator run --local --target', function () {
  this.timeout(120_000);
  let dir: string;
  let target: TargetServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-cli-target-'));
    target = await startTargetServer();
  });

  after(async () => {
    await target.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends replicas × repeat requests to the target in place of the Service, and exits 0', async () => {
    const namespace = `target-${randomUUID().slice(0, 8)}`;
    const file = join(dir, 'service.yaml');
    await writeFile(
      file,
      [
        'apiVersion: example.org/v1',
        'kind: LoadTest',
        'metadata:',
        '  name: checkout',
        `  namespace: ${namespace}`,
        'spec:',
        `  replicas: ${REPLICAS}`,
        '  test:',
        '    method: POST',
        '    serviceName: checkout',
        '    port: 8080',
        '    path: /api/cart?step=2',
        `    repeat: ${REPEAT}`,
        '',
      ].join('\n'),
    );

    const result = await runCli(['run', file, '--local', '--target', `http://127.0.0.1:${target.port}`]);

    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(target.requests.length, REPLICAS * REPEAT);
    for (const request of target.requests) assert.deepEqual(request, { method: 'POST', path: '/api/cart?step=2' });
    assert.match(result.stdout, new RegExp(`^Result {6}FINISHED: ${REPLICAS * REPEAT} requests, 0 errors`, 'm'));
  });
});
