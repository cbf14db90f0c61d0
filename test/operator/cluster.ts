/**
 * Driving the operator on the test bed the way a person does: kubectl with the test bed's KUBECONFIG, the
 * operator's own processes (`loadtest-operator worker` and `watcher`), and a local HTTP server standing behind
 * a selector-less Service (host-service.ts: kube-proxy on the real node, the node agent on the process node).
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_SERVICE_ACCOUNT_WAIT } from '../support/kubectl.js';
import { exposeHostServer, type HostService } from '../testbed/host-service.js';
import { namespaceAnnotationsFor, type TestbedNode } from '../testbed/nodes.js';
import { requireTool } from '../support/tools.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'dist/src/cli.js');
const KUBECTL = requireTool('kubectl');
export const ARTIFACTS = join(REPO, 'test/artifacts/operator');

export class KubectlError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
  ) {
    super(`kubectl ${args.join(' ')}: ${stderr.trim()}`);
  }
}

/** Runs kubectl with the test bed's KUBECONFIG; rejects with its stderr when it fails. */
export function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      args,
      { env: process.env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new KubectlError(args, stderr || error.message));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function apply(object: object): Promise<string> {
  return kubectl(['apply', '-f', '-'], stringify(object));
}

export async function getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** Waits with `kubectl wait` (a watch, not polling) until `jsonpath` equals `value`. */
export function waitForJsonPath(resource: string, namespace: string, jsonpath: string, value: string, timeoutS = 90) {
  return kubectl(['wait', resource, '-n', namespace, `--for=jsonpath=${jsonpath}=${value}`, `--timeout=${timeoutS}s`]);
}

/**
 * Installs what `kubectl apply -f crds/` does, the CRD and its ValidatingAdmissionPolicy, and returns once both
 * answer: the CRD Established, and the policy denying an invalid threshold (the API server takes up a new policy
 * a moment after creating it, and says so nowhere kubectl can wait on).
 */
export async function ensureCrd(): Promise<void> {
  await kubectl(['apply', '-f', join(REPO, 'crds/')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/loadtests.example.org', '--timeout=60s']);
  const probe = JSON.stringify(
    loadTestManifest('default', 'policy-probe', { replicas: 1, test: { url: 'http://x/' }, thresholds: [5] }),
  );
  await eventually(
    () =>
      kubectl(['apply', '--dry-run=server', '-f', '-'], probe).then(
        () => undefined,
        (error: unknown) =>
          error instanceof KubectlError && /ValidatingAdmissionPolicy/.test(error.stderr) ? true : undefined,
      ),
    60_000,
    'the LoadTest ValidatingAdmissionPolicy (crds/loadtest-validation.yaml) denying an invalid threshold',
  );
}

/** A namespace whose pods run on `node` (nodes.ts): the operator creates its runner pods as it would anywhere. */
export async function createNamespace(name: string, node?: TestbedNode): Promise<void> {
  const annotations = node === undefined ? undefined : namespaceAnnotationsFor(node);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });
  await kubectl(DEFAULT_SERVICE_ACCOUNT_WAIT(name));
}

/**
 * A kubeconfig that acts as ServiceAccount `name` of `namespace`: the test bed's, with a token from
 * `kubectl create token` in place of the admin's. Written under ARTIFACTS; returns its path.
 */
