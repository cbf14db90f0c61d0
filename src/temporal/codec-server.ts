/**
 * A codec server for the Temporal Web UI and CLI (`temporal --codec-endpoint`): with payload encryption on
 * (payload-codec.ts), Temporal stores only ciphertext and the Web UI shows it as such; pointed at this server,
 * the UI sends the payloads it shows here to be decrypted. Protocol (Temporal's "remote data encoder"):
 * POST /decode and POST /encode with `{"payloads": [{"metadata": {name: base64}, "data": base64}]}`, answered in
 * the same shape; CORS for the Web UI's origin. Whoever reaches this server can decrypt every payload: it listens
 * on 127.0.0.1 unless told otherwise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** 0 = any free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Origins allowed to call it from a browser (the Web UI's), e.g. http://localhost:8233. */
  corsOrigins?: readonly string[];
}

export interface CodecServer {
  port: number;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** The most a request body may be: Temporal's own payload limit is 2 MB per payload. */
const BODY_LIMIT = 16 * 1024 * 1024;

const fromJson = (payload: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
  ),
  data: Buffer.from(payload.data ?? '', 'base64'),
});

const toJson = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value ?? []).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? []).toString('base64'),
});

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new RangeError(`the request is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const origins = new Set(options.corsOrigins ?? []);
  const server: Server = createServer((request, response) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origins.has(origin)) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('access-control-allow-credentials', 'true');
      response.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      response.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      response.setHeader('vary', 'origin');
    }
    if (request.method === 'OPTIONS') {
      response.writeHead(204).end();
      return;
    }
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST' || (path !== '/decode' && path !== '/encode')) {
      answer(response, 404, { message: 'POST /decode or /encode' });
      return;
    }
    void (async () => {
      let payloads: Payload[];
      try {
        const body = JSON.parse(await readBody(request)) as { payloads?: JsonPayload[] };
        if (!Array.isArray(body.payloads)) throw new TypeError('expected {"payloads": [...]}');
        payloads = body.payloads.map(fromJson);
      } catch (error) {
        answer(response, 400, { message: `bad request: ${(error as Error).message}` });
        return;
      }
      try {
        const result = path === '/decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
        answer(response, 200, { payloads: result.map(toJson) });
      } catch (error) {
        answer(response, 400, { message: (error as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
