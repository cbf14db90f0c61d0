/**
 * LoadTestActivities without Kubernetes: runners are processes on this machine (see runners.ts), the start
 * time reaches them through start-at files, their control endpoints (on a loopback port each) take abort stops
 * and live changes, and status lives in memory (a LocalStatusBoard) and the log.
 * The workflow is the same one that drives runner pods in a cluster.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import {
  INVALID_SPEC,
  type LoadTestActivities,
  type LoadTestEvent,
  type LoadTestRef,
  type RunnerFailure,
  type RunnersCompleted,
  type RunnersRef,
  type RunnersRunning,
  type StatusReport,
  type RunHistoryReport,
  type TargetCheck,
  type ThresholdAbort,
} from '../types.js';
import { breachedAbortRule, LiveMerge, snapshotSummary, startSkewMs } from '../live-run.js';
import { ControlRefused } from '../../src/runner/control-client.js';
import { localSecretsProblem } from '../../src/loadtest/secrets.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import { runnerArgs, runnerName, runnerOptionsFromSpec, type RunnerSummary } from '../../src/runner/contract.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import { combineRunnerProgress, heartbeatStartAtMs, type ProgressHeartbeat, type StartHeartbeat } from '../progress.js';
import type { LocalRunners, RunnerProcess } from './runners.js';

export { LocalRunners, defaultRunnerCommand, type LocalRunnersOptions } from './runners.js';

/** Latest status and every event of each LoadTest, in memory: what `.status` and Events are in a cluster. */
export class LocalStatusBoard {
  private readonly statuses = new Map<string, StatusReport>();
  private readonly events = new Map<string, LoadTestEvent[]>();
  private readonly histories = new Map<string, RunHistoryReport>();

  publish(loadTest: LoadTestRef, status: StatusReport): void {
    this.statuses.set(loadTest.uid, status);
  }

  record(loadTest: LoadTestRef, event: LoadTestEvent): void {
    const list = this.events.get(loadTest.uid) ?? [];
    // One event per (LoadTest, generation, reason), like the Kubernetes implementation: retries add nothing.
    if (!list.some((seen) => seen.generation === event.generation && seen.reason === event.reason)) list.push(event);
    this.events.set(loadTest.uid, list);
  }

  publishHistory(loadTest: LoadTestRef, report: RunHistoryReport): void {
    const previous = this.histories.get(loadTest.uid);
    this.histories.set(loadTest.uid, { ...previous, ...report });
  }

  historyOf(loadTest: LoadTestRef): RunHistoryReport | undefined {
    return this.histories.get(loadTest.uid);
  }

  statusOf(loadTest: LoadTestRef): StatusReport | undefined {
    return this.statuses.get(loadTest.uid);
  }

  eventsOf(loadTest: LoadTestRef): readonly LoadTestEvent[] {
    return this.events.get(loadTest.uid) ?? [];
  }

  /** Forgets the LoadTest (spec.ttlSecondsAfterFinished); false when it was not on the board. */
  forget(loadTest: LoadTestRef): boolean {
    const known = this.statuses.has(loadTest.uid) || this.events.has(loadTest.uid);
    this.statuses.delete(loadTest.uid);
    this.events.delete(loadTest.uid);
    this.histories.delete(loadTest.uid);
    return known;
  }
}

export interface LocalActivitiesDeps {
  runners: LocalRunners;
  /** Where published statuses and events go. Default: a new board nobody reads (they are logged anyway). */
  board?: LocalStatusBoard;
  logger?: Logger;
  /** How often the activities that wait on runners heartbeat (carrying live progress), ms. Default 1000. */
  heartbeatIntervalMs?: number;
  /** How long checkTarget tries to open a connection to the target, ms. Default 3000. */
  connectTimeoutMs?: number;
}

