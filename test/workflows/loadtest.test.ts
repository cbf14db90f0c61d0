import { ApplicationFailure } from '@temporalio/common';
import {
  ScheduleNotFoundError,
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  INVALID_SPEC,
  LOADTEST_GONE,
  type RunHistoryReport,
  type RunnersCompleted,
  type RunnersRunning,
  type RunWatch,
  type StatusReport,
} from '../../activities/types.js';
import { describeResults } from '../../src/loadtest/describe.js';
import { loadTestWorkflowId, type LoadTestRef } from '../../src/loadtest/workflow-id.js';
import { LOADTEST_STATE } from '../../src/loadtest/search-attributes.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  applySpecUpdate,
  deleteSignal,
  SPEC_NEEDS_RESTART,
  SPEC_REJECTED,
  specRejectedSignal,
  statusQuery,
  updateSignal,
  type LoadTestWorkflowInput,
} from '../../workflows/definitions.js';
import { loadTestWorkflow } from '../../workflows/loadtest.js';
import { createScheduleActivities } from '../../activities/schedules.js';
import { LoadTestRuns } from '../../src/client/runs.js';
import { parseLoadTestMemo } from '../../src/client/memo.js';
import { FakeBackend, Gate, sampleResults, sampleSpec } from './fake-backend.js';
import { saveHistoriesIfRecording } from './histories.js';
import { startTestEnvironment, workflowBundle } from './temporal-env.js';

const TASK_QUEUE = 'loadtest-workflow-test';

