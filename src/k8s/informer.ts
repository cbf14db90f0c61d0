/**
 * A list-watch cache that keeps itself alive. The informer of @kubernetes/client-node 1.x stops for good on any
 * error other than 410 and its watch can hang on a dead connection; this one:
 * - re-lists after 410 Gone at once, and after any other error with exponential backoff;
 * - asks the server to end every watch after `watchTimeoutSeconds` and abandons a watch that stays silent
 *   longer than that (plus a grace period), since only a dead connection is that quiet;
 * - re-lists every `relistIntervalMs`, replaying every object, so level-triggered handlers get to see all
 *   objects again even if an event was lost. Handlers must therefore be idempotent.
 */
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { isGone } from './errors.js';

export interface InformerSource<T> {
  /** Collection path to watch, e.g. `/api/v1/pods` (every namespace). */
  path: string;
  labelSelector?: string;
  /** Lists the collection (same path and selector) with its resourceVersion. */
  list(): Promise<{ items: T[]; resourceVersion: string }>;
}

export interface InformerOptions {
  /** Server-side timeout of each watch request, s. Default 300. */
  watchTimeoutSeconds?: number;
  /** How much longer than the timeout a silent watch is given before it is abandoned, ms. Default 30 000. */
  stallGraceMs?: number;
  /** Re-list this often, ms; 0 never (only after errors). Default 300 000. */
  relistIntervalMs?: number;
  /** First and longest wait before retrying after an error, ms. Defaults 1000 and 30 000. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told about every error and when the next attempt comes; default: ignore. */
  onError?: (error: unknown, retryInMs: number) => void;
  /** Called each time a watch request ends and another starts: `ended` by the server or a due re-list, `error`. */
  onWatchRestart?: (reason: 'ended' | 'error') => void;
}

type ObjectHandler<T> = (object: T) => void;
type SyncedHandler<T> = (objects: readonly T[]) => void;

interface Handlers<T> {
  add: ObjectHandler<T>[];
  update: ObjectHandler<T>[];
  delete: ObjectHandler<T>[];
  /** After every (re)list, with everything listed. */
  synced: SyncedHandler<T>[];
}

export class WatchStalledError extends Error {}

/** A watch that ends sooner than this without a single event is treated as refused. */
const SHORT_WATCH_MS = 1000;

export class ResilientInformer<T extends KubernetesObject> {
  private readonly watch: Watch;
  private readonly options: Required<Omit<InformerOptions, 'onError' | 'onWatchRestart'>> &
    Pick<InformerOptions, 'onError' | 'onWatchRestart'>;
  private readonly handlers: Handlers<T> = { add: [], update: [], delete: [], synced: [] };
  private cache = new Map<string, T>();
  private resourceVersion = '';
  private lastListAt = 0;
  private stopped = true;
  private loop?: Promise<void>;
  private interrupt?: () => void;
  private syncedOnce = false;
  private readonly syncWaiters: Array<() => void> = [];

  constructor(
    config: KubeConfig,
    private readonly source: InformerSource<T>,
    options: InformerOptions = {},
  ) {
    this.watch = new Watch(config);
    this.options = {
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
      stallGraceMs: options.stallGraceMs ?? 30_000,
      relistIntervalMs: options.relistIntervalMs ?? 300_000,
      initialBackoffMs: options.initialBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      onError: options.onError,
      onWatchRestart: options.onWatchRestart,
    };
  }

