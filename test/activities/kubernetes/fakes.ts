/** In-memory stand-ins for the Kubernetes clients the activities use, counting the API calls made. */
import type { CoreV1Event, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { EventEmitter } from 'node:events';
import type {
  EventClient,
  LoadTestClient,
  LoadTestList,
  LoadTestObject,
  LoadTestStatusPatch,
  PodClient,
  SecretClient,
  ServiceClient,
} from '../../../src/k8s/index.js';
import type { LoadTestCache, RunnerPodCache } from '../../../activities/kubernetes/index.js';
import { createMergeHistogram, encodeHistogram } from '../../../src/runner/histogram.js';
import type { RunnerSummary } from '../../../src/runner/contract.js';

const notFound = () => Object.assign(new Error('not found'), { code: 404 });
const conflict = () => Object.assign(new Error('the object has been modified'), { code: 409 });

export class FakePods implements PodClient {
  readonly pods = new Map<string, V1Pod>();
  readonly calls: string[] = [];
  private uid = 0;

  create(pod: V1Pod) {
    this.calls.push(`create ${pod.metadata?.name}`);
    const existing = this.pods.get(pod.metadata!.name!);
    if (existing !== undefined) return Promise.resolve({ created: false, pod: existing });
    const stored = { ...pod, metadata: { ...pod.metadata, uid: `pod-${++this.uid}` } };
    this.pods.set(pod.metadata!.name!, stored);
    return Promise.resolve({ created: true, pod: stored });
  }
  get(_namespace: string, name: string) {
    this.calls.push(`get ${name}`);
    return Promise.resolve(this.pods.get(name));
  }
  list(_namespace: string, labelSelector: string) {
    this.calls.push(`list ${labelSelector}`);
    const wanted = labelSelector.split(',').map((pair) => pair.split('='));
    const matches = [...this.pods.values()].filter((pod) =>
      wanted.every(([key, value]) => pod.metadata?.labels?.[key!] === value),
    );
    return Promise.resolve(matches);
  }
  annotate(_namespace: string, name: string, annotations: Record<string, string>) {
    this.calls.push(`annotate ${name}`);
    const pod = this.pods.get(name);
    if (pod === undefined) return Promise.resolve(false);
    pod.metadata!.annotations = { ...pod.metadata!.annotations, ...annotations };
    return Promise.resolve(true);
  }
  delete(_namespace: string, name: string) {
    this.calls.push(`delete ${name}`);
    return Promise.resolve(this.pods.delete(name));
  }
}

/**
 * LoadTests: every status patch bumps the object's resourceVersion, and a patch with a resourceVersion
 * precondition that no longer matches is refused with 409, as the API server does. `cache` is what a worker's
 * LoadTest informer would show: these objects, as they are, unless a test makes it lag (FakeLoadTestCache.lag).
 */
export class FakeLoadTests implements LoadTestClient {
  readonly objects = new Map<string, LoadTestObject>();
  readonly patches: LoadTestStatusPatch[] = [];
  /** Every call: `get <name>`, `patch <name>` (a refused one too). */
  readonly calls: string[] = [];
  readonly cache = new FakeLoadTestCache(this.objects);

  add(namespace: string, name: string, uid: string, spec: unknown = {}, generation = 1): LoadTestObject {
    const object: LoadTestObject = {
      apiVersion: 'example.org/v1',
      kind: 'LoadTest',
      metadata: { namespace, name, uid, generation, resourceVersion: '1' },
      spec,
    };
    this.objects.set(`${namespace}/${name}`, object);
    return object;
  }
  get(namespace: string, name: string) {
    this.calls.push(`get ${name}`);
    const object = this.objects.get(`${namespace}/${name}`);
    // A copy, as from the server: later patches do not change what a caller read.
    return Promise.resolve(object === undefined ? undefined : structuredClone(object));
  }
  list(): Promise<LoadTestList> {
    return Promise.resolve({ items: [...this.objects.values()], resourceVersion: '1' });
  }
  patchStatus(
    namespace: string,
    name: string,
    status: LoadTestStatusPatch,
    precondition?: { resourceVersion: string },
  ) {
    this.calls.push(`patch ${name}`);
    const object = this.objects.get(`${namespace}/${name}`);
    if (object === undefined) return Promise.reject(notFound());
    if (precondition !== undefined && precondition.resourceVersion !== object.metadata.resourceVersion) {
      return Promise.reject(conflict());
    }
    this.patches.push(status);
    // A new object, as the server stores a new version: copies read before keep the old one.
    this.objects.set(`${namespace}/${name}`, {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(Number(object.metadata.resourceVersion ?? 0) + 1) },
      status: { ...object.status, ...(status as object) },
    });
    return Promise.resolve();
  }
  deleteWithUid(namespace: string, name: string, uid: string) {
    const object = this.objects.get(`${namespace}/${name}`);
    if (object?.metadata.uid !== uid) return Promise.resolve(false);
    return Promise.resolve(this.objects.delete(`${namespace}/${name}`));
  }
}

