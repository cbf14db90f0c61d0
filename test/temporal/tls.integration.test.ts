/**
 * A secured Temporal server: a real Temporal dev server behind a TLS terminator (node:tls, proxying bytes to it)
 * that requires a client certificate, as a self-hosted server with mTLS or Temporal Cloud does. The typed client,
 * a worker connection and the CLI reach it with the TEMPORAL_TLS_* variables (@temporalio/envconfig); without a
 * client certificate they cannot; a certificate path that does not exist is bad input in one line.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { LoadTestRuns } from '../../src/client/runs.js';
import { connectWorker } from '../../src/temporal/connection.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { runCli } from '../cli/cli-process.js';
import { makeCertificates } from './certificates.js';

describe('Temporal over TLS with a client certificate (mTLS)', function () {
  this.timeout(120_000);
  let dir: string;
  let temporal: DevServer;
  let terminator: Server;
  let address: string;
  /** Common names of the client certificates the terminator accepted. */
  const clients: string[] = [];
  let tlsEnv: Record<string, string>;

  before(async function () {
    this.timeout(120_000);
    dir = await mkdtemp(join(tmpdir(), 'loadtest-tls-'));
    const [server] = await Promise.all([
      startDevServer({ uiPort: false, logFile: join(dir, 'temporal.log') }),
      makeCertificates(dir),
    ]);
    temporal = server;
    const [host, port] = temporal.address.split(':') as [string, string];
    terminator = createServer(
      {
        key: await readFile(join(dir, 'server.key')),
        cert: await readFile(join(dir, 'server.crt')),
        ca: await readFile(join(dir, 'ca.crt')),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket: TLSSocket) => {
        clients.push(String(socket.getPeerCertificate().subject?.CN));
        const upstream = connect(Number(port), host);
        socket.pipe(upstream).pipe(socket);
        const close = () => {
          socket.destroy();
          upstream.destroy();
        };
        socket.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      },
    );
    await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(terminator.address() as AddressInfo).port}`;
    tlsEnv = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.crt'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.crt'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
    };
  });

  after(async () => {
    terminator?.close();
    await temporal?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `fn` with `env` set in this process (the typed client and the worker read it as the operator does). */
  async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    try {
      return await fn();
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }

  it('connects the typed client and a worker connection with the TEMPORAL_TLS_* settings', async () => {
    clients.length = 0;
    const rows = await withEnv(tlsEnv, async () => {
      const runs = await LoadTestRuns.connect();
      try {
        return await runs.list();
      } finally {
        await runs.close();
      }
    });
    const info = await withEnv(tlsEnv, async () => {
      const connection = await connectWorker({ address, namespace: 'default' });
      try {
        return await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
    });

    assert.deepEqual(rows, []);
    assert.ok(info.serverVersion, 'the server answered GetSystemInfo through the terminator');
    assert.ok(clients.length >= 2, `connections through the terminator: ${clients.length}`);
    assert.ok(
      clients.every((cn) => cn === 'loadtest-client'),
      clients.join(', '),
    );
  });

  it('runs the CLI against it, and without a client certificate cannot connect (exit 3)', async () => {
    const noKube = { KUBECONFIG: join(dir, 'no-kubeconfig'), KUBERNETES_SERVICE_HOST: undefined };
    const ok = await runCli(['list', '-A'], { ...tlsEnv, ...noKube });
    const withoutCert = await runCli(['list', '-A'], {
      ...tlsEnv,
      ...noKube,
      TEMPORAL_TLS_CLIENT_CERT_PATH: undefined,
      TEMPORAL_TLS_CLIENT_KEY_PATH: undefined,
    });

    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, 'No LoadTests found.\n');
    assert.equal(withoutCert.code, 3, withoutCert.stderr);
    assert.match(withoutCert.stderr, new RegExp(`^error: cannot reach Temporal at ${address} `));
  });

  it('says in one line that a certificate file does not exist, with exit code 2', async () => {
    const missing = join(dir, 'missing.crt');
    const result = await runCli(['list'], { ...tlsEnv, TEMPORAL_TLS_CLIENT_CERT_PATH: missing });

    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, `error: Temporal TLS settings: cannot read ${missing} (no such file)\n`);
  });
});
