/**
 * LoadTestActivities without Kubernetes: runners are processes on this machine (see runners.ts), the start
 * time reaches them through start-at files, and status lives in memory (a LocalStatusBoard) and the log.
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
  type TargetCheck,
} from '../types.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import { runnerArgs, runnerName, runnerOptionsFromSpec, type RunnerSummary } from '../../src/runner/contract.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import { combineRunnerProgress, type ProgressHeartbeat } from '../progress.js';
import type { LocalRunners, RunnerProcess } from './runners.js';

export { LocalRunners, defaultRunnerCommand, type LocalRunnersOptions } from './runners.js';

/** Latest status and every event of each LoadTest, in memory: what `.status` and Events are in a cluster. */
export class LocalStatusBoard {
  private readonly statuses = new Map<string, StatusReport>();
  private readonly events = new Map<string, LoadTestEvent[]>();

  publish(loadTest: LoadTestRef, status: StatusReport): void {
    this.statuses.set(loadTest.uid, status);
  }

  record(loadTest: LoadTestRef, event: LoadTestEvent): void {
    const list = this.events.get(loadTest.uid) ?? [];
    // One event per (LoadTest, generation, reason), like the Kubernetes implementation: retries add nothing.
    if (!list.some((seen) => seen.generation === event.generation && seen.reason === event.reason)) list.push(event);
    this.events.set(loadTest.uid, list);
  }

  statusOf(loadTest: LoadTestRef): StatusReport | undefined {
    return this.statuses.get(loadTest.uid);
  }

  eventsOf(loadTest: LoadTestRef): readonly LoadTestEvent[] {
    return this.events.get(loadTest.uid) ?? [];
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

  return {
    async checkTarget({ spec }) {
      const url = localTargetUrl(spec);
      if (url === undefined) return { ok: false, reason: noUrlReason(spec) };
      return canConnect(url, connectTimeoutMs);
    },

    createRunners({ loadTest, generation, spec }) {
      if (localTargetUrl(spec) === undefined) {
        throw ApplicationFailure.nonRetryable(noUrlReason(spec), INVALID_SPEC);
      }
      const flags = runnerArgs(runnerOptionsFromSpec(spec, loadTest.namespace)).slice(1); // without "runner"
      const names = Array.from({ length: spec.replicas }, (_, index) => runnerName(loadTest.name, generation, index));
      for (const name of names) runners.start(loadTest, generation, name, ['runner', ...flags]);
      return Promise.resolve(names);
    },

    async awaitRunnersRunning(ref) {
      for (const runner of runnersOf(ref)) {
        if (typeof runner === 'string') return unknownRunner(runner);
        const failed = await runner.started;
        if (failed?.kind === 'failed') return { kind: 'failed', runner: runner.name, reason: failed.reason };
      }
      return { kind: 'running' } satisfies RunnersRunning;
    },

    async startRunners(ref) {
      for (const runner of runnersOf(ref)) {
        if (typeof runner !== 'string') await runners.setStartAt(runner, ref.startAtMs);
      }
      logger?.info({ loadTest: ref.loadTest, startAt: new Date(ref.startAtMs).toISOString() }, 'runners started');
    },

    async awaitRunnersCompleted(ref) {
      const found = runnersOf(ref);
      const missing = found.find((runner): runner is string => typeof runner === 'string');
      if (missing !== undefined) return unknownRunner(missing);
      const processes = found as RunnerProcess[];
      const context = Context.current();
      const beat = () => {
        const snapshots = processes.flatMap((runner) => (runner.progress === undefined ? [] : [runner.progress]));
        context.heartbeat({ progress: combineRunnerProgress(snapshots, processes.length) } satisfies ProgressHeartbeat);
      };
      beat();
      const timer = setInterval(beat, heartbeatIntervalMs);
      try {
        return await Promise.race([settle(processes), context.cancelled]);
      } finally {
        clearInterval(timer);
      }
    },

    changeRunners({ runners: names }) {
      // Local runners are plain processes without a control endpoint: a change restarts the run instead.
      const refused = names.map((runner) => ({ runner, reason: 'local runners take no live changes' }));
      return Promise.resolve({ applied: [], refused });
    },

    async deleteRunners({ loadTest, exceptGeneration, keepFinished }) {
      const doomed = runners
        .of(loadTest)
        .filter((runner) => runner.generation !== exceptGeneration && !(keepFinished === true && runner.finished));
      await Promise.all(doomed.map((runner) => runners.remove(runner)));
      return doomed.map((runner) => runner.name);
    },

    publishStatus({ loadTest, status }) {
      board.publish(loadTest, status);
      logger?.info({ loadTest, state: status.state, message: status.message }, 'status');
      return Promise.resolve();
    },

    recordEvent({ loadTest, event }) {
      board.record(loadTest, event);
      logger?.info({ loadTest, ...event }, 'event');
      return Promise.resolve();
    },
  };
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
            resolve({ kind: 'succeeded', results: mergeSummaries(summaries), runners: summaries.length });
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
