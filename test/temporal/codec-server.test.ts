/**
 * The codec server the Temporal Web UI calls to show encrypted payloads (src/temporal/codec-server.ts): Temporal's
 * remote-codec protocol over real HTTP, CORS for the UI's origin only, and errors in words.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { startCodecServer, type CodecServer } from '../../src/temporal/codec-server.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING } from '../../src/temporal/payload-codec.js';
import { runCli } from '../cli/cli-process.js';

const UI = 'http://localhost:8233';

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

describe('codec server', () => {
  let server: CodecServer;
  let base: string;
  const codec = new AesGcmPayloadCodec(randomBytes(32));

  before(async () => {
    server = await startCodecServer({ codec, port: 0, corsOrigins: [UI] });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  const post = (path: string, body: unknown, origin = UI) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin, 'x-namespace': 'default' },
      body: JSON.stringify(body),
    });

  it('encodes and decodes payloads in the JSON the Web UI sends', async () => {
    const plain = defaultPayloadConverter.toPayload({ note: 'hello' });
    const asJson = {
      metadata: { encoding: Buffer.from(plain.metadata!.encoding!).toString('base64') },
      data: Buffer.from(plain.data!).toString('base64'),
    };

    const encoded = await post('/encode', { payloads: [asJson] });
    const { payloads: sealed } = (await encoded.json()) as { payloads: JsonPayload[] };
    const decoded = await post('/decode', { payloads: sealed });

    assert.equal(encoded.status, 200);
    assert.equal(encoded.headers.get('access-control-allow-origin'), UI);
    assert.equal(Buffer.from(sealed[0]!.metadata.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
    assert.deepEqual(await decoded.json(), { payloads: [asJson] });
  });

  it('answers a preflight for the Web UI, and no other origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-namespace' },
      });

    const ui = await preflight(UI);
    const other = await preflight('http://evil.example');

    assert.equal(ui.status, 204);
    assert.equal(ui.headers.get('access-control-allow-origin'), UI);
    assert.match(ui.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('says why a payload does not decode, and what a bad request is', async () => {
    const [foreign] = await new AesGcmPayloadCodec(randomBytes(32)).encode([defaultPayloadConverter.toPayload(1)]);
    const json = {
      metadata: Object.fromEntries(
        Object.entries(foreign!.metadata!).map(([name, value]) => [name, Buffer.from(value).toString('base64')]),
      ),
      data: Buffer.from(foreign!.data!).toString('base64'),
    };

    const wrongKey = await post('/decode', { payloads: [json] });
    const bad = await post('/decode', { nothing: true });
    const elsewhere = await fetch(`${base}/other`);

    assert.equal(wrongKey.status, 400);
    assert.match(
      ((await wrongKey.json()) as { message: string }).message,
      /is encrypted with key [0-9a-f]{16}, which is neither/,
    );
    assert.deepEqual([bad.status, await bad.json()], [400, { message: 'bad request: expected {"payloads": [...]}' }]);
    assert.equal(elsewhere.status, 404);
  });

  it('`loadtest-operator codec-server` refuses to start without LOADTEST_PAYLOAD_KEY', async () => {
    const result = await runCli(['codec-server', '--port', '0'], { LOADTEST_PAYLOAD_KEY: undefined });

    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'error: codec-server needs LOADTEST_PAYLOAD_KEY: the key payloads are encrypted with\n',
    );
  });
});
