/**
 * A Temporal server that takes API keys, as Temporal Cloud does: a real Temporal dev server behind an HTTP/2 TLS
 * gateway (node:http2) that lets a gRPC call through only with `authorization: Bearer <the key>` and answers any
 * other with gRPC status UNAUTHENTICATED, as an API gateway in front of Temporal would. The CLI reaches it with
 * TEMPORAL_API_KEY (@temporalio/envconfig); a wrong key is one line and exit 3, as README documents.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import {
  connect as connectHttp2,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { runCli } from '../cli/cli-process.js';
import { makeCertificates } from './certificates.js';

const API_KEY = 'loadtest-test-key';

/** Request headers to pass upstream: all but HTTP/2's own and the key. */
function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'authorization' || name === ':authority' || name === ':scheme') continue;
    result[name] = value;
  }
  return result;
}

describe('Temporal behind a gateway that checks API keys', function () {
  this.timeout(120_000);
  let dir: string;
  let temporal: DevServer;
  let gateway: Http2SecureServer;
  let upstream: ClientHttp2Session;
  let env: Record<string, string | undefined>;
  /** The authorization header of every call the gateway saw. */
  const seen: Array<string | undefined> = [];

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'loadtest-api-key-'));
    const [server] = await Promise.all([
      startDevServer({ uiPort: false, logFile: join(dir, 'temporal.log') }),
      makeCertificates(dir),
    ]);
    temporal = server;
    upstream = connectHttp2(`http://${temporal.address}`);
    gateway = createSecureServer({
      key: await readFile(join(dir, 'server.key')),
      cert: await readFile(join(dir, 'server.crt')),
    });
    gateway.on('stream', (stream, headers) => {
      const authorization = headers.authorization;
      seen.push(authorization);
      if (authorization !== `Bearer ${API_KEY}`) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '16',
            'grpc-message': 'invalid API key',
          },
          { endStream: true },
        );
        return;
      }
      const call = upstream.request(forwardable(headers));
      call.on('response', (responseHeaders) => {
        stream.respond(forwardable(responseHeaders), { waitForTrailers: true });
        call.pipe(stream);
      });
      call.on('trailers', (trailers: IncomingHttpHeaders) =>
        stream.once('wantTrailers', () => stream.sendTrailers(forwardable(trailers))),
      );
      stream.pipe(call);
      const reset = () => {
        call.close(constants.NGHTTP2_CANCEL);
        stream.close(constants.NGHTTP2_CANCEL);
      };
      call.on('error', reset);
      stream.on('error', reset);
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    env = {
      TEMPORAL_ADDRESS: `127.0.0.1:${(gateway.address() as AddressInfo).port}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.crt'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      // Temporal only: the CLI must not fall back to a cluster.
      KUBECONFIG: join(dir, 'no-kubeconfig'),
      KUBERNETES_SERVICE_HOST: undefined,
    };
  });

  after(async () => {
    gateway?.close();
    upstream?.close();
    await temporal?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists through the gateway with the right key in TEMPORAL_API_KEY', async () => {
    seen.length = 0;
    const result = await runCli(['list', '-A'], { ...env, TEMPORAL_API_KEY: API_KEY });

    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, 'No LoadTests found.\n');
    assert.ok(seen.length > 0 && seen.every((header) => header === `Bearer ${API_KEY}`), seen.join(', '));
  });

  it('says in one line that the key was refused, with exit code 3', async () => {
    const result = await runCli(['list', '-A'], { ...env, TEMPORAL_API_KEY: 'wrong-key' });

    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
    assert.match(result.stderr, /^error: .*invalid API key/);
  });
});
