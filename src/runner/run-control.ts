/**
 * The runner's side of the control endpoint (control-api.ts), without the HTTP: where the run is (waiting,
 * sending, stopping, done), its start instant, its cumulative snapshot, stopping it and changing its rate or
 * duration. control-server.ts answers HTTP requests from a RunnerController; run.ts feeds it the live run.
 *
 * Changes are checked here against the plan (409 when the running test cannot take them) and then handed to
 * the engine of every thread (engine.ts EngineLive, threads.ts), which applies them from "now".
 */
import { START_AT_WAIT_LIMIT_MS, type RunnerSummary } from './contract.js';
import type {
  ConfigChange,
  ConfigResponse,
  RunnerConfig,
  RunnerControlState,
  RunnerSnapshot,
  StartResponse,
} from './control-api.js';
import type { RunOptions, RunPlan } from './plan.js';
import { waitForAnnotation, waitForStart } from './start-sync.js';

/** A run that has begun sending, on one thread or several (threads.ts). */
export interface LiveRun {
  /** Epoch ms (wall clock) when the first thread began sending. */
  startedAtMs: number;
  /** Cumulative summary so far, merged over threads; undefined when no thread has begun yet. */
  snapshot(): Promise<RunnerSummary | undefined>;
  /** Applies a checked change from now on; false when the run had already stopped sending. */
  change(change: ConfigChange): Promise<boolean>;
}

/** A refused control request: the HTTP status and the ControlError message. */
export interface ControlRefusal {
  status: 400 | 409;
  error: string;
}

export type ControlResult<T> = { ok: T } | { refused: ControlRefusal };

const refuse = (status: 400 | 409, error: string): { refused: ControlRefusal } => ({ refused: { status, error } });

export class RunnerController {
  private state: RunnerControlState = 'waiting';
  private startAtMs: number | undefined;
  private live: LiveRun | undefined;
  private finalSummary: RunnerSummary | undefined;
  private plan: RunPlan | undefined;
  private config: RunnerConfig = {};
  /** Changes asked for before sending began, applied when it does. */
  private early: ConfigChange = {};
  private readonly stopper = new AbortController();
  private resolveScheduled!: (atMs: number) => void;
  /** Resolves with the start instant once there is one (from POST /v1/start, --start-at or the file). */
  readonly scheduled = new Promise<number>((resolve) => (this.resolveScheduled = resolve));

  /** Aborts when POST /v1/stop came. */
  get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  /** The run's plan: what the config is and which changes it can take. */
  bind(plan: RunPlan): void {
    this.plan = plan;
    this.config = {
      rate: plan.model === 'open' && plan.stages === undefined ? plan.rate : undefined,
      durationMs: plan.durationMs,
    };
  }

  /** Sets the start instant (epoch ms). The same one again is fine; another one is refused with 409. */
  start(atMs: number): ControlResult<StartResponse> {
    if (!Number.isFinite(atMs) || atMs < 0) return refuse(400, 'atMs must be a finite number of epoch ms, 0 or more');
    if (this.startAtMs !== undefined && this.startAtMs !== atMs) {
      return refuse(409, `this runner already starts at ${this.startAtMs} (${new Date(this.startAtMs).toISOString()})`);
    }
    if (this.state === 'stopping' || this.state === 'done') return refuse(409, `this runner is ${this.state}`);
    if (this.startAtMs === undefined) {
      this.startAtMs = atMs;
      this.resolveScheduled(atMs);
    }
    return { ok: { startAtMs: atMs } };
  }

  /** The run began sending. */
  attach(live: LiveRun): void {
    this.live = live;
    if (this.state === 'waiting') this.state = 'sending';
    if (this.early.rate !== undefined || this.early.durationMs !== undefined) void live.change(this.early);
  }

  /** The run has ended with this summary (not yet written). */
  ended(summary: RunnerSummary): void {
    this.finalSummary = summary;
  }

  /** The summary is written: the runner is about to exit. */
  done(): void {
    this.state = 'done';
  }

