/**
 * The caller's side of a runner's control endpoint (control-api.ts): the four calls, each bounded by a timeout,
 * so a runner that does not answer is reported to the caller instead of stalling it. Both backends use it: the
 * Kubernetes one at `http://<pod IP>:6565`, the local one at the port a runner process printed.
 */
import {
  CONTROL_PATHS,
  type ConfigChange,
  type ConfigResponse,
  type ControlError,
  type RunnerSnapshot,
  type StartResponse,
} from './control-api.js';

/** How long one control call may take: runners answer in milliseconds; a stuck one must not stall the run. */
const CALL_TIMEOUT_MS = 5000;

/** A control call the runner refused (4xx), with what it said. */
export class ControlRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlRefused';
  }
}

async function call<T>(address: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${address}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) {
    let said = text;
    try {
      said = (JSON.parse(text) as ControlError).error ?? text;
    } catch {
      // not JSON: quote it as it is
    }
    throw new ControlRefused(response.status, `${method} ${path}: ${response.status} ${said}`.trim());
  }
  return JSON.parse(text) as T;
}

/** The four calls of one runner's control endpoint at `address` (`http://host:port`). */
export class RunnerControl {
  constructor(
    private readonly address: string,
    private readonly token: string,
  ) {}

  start(atMs: number): Promise<StartResponse> {
    return call(this.address, this.token, 'POST', CONTROL_PATHS.start, { atMs });
  }

  progress(): Promise<RunnerSnapshot> {
    return call(this.address, this.token, 'GET', CONTROL_PATHS.progress);
  }

  stop(): Promise<RunnerSnapshot> {
    return call(this.address, this.token, 'POST', CONTROL_PATHS.stop);
  }

  change(change: ConfigChange): Promise<ConfigResponse> {
    return call(this.address, this.token, 'PATCH', CONTROL_PATHS.config, change);
  }
}
