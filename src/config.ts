/**
 * Settings of the operator's processes (worker and watcher), read from the environment once at start-up.
 * Every setting has a default that works against a local dev server and the test bed.
 */

export interface OperatorConfig {
  /** Temporal frontend, host:port. Env TEMPORAL_ADDRESS; default `127.0.0.1:7233`. */
  temporalAddress: string;
  /** Temporal namespace. Env TEMPORAL_NAMESPACE; default `default`. */
  temporalNamespace: string;
  /** Task queue shared by the watcher (starts workflows) and the worker (runs them). Env TASK_QUEUE; default `loadtest-operator`. */
  taskQueue: string;
  /** Container image of runner pods; its entrypoint must be `loadtest-operator`. Env RUNNER_IMAGE; default `loadtest-operator:dev`. */
  runnerImage: string;
  /**
   * Kubeconfig file. Env KUBECONFIG; unset means in-cluster (service account) when running in a pod, else
   * `~/.kube/config`.
   */
  kubeconfig?: string;
  /** Port of the `/healthz` and `/readyz` endpoints; 0 turns them off. Env HEALTH_PORT; default 0. */
  healthPort: number;
  /**
   * The one namespace whose LoadTests (watcher) and runner pods (worker) the operator handles, for an operator
   * granted a Role in that namespace only (config/namespaced). Env WATCH_NAMESPACE; default: every namespace.
   */
  watchNamespace?: string;
  /** How often the watcher re-lists every LoadTest and reconciles, ms. Env RESYNC_INTERVAL_MS; default 300 000. */
  resyncIntervalMs: number;
  /**
   * How long runner pods of a run may take to start (scheduling, image pulls) before the run fails, ms, for runs
   * the watcher starts. Env RUNNER_START_TIMEOUT_MS; default: the workflow's (300 000).
   */
  runnerStartTimeoutMs?: number;
}

export const DEFAULT_TASK_QUEUE = 'loadtest-operator';
export const DEFAULT_RUNNER_IMAGE = 'loadtest-operator:dev';

/** Reads the operator's settings from `env` (default: process.env); throws naming the variable that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  return {
    temporalAddress: nonEmpty(env.TEMPORAL_ADDRESS) ?? '127.0.0.1:7233',
    temporalNamespace: nonEmpty(env.TEMPORAL_NAMESPACE) ?? 'default',
    taskQueue: nonEmpty(env.TASK_QUEUE) ?? DEFAULT_TASK_QUEUE,
    runnerImage: nonEmpty(env.RUNNER_IMAGE) ?? DEFAULT_RUNNER_IMAGE,
    kubeconfig: nonEmpty(env.KUBECONFIG),
    healthPort: integer(env, 'HEALTH_PORT', 0),
    watchNamespace: namespaceName(env, 'WATCH_NAMESPACE'),
    resyncIntervalMs: integer(env, 'RESYNC_INTERVAL_MS', 300_000),
    runnerStartTimeoutMs:
      nonEmpty(env.RUNNER_START_TIMEOUT_MS) === undefined ? undefined : integer(env, 'RUNNER_START_TIMEOUT_MS', 0),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A namespace name: an RFC 1123 label (lower-case letters, digits and '-', at most 63 characters). */
function namespaceName(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const text = nonEmpty(env[name]);
  if (text === undefined || /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(text)) return text;
  throw new Error(`${name} must be a namespace name (lower-case letters, digits and '-', at most 63), got "${text}"`);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${text}"`);
  return value;
}
