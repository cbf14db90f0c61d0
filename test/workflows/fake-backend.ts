/**
 * An in-memory LoadTestActivities for workflow tests: records every call, lets a test hold a runner phase
 * open (to update or delete mid-run) and await calls instead of sleeping.
 */
import { Context } from '@temporalio/activity';
import type {
  LoadTestActivities,
  LoadTestEvent,
  RunnersCompleted,
  RunnersRunning,
  StatusReport,
  TargetCheck,
} from '../../activities/types.js';
import type { LoadTestResults, LoadTestSpec } from '../../src/loadtest/spec.js';

export interface Call {
  name: keyof LoadTestActivities;
  input: Record<string, unknown>;
}

export function sampleResults(overrides: Partial<LoadTestResults> = {}): LoadTestResults {
  return {
    requests: 50,
    completed: 50,
    errors: 0,
    dropped: 0,
    errorRate: 0,
    rps: 500,
    statusCodes: { '200': 50 },
    errorsByKind: {},
    bytesRead: 1000,
    latencyMs: { p50: 1, p90: 2, p95: 3, p99: 4, p999: 5, max: 6, mean: 1.5 },
    startTime: '2026-01-01T00:00:00.000Z',
    endTime: '2026-01-01T00:00:00.100Z',
    ...overrides,
  };
}

export function sampleSpec(overrides: Partial<LoadTestSpec> = {}): LoadTestSpec {
  return {
    replicas: 2,
    test: { method: 'GET', serviceName: 'nginx', port: 80, path: '/', repeat: 10 },
    ...overrides,
  };
}

/** A promise a test resolves by hand. */
export class Gate<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  constructor() {
    this.promise = new Promise<T>((resolve) => (this.resolve = resolve));
  }
}

export class FakeBackend {
  readonly calls: Call[] = [];
  readonly statuses: StatusReport[] = [];
  /** Every Event recorded, whichever activity recorded it (recordEvent, or with a status or the runners' creation). */
  readonly events: LoadTestEvent[] = [];
  /** When each start told the runners to send (epoch ms), whichever activity started them. */
  readonly starts: number[] = [];
  target: TargetCheck = { ok: true };
  /** What awaitRunnersRunning answers; a Gate keeps the run waiting until the test opens it. */
  running: RunnersRunning | Gate<RunnersRunning> = { kind: 'running' };
  completed: RunnersCompleted | Gate<RunnersCompleted> = { kind: 'succeeded', results: sampleResults(), runners: 2 };
  /** Answers of the next awaitRunnersCompleted calls, in order, before `completed` (e.g. live progress rounds). */
  readonly nextCompleted: RunnersCompleted[] = [];
  /**
   * What awaitRunnersCompleted answers once stopRunners was called and the wait says the runners were stopped
   * (spec.timeout): the results measured up to the stop.
   */
  afterStop: RunnersCompleted = {
    kind: 'succeeded',
    results: sampleResults({ requests: 20, completed: 20 }),
    runners: 2,
  };
  /** What deleteLoadTest answers: whether the LoadTest was still there to delete. */
  loadTestExists = true;
  /** Answer like a worker older than the lean run: awaitRunnersRunning only waits, whatever it is asked. */
  olderWorker = false;
  /** Throw this from createRunners (e.g. a non-retryable InvalidSpec failure). */
  createError?: Error;
  /** Throw this from publishStatus (e.g. a LoadTestGone failure). */
  publishError?: Error;
  private readonly listeners: Array<() => void> = [];

