/**
 * Starts a real nginx for tests and benchmarks: a child process in the foreground (no daemon, no systemd)
 * with a generated configuration in a temporary directory, listening on a free 127.0.0.1 port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireTool } from './tools.js';

export interface NginxOptions {
  /** Directives inside the server block, e.g. locations. `location = / { return 200 "ok"; }` when unset. */
  server?: string;
  /** Extra directives in the http block. */
  http?: string;
  /** Files to create under the document root (relative path → content). */
  files?: Record<string, string | Buffer>;
  /** Requests per keep-alive connection before nginx closes it. Default 10 000 000 (nginx's own is 1000). */
  keepaliveRequests?: number;
  /** Pin nginx to this CPU with taskset (benchmarks). */
  cpu?: number;
}

export interface NginxServer {
  port: number;
  /** http://127.0.0.1:port */
  origin: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function config(directory: string, port: number, options: NginxOptions): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${directory}/client_body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  keepalive_requests ${options.keepaliveRequests ?? 10_000_000};
  ${options.http ?? ''}
  server {
    listen 127.0.0.1:${port};
    root ${directory}/html;
    ${options.server ?? 'location = / { return 200 "ok"; }'}
  }
}
`;
}

/** Resolves once the port accepts connections; rejects if nginx exits first. */
async function waitUntilListening(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => {
      void readFile(errorLog, 'utf8')
        .catch(() => '')
        .then((log) => reject(new Error(`nginx exited with code ${code}: ${log.trim()}`)));
    });
  });
  // Only the race below needs the rejection; nginx exiting later (when stopped) is not an error.
  exited.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const connected = await Promise.race([
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('error', () => resolve(false));
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
      }),
      exited,
    ]);
    if (connected) return;
    if (Date.now() > deadline) throw new Error('nginx did not start listening within 10 s');
    // nginx gives no readiness signal we could await, so poll the port.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function startOnce(nginx: string, options: NginxOptions): Promise<NginxServer> {
  const directory = await mkdtemp(join(tmpdir(), 'loadtest-nginx-'));
  // nginx workers run as an unprivileged user when started as root: they must be able to read the root.
  await chmod(directory, 0o755);
  await mkdir(join(directory, 'html'), { mode: 0o755 });
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const file = join(directory, 'html', path);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, content, { mode: 0o644 });
  }
  const port = await freePort();
  const configFile = join(directory, 'nginx.conf');
  await writeFile(configFile, config(directory, port, options));
  const nginxArgs = ['-p', directory, '-e', join(directory, 'error.log'), '-c', configFile];
  const child =
    options.cpu === undefined
      ? spawn(nginx, nginxArgs, { stdio: 'ignore' })
      : spawn(requireTool('taskset'), ['-c', String(options.cpu), nginx, ...nginxArgs], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await waitUntilListening(port, child, join(directory, 'error.log'));
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, origin: `http://127.0.0.1:${port}`, stop };
}

/**
 * Starts nginx; retries with another port if the free one was taken in the meantime. Throws a
 * MissingToolError naming the set-up script when nginx is not installed.
 */
export async function startNginx(options: NginxOptions = {}): Promise<NginxServer> {
  const nginx = requireTool('nginx');
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(nginx, options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('in use')) throw error;
    }
  }
}
