/**
 * The runner's control endpoint over HTTP (node:http, no framework): CONTROL_PATHS of control-api.ts, answered
 * from a RunnerController (run-control.ts). Every request needs `Authorization: Bearer <token>`; bad input gets a
 * 4xx with a ControlError body, never a crash: 401 without the token, 404 for an unknown path, 405 for a wrong
 * method, 413 for a body over MAX_BODY_BYTES, 400 for a body that is not the JSON asked for, 409 when the runner
 * cannot do what is asked (control-api.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import {
  CONTROL_PATHS,
  type ConfigChange,
  type ControlError,
  type RunnerConfig,
  type StartRequest,
} from './control-api.js';
import type { ControlRefusal, ControlResult, RunnerController } from './run-control.js';

/** Largest request body accepted, bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** How long closing waits for answers being written (a stop's answer, for instance) before cutting them off. */
const CLOSE_GRACE_MS = 1000;

const ROUTES: Record<string, string> = {
  [CONTROL_PATHS.start]: 'POST',
  [CONTROL_PATHS.progress]: 'GET',
  [CONTROL_PATHS.stop]: 'POST',
  [CONTROL_PATHS.config]: 'PATCH',
};

export interface ControlServer {
  /** The port it listens on (the one asked for, or the free one picked for port 0). */
  port: number;
  /** Stops listening, lets answers being written finish (briefly), then closes every connection. */
  close(): Promise<void>;
}

export interface ControlServerOptions {
  /** 0 = any free port. */
  port: number;
  /** Default: every interface (a pod's IP). */
  host?: string;
  token: string;
  controller: RunnerController;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Constant-time: both sides are hashed to 32 bytes first, so their lengths never show either. */
function tokenMatches(header: string | undefined, digest: Buffer): boolean {
  const match = /^Bearer ([^\s]+)\s*$/.exec(header ?? '');
  if (match === null) return false;
  return timingSafeEqual(createHash('sha256').update(match[1]!).digest(), digest);
}

function readBody(request: http.IncomingMessage): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        reject(new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`));
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The body as a JSON object (an empty body is `{}`), or a 400. */
async function readJsonObject(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(request);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; expected ${allowed.join(', ')}`,
    );
  }
}

function startRequest(body: Record<string, unknown>): StartRequest {
  onlyFields(body, ['atMs']);
  const atMs = body.atMs;
  if (typeof atMs !== 'number' || !Number.isFinite(atMs) || atMs < 0) {
    throw new HttpError(400, 'atMs must be a finite number of epoch milliseconds, 0 or more');
  }
  return { atMs };
}

function configChange(body: Record<string, unknown>): ConfigChange {
  const fields: (keyof RunnerConfig)[] = ['rate', 'durationMs'];
  onlyFields(body, fields);
  const change: ConfigChange = {};
  for (const field of fields) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new HttpError(400, `${field} must be a finite number greater than 0`);
    }
    change[field] = value;
  }
  if (change.rate === undefined && change.durationMs === undefined) {
    throw new HttpError(400, 'name rate and/or durationMs to change');
  }
  return change;
}

function send(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
}

function sendError(response: http.ServerResponse, status: number, error: string, headers?: http.OutgoingHttpHeaders) {
  send(response, status, { error } satisfies ControlError, headers);
}

function unwrap<T>(result: ControlResult<T>): T {
  if ('refused' in result) {
    const refusal: ControlRefusal = result.refused;
    throw new HttpError(refusal.status, refusal.error);
  }
  return result.ok;
}

async function answer(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  options: ControlServerOptions,
  digest: Buffer,
): Promise<void> {
  if (!tokenMatches(request.headers.authorization, digest)) {
    request.resume();
    sendError(response, 401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    return;
  }
  const path = new URL(request.url ?? '/', 'http://runner').pathname;
  const method = ROUTES[path];
  if (method === undefined) throw new HttpError(404, `no such path ${path}; try ${Object.keys(ROUTES).join(', ')}`);
  if (request.method !== method) {
    request.resume();
    sendError(response, 405, `${path} takes ${method}, not ${request.method}`, { allow: method });
    return;
  }
  const { controller } = options;
  switch (path) {
    case CONTROL_PATHS.start:
      send(response, 200, unwrap(controller.start(startRequest(await readJsonObject(request)).atMs)));
      return;
    case CONTROL_PATHS.progress:
      request.resume();
      send(response, 200, await controller.snapshot());
      return;
    case CONTROL_PATHS.stop:
      request.resume();
      send(response, 200, await controller.stop());
      return;
    default:
      send(response, 200, unwrap(await controller.change(configChange(await readJsonObject(request)))));
  }
}

/** Starts listening; resolves once it does. */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const digest = createHash('sha256').update(options.token).digest();
  const answering = new Set<Promise<void>>();
  const server = http.createServer((request, response) => {
    const handled = answer(request, response, options, digest)
      .catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (response.headersSent) {
          response.destroy();
          return;
        }
        // A body refused unread: close the connection rather than read the rest of it.
        sendError(response, status, message, status === 413 ? { connection: 'close' } : undefined);
      })
      // Answered once the response is handed to the socket (close() cuts connections only after that).
      .then(() => (response.writableFinished ? undefined : finished(response)))
      .finally(() => answering.delete(handled));
    answering.add(handled);
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...answering]),
        new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(grace);
      server.closeAllConnections();
      await closed;
    },
  };
}
