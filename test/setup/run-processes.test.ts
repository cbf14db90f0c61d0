/**
 * The end-of-run check finds the processes a test run started, even in a reused test bed: the ones it spawned
 * (marked through their environment) and test-bed processes that appeared during the run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/util/process.js';
import { findProcesses } from '../testbed/lifecycle.js';
import { TESTBED_MARKER } from '../testbed/state.js';
import { RunProcesses, TEST_RUN_MARKER } from './run-processes.js';

describe('processes a test run started', () => {
  let stateDir: string;
  const children: ChildProcess[] = [];

  /** A real process that runs until killed, with these extra environment variables. */
  const sleeper = async (environment: Record<string, string>) => {
    const child = spawn('sleep', ['600'], { env: { ...process.env, ...environment }, stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    return child;
  };
  const stop = async (child: ChildProcess) => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'run-processes-'));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) await stop(child);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('counts a process that carries the run marker until it exits', async () => {
    const run = new RunProcesses(stateDir);
    const child = await sleeper({ [TEST_RUN_MARKER]: run.runId });
    assert.deepEqual(
      run.started().map((p) => p.pid),
      [child.pid],
    );
    assert.deepEqual(
      (await run.leftAfter(0)).map((p) => p.pid),
      [child.pid],
    );
    await stop(child);
    assert.deepEqual(run.started(), []);
    assert.deepEqual(await run.leftAfter(0), []);
  });

  it("ignores another run's processes", async () => {
    const run = new RunProcesses(stateDir);
    await sleeper({ [TEST_RUN_MARKER]: new RunProcesses(stateDir).runId });
    assert.deepEqual(run.started(), []);
  });

  it('counts test-bed processes (pods) that appeared during the run, not those already there', async () => {
    const before = await sleeper({ [TESTBED_MARKER]: stateDir });
    const run = new RunProcesses(stateDir);
    const during = await sleeper({ [TESTBED_MARKER]: stateDir });
    const started = run.started().map((p) => p.pid);
    assert.ok(!started.includes(before.pid!), 'the pod that was running before the run is not counted');
    assert.deepEqual(started, [during.pid]);
  });

  it("does not count the test bed's components, even ones a test restarted, but counts the pods under them", async () => {
    const run = new RunProcesses(stateDir);
    // A supervisor started during the run (it inherits the run's marker) with a component and a pod under it.
    const supervisor = spawn(
      'bash',
      ['-c', `sleep 600 & ${TESTBED_MARKER}="$1" sleep 600 & wait`, 'supervisor.js', stateDir],
      { env: { ...process.env, [TEST_RUN_MARKER]: run.runId }, stdio: 'ignore', detached: true },
    );
    try {
      const children = () => findProcesses(() => true).filter((p) => p.parent === supervisor.pid);
      await waitFor(() => Promise.resolve(children().length === 2), {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: 'the supervisor stand-in to start its two children',
      });
      const pod = children().find((p) => p.pod);
      assert.ok(pod !== undefined, 'one child carries the pod marker');
      assert.deepEqual(
        run.started().map((p) => p.pid),
        [pod.pid],
      );
    } finally {
      const exited = once(supervisor, 'exit');
      process.kill(-supervisor.pid!, 'SIGKILL');
      await exited;
    }
  });
});
