/**
 * One stand-in runner of the simulated node (bench/sim-node.ts): it sends nothing. It answers the runner's control
 * endpoint with the runner's own controller and server (src/runner/run-control.ts, control-server.ts) on its pod's
 * loopback address, so start, progress, stop and change behave as the contract says; its "run" is a clock: from
 * its start instant it reports counts growing linearly to `requests` over `sendMs`, then ends with a summary in
 * the runner's format (a real HdrHistogram holding `requests` latencies) for the termination message.
 */
import type { Histogram } from 'hdr-histogram-js';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../src/loadtest/duration.js';
import { RUNNER_EXIT, START_AT_WAIT_LIMIT_MS, type RunnerSummary } from '../../src/runner/contract.js';
import type { ConfigChange } from '../../src/runner/control-api.js';
import { startControlServer, type ControlServer } from '../../src/runner/control-server.js';
import { createMergeHistogram, encodeHistogram } from '../../src/runner/histogram.js';
import { planRun, type RunOptions, type RunPlan } from '../../src/runner/plan.js';
import { RunnerController, type LiveRun } from '../../src/runner/run-control.js';
import { fitSummary } from '../../src/runner/summary-fit.js';

/** Distinct latencies a stand-in reports (µs): its counts are spread evenly over them. */
const LATENCY_LEVELS_US = Array.from({ length: 32 }, (_, level) => 800 + 40 * level * level);
/** Bytes a stand-in pretends each response had. */
const BYTES_PER_RESPONSE = 120;

export interface StandInOptions {
  /** The pod's loopback address (127.x.y.z), where the control endpoint listens. */
  address: string;
  /** The runner container's args, as the operator wrote them (`runner --url ... --control-port 6565 ...`). */
  args: readonly string[];
  /** The run's control token (from the Secret the pod's env names). */
  token: string;
  /** Requests reported by the end of the run. */
  requests: number;
  /** How long the run "sends" from its start instant, ms (a durationMs change moves the end). */
  sendMs: number;
  /** Called once, when the stand-in first learns its start instant (the start call, or the annotation). */
  onStartCall?: (atMs: number) => void;
  /** Longest wait for a start instant before starting anyway, ms. Default START_AT_WAIT_LIMIT_MS, as the runner. */
  startWaitLimitMs?: number;
}

/** How a stand-in ended: the container's exit code and its termination message. */
export interface StandInExit {
  exitCode: number;
  message: string;
  startedAt: Date;
  finishedAt: Date;
}

/** The flags of `loadtest-operator runner` that shape a run's plan and control, from a container's args. */
export function runOptionsFromArgs(args: readonly string[]): RunOptions & { controlPort?: number } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: false,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      method: { type: 'string' },
      requests: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      stage: { type: 'string', multiple: true },
      model: { type: 'string' },
      connections: { type: 'string' },
      'control-port': { type: 'string' },
      'start-at': { type: 'string' },
    },
  });
  if (positionals[0] !== 'runner') throw new Error(`not a runner: its args start with "${args[0] ?? ''}"`);
  const text = (name: string): string | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new Error(`--${name} needs a value`);
    return value;
  };
  const number = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new Error(`--${name} must be a number, not "${value}"`);
    return parsed;
  };
  const duration = text('duration');
  const stages = values.stage as string[] | undefined;
  const url = text('url');
  if (url === undefined) throw new Error('--url is required');
  return {
    url,
    method: text('method') ?? 'GET',
    requests: number('requests'),
    durationMs: duration === undefined ? undefined : parseDurationMs(duration),
    rate: number('rate'),
    stages: stages?.map((stage) => {
      const match = /^([^:]+):(.+)$/.exec(stage);
      if (match === null) throw new Error(`--stage is DURATION:TARGET, not "${stage}"`);
      return { durationMs: parseDurationMs(match[1]!), target: Number(match[2]) };
    }),
    model: text('model') as RunOptions['model'],
    connections: number('connections'),
    // One thread: the plan must not depend on this machine's CPUs.
    threads: 1,
    controlPort: number('control-port'),
    startAtMs: number('start-at'),
  };
}

/** A summary in the runner's format: `count` requests, all 200, their latencies spread over LATENCY_LEVELS_US. */
export function simulatedSummary(count: number, startMs: number, endMs: number): RunnerSummary {
  const histogram: Histogram = createMergeHistogram();
  const levels = LATENCY_LEVELS_US.length;
  for (let level = 0; level < levels; level++) {
    const share = Math.floor((count * (level + 1)) / levels) - Math.floor((count * level) / levels);
    if (share > 0) histogram.recordValueWithCount(LATENCY_LEVELS_US[level]!, share);
  }
  return {
    v: 1,
    sent: count,
    completed: count,
    failed: 0,
    dropped: 0,
    status: count > 0 ? { '200': count } : {},
    errors: {},
    bytesRead: count * BYTES_PER_RESPONSE,
    start: count > 0 ? startMs : 0,
    end: count > 0 ? endMs : 0,
    latency: encodeHistogram(histogram),
  };
}

