/**
 * The simulated node's stand-in runner (bench/sim/stand-in.ts) against the operator's own control client
 * (src/runner/control-client.ts): it must answer as a real runner does, or the operator benchmark would measure
 * something else than the operator. No cluster: each stand-in listens on a loopback address of its own.
 */
import assert from 'node:assert/strict';
import { StandIn, type StandInOptions } from '../../bench/sim/stand-in.js';
import { ControlRefused, RunnerControl } from '../../src/runner/control-client.js';
import { parseRunnerSummary, runnerArgs, RUNNER_EXIT, type RunnerOptions } from '../../src/runner/contract.js';
import { CONTROL_PORT } from '../../src/runner/control-api.js';
import { decodeHistogram } from '../../src/runner/histogram.js';
import { mergeSummaries } from '../../src/runner/merge.js';

const TOKEN = 'stand-in-token';
let lastAddress = 0;
/** A loopback address no other test of this file uses (127.102.x.y: the simulated node itself uses 127.101). */
const nextAddress = () => `127.102.0.${++lastAddress}`;

function options(test: Partial<RunnerOptions>, overrides: Partial<StandInOptions> = {}): StandInOptions {
  return {
    address: nextAddress(),
    args: runnerArgs({ url: 'http://target/', method: 'GET', controlPort: CONTROL_PORT, ...test }),
    token: TOKEN,
    requests: 500,
    sendMs: 300,
    ...overrides,
  };
}

const control = (standIn: StandInOptions, token = TOKEN) =>
  new RunnerControl(`http://${standIn.address}:${CONTROL_PORT}`, token);

/** Polls the endpoint until `holds` (what the operator's live poll does, faster). */
async function until(runner: RunnerControl, holds: (sent: number, state: string) => boolean) {
  for (;;) {
    const snapshot = await runner.progress();
    if (holds(snapshot.summary?.sent ?? 0, snapshot.state)) return snapshot;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the simulated node’s stand-in runner', () => {
  it('starts at the instant it is sent, reports growing progress, and ends with the exact summary', async () => {
    const startCalls: number[] = [];
    const all = [0, 1, 2].map(() => options({ requests: 1 }, { onStartCall: (atMs) => startCalls.push(atMs) }));
    const standIns = await Promise.all(all.map((each) => StandIn.start(each)));
    await assert.rejects(
      control(all[0]!, 'wrong').progress(),
      (error) => error instanceof ControlRefused && error.status === 401,
    );
    assert.equal((await control(all[0]!).progress()).state, 'waiting');
    const atMs = Date.now() + 100;
    for (const each of all) assert.deepEqual(await control(each).start(atMs), { startAtMs: atMs });
    await assert.rejects(
      control(all[0]!).start(atMs + 1),
      (error) => error instanceof ControlRefused && error.status === 409,
    );
    assert.deepEqual(startCalls, [atMs, atMs, atMs]);

    const midway = await until(control(all[0]!), (sent) => sent > 0);
    assert.equal(midway.state, 'sending');
    assert.ok(midway.startedAtMs! >= atMs, `started at ${midway.startedAtMs}, not before ${atMs}`);
    assert.ok(midway.summary!.sent < 500, `midway ${midway.summary!.sent} of 500`);

    const exits = await Promise.all(standIns.map((standIn) => standIn.exited));
    const summaries = exits.map((exit) => {
      assert.equal(exit.exitCode, RUNNER_EXIT.ok);
      const summary = parseRunnerSummary(exit.message);
      assert.ok(summary !== undefined, `not a runner summary: ${exit.message}`);
      assert.equal(summary.sent, 500);
      assert.equal(decodeHistogram(summary.latency).totalCount, 500);
      return summary;
    });
    const merged = mergeSummaries(summaries);
    assert.equal(merged.requests, 1500);
    assert.equal(merged.completed, 1500);
    assert.equal(merged.statusCodes['200'], 1500);
    // Its endpoint is closed once it ended, as the runner's process exits.
    await assert.rejects(control(all[0]!).progress());
  });

  it('stops when told to, keeping what it had counted', async () => {
    const each = options({ durationMs: 60_000 }, { sendMs: 60_000, requests: 60_000 });
    const standIn = await StandIn.start(each);
    await control(each).start(Date.now());
    await until(control(each), (sent) => sent > 0);
    const stopped = await control(each).stop();
    const exit = await standIn.exited;
    assert.equal(exit.exitCode, RUNNER_EXIT.ok);
    const summary = parseRunnerSummary(exit.message)!;
    assert.equal(summary.sent, stopped.summary!.sent);
    assert.ok(summary.sent > 0 && summary.sent < 60_000, `stopped at ${summary.sent}`);
  });

  it('takes a duration change in a duration test, refuses it in a request-bounded one, as the runner', async () => {
    const timed = options({ durationMs: 60_000 }, { sendMs: 60_000 });
    const bounded = options({ requests: 10 });
    const [timedStandIn, boundedStandIn] = await Promise.all([StandIn.start(timed), StandIn.start(bounded)]);
    await control(timed).start(Date.now());
    await until(control(timed), (_sent, state) => state === 'sending');
    assert.deepEqual(await control(timed).change({ durationMs: 400 }), { config: { durationMs: 400 } });
    await assert.rejects(
      control(bounded).change({ durationMs: 400 }),
      (error) => error instanceof ControlRefused && /bounded by a number of requests/.test(error.message),
    );
    const summary = parseRunnerSummary((await timedStandIn.exited).message)!;
    assert.equal(summary.end - summary.start, 400);
    assert.equal(summary.sent, 500);
    await control(bounded).stop();
    await boundedStandIn.exited;
  });

  it('takes its start from the pod annotation when no start call came (the operator’s fallback)', async () => {
    const each = options({ requests: 1 });
    const standIn = await StandIn.start(each);
    const atMs = Date.now() + 50;
    standIn.annotatedStart(atMs);
    assert.equal((await control(each).progress()).startAtMs, atMs);
    assert.equal(parseRunnerSummary((await standIn.exited).message)!.sent, 500);
  });

  it('ends with the usage exit code and says why when its args are not a runner’s', async () => {
    const standIn = await StandIn.start({ ...options({}), args: ['runner', '--method', 'GET'] });
    const exit = await standIn.exited;
    assert.equal(exit.exitCode, RUNNER_EXIT.usage);
    assert.match(exit.message, /--url is required/);
  });
});
