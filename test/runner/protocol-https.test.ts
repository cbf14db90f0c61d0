/** https:// targets go through undici; the fast path does not speak TLS. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRun } from '../../src/runner/plan.js';
import { runRunner } from '../../src/runner/run.js';
import { requireTool } from '../support/tools.js';

describe('runner against an https server', function () {
  let directory: string;
  let server: https.Server;
  let origin: string;

  before(async () => {
    // Without openssl this fails, naming the script that installs it.
    const openssl = requireTool('openssl');
    directory = await mkdtemp(join(tmpdir(), 'runner-tls-'));
    const [key, cert] = [join(directory, 'key.pem'), join(directory, 'cert.pem')];
    execFileSync(
      openssl,
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
        ...['-keyout', key, '-out', cert],
      ],
      { stdio: 'ignore' },
    );
    server = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (_, response) =>
      response.end('secure'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it('chooses undici for https:// and the socket fast path for http://', () => {
    assert.equal(planRun({ url: 'https://example.org/', method: 'GET' }).transport, 'undici');
    assert.equal(planRun({ url: 'http://example.org/', method: 'GET' }).transport, 'socket');
    assert.throws(() => planRun({ url: 'https://example.org/', method: 'GET', transport: 'socket' }), /plain http/);
  });

  it('completes requests to a self-signed server with --insecure', async () => {
    const { summary } = await runRunner({
      url: `${origin}/`,
      method: 'GET',
      requests: 20,
      connections: 2,
      insecure: true,
    });
    assert.deepEqual(summary.status, { '200': 20 });
  });

  it('counts certificate errors as failed requests without --insecure', async () => {
    const { summary, exitCode } = await runRunner({ url: `${origin}/`, method: 'GET', requests: 3 });
    assert.equal(summary.completed, 0);
    assert.deepEqual(summary.errors, { other: 3 });
    assert.equal(exitCode, 1);
  });
});