describe('LoadTest workflow', function () {
  this.timeout(60_000);
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let workerRun: Promise<void>;
  let backend: FakeBackend;
  const backends = new Map<string, FakeBackend>();
  let handle: WorkflowHandle<typeof loadTestWorkflow> | undefined;

  before(async function () {
    this.timeout(120_000);
    env = await startTestEnvironment();
    const delegate = new Proxy(
      {},
      {
        // Each LoadTest's activities reach the backend of the test that started it: a run of an earlier test that
        // is still cleaning up after its LoadTest workflow was terminated does not show in a later test's calls.
        get: (_target, name: string) => (input: unknown) =>
          (
            (
              backends.get((input as { loadTest?: LoadTestRef } | undefined)?.loadTest?.uid ?? '') ?? backend
            ).activities() as unknown as Record<string, (input: unknown) => Promise<unknown>>
          )[name]!(input),
      },
    );
    const names = Object.keys(new FakeBackend().activities());
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: {
        ...createScheduleActivities(env.client),
        ...Object.fromEntries(names.map((name) => [name, (delegate as Record<string, unknown>)[name]])),
      },
    });
    workerRun = worker.run();
  });

  after(async function () {
    worker?.shutdown();
    await workerRun;
    await env?.teardown();
  });

  beforeEach(() => {
    backend = new FakeBackend();
    handle = undefined;
  });

  afterEach(async function () {
    if (handle === undefined) return;
    await saveHistoriesIfRecording(this.currentTest?.title ?? 'unnamed', handle.workflowId, env.address);
    await handle.terminate('test over').catch(() => {});
  });

  async function start(spec: LoadTestSpec = sampleSpec(), extra: Partial<LoadTestWorkflowInput> = {}) {
    const loadTest: LoadTestRef = { namespace: 'default', name: 'example', uid: randomUUID() };
    backends.set(loadTest.uid, backend);
    handle = await env.client.workflow.start(loadTestWorkflow, {
      workflowId: loadTestWorkflowId(loadTest),
      taskQueue: TASK_QUEUE,
      args: [{ loadTest, desired: { generation: 1, spec }, timing: { startDelayMs: 0 }, ...extra }],
    });
    return { loadTest, handle };
  }

  it('runs pending → executing → finished and publishes the merged results', async () => {
    const { handle } = await start();
    const finished = await backend.untilState('finished');
    await backend.untilEvent('Finished');

    assert.deepEqual(
      backend.statuses.map((status) => status.state),
      ['pending', 'executing', 'finished'],
    );
    assert.deepEqual(finished.children, ['example-g1-0', 'example-g1-1']);
    assert.equal(finished.generation, 1);
    assert.deepEqual(finished.results, sampleResults());
    assert.match(finished.message, /50 requests, 0 errors, 500 req\/s, p99 4ms/);
    assert.ok(finished.startTime !== undefined && finished.completionTime !== undefined);
    assert.deepEqual(
      backend.events.map((event) => `${event.type}/${event.reason}`),
      ['Normal/RunnersCreated', 'Normal/Executing', 'Normal/Finished'],
    );
    assert.equal(backend.starts.length, 1);

    // The run's workflow has ended and the LoadTest's workflow has recorded it.
    await backend.until('publishRunHistory');
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'finished');
    assert.equal(status.progress.step, 'settled');
    const description = await handle.describe();
    assert.equal(description.status.name, 'RUNNING', 'the workflow waits for the next generation or deletion');
    assert.equal(description.typedSearchAttributes.get(LOADTEST_STATE), 'finished');
  });

  it('starts the runners itself when an older worker only waited for them to run (a rolling upgrade)', async () => {
    backend.olderWorker = true;
    await start();
    await backend.untilState('finished');
    assert.equal(backend.callsOf('startRunners').length, 1);
    assert.deepEqual(backend.starts, [backend.callsOf('startRunners')[0]!.startAtMs]);
  });

  it('ends failed naming the runner and its reason when a runner fails, and stops the others', async () => {
    backend.completed = { kind: 'failed', runner: 'example-g1-1', reason: 'exited with code 2 (Error): bad flag' };
    await start();
    const failed = await backend.untilState('failed');
    await backend.untilEvent('Failed');

    assert.equal(failed.message, 'runner example-g1-1 exited with code 2 (Error): bad flag');
    assert.deepEqual(backend.events.at(-1), {
      type: 'Warning',
      reason: 'Failed',
      message: failed.message,
      generation: 1,
    });
    assert.ok(backend.callsOf('deleteRunners').some((input) => input.keepFinished === true));
  });

  it("runs each generation as a child workflow that ends Failed with the run's message, and records it in the history", async () => {
    backend.completed = { kind: 'failed', runner: 'example-g1-1', reason: 'exited with code 2 (Error): bad flag' };
    const { handle } = await start();
    await backend.until('publishRunHistory');

    const run = env.client.workflow.getHandle(`${handle.workflowId}/g1`);
    const description = await run.describe();
    assert.equal(description.type, 'loadTestRunWorkflow');
    assert.equal(description.status.name, 'FAILED');
    assert.equal(description.typedSearchAttributes.get(LOADTEST_STATE), 'failed');
    const failure = await run.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    assert.equal(failure.cause?.message, 'runner example-g1-1 exited with code 2 (Error): bad flag');

    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'failed');
    assert.deepEqual(
      status.history?.map(({ workflowId, trigger, generation, state, message }) => ({
        workflowId,
        trigger,
        generation,
        state,
        message,
      })),
      [
        {
          workflowId: `${handle.workflowId}/g1`,
          trigger: 'apply',
          generation: 1,
          state: 'failed',
          message: 'runner example-g1-1 exited with code 2 (Error): bad flag',
        },
      ],
    );
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the LoadTest workflow lives on');
  });

  it('records a finished run as a Completed child with its headline numbers, and a replaced one as cancelled', async () => {
    const gate = new Gate<RunnersCompleted>();
    backend.completed = gate;
    const { handle } = await start();
    await backend.until('awaitRunnersCompleted');
    backend.completed = { kind: 'succeeded', results: sampleResults(), runners: 2 };
    await handle.signal(updateSignal, { generation: 2, spec: sampleSpec() });
    await backend.untilState('finished', 2);
    const recorded = await backend.until(
      'publishRunHistory',
      (input) => (input.report as RunHistoryReport).history.length === 2,
    );
    const [latest, replaced] = (recorded.input.report as RunHistoryReport).history;
    assert.equal(latest?.state, 'finished');
    assert.equal(latest?.requests, sampleResults().requests);
    assert.equal(latest?.p99Ms, sampleResults().latencyMs.p99);
    assert.equal(replaced?.state, 'cancelled');
    assert.match(replaced?.message ?? '', /generation 2 replaced generation 1/);
    const first = await env.client.workflow.getHandle(`${handle.workflowId}/g1`).describe();
    assert.equal(first.status.name, 'CANCELLED');
    const second = await env.client.workflow.getHandle(`${handle.workflowId}/g2`).describe();
    assert.equal(second.status.name, 'COMPLETED');
  });

  it('with spec.schedule keeps a Temporal Schedule whose ticks run once each, and deletes it with the LoadTest', async () => {
    const { handle, loadTest } = await start(sampleSpec({ schedule: '@every 1s' }));
    const recorded = await backend.until(
      'publishRunHistory',
      (input) => (input.report as RunHistoryReport).history.length >= 2,
    );
    const history = (recorded.input.report as RunHistoryReport).history;
    assert.ok(history.every((run) => run.trigger === 'schedule' && run.state === 'finished'));
    const ticks = history.map((run) => run.scheduledTime);
    assert.equal(new Set(ticks).size, ticks.length, 'one run per tick');
    assert.ok(history.every((run) => run.workflowId.startsWith(`${handle.workflowId}/scheduled-`)));
    const schedule = await env.client.schedule.getHandle(handle.workflowId).describe();
    assert.deepEqual(
      schedule.spec.intervals?.map((interval) => interval.every),
      [1000],
    );

    // What the typed client and `list` read of it: the history and schedule from the query, the memo.
    const run = new LoadTestRuns(env.client, { taskQueue: TASK_QUEUE }).get(loadTest);
    const fromClient = await run.history();
    assert.ok(fromClient.length >= 2 && fromClient.every((record) => record.trigger === 'schedule'));
    assert.equal((await run.schedule())?.expression, '@every 1s');
    const memo = parseLoadTestMemo((await handle.describe()).memo);
    assert.equal(memo.schedule, '@every 1s');
    assert.equal(memo.lastRun?.state, 'finished');

    await handle.signal(deleteSignal);
    await handle.result();
    await assert.rejects(env.client.schedule.getHandle(handle.workflowId).describe(), ScheduleNotFoundError);
  });

  it('with spec.suspend keeps the Schedule paused: no run starts', async () => {
    const { handle } = await start(sampleSpec({ schedule: '@every 1s', suspend: true }));
    await backend.until('publishRunHistory');
    const schedule = await env.client.schedule.getHandle(handle.workflowId).describe();
    assert.equal(schedule.state.paused, true);
    const status = await handle.query(statusQuery);
    assert.equal(status.schedule?.suspended, true);
    assert.match(status.message, /scheduled "@every 1s": suspended/);
    assert.equal(backend.callsOf('createRunners').length, 0);
    await handle.signal(deleteSignal);
    await handle.result();
  });

  it('ends failed naming the runner that did not start, without starting any runner', async () => {
    backend.running = { kind: 'failed', runner: 'example-g1-1', reason: 'did not start within 5s (ImagePullBackOff)' };
    await start(sampleSpec(), { timing: { startDelayMs: 0, runningTimeoutMs: 5000 } });
    const failed = await backend.untilState('failed');
    await backend.untilEvent('Failed');

    assert.equal(failed.message, 'runner example-g1-1 did not start within 5s (ImagePullBackOff)');
    assert.deepEqual(failed.children, ['example-g1-0', 'example-g1-1']);
    assert.equal(backend.callsOf('awaitRunnersRunning')[0]?.timeoutMs, 5000, 'the start timeout reaches the activity');
    assert.equal(backend.starts.length, 0);
    assert.ok(backend.callsOf('deleteRunners').some((input) => input.keepFinished === true));
    assert.deepEqual(
      backend.events.map((event) => `${event.type}/${event.reason}`),
      ['Normal/RunnersCreated', 'Warning/Failed'],
    );
  });

  it('ends failed naming the step and the reason when an activity fails for good', async () => {
    backend.createError = ApplicationFailure.nonRetryable(
      'cannot build runners: spec.test.url: not a URL',
      INVALID_SPEC,
    );
    const { handle } = await start();
    const failed = await backend.untilState('failed');
    const event = await backend.untilEvent('Failed');

    assert.equal(failed.message, 'createRunners failed: cannot build runners: spec.test.url: not a URL');
    assert.equal(event.message, failed.message);
    assert.equal(backend.callsOf('createRunners').length, 1, 'a non-retryable failure is not retried');
    assert.equal(backend.callsOf('awaitRunnersRunning').length, 0);
    await backend.until('publishRunHistory'); // the LoadTest workflow has taken in the run's end
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'failed');
    assert.equal(status.progress.step, 'settled');
  });

  it('ends failed naming a threshold it cannot evaluate, keeping the results of the run', async () => {
    await start(sampleSpec({ thresholds: ['p99 < 5%'] }));
    const failed = await backend.untilState('failed');

    assert.equal(
      failed.message,
      'invalid thresholds: threshold "p99 < 5%": latency thresholds (p50, p90, p95, p99, p99.9, max, mean) take ms, s or us, e.g. "p99 < 250ms"',
    );
    assert.deepEqual(failed.results, sampleResults());
    assert.equal(failed.thresholds, undefined);
    assert.equal(backend.starts.length, 1, 'the runners ran before the thresholds were evaluated');
  });

  it('ends failed saying so when the target Service does not exist, without creating runners', async () => {
    backend.target = { ok: false, reason: 'Service "nginx" does not exist in namespace "default"' };
    await start();
    const failed = await backend.untilState('failed');

    assert.equal(failed.message, 'Service "nginx" does not exist in namespace "default"');
    assert.equal(backend.callsOf('createRunners').length, 0);
  });

  it('ends failed listing the problems of an invalid spec, without creating runners', async () => {
    await start(sampleSpec(), {
      // The spec as written travels with the problems, whatever it holds.
      desired: {
        generation: 1,
        spec: { replicas: 1001, test: { method: 'BREW' } },
        problems: ['spec.replicas: too many'],
      },
    });
    const failed = await backend.untilState('failed');

    assert.equal(failed.message, 'invalid spec: spec.replicas: too many');
    const published = backend.callsOf('publishStatus') as Array<{ status: StatusReport }>;
    assert.equal(published[0]?.status.message, 'starting 1001 runner(s) for generation 1');
    assert.equal(backend.callsOf('createRunners').length, 0);
  });

  it('ends failed naming a breached threshold and the measured value', async () => {
    backend.completed = { kind: 'succeeded', results: sampleResults({ latencyMs: latency(312) }), runners: 2 };
    await start(sampleSpec({ thresholds: ['p99 < 250ms', 'errorRate < 1%'] }));
    const failed = await backend.untilState('failed');

    assert.equal(failed.message, 'threshold "p99 < 250ms" breached: p99 was 312ms');
    assert.deepEqual(
      failed.thresholds?.map((threshold) => threshold.passed),
      [false, true],
    );
    assert.equal(failed.results?.latencyMs.p99, 312);
  });

  it('finishes when every threshold holds, publishing their results', async () => {
    await start(sampleSpec({ thresholds: ['p99 < 250ms'] }));
    const finished = await backend.untilState('finished');

    assert.deepEqual(finished.thresholds?.[0]?.passed, true);
  });

  it('shows the live view each round of the wait reports in its status query, carrying lost runners', async () => {
    const live = {
      at: 1,
      reporting: 2,
      runners: 2,
      running: 2,
      sent: 120,
      completed: 118,
      failed: 2,
      rps: 40,
      p99Ms: 12,
    };
    backend.nextCompleted.push({ kind: 'progress', live, lost: ['example-g1-1'] });
    const { handle } = await start(sampleSpec({ onRunnerFailure: 'continue' }));
    await backend.untilState('finished');

    const waits = backend.callsOf('awaitRunnersCompleted');
    assert.equal(waits.length, 2, 'one round with the live view, then the outcome');
    const watch = (input: Record<string, unknown>) => input.watch as { lost: string[]; onRunnerFailure: string };
    assert.deepEqual(watch(waits[0]!).lost, []);
    assert.deepEqual(watch(waits[1]!).lost, ['example-g1-1'], 'the next round knows the lost runner');
    assert.equal(watch(waits[1]!).onRunnerFailure, 'continue');
    // The run's own query shows it; the LoadTest's workflow is told states, not live views (the lean run).
    const run = env.client.workflow.getHandle(`${handle.workflowId}/g1`);
    assert.deepEqual((await run.query(statusQuery)).progress.live, live);
  });

  it('ends failed naming the abortOnFail threshold, the measured value and when, with the results up to the stop', async () => {
    backend.completed = {
      kind: 'succeeded',
      results: sampleResults({ latencyMs: latency(1203) }),
      runners: 2,
      aborted: { threshold: 'p99 < 250ms', actual: 1203, afterMs: 12_340 },
    };
    await start(sampleSpec({ thresholds: [{ threshold: 'p99 < 250ms', abortOnFail: true, delayAbortEval: '10s' }] }));
    const failed = await backend.untilState('failed');

    assert.match(
      failed.message,
      /^threshold "p99 < 250ms" breached 12\.3s into the run \(p99 was 1203ms\): every runner stopped \(abortOnFail\); /,
    );
    assert.equal(failed.results?.latencyMs.p99, 1203);
    const watch = backend.callsOf('awaitRunnersCompleted')[0]!.watch as { abort: unknown };
    assert.deepEqual(watch.abort, [{ threshold: 'p99 < 250ms', delayMs: 10_000 }]);
  });

  it('applies a rate and duration change to the running runners by Update, in the same run', async () => {
    const gate = new Gate<RunnersCompleted>();
    backend.completed = gate;
    const spec = sampleSpec({
      test: { method: 'GET', serviceName: 'nginx', port: 80, path: '/', rate: 10, duration: '1h' },
    });
    const { handle } = await start(spec);
    await backend.until('awaitRunnersCompleted');
    const runId = (await handle.describe()).runId;

    const applied = await handle.executeUpdate(applySpecUpdate, {
      args: [{ generation: 2, spec: { ...spec, test: { ...spec.test, rate: 40, duration: '2h' } } }],
    });
    assert.equal(applied.generation, 2);
    assert.deepEqual(backend.callsOf('changeRunners')[0]!.change, { rate: 40, durationMs: 7_200_000 });
    const published = backend.statuses.at(-1)!;
    assert.equal(published.generation, 2);
    assert.deepEqual(published.specApplied?.status, 'True');
    assert.equal((await backend.untilEvent('SpecApplied')).type, 'Normal');

    gate.resolve({ kind: 'succeeded', results: sampleResults(), runners: 2 });
    const finished = await backend.untilState('finished', 2);
    assert.equal(finished.generation, 2);
    assert.equal((await handle.describe()).runId, runId, 'no new run: the change was applied live');
    assert.equal(backend.callsOf('createRunners').length, 1);
  });

  it('refuses a live change the run cannot take (restart) or cannot apply (rejected), and reports the rejection', async () => {
    const gate = new Gate<RunnersCompleted>();
    backend.completed = gate;
    const spec = sampleSpec({
      test: { method: 'GET', serviceName: 'nginx', port: 80, path: '/', rate: 10, duration: '1h' },
    });
    const { handle } = await start(spec);
    await backend.until('awaitRunnersCompleted');

    const refusal = async (next: LoadTestSpec) => {
      const error = await handle.executeUpdate(applySpecUpdate, { args: [{ generation: 2, spec: next }] }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
      return error.cause as ApplicationFailure;
    };
    assert.equal((await refusal({ ...spec, replicas: 3 })).type, SPEC_NEEDS_RESTART);
    const rejected = await refusal({ ...spec, test: { ...spec.test, duration: '1ms' } });
    assert.equal(rejected.type, SPEC_REJECTED);
    assert.match(rejected.message, /not longer than the \d+s the run has already lasted/);
    assert.equal(backend.callsOf('changeRunners').length, 0, 'the running test is untouched');

    await handle.signal(specRejectedSignal, { generation: 2, reason: rejected.message });
    const event = await backend.untilEvent('SpecRejected');
    assert.match(event.message, /generation 2 was not applied: test.duration 1ms/);
    assert.equal(backend.statuses.at(-1)!.specApplied?.reason, 'Rejected');
    gate.resolve({ kind: 'succeeded', results: sampleResults(), runners: 2 });
    assert.equal((await backend.untilState('finished', 1)).generation, 1);
  });

  it('on an update mid-run deletes the runners and runs the new generation from pending, as a new run', async () => {
    const gate = new Gate<RunnersCompleted>();
    backend.completed = gate;
    const { handle, loadTest } = await start();
    await backend.until('awaitRunnersCompleted');
    const firstRun = (await handle.describe()).runId;

    backend.completed = { kind: 'succeeded', results: sampleResults({ requests: 60 }), runners: 3 };
    await handle.signal(updateSignal, { generation: 2, spec: sampleSpec({ replicas: 3 }) });
    const finished = await backend.untilState('finished', 2);

    assert.deepEqual(finished.children, ['example-g2-0', 'example-g2-1', 'example-g2-2']);
    assert.equal(finished.results?.requests, 60);
    const cleanup = backend.callsOf('deleteRunners');
    assert.ok(
      cleanup.some((input) => input.exceptGeneration === undefined && input.keepFinished === undefined),
      'all runners of generation 1 deleted',
    );
    const secondGeneration = backend.statuses.filter((status) => status.generation === 2).map((s) => s.state);
    assert.deepEqual(secondGeneration, ['pending', 'executing', 'finished']);
    assert.equal(backend.statuses.filter((status) => status.generation === 1 && status.state === 'finished').length, 0);
    assert.notEqual((await handle.describe()).runId, firstRun, 'the new generation runs in a fresh history');
    assert.deepEqual(backend.callsOf('createRunners').at(-1)?.loadTest, loadTest);
  });

  it('on delete mid-run deletes every runner and completes', async () => {
    backend.completed = new Gate<RunnersCompleted>();
    const { handle, loadTest } = await start();
    await backend.until('awaitRunnersCompleted');

    await handle.signal(deleteSignal);
    const result = await handle.result();

    assert.equal(result.reason, 'deleted');
    assert.deepEqual(backend.callsOf('deleteRunners').at(-1), { loadTest });
    assert.ok(!backend.statuses.some((status) => status.state === 'finished'));
  });

  it('does not lose a delete that arrives together with an update', async () => {
    backend.completed = new Gate<RunnersCompleted>();
    const { handle } = await start();
    await backend.until('awaitRunnersCompleted');

    await handle.signal(updateSignal, { generation: 2, spec: sampleSpec({ replicas: 3 }) });
    await handle.signal(deleteSignal);
    const result = await handle.result();

    assert.equal(result.reason, 'deleted');
    assert.ok(!backend.callsOf('createRunners').some((input) => input.generation === 2));
  });

  it('ignores an update whose generation is not newer than the current one', async () => {
    const { handle } = await start();
    await backend.untilState('finished');

    await handle.signal(updateSignal, { generation: 1, spec: sampleSpec({ replicas: 9 }) });
    await backend.until('publishRunHistory'); // the LoadTest workflow has taken in the run's end
    const status = await handle.query(statusQuery);

    assert.equal(status.state, 'finished');
    assert.equal(backend.callsOf('createRunners').length, 1);
  });

  it('continues as new while idle once history grows, keeping the settled outcome and not running again', async () => {
    const { handle } = await start(sampleSpec(), { timing: { startDelayMs: 0, idleHistoryLimit: 40 } });
    await backend.untilState('finished');
    const firstRun = (await handle.describe()).runId;

    // What a watcher re-listing every LoadTest would send: the same generation again and again.
    const continued = env.client.workflow
      .getHandle(handle.workflowId, firstRun, { followRuns: false })
      .result()
      .then(
        () => assert.fail('the first run completed instead of continuing as new'),
        (error: unknown) => assert.ok(error instanceof WorkflowContinuedAsNewError, String(error)),
      );
    let sent = 0;
    const sending = (async () => {
      while ((await handle.describe()).runId === firstRun && sent < 100) {
        await handle.signal(updateSignal, { generation: 1, spec: sampleSpec() });
        sent++;
      }
    })();
    await continued;
    await sending;

    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'finished');
    assert.equal(status.generation, 1);
    assert.deepEqual(status.results, sampleResults());
    assert.equal(backend.callsOf('createRunners').length, 1, 'the settled generation is not run again');
  });

  it('cleans up and completes when it finds the LoadTest gone', async () => {
    const gate = new Gate<RunnersCompleted>();
    backend.completed = gate;
    const { handle, loadTest } = await start();
    await backend.until('awaitRunnersCompleted');

    backend.publishError = ApplicationFailure.nonRetryable('LoadTest default/example is gone', LOADTEST_GONE);
    gate.resolve({ kind: 'succeeded', results: sampleResults(), runners: 2 });
    const result = await handle.result();

    assert.equal(result.reason, 'deleted');
    assert.deepEqual(backend.callsOf('deleteRunners').at(-1), { loadTest });
  });

  // Lifecycle (issue 14): spec.timeout, spec.cleanup, spec.ttlSecondsAfterFinished. The timers are real seconds
  // of the dev server: short, and awaited through the backend's calls, never slept on.

  /** deleteRunners calls that delete every runner (not the start's leftovers, not a failure's still-sending ones). */
  const deletesOfEveryRunner = () =>
    backend.callsOf('deleteRunners').filter((input) => input.exceptGeneration === undefined && !input.keepFinished);

  it('on spec.timeout stops every runner and ends failed "timed out after" with the results up to the stop', async () => {
    backend.completed = new Gate<RunnersCompleted>(); // the runners would send for ever
    const { loadTest } = await start(sampleSpec({ timeout: '2s' }));
    const failed = await backend.untilState('failed');
    await backend.untilEvent('Failed');

    const measured = backend.afterStop.kind === 'succeeded' ? backend.afterStop.results : undefined;
    assert.equal(failed.message, `timed out after 2s (running); ${describeResults(measured!)}`);
    assert.deepEqual(failed.results, measured);
    assert.deepEqual(backend.callsOf('stopRunners'), [
      { loadTest, generation: 1, runners: ['example-g1-0', 'example-g1-1'] },
    ]);
    const collect = backend.callsOf('awaitRunnersCompleted').at(-1)!;
    assert.equal((collect.watch as RunWatch).stopped, true, 'the last wait collects the stopped runners');
    assert.deepEqual(backend.callsOf('deleteRunners').at(-1), { loadTest, keepFinished: true });
  });

  it('on spec.timeout before the runners ran ends failed naming the step, without results', async () => {
    backend.running = new Gate<RunnersRunning>(); // the runners never start
    const { loadTest } = await start(sampleSpec({ timeout: '1s' }));
    const failed = await backend.untilState('failed');

    assert.equal(failed.message, 'timed out after 1s (awaiting-runners)');
    assert.equal(failed.results, undefined);
    assert.equal(backend.callsOf('stopRunners').length, 1);
    assert.equal(backend.starts.length, 0);
    assert.equal(backend.callsOf('awaitRunnersCompleted').length, 0, 'nothing to collect: no runner sent');
    assert.deepEqual(backend.callsOf('deleteRunners').at(-1), { loadTest, keepFinished: true });
  });

  it('with cleanup unset deletes the runners of a finished run', async () => {
    const { loadTest } = await start();
    await backend.untilState('finished');
    await backend.until('deleteRunners', (input) => input.exceptGeneration === undefined);

    assert.deepEqual(deletesOfEveryRunner(), [{ loadTest }]);
    const finishedAt = backend.calls.findIndex(
      (call) => call.name === 'publishStatus' && (call.input.status as StatusReport).state === 'finished',
    );
    const deletedAt = backend.calls.findIndex(
      (call) => call.name === 'deleteRunners' && call.input.exceptGeneration === undefined,
    );
    assert.ok(finishedAt >= 0 && deletedAt > finishedAt, 'deleted once the run had finished');
  });

  // A TTL ends these two runs after the cleanup step (a delete signal could interrupt the run before it).
  it('with cleanup unset keeps the runners of a failed run until the LoadTest is deleted', async () => {
    backend.completed = { kind: 'failed', runner: 'example-g1-1', reason: 'exited with code 2 (Error): bad flag' };
    const { handle, loadTest } = await start(sampleSpec({ ttlSecondsAfterFinished: 1 }));
    await handle.result();

    assert.deepEqual(deletesOfEveryRunner(), [{ loadTest }], 'only the delete removed them');
  });

  it('with cleanup keep keeps the runners of a finished run until the LoadTest is deleted', async () => {
    const { handle, loadTest } = await start(sampleSpec({ cleanup: 'keep', ttlSecondsAfterFinished: 1 }));
    await handle.result();

    assert.deepEqual(deletesOfEveryRunner(), [{ loadTest }], 'only the delete removed them');
  });

  it('with cleanup delete deletes the runners of a failed run', async () => {
    backend.completed = { kind: 'failed', runner: 'example-g1-1', reason: 'exited with code 2 (Error): bad flag' };
    const { handle, loadTest } = await start(sampleSpec({ cleanup: 'delete' }));
    await backend.untilEvent('Failed');
    await backend.until('deleteRunners', (input) => input.exceptGeneration === undefined && !input.keepFinished);

    assert.deepEqual(deletesOfEveryRunner(), [{ loadTest }]);
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the LoadTest itself stays');
  });

  it('deletes the LoadTest ttlSecondsAfterFinished after its run settles, then completes as for a delete', async () => {
    const { handle, loadTest } = await start(sampleSpec({ ttlSecondsAfterFinished: 1 }));
    const result = await handle.result();

    assert.equal(result.reason, 'deleted');
    assert.deepEqual(backend.callsOf('deleteLoadTest'), [{ loadTest }]);
    const names = backend.calls.map((call) => call.name);
    assert.ok(names.lastIndexOf('publishStatus') < names.indexOf('deleteLoadTest'), 'deleted after it settled');
    assert.equal(backend.statuses.at(-1)?.state, 'finished');
    assert.deepEqual(backend.callsOf('deleteRunners').at(-1), { loadTest });
  });

  it('with ttlSecondsAfterFinished 0 deletes a failed LoadTest at once', async () => {
    backend.target = { ok: false, reason: 'Service "nginx" does not exist in namespace "default"' };
    const { handle, loadTest } = await start(sampleSpec({ ttlSecondsAfterFinished: 0 }));
    const result = await handle.result();

    assert.equal(result.reason, 'deleted');
    assert.equal(backend.statuses.at(-1)?.state, 'failed');
    assert.deepEqual(backend.callsOf('deleteLoadTest'), [{ loadTest }]);
  });

  it('during the TTL wait a delete completes at once and a new generation runs, as without a TTL', async () => {
    const { handle } = await start(sampleSpec({ ttlSecondsAfterFinished: 3600 }));
    await backend.untilEvent('Finished');
    await handle.signal(updateSignal, { generation: 2, spec: sampleSpec({ ttlSecondsAfterFinished: 3600 }) });
    await backend.untilState('finished', 2);
    await handle.signal(deleteSignal);
    const result = await handle.result();

    assert.equal(result.reason, 'deleted');
    assert.deepEqual(backend.callsOf('deleteLoadTest'), [], 'the TTL had not passed: the LoadTest was not deleted');
  });
});

function latency(p99: number) {
  return { p50: 1, p90: 2, p95: 3, p99, p999: p99, max: p99, mean: 2 };
}