export class StandIn {
  readonly controller = new RunnerController();
  /** Resolves when the stand-in ended (its summary written, its endpoint closed). */
  readonly exited: Promise<StandInExit>;
  private server?: ControlServer;
  private readonly startedAt = new Date();
  private live?: { startedAtMs: number; endAtMs: number; timer: NodeJS.Timeout };
  private final?: RunnerSummary;
  private cached?: { count: number; summary: RunnerSummary };
  private resolveExit!: (exit: StandInExit) => void;
  private waitTimer?: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly options: StandInOptions) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /**
   * Starts a stand-in: its plan from the args (a UsageError or bad flag ends it at once with the runner's usage
   * exit code), its control endpoint listening on `address` and the port the args name.
   */
  static async start(options: StandInOptions): Promise<StandIn> {
    let runOptions: ReturnType<typeof runOptionsFromArgs>;
    let plan: RunPlan;
    try {
      runOptions = runOptionsFromArgs(options.args);
      plan = planRun(runOptions);
    } catch (error) {
      // As the runner: bad flags end it before anything is sent, with the usage exit code.
      const now = new Date();
      const stopped = new StandIn(options);
      stopped.closed = true;
      stopped.resolveExit({
        exitCode: RUNNER_EXIT.usage,
        message: `error: ${(error as Error).message}`,
        startedAt: now,
        finishedAt: now,
      });
      return stopped;
    }
    const standIn = new StandIn(options);
    standIn.controller.bind(plan);
    if (runOptions.controlPort !== undefined) {
      standIn.server = await startControlServer({
        port: runOptions.controlPort,
        host: options.address,
        token: options.token,
        controller: standIn.controller,
      });
    }
    standIn.awaitStart(runOptions.startAtMs);
    return standIn;
  }

  /** The start instant from the pod's START_AT_ANNOTATION (the operator's fallback): counts if none came first. */
  annotatedStart(atMs: number): void {
    if (!this.closed) this.controller.start(atMs);
  }

  /** Ends the stand-in now (its pod is being deleted): no summary. Idempotent. */
  async kill(): Promise<void> {
    if (this.closed) return this.exited.then(() => undefined);
    this.closed = true;
    clearTimeout(this.waitTimer);
    if (this.live !== undefined) clearTimeout(this.live.timer);
    await this.server?.close();
    const now = new Date();
    this.resolveExit({ exitCode: 137, message: '', startedAt: this.startedAt, finishedAt: now });
  }

  private awaitStart(startAtMs: number | undefined): void {
    if (startAtMs !== undefined) this.controller.start(startAtMs);
    const stop = this.controller.stopSignal;
    // The stop is answered with the final summary; the endpoint closes once that answer is out (end()).
    stop.addEventListener('abort', () => this.finish(false), { once: true });
    const limit = setTimeout(
      () => this.controller.start(Date.now()),
      this.options.startWaitLimitMs ?? START_AT_WAIT_LIMIT_MS,
    );
    this.waitTimer = limit;
    void this.controller.scheduled.then((atMs) => {
      clearTimeout(limit);
      if (this.closed || stop.aborted) return;
      this.options.onStartCall?.(atMs);
      this.begin(atMs);
    });
  }

  /** Begins at `atMs`, never before (a timer may fire a millisecond early by the wall clock). */
  private begin(atMs: number): void {
    if (this.closed || this.controller.stopSignal.aborted) return;
    if (Date.now() < atMs) {
      this.waitTimer = setTimeout(() => this.begin(atMs), atMs - Date.now());
      return;
    }
    const startedAtMs = Date.now();
    const endAtMs = startedAtMs + this.options.sendMs;
    this.live = { startedAtMs, endAtMs, timer: setTimeout(() => this.finish(true), this.options.sendMs) };
    const live: LiveRun = {
      startedAtMs,
      snapshot: () => Promise.resolve(this.summaryAt(Date.now())),
      change: (change) => Promise.resolve(this.change(change)),
    };
    this.controller.attach(live);
  }

  /** A durationMs change moves the end (the controller checked it against the plan); a rate change is taken. */
  private change(change: ConfigChange): boolean {
    const live = this.live;
    if (live === undefined || this.final !== undefined || this.closed) return false;
    if (change.durationMs !== undefined) {
      clearTimeout(live.timer);
      live.endAtMs = live.startedAtMs + change.durationMs;
      live.timer = setTimeout(() => this.finish(true), Math.max(0, live.endAtMs - Date.now()));
    }
    return true;
  }

  /** The cumulative summary at `nowMs`: counts grow linearly from the start to the end. */
  private summaryAt(nowMs: number): RunnerSummary | undefined {
    if (this.final !== undefined) return this.final;
    const live = this.live;
    if (live === undefined) return undefined;
    const span = Math.max(1, live.endAtMs - live.startedAtMs);
    const fraction = Math.min(1, Math.max(0, (nowMs - live.startedAtMs) / span));
    const count = Math.floor(this.options.requests * fraction);
    if (this.cached?.count !== count) {
      this.cached = { count, summary: simulatedSummary(count, live.startedAtMs, Math.min(nowMs, live.endAtMs)) };
    }
    return this.cached.summary;
  }

  /**
   * The run ends (`timeUp`, or it was stopped): its summary is final from now on (a stop is answered with it); the
   * stand-in exits on the next turn of the event loop, once answers being handled are out, as the runner does.
   */
  private finish(timeUp: boolean): void {
    if (this.final !== undefined || this.closed) return;
    clearTimeout(this.waitTimer);
    const live = this.live;
    if (live !== undefined) clearTimeout(live.timer);
    this.final =
      live === undefined
        ? simulatedSummary(0, 0, 0)
        : timeUp
          ? simulatedSummary(this.options.requests, live.startedAtMs, live.endAtMs)
          : this.summaryAt(Date.now())!;
    this.controller.ended(this.final);
    setImmediate(() => void this.exit(this.final!));
  }

  private async exit(summary: RunnerSummary): Promise<void> {
    if (this.closed) return;
    const message = JSON.stringify(fitSummary(summary));
    this.controller.done();
    this.closed = true;
    await this.server?.close();
    this.resolveExit({ exitCode: RUNNER_EXIT.ok, message, startedAt: this.startedAt, finishedAt: new Date() });
  }
}
