/**
 * The supervisor's control socket (`<state>/control.sock`, HTTP over a Unix socket): how `npm run testbed --
 * restart <component>` asks a running test bed to restart one component while the others keep running.
 */
import { createServer, request } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

export const controlSocket = (stateDir: string) => join(stateDir, 'control.sock');

export interface ControlHandlers {
  components(): string[];
  /** Resolves once the component serves again. */
  restart(name: string): Promise<void>;
}

export interface ControlServer {
  close(): Promise<void>;
}

export async function serveControl(stateDir: string, handlers: ControlHandlers): Promise<ControlServer> {
  const path = controlSocket(stateDir);
  await rm(path, { force: true });
  // One restart at a time: two at once would stop each other's dependencies.
  let busy: Promise<unknown> = Promise.resolve();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://testbed');
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${text}\n`);
    };
    const name = url.pathname.startsWith('/restart/') ? decodeURIComponent(url.pathname.slice('/restart/'.length)) : '';
    if (req.method !== 'POST' || name === '') {
      reply(404, 'POST /restart/<component>');
      return;
    }
    if (!handlers.components().includes(name)) {
      reply(404, `no component named "${name}"; the components are: ${handlers.components().join(', ')}`);
      return;
    }
    const started = Date.now();
    busy = busy
      .then(() => handlers.restart(name))
      .then(
        () => reply(200, `restarted ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`),
        (error: unknown) => reply(500, `restarting ${name} failed: ${String(error)}`),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Asks the test bed in `stateDir` to restart `component`; resolves with the supervisor's answer. */
export function requestRestart(stateDir: string, component: string): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: controlSocket(stateDir), method: 'POST', path: `/restart/${encodeURIComponent(component)}` },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ ok: res.statusCode === 200, message: body.trim() }));
      },
    );
    req.on('error', (error) => reject(new Error(`cannot reach the test bed's supervisor: ${error.message}`)));
    req.end();
  });
}
