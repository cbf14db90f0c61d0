/**
 * The runner's control endpoint: a small HTTP API in every runner through which the operator starts the runners
 * of a run at one instant, reads their progress while they send, stops them early, and changes their rate or
 * duration mid-run. k6's REST API (port 6565) is the model; this one is authenticated, because whoever can
 * reach it can stop a test. The runner (src/runner/control-server.ts) and the operator's client
 * (activities/kubernetes/runner-control.ts) both import this module so they cannot drift apart.
 *
 * Every request carries `Authorization: Bearer <token>`, the per-run token the operator keeps in a Secret that
 * the runner pod receives as the environment variable CONTROL_TOKEN_ENV; anything else is refused with 401.
 */
import type { RunnerSummary } from './contract.js';

/** The container port's name and number (k6's REST API listens on 6565 too). */
export const CONTROL_PORT_NAME = 'control';
export const CONTROL_PORT = 6565;
/** Environment variable that holds the run's control token in the runner. */
export const CONTROL_TOKEN_ENV = 'LOADTEST_CONTROL_TOKEN';

export const CONTROL_PATHS = {
  /** POST StartRequest → StartResponse. */
  start: '/v1/start',
  /** GET → RunnerSnapshot. */
  progress: '/v1/progress',
  /** POST (no body) → RunnerSnapshot: stop sending now, keep what was measured, write the summary, exit. */
  stop: '/v1/stop',
  /** PATCH ConfigChange → ConfigResponse, or 409 ControlError when the running test cannot take the change. */
  config: '/v1/config',
} as const;

/** Start sending at `atMs` (epoch ms). Idempotent for the same instant; another instant once scheduled → 409. */
export interface StartRequest {
  atMs: number;
}

export interface StartResponse {
  /** The instant the runner will start (or started) at. */
  startAtMs: number;
}

/**
 * Where a runner is: waiting for its start; sending; stopping (asked to stop, requests in flight finishing);
 * done (summary written, about to exit).
 */
export type RunnerControlState = 'waiting' | 'sending' | 'stopping' | 'done';

/**
 * A runner's cumulative view since its start. Cumulative (not a delta) so that merging the latest snapshot of
 * every runner is exact however many polls were missed, and a retried poll counts nothing twice.
 */
export interface RunnerSnapshot {
  state: RunnerControlState;
  /** The scheduled start (epoch ms), once known. */
  startAtMs?: number;
  /** When this runner actually began sending (epoch ms, the first thread's start), once it has. */
  startedAtMs?: number;
  /** Counts and histograms so far, at full precision; absent while waiting. */
  summary?: RunnerSummary;
  /** The rate and duration in force now (after any change). */
  config: RunnerConfig;
}

/** What can change mid-run. */
export interface RunnerConfig {
  /** Requests per second of this runner (open model with a constant rate). */
  rate?: number;
  /** Run length from the start, ms (duration-based tests). */
  durationMs?: number;
}

/** A change to apply to the running test; fields left out stay as they are. */
export type ConfigChange = RunnerConfig;

export interface ConfigResponse {
  /** The configuration in force after the change. */
  config: RunnerConfig;
}

/** Body of every 4xx answer. */
export interface ControlError {
  error: string;
}