export class FakeServices implements ServiceClient {
  readonly services = new Map<string, V1Service>();
  add(namespace: string, name: string, ports: number[]) {
    this.services.set(`${namespace}/${name}`, { spec: { ports: ports.map((port) => ({ port })) } });
  }
  get(namespace: string, name: string) {
    return Promise.resolve(this.services.get(`${namespace}/${name}`));
  }
}

export class FakeSecrets implements SecretClient {
  readonly secrets = new Map<string, V1Secret>();
  create(secret: V1Secret) {
    const key = `${secret.metadata!.namespace}/${secret.metadata!.name}`;
    const existing = this.secrets.get(key);
    if (existing !== undefined) return Promise.resolve({ created: false, secret: existing });
    // As the API server does: stringData comes back base64-encoded in data.
    const data = Object.fromEntries(
      Object.entries(secret.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
    const stored: V1Secret = { ...secret, stringData: undefined, data };
    this.secrets.set(key, stored);
    return Promise.resolve({ created: true, secret: stored });
  }
  get(namespace: string, name: string) {
    return Promise.resolve(this.secrets.get(`${namespace}/${name}`));
  }
  delete(namespace: string, name: string) {
    return Promise.resolve(this.secrets.delete(`${namespace}/${name}`));
  }
}

export class FakeEvents implements EventClient {
  readonly events = new Map<string, CoreV1Event>();
  create(event: CoreV1Event) {
    this.events.set(event.metadata.name!, event);
    return Promise.resolve();
  }
}

/**
 * A LoadTest informer's cache over FakeLoadTests' objects: current, unless a test makes it show an object as it
 * was (or not at all) with `lag`, as an informer that has not yet seen the latest watch events does.
 */
export class FakeLoadTestCache implements LoadTestCache {
  private readonly lagging = new Map<string, LoadTestObject | undefined>();
  hasSynced = true;

  constructor(private readonly objects: ReadonlyMap<string, LoadTestObject>) {}

  get(namespace: string | undefined, name: string) {
    const key = `${namespace}/${name}`;
    return this.lagging.has(key) ? this.lagging.get(key) : this.objects.get(key);
  }
  /** From now on shows `object` (undefined: none) for its key, whatever happens to the real one. */
  lag(namespace: string, name: string, object: LoadTestObject | undefined) {
    this.lagging.set(`${namespace}/${name}`, object === undefined ? undefined : structuredClone(object));
  }
  /** Catches up: shows the objects as they are. */
  catchUp() {
    this.lagging.clear();
  }
}

/** A pod cache a test drives by hand, as the informer would from watch events. */
export class FakePodCache implements RunnerPodCache {
  private readonly pods = new Map<string, V1Pod>();
  private readonly emitter = new EventEmitter();

  get(namespace: string | undefined, name: string) {
    return this.pods.get(`${namespace}/${name}`);
  }
  list() {
    return [...this.pods.values()];
  }
  on(event: 'add' | 'update' | 'delete', handler: (pod: V1Pod) => void) {
    this.emitter.on(event, handler);
    return () => void this.emitter.off(event, handler);
  }
  waitForSync() {
    return Promise.resolve();
  }
  /** Sets a pod's status (adding the pod when new) and tells subscribers. */
  put(pod: V1Pod) {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const event = this.pods.has(key) ? 'update' : 'add';
    this.pods.set(key, pod);
    this.emitter.emit(event, pod);
  }
  /** Drops a pod without telling subscribers: a cache that missed its deletion. */
  forget(pod: V1Pod) {
    this.pods.delete(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }
  remove(pod: V1Pod) {
    this.pods.delete(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
    this.emitter.emit('delete', pod);
  }
}

export function withPhase(
  pod: V1Pod,
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed',
  terminated?: { exitCode: number; reason?: string; message?: string },
): V1Pod {
  return {
    ...pod,
    status: {
      phase,
      containerStatuses: [
        {
          name: 'runner',
          image: 'x',
          imageID: '',
          ready: phase === 'Running',
          restartCount: 0,
          state: terminated ? { terminated } : phase === 'Running' ? { running: {} } : { waiting: {} },
        },
      ],
    },
  };
}

/** A runner summary as a runner writes it: `sent` requests at `latencyUs` each. */
export function runnerSummary(sent: number, latencyUs: number, failed = 0): RunnerSummary {
  const histogram = createMergeHistogram();
  for (let i = 0; i < sent; i++) histogram.recordValue(latencyUs);
  return {
    v: 1,
    sent,
    completed: sent,
    failed,
    dropped: 0,
    status: failed > 0 ? { '200': sent - failed, '503': failed } : { '200': sent },
    errors: {},
    bytesRead: sent * 10,
    start: 1_700_000_000_000,
    end: 1_700_000_001_000,
    latency: encodeHistogram(histogram),
  };
}