  /** Resolves once a call matching `predicate` has been made (including calls made before). */
  async until(name: keyof LoadTestActivities, predicate: (input: Record<string, unknown>) => boolean = () => true) {
    const match = () => this.calls.find((call) => call.name === name && predicate(call.input));
    for (;;) {
      const found = match();
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  /** Resolves once a status with `state` (and `generation`, when given) has been published. */
  async untilState(state: StatusReport['state'], generation?: number): Promise<StatusReport> {
    const call = await this.until('publishStatus', (input) => {
      const status = input.status as StatusReport;
      return status.state === state && (generation === undefined || status.generation === generation);
    });
    return call.input.status as StatusReport;
  }

  /** Resolves once an event with `reason` has been recorded. */
  async untilEvent(reason: string): Promise<LoadTestEvent> {
    for (;;) {
      const found = this.events.find((event) => event.reason === reason);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  callsOf(name: keyof LoadTestActivities): Array<Record<string, unknown>> {
    return this.calls.filter((call) => call.name === name).map((call) => call.input);
  }

  private record(name: keyof LoadTestActivities, input: object) {
    this.calls.push({ name, input: input as Record<string, unknown> });
    for (const listener of this.listeners.splice(0)) listener();
  }

  /** The activity functions a Worker registers; each delegates to this backend. */
  activities(): LoadTestActivities {
    return {
      checkTarget: (input) => {
        this.record('checkTarget', input);
        return Promise.resolve(this.target);
      },
      createRunners: (input) => {
        if (this.createError !== undefined) {
          this.record('createRunners', input);
          return Promise.reject(this.createError);
        }
        const { name } = input.loadTest;
        const runners = Array.from(
          { length: input.spec.replicas },
          (_, index) => `${name}-g${input.generation}-${index}`,
        );
        if (input.createdEvent !== undefined) {
          const { generation } = input.createdEvent;
          this.events.push({
            type: 'Normal',
            reason: 'RunnersCreated',
            message: `created runners ${runners.join(', ')}`,
            generation,
          });
        }
        this.record('createRunners', input);
        return Promise.resolve(runners);
      },
      awaitRunnersRunning: async (input) => {
        this.record('awaitRunnersRunning', input);
        const running = this.running instanceof Gate ? await heartbeatUntil(this.running.promise) : this.running;
        if (running.kind !== 'running' || input.startDelayMs === undefined || this.olderWorker) return running;
        const startAtMs = Date.now() + input.startDelayMs;
        this.starts.push(startAtMs);
        return { kind: 'running', startAtMs };
      },
      startRunners: (input) => {
        this.starts.push(input.startAtMs);
        this.record('startRunners', input);
        return Promise.resolve();
      },
      awaitRunnersCompleted: async (input) => {
        this.record('awaitRunnersCompleted', input);
        if (input.watch?.stopped === true && this.calls.some((call) => call.name === 'stopRunners')) {
          return this.afterStop;
        }
        const next = this.nextCompleted.shift();
        if (next !== undefined) return next;
        return this.completed instanceof Gate ? heartbeatUntil(this.completed.promise) : this.completed;
      },
      changeRunners: (input) => {
        this.record('changeRunners', input);
        return Promise.resolve({ applied: input.runners, refused: [] });
      },
      stopRunners: (input) => {
        this.record('stopRunners', input);
        return Promise.resolve(input.runners);
      },
      deleteLoadTest: (input) => {
        this.record('deleteLoadTest', input);
        const existed = this.loadTestExists;
        this.loadTestExists = false;
        return Promise.resolve(existed);
      },
      deleteRunners: (input) => {
        this.record('deleteRunners', input);
        return Promise.resolve([]);
      },
      publishStatus: (input) => {
        if (this.publishError !== undefined) return Promise.reject(this.publishError);
        this.statuses.push(input.status);
        if (input.event !== undefined) this.events.push(input.event);
        this.record('publishStatus', input);
        return Promise.resolve();
      },
      publishRunHistory: (input) => {
        this.record('publishRunHistory', input);
        return Promise.resolve();
      },
      recordEvent: (input) => {
        this.events.push(input.event);
        this.record('recordEvent', input);
        return Promise.resolve();
      },
    };
  }
}

/** Waits for `promise` while heartbeating, so that a cancellation from the workflow reaches the activity. */
async function heartbeatUntil<T>(promise: Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 200);
  try {
    return await Promise.race([promise, context.cancelled]);
  } finally {
    clearInterval(timer);
  }
}
