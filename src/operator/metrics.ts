/**
 * Prometheus metrics of the worker and the watcher (prom-client), served as /metrics on the health port.
 * Counters are counted where things happen (reconciles, signals, watch restarts, re-lists, activity errors,
 * runner start latency); runs by state and every LoadTest's last results are read at scrape time from the
 * watcher's LoadTest informer, so they always match `.status` and need no bookkeeping.
 * Names: loadtest_operator_* for the operator, loadtest_* for LoadTest results (see README "Metrics").
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LoadTestObject } from '../k8s/index.js';

export type ReconcileResult = 'signalled' | 'unchanged' | 'deleted' | 'error' | 'applied' | 'rejected';

/** The watcher's counters; its interface for them (src/operator/watcher.ts) is as small as it needs. */
export interface OperatorMetrics {
  readonly registry: Registry;
  reconciled(result: ReconcileResult): void;
  signalled(signal: 'update' | 'delete'): void;
  watchRestarted(resource: 'loadtests' | 'pods', reason: 'ended' | 'error'): void;
  relisted(resource: 'loadtests' | 'pods'): void;
  activityFailed(activity: string): void;
  runnerStarted(seconds: number): void;
  /** One call to the Kubernetes API through a client of src/k8s (informer lists and watches are counted apart). */
  kubernetesRequest(resource: string, call: string): void;
  /** Reads runs by state and last results from `list()` at every scrape. */
  exposeLoadTests(list: () => readonly LoadTestObject[]): void;
  /** The text a scrape returns. */
  scrape: () => Promise<{ contentType: string; body: string }>;
}

const STATES = ['pending', 'executing', 'finished', 'failed'] as const;

/** `process` labels the series with worker or watcher; default Node.js process metrics are included. */
export function createOperatorMetrics(process: 'worker' | 'watcher'): OperatorMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ process });
  collectDefaultMetrics({ register: registry });
  const reconciles = new Counter({
    name: 'loadtest_operator_reconciles_total',
    help: 'LoadTest reconciles by the watcher, by result (signalled, unchanged, deleted, error)',
    labelNames: ['result'],
    registers: [registry],
  });
  const signals = new Counter({
    name: 'loadtest_operator_signals_total',
    help: 'Signals sent to LoadTest workflows (update: signalWithStart, delete)',
    labelNames: ['signal'],
    registers: [registry],
  });
  const watchRestarts = new Counter({
    name: 'loadtest_operator_watch_restarts_total',
    help: 'Kubernetes watch requests that ended and were started again, by resource and reason (ended, error)',
    labelNames: ['resource', 'reason'],
    registers: [registry],
  });
  const relists = new Counter({
    name: 'loadtest_operator_relists_total',
    help: 'Full lists of a resource (at start, after a lost watch, and periodically)',
    labelNames: ['resource'],
    registers: [registry],
  });
  const activityErrors = new Counter({
    name: 'loadtest_operator_activity_errors_total',
    help: 'Activity attempts that threw, by activity type (Temporal retries them)',
    labelNames: ['activity'],
    registers: [registry],
  });
  const runnerStart = new Histogram({
    name: 'loadtest_operator_runner_start_seconds',
    help: 'From runner pod creation until its container is running',
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [registry],
  });
  const kubernetesRequests = new Counter({
    name: 'loadtest_operator_kubernetes_requests_total',
    help: 'Kubernetes API calls by resource and client method (get, create, patchStatus, ...), lists and watches of informers apart',
    labelNames: ['resource', 'call'],
    registers: [registry],
  });
  let loadTests: () => readonly LoadTestObject[] = () => [];
  const byState = new Gauge({
    name: 'loadtest_operator_runs',
    help: 'LoadTests by the state of their current run (.status.state)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of STATES) this.set({ state }, 0);
      for (const object of loadTests()) {
        const state = object.status?.state;
        if (state !== undefined) this.inc({ state });
      }
    },
  });
  void byState;
  const result = (
    name: string,
    help: string,
    value: (status: Required<LoadTestObject>['status']) => number | undefined,
  ) =>
    new Gauge({
      name,
      help: `${help}, of the last settled run of each LoadTest`,
      labelNames: ['namespace', 'name'],
      registers: [registry],
      collect() {
        this.reset();
        for (const object of loadTests()) {
          const status = object.status;
          if (status?.results === undefined) continue;
          const number = value(status);
          if (number !== undefined)
            this.set({ namespace: object.metadata.namespace, name: object.metadata.name }, number);
        }
      },
    });
  result('loadtest_requests', 'Requests sent', (status) => status.results?.requests);
  result('loadtest_errors', 'Requests that failed', (status) => status.results?.errors);
  result('loadtest_requests_per_second', 'Requests per second over all runners', (status) => status.results?.rps);
  for (const quantile of ['p50', 'p90', 'p99'] as const) {
    result(`loadtest_latency_${quantile}_seconds`, `Latency ${quantile}`, (status) =>
      status.results === undefined ? undefined : status.results.latencyMs[quantile] / 1000,
    );
  }
  result('loadtest_passed', '1 when finished with every threshold held, else 0', (status) =>
    status.state === 'finished' ? 1 : status.state === 'failed' ? 0 : undefined,
  );
  return {
    registry,
    reconciled: (value) => reconciles.inc({ result: value }),
    signalled: (signal) => signals.inc({ signal }),
    watchRestarted: (resource, reason) => watchRestarts.inc({ resource, reason }),
    relisted: (resource) => relists.inc({ resource }),
    activityFailed: (activity) => activityErrors.inc({ activity }),
    runnerStarted: (seconds) => runnerStart.observe(seconds),
    kubernetesRequest: (resource, call) => kubernetesRequests.inc({ resource, call }),
    exposeLoadTests: (list) => {
      loadTests = list;
    },
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** The fields of a pod that say when it was created and when its container started. */
export interface StartedPod {
  metadata?: { creationTimestamp?: Date | string };
  status?: { containerStatuses?: Array<{ state?: { running?: { startedAt?: Date | string } } }> };
}

/**
 * Seconds from a runner pod's creation until its container started, once it has; undefined before. Pure, so the
 * worker can observe each pod once from its pod informer.
 */
export function runnerStartSeconds(pod: StartedPod): number | undefined {
  const created = pod.metadata?.creationTimestamp;
  const started = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt;
  if (created === undefined || started === undefined) return undefined;
  return Math.max(0, (new Date(started).getTime() - new Date(created).getTime()) / 1000);
}

/** Counts every activity attempt that throws, by activity type (Temporal then retries it). */
export function countActivityErrors(metrics: Pick<OperatorMetrics, 'activityFailed'>): ActivityInterceptorsFactory {
  return (context) => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          metrics.activityFailed(context.info.activityType);
          throw error;
        }
      },
    },
  });
}

/**
 * The client with every method call counted as one Kubernetes API request of `resource`. (A method that calls
 * another internally, as create does on "already exists", counts once: the figure is a floor.)
 */
export function countingClient<T extends object>(
  client: T,
  resource: string,
  metrics: Pick<OperatorMetrics, 'kubernetesRequest'>,
): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        metrics.kubernetesRequest(resource, String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
