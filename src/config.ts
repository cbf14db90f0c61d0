/**
 * Settings of the operator's processes (worker and watcher), read from the environment once at start-up.
 * Every setting has a default that works against a local dev server and the test bed.
 */

import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';

export interface OperatorConfig {
  /**
   * Temporal frontend, host:port. Env TEMPORAL_ADDRESS, else the address of the Temporal profile
   * (TEMPORAL_PROFILE in TEMPORAL_CONFIG_FILE, see loadTemporalSettings below); default `127.0.0.1:7233`.
   */
  temporalAddress: string;
  /** Temporal namespace. Env TEMPORAL_NAMESPACE, else the Temporal profile's; default `default`. */
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
  /** Port of the `/healthz`, `/readyz` and `/metrics` endpoints; 0 turns them off. Env HEALTH_PORT; default 0. */
  healthPort: number;
  /**
   * Port of the Temporal SDK's own Prometheus exporter (worker only: task slots, polls, schedule-to-start
   * latency...); 0 turns it off. The SDK serves it itself, hence a second port. Env SDK_METRICS_PORT; default 0.
   */
  sdkMetricsPort: number;
  /** pino level of every log line, the SDK's included. Env LOG_LEVEL; default `info`. */
  logLevel: LogLevelName;
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
  /**
   * A prebuilt workflow bundle (`node dist/src/temporal/workflow-bundle.js <path>` writes one) for the worker to
   * load instead of running webpack at start. Env WORKFLOW_BUNDLE; default dist/workflow-bundle.js when it exists.
   */
  workflowBundle?: string;
  /**
   * Activities one worker runs at once. Each running LoadTest holds one while it waits for its runners (a cheap,
   * informer-fed wait), so the SDK's default of 100 made the 101st concurrent LoadTest wait for a slot before it
   * could even create its pods. Env MAX_CONCURRENT_ACTIVITIES; default 1000.
   */
  maxConcurrentActivities: number;
}

export const DEFAULT_TASK_QUEUE = 'loadtest-operator';
export const DEFAULT_RUNNER_IMAGE = 'loadtest-operator:dev';

/** Reads the operator's settings from `env` (default: process.env); throws naming the variable that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  // envconfig already lets TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE override the profile.
  const temporal = loadTemporalSettings(env);
  return {
    temporalAddress: nonEmpty(temporal.address) ?? '127.0.0.1:7233',
    temporalNamespace: nonEmpty(temporal.namespace) ?? 'default',
    taskQueue: nonEmpty(env.TASK_QUEUE) ?? DEFAULT_TASK_QUEUE,
    runnerImage: nonEmpty(env.RUNNER_IMAGE) ?? DEFAULT_RUNNER_IMAGE,
    kubeconfig: nonEmpty(env.KUBECONFIG),
    healthPort: integer(env, 'HEALTH_PORT', 0),
    sdkMetricsPort: integer(env, 'SDK_METRICS_PORT', 0),
    logLevel: logLevel(env),
    watchNamespace: namespaceName(env, 'WATCH_NAMESPACE'),
    resyncIntervalMs: integer(env, 'RESYNC_INTERVAL_MS', 300_000),
    runnerStartTimeoutMs:
      nonEmpty(env.RUNNER_START_TIMEOUT_MS) === undefined ? undefined : integer(env, 'RUNNER_START_TIMEOUT_MS', 0),
    workflowBundle: nonEmpty(env.WORKFLOW_BUNDLE),
    maxConcurrentActivities: atLeastOne(env, 'MAX_CONCURRENT_ACTIVITIES', 1000),
  };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

function logLevel(env: NodeJS.ProcessEnv): LogLevelName {
  const text = nonEmpty(env.LOG_LEVEL)?.toLowerCase() ?? 'info';
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevelName;
  throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
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

function atLeastOne(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = integer(env, name, fallback);
  if (value < 1) throw new Error(`${name} must be at least 1, got "${env[name]}"`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${text}"`);
  return value;
}

/*
 * Temporal settings. How to reach a secured Temporal server: TLS (server CA, server name), mTLS (client certificate and key), an API
 * key and gRPC metadata, read by `@temporalio/envconfig` from the same variables and profile file as the
 * `temporal` CLI and the other SDKs: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 * TEMPORAL_TLS_CLIENT_CERT_PATH / _DATA, TEMPORAL_TLS_CLIENT_KEY_PATH / _DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH /
 * _DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*, and TEMPORAL_PROFILE in TEMPORAL_CONFIG_FILE (default
 * ~/.config/temporalio/temporal.toml). Environment variables override the profile.
 */
/** What a connection needs besides the address: TLS, API key, gRPC metadata. Empty means plain gRPC. */
export interface TemporalSecurity {
  /** TLS settings, `true` for TLS with the system's CAs, false or undefined for none. */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface TemporalSettings extends TemporalSecurity {
  /** From the profile or TEMPORAL_ADDRESS; undefined when neither names one. */
  address?: string;
  namespace?: string;
}

/** Settings that cannot be used: an unreadable certificate, a profile that does not exist, a broken file. */
export class TemporalSettingsError extends Error {
  override name = 'TemporalSettingsError';
}

/** The Temporal settings `env` (default: process.env) and its profile file give; TemporalSettingsError if unusable. */
export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const vars = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  let profile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (error) {
    throw new TemporalSettingsError(`Temporal settings: ${firstLine(error)}`);
  }
  const files = profile.tls;
  if (files !== undefined && (files.clientCert === undefined) !== (files.clientKey === undefined)) {
    throw new TemporalSettingsError(
      'Temporal settings: a client certificate needs its key and a key its certificate ' +
        '(TEMPORAL_TLS_CLIENT_CERT_PATH with TEMPORAL_TLS_CLIENT_KEY_PATH)',
    );
  }
  let options;
  try {
    options = toClientOptions(profile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const path = (error as NodeJS.ErrnoException).path;
    throw new TemporalSettingsError(
      path === undefined
        ? `Temporal TLS settings: ${firstLine(error)}`
        : `Temporal TLS settings: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`,
    );
  }
  const { address, apiKey, metadata, tls } = options.connectionOptions;
  return {
    address,
    namespace: options.namespace,
    tls: tls ?? undefined,
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
    // envconfig reads TEMPORAL_GRPC_META_* as strings.
    metadata: metadata as Record<string, string> | undefined,
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}
