/**
 * The processes a test run started, so that the run can check they are all gone at its end, whether it
 * started the test bed or reused a running one: processes it spawned itself (they inherit TEST_RUN_MARKER
 * from its environment, as do theirs) and test-bed processes that were not there when it began (its pods). The
 * test bed's own components are not counted, even when a test restarted them: stopping the test bed is the
 * global teardown's business, which checks what it leaves (testbedLeftovers).
 */
import { randomUUID } from 'node:crypto';
import { StartTimeoutError, waitFor } from '../../src/util/process.js';
import { findProcesses, testbedComponents, testbedProcesses, type LiveProcess } from '../testbed/lifecycle.js';

/** The environment variable that marks every process a test run spawned; its value names the run. */
export const TEST_RUN_MARKER = 'LOADTEST_TEST_RUN';

const identity = (p: LiveProcess) => `${p.pid}@${p.started}`;

export class RunProcesses {
  /** The value of TEST_RUN_MARKER in the environment of this run's processes. */
  readonly runId = randomUUID();
  private readonly testbedBefore: Set<string>;

  /** Records the test bed's processes in `stateDir` as they are now, before any test ran. */
  constructor(private readonly stateDir: string) {
    this.testbedBefore = new Set(testbedProcesses(stateDir).map(identity));
  }

  /** Live processes this run started: marked with its runId, or new in the test bed. */
  started(): LiveProcess[] {
    const components = new Set(testbedComponents(this.stateDir).map(identity));
    const spawned = findProcesses((_, environment) => environment.includes(`${TEST_RUN_MARKER}=${this.runId}`)).filter(
      (p) => !components.has(identity(p)),
    );
    const pods = testbedProcesses(this.stateDir).filter(
      (p) => !this.testbedBefore.has(identity(p)) && !components.has(identity(p)),
    );
    const seen = new Set(spawned.map(identity));
    return [...spawned, ...pods.filter((p) => !seen.has(identity(p)))];
  }

  /**
   * The processes this run started that are still running after `graceMs`, for the pods of namespaces whose
   * deletion is still under way. A process of another user is not seen; neither is one whose environment
   * dropped the marker, unless it belongs to the test bed.
   */
  async leftAfter(graceMs: number): Promise<LiveProcess[]> {
    try {
      // Other processes' exits give no event to await: poll.
      await waitFor(() => Promise.resolve(this.started().length === 0), {
        timeoutMs: graceMs,
        intervalMs: 200,
        what: 'the processes this test run started to exit',
      });
      return [];
    } catch (error) {
      if (!(error instanceof StartTimeoutError)) throw error;
      return this.started();
    }
  }
}

export function describeProcesses(processes: readonly LiveProcess[]): string {
  return processes.map((p) => `${p.pid} ${p.command.slice(0, 100)}`).join('\n  ');
}
