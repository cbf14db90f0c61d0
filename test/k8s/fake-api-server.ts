/**
 * A stand-in for the Kubernetes API's list and watch of one collection (`/api/v1/pods`), with knobs for the
 * failures a real connection sees: 500s, 410 Gone and watches that go silent.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type WatchMode = 'events' | 'gone' | 'silent';

export class FakeApiServer {
  private readonly server: Server;
  private readonly objects = new Map<string, V1Pod>();
  private readonly watchers = new Set<ServerResponse>();
  private version = 1;
  /** How many coming list requests answer 500. */
  failLists = 0;
  /** How coming watch requests behave. */
  watchMode: WatchMode = 'events';
  lists = 0;
  watches = 0;
  private readonly waiters: Array<() => void> = [];

  constructor() {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== '/api/v1/pods') {
        response.writeHead(404).end();
      } else if (url.searchParams.get('watch') === 'true') {
        this.watches++;
        this.startWatch(response);
      } else {
        this.lists++;
        if (this.failLists > 0) {
          this.failLists--;
          response.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"etcd is down"}');
        } else {
          const body = { kind: 'PodList', metadata: { resourceVersion: String(this.version) }, items: this.items() };
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        }
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const watcher of this.watchers) watcher.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  kubeConfig(): KubeConfig {
    const config = new KubeConfig();
    const { port } = this.server.address() as AddressInfo;
    config.loadFromClusterAndUser(
      { name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
      { name: 'u' },
    );
    return config;
  }

  /** Resolves once `predicate` holds after some request. */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  put(name: string, labels: Record<string, string> = {}): V1Pod {
    const type = this.objects.has(name) ? 'MODIFIED' : 'ADDED';
    const pod: V1Pod = { metadata: { name, namespace: 'default', labels, resourceVersion: String(++this.version) } };
    this.objects.set(name, pod);
    this.send(type, pod);
    return pod;
  }

  /** Deletes the object; with `quietly`, watchers are not told (as if the event was lost). */
  remove(name: string, quietly = false): void {
    const pod = this.objects.get(name);
    if (pod === undefined) return;
    this.objects.delete(name);
    this.version++;
    if (!quietly)
      this.send('DELETED', { ...pod, metadata: { ...pod.metadata, resourceVersion: String(this.version) } });
  }

  items(): V1Pod[] {
    return [...this.objects.values()];
  }

  private startWatch(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.flushHeaders();
    if (this.watchMode === 'gone') {
      response.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old' } }) + '\n');
      return;
    }
    this.watchers.add(response);
    response.on('close', () => this.watchers.delete(response));
    if (this.watchMode === 'silent') (response as ServerResponse & { silent?: boolean }).silent = true;
  }

  private send(type: string, object: V1Pod): void {
    for (const watcher of this.watchers) {
      if ((watcher as ServerResponse & { silent?: boolean }).silent) continue;
      watcher.write(JSON.stringify({ type, object }) + '\n');
    }
  }
}