export async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  const token = (await kubectl(['create', 'token', name, '-n', namespace])).trim();
  const admin = JSON.parse(await readFile(process.env.KUBECONFIG!, 'utf8')) as {
    users: Array<{ user: { token: string } }>;
  };
  admin.users[0]!.user.token = token;
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${namespace}.${name}.kubeconfig`);
  await writeFile(path, JSON.stringify(admin));
  return path;
}

/**
 * A LoadTest manifest. The tests read runner pods after a run, so they keep them (`cleanup: keep`) unless `spec`
 * says otherwise; the product's default (a finished run's pods deleted) is covered by the workflow tests and
 * lifecycle.integration.test.ts.
 */
export function loadTestManifest(namespace: string, name: string, spec: object): object {
  return {
    apiVersion: 'example.org/v1',
    kind: 'LoadTest',
    metadata: { name, namespace },
    spec: { cleanup: 'keep', ...spec },
  };
}

/** Polls until `probe` holds, for what kubectl cannot wait on (a list becoming empty). */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function podNames(namespace: string, selector: string): Promise<string[]> {
  const list = await getJson<{ items: Array<{ metadata: { name: string } }> }>([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    selector,
  ]);
  return list.items.map((pod) => pod.metadata.name).sort();
}

/** An HTTP server on this machine that counts requests, reachable from pods on either node as Service `name`. */
export class CountingServer {
  requests = 0;
  /** Set to keep the headers and body of every request in `received` (off: long runs send many). */
  record = false;
  /** Headers and body of every request since `record` was set, in arrival order. */
  readonly received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  private server?: Server;
  private service?: HostService;

  /** `delayMs`: how long each answer takes (a slow target). */
  constructor(
    private readonly status = 200,
    private readonly delayMs = 0,
  ) {}

  async expose(namespace: string, name: string, servicePort = 80): Promise<void> {
    this.server = createServer((request, response) => {
      this.requests++;
      let body = '';
      request.on('data', (chunk: Buffer) => {
        if (this.record) body += chunk.toString();
      });
      const answer = () => response.writeHead(this.status, { 'content-type': 'text/plain' }).end('ok');
      request.on('end', () => {
        if (this.record) this.received.push({ headers: request.headers, body });
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.service = await exposeHostServer(this.server, name, namespace, servicePort);
  }

  async close(): Promise<void> {
    // First: the bridge listener's close waits for the connections it handed over.
    this.server?.closeAllConnections();
    await this.service?.close();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}

/** The operator's two processes, started from the local build, logging to test/artifacts/operator/. */
export class Operator {
  private worker?: ChildProcess;
  private watcher?: ChildProcess;
  readonly taskQueue: string;

  /** `env` overrides the test bed's environment, e.g. a KUBECONFIG that acts as the operator's ServiceAccount. */
  constructor(
    private readonly label: string,
    private readonly env: Record<string, string> = {},
  ) {
    this.taskQueue = `loadtest-operator-${label}`;
    mkdirSync(ARTIFACTS, { recursive: true });
  }

  start(): void {
    this.startWorker();
    this.startWatcher();
  }

  /** `env` for this process only, e.g. its HEALTH_PORT; `nodeArgs` for node itself, e.g. `--cpu-prof`. */
  startWorker(env: Record<string, string> = {}, nodeArgs: string[] = []): void {
    this.worker = this.spawn('worker', env, nodeArgs);
  }

  /** Stops the worker (SIGTERM: its running activities get the grace time, then are cancelled). */
  async stopWorker(): Promise<void> {
    await stopProcess(this.worker);
    this.worker = undefined;
  }

  /** `env` for this process only, e.g. a KUBECONFIG of the watcher's own ServiceAccount. */
  startWatcher(env: Record<string, string> = {}): void {
    this.watcher = this.spawn('watcher', env);
  }

  /**
   * Starts the watcher and resolves once its `/readyz` answers 200: it has listed every LoadTest, queued their
   * reconciliation and queued a delete check for every running workflow whose LoadTest was not listed. (The
   * calls it queued may still be in flight.) Rejects if the watcher exits first. Returns its health port.
   */
  async startWatcherReady(timeoutMs = 60_000, env: Record<string, string> = {}): Promise<number> {
    const port = await freePort();
    const watcher = this.spawn('watcher', { ...env, HEALTH_PORT: String(port) });
    this.watcher = watcher;
    await eventually(
      async () => {
        if (watcher.exitCode !== null || watcher.signalCode !== null) {
          throw new Error(
            `the watcher exited (${watcher.exitCode ?? watcher.signalCode}) before it was ready: see ${this.logFile('watcher')}`,
          );
        }
        const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (response) => response.status,
          () => undefined,
        );
        return status === 200 ? true : undefined;
      },
      timeoutMs,
      'watcher /readyz',
    );
    return port;
  }

  /** Kills the worker with SIGKILL, as a crash or an OOM kill would: nothing of it gets to clean up. */
  async killWorker(): Promise<void> {
    await killProcess(this.worker);
    this.worker = undefined;
  }

  /** Kills the watcher with SIGKILL. */
  async killWatcher(): Promise<void> {
    await killProcess(this.watcher);
    this.watcher = undefined;
  }

  async stopWatcher(): Promise<void> {
    await stopProcess(this.watcher);
    this.watcher = undefined;
  }

  /** Starts whichever of the two processes a test stopped (so one failing test leaves the next a whole operator). */
  ensureStarted(): void {
    if (this.worker === undefined) this.startWorker();
    if (this.watcher === undefined) this.startWatcher();
  }

  async stop(): Promise<void> {
    await Promise.all([stopProcess(this.watcher), stopProcess(this.worker)]);
  }

  logFile(command: 'worker' | 'watcher'): string {
    return join(ARTIFACTS, `${this.label}-${command}.log`);
  }

  private spawn(
    command: 'worker' | 'watcher',
    env: Record<string, string> = {},
    nodeArgs: string[] = [],
  ): ChildProcess {
    const log = createWriteStream(this.logFile(command), { flags: 'a' });
    const child = spawn(process.execPath, [...nodeArgs, CLI, command], {
      env: {
        ...process.env,
        TASK_QUEUE: this.taskQueue,
        RUNNER_IMAGE: 'loadtest-operator:dev',
        HEALTH_PORT: '0',
        ...this.env,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    return child;
  }
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function killProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A TCP port nothing listens on right now (for a process's health endpoint). */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Names of the signals in a workflow's history, in order: what reached the workflow, whoever runs it. */
export async function signalNames(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const name = event.workflowExecutionSignaledEventAttributes?.signalName;
    return name === undefined || name === null ? [] : [name];
  });
}

/** A Temporal client for the test bed's server (to check workflows the operator ran). */
export async function temporalClient(): Promise<Client> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (address === undefined) throw new Error('TEMPORAL_ADDRESS is not set: is the test bed up?');
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
}

/**
 * Follows `.status.state` of a LoadTest, collecting every distinct value in order: lists the namespace's
 * LoadTests for a resourceVersion, then watches from it (`kubectl get --raw ...?watch=1`), so no change after
 * the list is missed however late the watch connects.
 */
export async function followStates(namespace: string, name: string): Promise<{ states: string[]; stop: () => void }> {
  const list = await getJson<{ metadata: { resourceVersion: string } }>(['get', 'ld', '-n', namespace]);
  const path = `/apis/example.org/v1/namespaces/${namespace}/loadtests?watch=1&resourceVersion=${list.metadata.resourceVersion}`;
  const child = spawn(KUBECTL, ['get', '--raw', path], { env: process.env, stdio: ['ignore', 'pipe', 'ignore'] });
  const states: string[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = JSON.parse(line) as { object?: { metadata?: { name?: string }; status?: { state?: string } } };
      const state = event.object?.status?.state;
      if (event.object?.metadata?.name === name && state && states.at(-1) !== state) states.push(state);
    }
  });
  return { states, stop: () => child.kill() };
}