export function createLocalActivities(deps: LocalActivitiesDeps): LoadTestActivities {
  const { runners, logger } = deps;
  const board = deps.board ?? new LocalStatusBoard();
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 1000;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 3000;

  const runnersOf = (ref: RunnersRef): Array<RunnerProcess | string> =>
    ref.runners.map((name) => runners.get(ref.loadTest, name) ?? name);

  /** Writes the start instant into every runner's start-at file. */
  const startAll = async (ref: RunnersRef, startAtMs: number): Promise<void> => {
    for (const runner of runnersOf(ref)) {
      if (typeof runner !== 'string') await runners.setStartAt(runner, startAtMs);
    }
    logger?.info({ loadTest: ref.loadTest, startAt: new Date(startAtMs).toISOString() }, 'runners started');
  };

  const recordEvent = (loadTest: LoadTestRef, event: LoadTestEvent): void => {
    board.record(loadTest, event);
    logger?.info({ loadTest, ...event }, 'event');
  };

  return {
    async checkTarget({ spec }) {
      const url = localTargetUrl(spec);
      if (url === undefined) return { ok: false, reason: noUrlReason(spec) };
      const secrets = localSecretsProblem(spec.test);
      if (secrets !== undefined) return { ok: false, reason: secrets };
      return canConnect(url, connectTimeoutMs);
    },

    async createRunners({ loadTest, generation, spec, replaceOthers, createdEvent }) {
      if (localTargetUrl(spec) === undefined) {
        throw ApplicationFailure.nonRetryable(noUrlReason(spec), INVALID_SPEC);
      }
      const secrets = localSecretsProblem(spec.test);
      if (secrets !== undefined) throw ApplicationFailure.nonRetryable(secrets, INVALID_SPEC);
      const flags = runnerArgs(runnerOptionsFromSpec(spec, loadTest.namespace)).slice(1); // without "runner"
      if (replaceOthers === true) {
        const others = runners.of(loadTest).filter((runner) => runner.generation !== generation);
        await Promise.all(others.map((runner) => runners.remove(runner)));
      }
      const names = Array.from({ length: spec.replicas }, (_, index) => runnerName(loadTest.name, generation, index));
      for (const name of names) runners.start(loadTest, generation, name, ['runner', ...flags]);
      if (createdEvent !== undefined) {
        const message = `created runners ${names.join(', ')}`;
        recordEvent(loadTest, {
          type: 'Normal',
          reason: 'RunnersCreated',
          message,
          generation: createdEvent.generation,
        });
      }
      return names;
    },

    async awaitRunnersRunning(ref) {
      for (const runner of runnersOf(ref)) {
        if (typeof runner === 'string') return unknownRunner(runner);
        const failed = await runner.started;
        if (failed?.kind === 'failed') return { kind: 'failed', runner: runner.name, reason: failed.reason };
      }
      if (ref.startDelayMs === undefined) return { kind: 'running' } satisfies RunnersRunning;
      // One instant per run, also across attempts: an earlier attempt's, from its heartbeat, when it chose one.
      const context = activityContext();
      const startAtMs = heartbeatStartAtMs(context?.info.heartbeatDetails) ?? Date.now() + ref.startDelayMs;
      context?.heartbeat({ startAtMs } satisfies StartHeartbeat);
      await startAll(ref, startAtMs);
      return { kind: 'running', startAtMs } satisfies RunnersRunning;
    },

    async startRunners(ref) {
      await startAll(ref, ref.startAtMs);
    },

    async awaitRunnersCompleted(ref) {
      const found = runnersOf(ref);
      const missing = found.find((runner): runner is string => typeof runner === 'string');
      if (missing !== undefined) return unknownRunner(missing);
      const processes = found as RunnerProcess[];
      const context = Context.current();
      const abort = ref.watch?.abort ?? [];
      const live = new LiveMerge();
      let aborted: ThresholdAbort | undefined;
      let polling = false;
      // With abortOnFail thresholds, the runners' exact snapshots are merged as in a cluster and judged at every
      // beat; otherwise their progress lines are enough for the live view.
      const beat = async () => {
        if (abort.length === 0 || polling) {
          const snapshots = processes.flatMap((runner) => (runner.progress === undefined ? [] : [runner.progress]));
          context.heartbeat({
            progress: combineRunnerProgress(snapshots, processes.length),
          } satisfies ProgressHeartbeat);
          return;
        }
        polling = true;
        try {
          let running = 0;
          await Promise.all(
            processes.map(async (runner) => {
              const snapshot = await runner.control?.progress().catch(() => undefined);
              if (snapshot === undefined) return;
              running++;
              live.record(runner.name, snapshotSummary(snapshot));
            }),
          );
          const results = live.merged();
          if (results === undefined) return;
          const now = Date.now();
          context.heartbeat({
            progress: live.view(results, processes.length, running, now),
          } satisfies ProgressHeartbeat);
          if (aborted === undefined && ref.watch !== undefined) {
            aborted = breachedAbortRule(results, abort, ref.watch.startAtMs, now);
            if (aborted !== undefined) {
              logger?.warn({ loadTest: ref.loadTest, aborted }, 'abortOnFail threshold breached: stopping the runners');
              await Promise.all(
                processes.map(async (runner) => {
                  await runner.control?.stop().catch(() => undefined);
                }),
              );
            }
          }
        } finally {
          polling = false;
        }
      };
      void beat();
      const timer = setInterval(() => void beat(), heartbeatIntervalMs);
      try {
        const outcome = await Promise.race([settle(processes), context.cancelled]);
        return outcome.kind === 'succeeded' && aborted !== undefined ? { ...outcome, aborted } : outcome;
      } finally {
        clearInterval(timer);
      }
    },

    async stopRunners(ref) {
      const stopped: string[] = [];
      for (const runner of runnersOf(ref)) {
        if (typeof runner === 'string' || runner.finished) continue;
        const answered = await runner.control?.stop().then(
          () => true,
          () => false,
        );
        if (answered === true) stopped.push(runner.name);
      }
      logger?.info({ loadTest: ref.loadTest, stopped }, 'runners stopped');
      return stopped;
    },

    deleteLoadTest({ loadTest }) {
      logger?.info({ loadTest }, 'LoadTest deleted: its ttlSecondsAfterFinished passed');
      return Promise.resolve(board.forget(loadTest));
    },

    async changeRunners({ loadTest, runners: names, change }) {
      const applied: string[] = [];
      const refused: { runner: string; reason: string }[] = [];
      for (const name of names) {
        const runner = runners.get(loadTest, name);
        if (runner === undefined || runner.finished) continue;
        const control = runner.control;
        if (control === undefined) {
          refused.push({ runner: name, reason: 'has no control endpoint' });
          continue;
        }
        try {
          await control.change(change);
          applied.push(name);
        } catch (error) {
          if (!(error instanceof ControlRefused)) throw error;
          refused.push({ runner: name, reason: error.message });
        }
      }
      return { applied, refused };
    },

    async deleteRunners({ loadTest, exceptGeneration, onlyGeneration, keepFinished }) {
      const doomed = runners
        .of(loadTest)
        .filter(
          (runner) =>
            runner.generation !== exceptGeneration &&
            (onlyGeneration === undefined || runner.generation === onlyGeneration) &&
            !(keepFinished === true && runner.finished),
        );
      await Promise.all(doomed.map((runner) => runners.remove(runner)));
      return doomed.map((runner) => runner.name);
    },

    publishStatus({ loadTest, status, event }) {
      board.publish(loadTest, status);
      logger?.info({ loadTest, state: status.state, message: status.message }, 'status');
      if (event !== undefined) recordEvent(loadTest, event);
      return Promise.resolve();
    },

    recordEvent({ loadTest, event }) {
      recordEvent(loadTest, event);
      return Promise.resolve();
    },

    publishRunHistory({ loadTest, report }) {
      board.publishHistory(loadTest, report);
      return Promise.resolve();
    },
  };
}