  async snapshot(): Promise<RunnerSnapshot> {
    const summary = this.finalSummary ?? (await this.live?.snapshot());
    const snapshot: RunnerSnapshot = { state: this.state, config: { ...this.config } };
    if (this.startAtMs !== undefined) snapshot.startAtMs = this.startAtMs;
    if (this.live !== undefined) snapshot.startedAtMs = this.live.startedAtMs;
    if (summary !== undefined) snapshot.summary = summary;
    return snapshot;
  }

  /** Stops sending now (or never starts); answers the snapshot at that moment. */
  async stop(): Promise<RunnerSnapshot> {
    if (this.state === 'waiting' || this.state === 'sending') this.state = 'stopping';
    this.stopper.abort();
    return this.snapshot();
  }

  /** Checks a change against the plan and the time already run, then applies it. */
  async change(change: ConfigChange): Promise<ControlResult<ConfigResponse>> {
    const plan = this.plan;
    if (plan === undefined) return refuse(409, 'this runner is not ready yet');
    if (this.state === 'stopping' || this.state === 'done' || this.finalSummary !== undefined) {
      return refuse(409, `this runner is ${this.state === 'sending' ? 'done sending' : this.state}: nothing to change`);
    }
    if (change.rate !== undefined && (plan.model !== 'open' || plan.stages !== undefined)) {
      return refuse(
        409,
        plan.stages !== undefined
          ? 'rate cannot change in a test with stages: its stages set the rate'
          : 'rate can only change in an open-model test (one with a rate); this one is closed-model',
      );
    }
    if (change.durationMs !== undefined) {
      if (plan.stages !== undefined)
        return refuse(409, 'durationMs cannot change in a test with stages: they set its length');
      if (plan.durationMs === undefined) {
        return refuse(409, 'durationMs cannot change in a test bounded by a number of requests');
      }
      const elapsedMs = this.live === undefined ? 0 : Date.now() - this.live.startedAtMs;
      if (change.durationMs <= elapsedMs) {
        return refuse(409, `durationMs ${change.durationMs} is not beyond the ${Math.round(elapsedMs)} ms already run`);
      }
    }
    if (this.live === undefined) {
      this.early = { ...this.early, ...change };
    } else if (!(await this.live.change(change))) {
      return refuse(409, 'this runner has already finished sending: nothing to change');
    }
    if (change.rate !== undefined) this.config.rate = change.rate;
    if (change.durationMs !== undefined) this.config.durationMs = change.durationMs;
    return { ok: { config: { ...this.config } } };
  }
}

/**
 * Waits for the start of a controlled run: the instant POST /v1/start names, or --start-at, or the one the
 * --start-at-file annotation names (whichever comes first; the file keeps working as the operator's fallback),
 * then until that instant. With none of them, it waits for POST /v1/start. Either way it gives up after the wait
 * limit and starts, saying so; it returns at once when the run is stopped.
 */
export async function waitForControlledStart(
  options: RunOptions,
  controller: RunnerController,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const waitLimitMs = options.startAtWaitLimitMs ?? START_AT_WAIT_LIMIT_MS;
  const deadline = Date.now() + waitLimitMs;
  if (options.startAtMs !== undefined) controller.start(options.startAtMs);
  const settled = new AbortController();
  const quit = AbortSignal.any([signal, settled.signal]);
  const sources: Promise<number | undefined>[] = [
    controller.scheduled,
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      quit.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
    }),
  ];
  if (options.startAtFile !== undefined) {
    const fromFile = waitForAnnotation(options.startAtFile, deadline, { signal: quit, log });
    // The file's instant counts only when nothing else named one first.
    sources.push(fromFile.then((atMs) => (atMs === undefined || 'refused' in controller.start(atMs) ? never : atMs)));
  }
  let atMs: number | undefined;
  try {
    atMs = await Promise.race(sources);
  } finally {
    settled.abort();
  }
  if (atMs === undefined) {
    if (signal.aborted) return;
    const what = options.startAtFile === undefined ? 'POST /v1/start' : `POST /v1/start or ${options.startAtFile}`;
    log(`runner: no start time from ${what} after ${waitLimitMs} ms; starting now`);
    controller.start(Date.now());
    return;
  }
  await waitForStart({ startAtMs: atMs, waitLimitMs: Math.max(0, deadline - Date.now()), signal, log });
}

/** A promise that never settles: a source of the race that has nothing to say. */
const never = new Promise<never>(() => undefined);
