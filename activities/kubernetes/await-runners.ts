/**
 * Waiting on runner pods without polling the API: every activity that waits reads the worker's shared pod
 * informer and re-decides when one of its pods changes. The only API call is a single GET for a pod that has
 * been missing from the cache for a while (deleted behind our back, or a cache that fell behind).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import type { PodClient } from '../../src/k8s/index.js';
import type { RunnersRef } from '../types.js';
import { runnerState, type RunnerState } from './runner-pods.js';

/** What the worker's shared pod informer offers (src/k8s ResilientInformer). */
export interface RunnerPodCache {
  get(namespace: string | undefined, name: string): V1Pod | undefined;
  /** Every runner pod the informer holds. */
  list(): V1Pod[];
  on(event: 'add' | 'update' | 'delete', handler: (pod: V1Pod) => void): () => void;
  waitForSync(): Promise<void>;
}

/** Pod events within this long of the first are decided on together, ms. */
const CHECK_COALESCE_MS = 50;

export interface AwaitOptions<T> {
  /** Heartbeat this often, ms (also when missing pods are checked). */
  heartbeatIntervalMs: number;
  /** A runner missing from the cache this long is looked up once; not found means it was deleted. */
  missingGraceMs: number;
  /** Give up after this long with `onTimeout`'s answer. */
  timeoutMs?: number;
  onTimeout?: (states: ReadonlyMap<string, RunnerState | undefined>) => T;
  /** Heartbeat details; default: how many runners are in each state. */
  heartbeatDetails?: (states: ReadonlyMap<string, RunnerState | undefined>) => unknown;
  /**
   * Work that runs beside the wait (polling runners) and may answer before `decide` does; gets `recheck` to ask
   * for a new decision. Returns its cleanup.
   */
  beside?: (answer: (value: T) => void, recheck: () => void) => () => void;
}

export type Decide<T> = (states: ReadonlyMap<string, RunnerState | undefined>) => T | undefined;

/**
 * Resolves with the first answer of `decide` over the runners' states (undefined state: pod not seen).
 * Heartbeats meanwhile, with counts per state as details; rejects when the activity is cancelled.
 */
export async function awaitRunners<T>(
  cache: RunnerPodCache,
  pods: PodClient,
  ref: RunnersRef,
  decide: Decide<T>,
  options: AwaitOptions<T>,
): Promise<T> {
  const context = Context.current();
  const namespace = ref.loadTest.namespace;
  const names = new Set(ref.runners);
  await cache.waitForSync();
  const missingSince = new Map<string, number>();
  const deleted = new Set<string>();
  /** Runners whose deletion the informer reported, with their last state. */
  const gone = new Map<string, RunnerState>();

  const states = (): Map<string, RunnerState | undefined> => {
    const result = new Map<string, RunnerState | undefined>();
    const now = Date.now();
    for (const name of ref.runners) {
      const pod = cache.get(namespace, name);
      if (pod !== undefined && pod.metadata?.uid !== undefined) {
        missingSince.delete(name);
        result.set(name, runnerState(pod));
      } else if (gone.has(name)) {
        result.set(name, gone.get(name));
      } else if (deleted.has(name)) {
        result.set(name, { kind: 'failed', reason: 'disappeared: its pod was deleted' });
      } else {
        if (!missingSince.has(name)) missingSince.set(name, now);
        result.set(name, undefined);
      }
    }
    return result;
  };

  return new Promise<T>((resolve, reject) => {
    let done = false;
    const cleanups: Array<() => void> = [];
    const finish = (outcome: { value: T } | { error: unknown }) => {
      if (done) return;
      done = true;
      for (const cleanup of cleanups) cleanup();
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error)));
    };
    const check = () => {
      if (done) return;
      try {
        const answer = decide(states());
        if (answer !== undefined) finish({ value: answer });
      } catch (error) {
        finish({ error });
      }
    };
    // Pod events come in bursts (a thousand runners starting or ending): one decision per CHECK_COALESCE_MS takes
    // a burst in at once. One per event made a wait over n runners cost n² state reads: with 1000 simulated runners
    // it was a quarter of the worker's CPU (`npm run bench:operator -- --simulate --replicas 1000 --cpu-prof DIR`).
    let checkQueued: NodeJS.Timeout | undefined;
    const onPod = (pod: V1Pod, event: 'add' | 'update' | 'delete') => {
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.namespace !== namespace || !names.has(name)) return;
      // The informer saw it go: its last state stands (a summary it left still counts), or it was deleted. The
      // decision may come after the cache forgot the pod, and a pod gone from the cache is otherwise only
      // confirmed gone after missingGraceMs, which a round of the wait can be shorter than.
      if (event === 'delete') {
        const last = runnerState(pod);
        gone.set(
          name,
          last.kind === 'succeeded' || last.kind === 'failed' ? last : { kind: 'failed', reason: 'was deleted' },
        );
      }
      checkQueued ??= setTimeout(() => {
        checkQueued = undefined;
        check();
      }, CHECK_COALESCE_MS);
    };
    cleanups.push(() => clearTimeout(checkQueued));
    for (const event of ['add', 'update', 'delete'] as const) {
      cleanups.push(cache.on(event, (pod) => onPod(pod, event)));
    }

    const tick = setInterval(() => {
      const current = states();
      context.heartbeat(options.heartbeatDetails?.(current) ?? countByKind(current));
      void confirmMissing();
    }, options.heartbeatIntervalMs);
    cleanups.push(() => clearInterval(tick));

    const confirmMissing = async () => {
      const now = Date.now();
      for (const [name, since] of missingSince) {
        if (now - since < options.missingGraceMs || deleted.has(name)) continue;
        try {
          const pod = await pods.get(namespace, name);
          if (pod === undefined) deleted.add(name);
          else missingSince.set(name, Date.now());
        } catch {
          // The API is unreachable: try again next tick.
        }
      }
      check();
    };

    if (options.timeoutMs !== undefined && options.onTimeout !== undefined) {
      const { onTimeout } = options;
      const timer = setTimeout(() => finish({ value: onTimeout(states()) }), options.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    if (options.beside !== undefined) cleanups.push(options.beside((value) => finish({ value }), check));
    context.cancelled.catch((error: unknown) => finish({ error }));
    check();
  });
}

export function countByKind(states: ReadonlyMap<string, RunnerState | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const state of states.values()) {
    const kind = state?.kind ?? 'unseen';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
