/**
 * The optional payload encryption (src/temporal/payload-codec.ts): round trips, refuses the wrong key and altered
 * data in words, lets unencrypted payloads of older histories through, decrypts with a rotated-out key; and, on a
 * real Temporal dev server, a client from connectClient stores only ciphertext once LOADTEST_PAYLOAD_KEY is set.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { connectClient } from '../../src/temporal/connection.js';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  PAYLOAD_DECRYPT_KEYS_ENV,
  PAYLOAD_KEY_ENV,
  payloadCodecFromEnv,
  payloadKeyId,
  PayloadCodecError,
} from '../../src/temporal/payload-codec.js';
import { startTestEnvironment } from '../workflows/temporal-env.js';

const SECRET = 'Bearer s3cr3t-in-a-memo';
const key = () => randomBytes(32);
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (encoded: Payload): unknown => defaultPayloadConverter.fromPayload(encoded);
const encodingOf = (encoded: Payload | undefined) => Buffer.from(encoded?.metadata?.encoding ?? []).toString();

describe('payload codec (LOADTEST_PAYLOAD_KEY)', () => {
  it('round-trips payloads of every kind, and what it stores holds none of their bytes', async () => {
    const codec = new AesGcmPayloadCodec(key());
    const originals = [
      payload({ headers: { Authorization: SECRET } }),
      payload(undefined),
      payload(new Uint8Array([0, 1, 255])),
    ];

    const encoded = await codec.encode(originals);
    const decoded = await codec.decode(encoded);

    assert.deepEqual(decoded.map(valueOf), originals.map(valueOf));
    for (const each of encoded) {
      assert.equal(encodingOf(each), ENCRYPTED_ENCODING);
      assert.ok(!Buffer.from(each.data!).toString('latin1').includes('s3cr3t'));
    }
  });

  it('refuses a payload of another key, naming both key ids', async () => {
    const writer = key();
    const reader = key();
    const encoded = await new AesGcmPayloadCodec(writer).encode([payload(SECRET)]);

    await assert.rejects(
      new AesGcmPayloadCodec(reader).decode(encoded),
      (error: Error) =>
        error instanceof PayloadCodecError &&
        error.message ===
          `a payload is encrypted with key ${payloadKeyId(writer)}, which is neither ${PAYLOAD_KEY_ENV} (${payloadKeyId(reader)}) nor in ${PAYLOAD_DECRYPT_KEYS_ENV} (empty)`,
    );
  });

  it('refuses an altered payload in words', async () => {
    const codec = new AesGcmPayloadCodec(key());
    const [encoded] = await codec.encode([payload(SECRET)]);
    const data = Buffer.from(encoded!.data!);
    data[20]! ^= 1;

    await assert.rejects(codec.decode([{ ...encoded!, data }]), /does not decrypt: it was altered/);
  });

  it('lets unencrypted payloads (histories from before the key) through unchanged', async () => {
    const plain = payload({ spec: 'old' });

    const [decoded] = await new AesGcmPayloadCodec(key()).decode([plain]);

    assert.equal(decoded, plain);
  });

  it('decrypts with a key rotated into LOADTEST_PAYLOAD_DECRYPT_KEYS, and encrypts with the new one', async () => {
    const old = key();
    const fresh = key();
    const [before] = await new AesGcmPayloadCodec(old).encode([payload(SECRET)]);

    const codec = payloadCodecFromEnv({
      [PAYLOAD_KEY_ENV]: fresh.toString('base64'),
      [PAYLOAD_DECRYPT_KEYS_ENV]: ` ${key().toString('base64')}, ${old.toString('base64')} `,
    })!;
    const [after] = await codec.encode([payload(SECRET)]);

    assert.equal(valueOf((await codec.decode([before!]))[0]!), SECRET);
    assert.equal(Buffer.from(after!.metadata!['encryption-key-id']!).toString(), payloadKeyId(fresh));
  });

  it('is off without the key, and names the variable of a key that is not base64 of 32 bytes', () => {
    assert.equal(payloadCodecFromEnv({}), undefined);
    assert.throws(
      () => payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: randomBytes(16).toString('base64') }),
      /^PayloadCodecError: LOADTEST_PAYLOAD_KEY must be base64 of 32 bytes .*; it decodes to 16 bytes$/,
    );
    assert.throws(
      () => payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: key().toString('base64'), [PAYLOAD_DECRYPT_KEYS_ENV]: 'no!' }),
      /LOADTEST_PAYLOAD_DECRYPT_KEYS entry 1 must be base64 of 32 bytes/,
    );
    assert.throws(
      () => payloadCodecFromEnv({ [PAYLOAD_DECRYPT_KEYS_ENV]: key().toString('base64') }),
      /without LOADTEST_PAYLOAD_KEY/,
    );
  });

  describe('on a real Temporal server', function () {
    this.timeout(120_000);
    let env: TestWorkflowEnvironment;
    const saved = process.env[PAYLOAD_KEY_ENV];

    before(async () => {
      env = await startTestEnvironment();
    });
    after(async () => {
      if (saved === undefined) delete process.env[PAYLOAD_KEY_ENV];
      else process.env[PAYLOAD_KEY_ENV] = saved;
      await env?.teardown();
    });

    it('a client from connectClient stores inputs and memos encrypted, and reads them back', async () => {
      process.env[PAYLOAD_KEY_ENV] = key().toString('base64');
      const client = await connectClient({ address: env.address, namespace: 'default', security: {} });
      try {
        // No worker polls this queue: the started event alone holds what the client wrote.
        const handle = await client.workflow.start('loadTest', {
          workflowId: `codec-${randomBytes(4).toString('hex')}`,
          taskQueue: 'no-worker-here',
          args: [{ headers: { Authorization: SECRET } }],
          memo: { note: SECRET },
        });

        const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        const stored = [...(started?.input?.payloads ?? []), ...Object.values(started?.memo?.fields ?? {})];
        assert.equal(stored.length, 2);
        for (const each of stored) {
          assert.equal(encodingOf(each), ENCRYPTED_ENCODING);
          assert.ok(!Buffer.from(each.data!).toString('latin1').includes('s3cr3t'));
        }
        assert.equal((await handle.describe()).memo?.note, SECRET);
        await handle.terminate();
      } finally {
        await client.connection.close();
      }
    });
  });
});
