/**
 * Optional encryption of every Temporal payload (workflow and activity inputs and results, memos, heartbeat
 * details, signals, queries) with AES-256-GCM, so that what Temporal stores and shows holds only ciphertext. On when
 * LOADTEST_PAYLOAD_KEY holds a key (base64 of 32 random bytes); every process that talks to Temporal (worker,
 * watcher, CLI, typed client) then encrypts and decrypts with it through connection.ts.
 *
 * Rotation: each payload names its key by id (a hash of the key, in the payload's metadata), and
 * LOADTEST_PAYLOAD_DECRYPT_KEYS lists earlier keys still accepted for decrypting. Payloads that are not encrypted
 * (histories written before the key was set) pass through as they are.
 *
 * Format of an encrypted payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`,
 * `encryption-cipher: AES-256-GCM`; data = 12-byte IV, then the ciphertext of the original payload as JSON
 * (`{"metadata":{key: base64}, "data": base64}`), then the 16-byte tag.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** The key to encrypt with: base64 of 32 bytes (`openssl rand -base64 32`). */
export const PAYLOAD_KEY_ENV = 'LOADTEST_PAYLOAD_KEY';
/** Earlier keys, comma-separated, still accepted for decrypting after a rotation. */
export const PAYLOAD_DECRYPT_KEYS_ENV = 'LOADTEST_PAYLOAD_DECRYPT_KEYS';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const ENCODING = 'encoding';
const KEY_ID = 'encryption-key-id';
const CIPHER = 'encryption-cipher';
const CIPHER_NAME = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A wrong or unusable key, or a payload no key here can open: the message says which. */
export class PayloadCodecError extends Error {
  override name = 'PayloadCodecError';
}

const text = (bytes: Uint8Array | null | undefined): string | undefined =>
  bytes === undefined || bytes === null ? undefined : Buffer.from(bytes).toString('utf8');

/** The id a key is known by in payload metadata: not secret (a hash of 256 random bits), stable across processes. */
export function payloadKeyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** A key from its base64 text, or a PayloadCodecError naming where it came from (never the text). */
export function parsePayloadKey(base64: string, where: string): Buffer {
  const trimmed = base64.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== 32) {
    throw new PayloadCodecError(
      `${where} must be base64 of 32 bytes (e.g. from "openssl rand -base64 32"); it decodes to ${key.length} bytes`,
    );
  }
  return key;
}

interface SerializedPayload {
  metadata: Record<string, string>;
  data: string;
}

function serialize(payload: Payload): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value ?? []).toString('base64')]),
  );
  const data = Buffer.from(payload.data ?? []).toString('base64');
  return Buffer.from(JSON.stringify({ metadata, data } satisfies SerializedPayload));
}

function deserialize(bytes: Buffer): Payload {
  const { metadata, data } = JSON.parse(bytes.toString('utf8')) as SerializedPayload;
  return {
    metadata: Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name, Buffer.from(value, 'base64')])),
    data: Buffer.from(data, 'base64'),
  };
}

/** AES-256-GCM over whole payloads, with one key to encrypt and any number to decrypt. */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keyId: string;
  private readonly keys = new Map<string, Buffer>();

  /** `key` encrypts (and decrypts); `decryptKeys` only decrypt: the keys of before a rotation. */
  constructor(
    private readonly key: Buffer,
    decryptKeys: readonly Buffer[] = [],
  ) {
    this.keyId = payloadKeyId(key);
    for (const each of [key, ...decryptKeys]) this.keys.set(payloadKeyId(each), each);
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', this.key, iv);
        const sealed = Buffer.concat([iv, cipher.update(serialize(payload)), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: {
            [ENCODING]: Buffer.from(ENCRYPTED_ENCODING),
            [KEY_ID]: Buffer.from(this.keyId),
            [CIPHER]: Buffer.from(CIPHER_NAME),
          },
          data: sealed,
        };
      }),
    );
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; a throw becomes a rejection
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decodeOne(payload));
  }

  private decodeOne(payload: Payload): Payload {
    // Written before encryption was turned on (or by a process without the key): as it is.
    if (text(payload.metadata?.[ENCODING]) !== ENCRYPTED_ENCODING) return payload;
    const id = text(payload.metadata?.[KEY_ID]) ?? '(none)';
    const key = this.keys.get(id);
    if (key === undefined) {
      throw new PayloadCodecError(
        `a payload is encrypted with key ${id}, which is neither ${PAYLOAD_KEY_ENV} (${this.keyId}) nor in ` +
          `${PAYLOAD_DECRYPT_KEYS_ENV} (${[...this.keys.keys()].filter((each) => each !== this.keyId).join(', ') || 'empty'})`,
      );
    }
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadCodecError(`a payload encrypted with key ${id} is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return deserialize(
        Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]),
      );
    } catch {
      throw new PayloadCodecError(
        `a payload encrypted with key ${id} does not decrypt: it was altered, or written with another key of the same id`,
      );
    }
  }
}

/**
 * The codec LOADTEST_PAYLOAD_KEY (and LOADTEST_PAYLOAD_DECRYPT_KEYS) ask for, or undefined when the key is not set.
 * Throws a PayloadCodecError naming the variable when a key is not base64 of 32 bytes.
 */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmPayloadCodec | undefined {
  const key = env[PAYLOAD_KEY_ENV];
  const decrypt = (env[PAYLOAD_DECRYPT_KEYS_ENV] ?? '')
    .split(',')
    .map((each) => each.trim())
    .filter((each) => each !== '');
  if (key === undefined || key.trim() === '') {
    if (decrypt.length > 0) {
      throw new PayloadCodecError(`${PAYLOAD_DECRYPT_KEYS_ENV} is set without ${PAYLOAD_KEY_ENV}: set the key to use`);
    }
    return undefined;
  }
  return new AesGcmPayloadCodec(
    parsePayloadKey(key, PAYLOAD_KEY_ENV),
    decrypt.map((each, index) => parsePayloadKey(each, `${PAYLOAD_DECRYPT_KEYS_ENV} entry ${index + 1}`)),
  );
}

/** The data converter of a Client or Worker: with the codec when the environment sets a key, else the SDK's. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): { payloadCodecs?: PayloadCodec[] } {
  const codec = payloadCodecFromEnv(env);
  return codec === undefined ? {} : { payloadCodecs: [codec] };
}