  on(event: 'add' | 'update' | 'delete', handler: ObjectHandler<T>): () => void;
  on(event: 'synced', handler: SyncedHandler<T>): () => void;
  on(event: keyof Handlers<T>, handler: ObjectHandler<T> & SyncedHandler<T>): () => void {
    const list = this.handlers[event] as unknown[];
    list.push(handler);
    return () => {
      const index = list.indexOf(handler);
      if (index >= 0) list.splice(index, 1);
    };
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves after the first successful list. */
  waitForSync(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.loop;
  }

  /** Ends the current watch now and re-lists, e.g. when a caller suspects the cache is stale. */
  relist(): void {
    this.resourceVersion = '';
    this.interrupt?.();
  }

  private async run(): Promise<void> {
    let backoff = this.options.initialBackoffMs;
    let shortWatches = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === '' || this.relistDue()) await this.listAll();
        if (this.stopped) break;
        const started = Date.now();
        const events = await this.watchOnce();
        if (this.stopped) break;
        this.options.onWatchRestart?.('ended');
        if (events === 0 && Date.now() - started < SHORT_WATCH_MS) {
          // The server closed the watch at once. Its reason (often an ERROR 410 event) can be lost when the body
          // ends before its last line is read, so start over from a fresh list, slowing down if it repeats.
          this.resourceVersion = '';
          if (++shortWatches > 2) {
            await this.pause(backoff);
            backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
          }
          continue;
        }
        shortWatches = 0;
        backoff = this.options.initialBackoffMs;
      } catch (error) {
        if (this.stopped) break;
        this.options.onWatchRestart?.('error');
        this.resourceVersion = '';
        // 410 Gone: our resourceVersion is too old; routine, re-list at once (but not in a tight loop).
        if (isGone(error) && ++shortWatches <= 2) continue;
        if (!isGone(error)) this.options.onError?.(error, backoff);
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
      }
    }
  }

  private relistDue(): boolean {
    return this.options.relistIntervalMs > 0 && Date.now() - this.lastListAt >= this.options.relistIntervalMs;
  }

  private async listAll(): Promise<void> {
    const { items, resourceVersion } = await this.source.list();
    const fresh = new Map(items.map((item) => [keyOf(item), item]));
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit('delete', old);
      }
    }
    for (const [key, item] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (old === undefined) this.emit('add', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.emit('update', item);
    }
    this.resourceVersion = resourceVersion;
    this.lastListAt = Date.now();
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    for (const handler of [...this.handlers.synced]) this.call(() => handler(items));
  }

  /**
   * One watch request; resolves with the number of events seen when it ends normally (server timeout, relist
   * due), rejects on error or stall.
   */
  private watchOnce(): Promise<number> {
    const { watchTimeoutSeconds, stallGraceMs, relistIntervalMs } = this.options;
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      let events = 0;
      let controller: AbortController | undefined;
      let lastActivity = Date.now();
      const relistAt = relistIntervalMs > 0 ? this.lastListAt + relistIntervalMs : Number.POSITIVE_INFINITY;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        this.interrupt = undefined;
        controller?.abort();
        if (error === undefined || error === null) resolve(events);
        else reject(error instanceof Error ? error : new Error('watch failed', { cause: error }));
      };
      const stallMs = watchTimeoutSeconds * 1000 + stallGraceMs;
      const timer = setInterval(
        () => {
          if (Date.now() - lastActivity > stallMs) {
            finish(new WatchStalledError(`watch of ${this.source.path} silent for ${stallMs / 1000}s; reconnecting`));
          } else if (Date.now() >= relistAt) finish();
        },
        Math.max(50, Math.min(5000, stallMs / 4, relistIntervalMs > 0 ? relistIntervalMs / 4 : 5000)),
      );
      this.interrupt = () => finish();
      const params = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: watchTimeoutSeconds,
        labelSelector: this.source.labelSelector,
      };
      const onEvent = (type: string, object: T & { code?: number; message?: string }) => {
        if (settled) return;
        lastActivity = Date.now();
        events++;
        if (type === 'ERROR') {
          finish(Object.assign(new Error(object.message ?? 'watch error'), { statusCode: object.code }));
          return;
        }
        if (type === 'ADDED' || type === 'MODIFIED') this.upsert(object);
        else if (type === 'DELETED') this.remove(object);
        const version = object.metadata?.resourceVersion;
        if (version !== undefined) this.resourceVersion = version;
      };
      this.watch
        .watch(this.source.path, params, onEvent, (error: unknown) => finish(error ?? undefined))
        .then(
          (abort) => {
            controller = abort;
            if (settled) abort.abort();
          },
          (error: unknown) => finish(error),
        );
    });
  }

  private upsert(object: T): void {
    const key = keyOf(object);
    const old = this.cache.get(key);
    this.cache.set(key, object);
    if (old === undefined) this.emit('add', object);
    else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion) this.emit('update', object);
  }

  private remove(object: T): void {
    const key = keyOf(object);
    const old = this.cache.get(key);
    this.cache.delete(key);
    this.emit('delete', old ?? object);
  }

  private emit(event: 'add' | 'update' | 'delete', object: T): void {
    for (const handler of [...this.handlers[event]]) this.call(() => handler(object));
  }

  /** A throwing handler must not stop the informer. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.options.onError?.(error, 0);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.interrupt = done;
    });
  }
}

function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