/** The activity's context, or undefined when called outside an activity (local mode's tests call some directly). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Resolves with the first runner failure, or with the merged results once every runner has succeeded. */
function settle(processes: readonly RunnerProcess[]): Promise<RunnersCompleted> {
  return new Promise((resolve, reject) => {
    const summaries: RunnerSummary[] = [];
    for (const runner of processes) {
      runner.outcome
        .then((outcome) => {
          if (outcome.kind === 'failed')
            return resolve({ kind: 'failed', runner: runner.name, reason: outcome.reason });
          summaries.push(outcome.summary);
          if (summaries.length === processes.length) {
            const results = mergeSummaries(summaries);
            const skew = startSkewMs(summaries);
            if (skew !== undefined) results.startSkewMs = skew;
            resolve({ kind: 'succeeded', results, runners: summaries.length });
          }
        })
        .catch(reject);
    }
  });
}

/** Local runners reach only an explicit URL: a Service name means nothing off the cluster. */
function localTargetUrl(spec: LoadTestSpec): string | undefined {
  return spec.test.url;
}

function noUrlReason(spec: LoadTestSpec): string {
  const service =
    spec.test.serviceName === undefined
      ? ''
      : ` (spec.test.serviceName "${spec.test.serviceName}" names a Kubernetes Service)`;
  return `local runners need spec.test.url${service}; run with --target URL`;
}

function unknownRunner(name: string): RunnerFailure {
  return { kind: 'failed', runner: name, reason: 'is not known to this worker (was the local worker restarted?)' };
}

/** Whether a TCP connection to the URL's host and port opens within `timeoutMs`. */
function canConnect(url: string, timeoutMs: number): Promise<TargetCheck> {
  const parsed = new URL(url);
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (check: TargetCheck) => {
      socket.destroy();
      resolve(check);
    };
    socket.once('connect', () => done({ ok: true }));
    socket.once('timeout', () => done({ ok: false, reason: `cannot reach ${url}: no answer within ${timeoutMs} ms` }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, reason: `cannot reach ${url}: ${describeConnectError(error)}` }),
    );
  });
}

function describeConnectError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      return error.code ?? error.message;
  }
}
