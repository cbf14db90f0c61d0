/**
 * The watcher turns LoadTest objects into workflow signals, level-triggered: every list (at start, after a
 * reconnect, and periodically) reconciles everything, so whatever happened while it was down is handled.
 * - A LoadTest whose `.status.observedGeneration` lags its generation gets signalWithStart(update): the
 *   workflow (id from namespace, name and uid) is started if missing, else told the new generation.
 * - A deleted LoadTest gets a delete signal; so does every running LoadTest workflow whose object no longer
 *   exists (or exists with another uid) when the watcher lists.
 * It holds no state of its own: Kubernetes and Temporal hold it all, and every call it makes is idempotent.
 */
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { LoadTestClient, LoadTestObject } from '../k8s/index.js';
import { loadTestWorkflowId, parseLoadTestWorkflowId, type LoadTestRef } from '../loadtest/workflow-id.js';
import {
  applySpecUpdate,
  deleteSignal,
  LOADTEST_WORKFLOW_TYPE,
  SPEC_REJECTED,
  specRejectedSignal,
  updateSignal,
  type DesiredRun,
  type LoadTestWorkflowInput,
  type RunTiming,
} from '../../workflows/definitions.js';
import { loadTestStartOptions } from '../../workflows/start.js';
import { desiredRunOf, isBeingDeleted, needsSignal, refOf } from './desired.js';

/** What the watcher needs from a LoadTest informer (src/k8s loadTestInformer). */
export interface LoadTestSource {
  on(event: 'add' | 'update' | 'delete', handler: (object: LoadTestObject) => void): () => void;
  on(event: 'synced', handler: (objects: readonly LoadTestObject[]) => void): () => void;
  start(): void;
  stop(): Promise<void>;
}

export interface WatcherLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface WatcherOptions {
  client: Client;
  /** Informer of every LoadTest; the watcher starts and stops it. */
  source: LoadTestSource;
  /** For confirming, one object at a time, that a workflow's LoadTest is really gone. */
  loadTests: LoadTestClient;
  taskQueue: string;
  /**
   * The one namespace this watcher handles (WATCH_NAMESPACE); default every namespace. Its source must list that
   * namespace only; the clean-up of workflows whose LoadTest is gone leaves those of other namespaces alone (they
   * are another operator's, and this one may not even read their LoadTests).
   */
  namespace?: string;
  log: WatcherLogger;
  /** Passed to new workflows; default: the workflow's defaults. */
  timing?: RunTiming;
  /** Attempts per call to Temporal before leaving it to the next list. Default 4 (1 s, 2 s, 4 s apart). */
  attempts?: number;
  /** Counts reconciles and signals (src/operator/metrics.ts); default none. */
  metrics?: WatcherMetrics;
}

/** What the watcher counts. */
export interface WatcherMetrics {
  reconciled(result: 'signalled' | 'unchanged' | 'deleted' | 'error' | 'applied' | 'rejected'): void;
  signalled(signal: 'update' | 'delete'): void;
  relisted(resource: 'loadtests'): void;
}

/**
 * The running LoadTest workflows this watcher's operator owns: those on its task queue. Runs started by the
 * client or in local mode on the same Temporal server live on other task queues and are not its to clean up.
 */
export function runningLoadTestWorkflows(taskQueue: string): string {
  return `WorkflowType = '${LOADTEST_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
}

export class LoadTestWatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly unsubscribe: Array<() => void> = [];
  private stopping = false;
  private syncedOnce = false;

  constructor(private readonly options: WatcherOptions) {}

  /** True once the first list has been reconciled (for /readyz). */
  get ready(): boolean {
    return this.syncedOnce;
  }

  start(): void {
    const { source } = this.options;
    const onChange = (object: LoadTestObject) =>
      this.enqueue(object.metadata.uid, () => this.reconcile(object), 'reconcile');
    this.unsubscribe.push(
      source.on('add', onChange),
      source.on('update', onChange),
      source.on('delete', (object) => this.enqueue(object.metadata.uid, () => this.signalDelete(refOf(object)))),
      source.on('synced', (objects) => {
        this.options.metrics?.relisted('loadtests');
        for (const object of objects) onChange(object);
        void this.reconcileOrphans(objects).then(() => {
          this.syncedOnce = true;
        });
      }),
    );
    source.start();
  }

  /** Stops watching and waits for calls in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.options.source.stop();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Brings one LoadTest's workflow up to date with the object. */
  async reconcile(object: LoadTestObject): Promise<void> {
    if (isBeingDeleted(object)) {
      await this.signalDelete(refOf(object));
      this.options.metrics?.reconciled('deleted');
      return;
    }
    if (!needsSignal(object)) {
      this.options.metrics?.reconciled('unchanged');
      return;
    }
    const loadTest = refOf(object);
    const desired = desiredRunOf(object);
    if (object.status?.state === 'executing' && desired.problems === undefined) {
      if (await this.applyLive(loadTest, desired)) return;
    }
    const input: LoadTestWorkflowInput = { loadTest, desired, timing: this.options.timing };
    await this.options.client.workflow.signalWithStart(LOADTEST_WORKFLOW_TYPE, {
      ...loadTestStartOptions(input, this.options.taskQueue),
      signal: updateSignal,
      signalArgs: [desired],
    });
    this.options.metrics?.signalled('update');
    this.options.metrics?.reconciled('signalled');
    this.options.log.info({ loadTest, generation: desired.generation }, 'signalled workflow with generation');
  }

  /**
   * Offers a new generation of an executing LoadTest to its running runners (the applySpec Update). True when
   * that settled it: applied, or refused for good (the workflow is told, and says so in the SpecApplied
   * condition). False when the run cannot take it live, or the workflow does not answer in time: then the
   * generation goes the usual way, a restart.
   */
  private async applyLive(loadTest: LoadTestRef, desired: DesiredRun): Promise<boolean> {
    const handle = this.options.client.workflow.getHandle(loadTestWorkflowId(loadTest));
    try {
      const applied = await withTimeout(
        handle.executeUpdate(applySpecUpdate, { args: [desired], updateId: `spec-${desired.generation}` }),
        LIVE_UPDATE_TIMEOUT_MS,
      );
      this.options.metrics?.reconciled('applied');
      this.options.log.info({ loadTest, generation: desired.generation }, applied.message);
      return true;
    } catch (error) {
      const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === SPEC_REJECTED) {
        await handle.signal(specRejectedSignal, { generation: desired.generation, reason: cause.message });
        this.options.metrics?.reconciled('rejected');
        this.options.log.warn(
          { loadTest, generation: desired.generation, reason: cause.message },
          'live change refused',
        );
        return true;
      }
      this.options.log.info(
        { loadTest, generation: desired.generation, reason: error instanceof Error ? error.message : String(error) },
        'generation not applied live; restarting the run',
      );
      return false;
    }
  }

  async signalDelete(loadTest: LoadTestRef): Promise<void> {
    try {
      await this.options.client.workflow.getHandle(loadTestWorkflowId(loadTest)).signal(deleteSignal);
      this.options.metrics?.signalled('delete');
      this.options.log.info({ loadTest }, 'signalled workflow: LoadTest deleted');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }

  /**
   * Signals delete to every running LoadTest workflow whose object is not in `objects`, after checking that
   * object once more (it may have been created since the list).
   */
  async reconcileOrphans(objects: readonly LoadTestObject[]): Promise<void> {
    const listed = new Set(objects.map((object) => object.metadata.uid));
    try {
      for await (const execution of this.options.client.workflow.list({
        query: runningLoadTestWorkflows(this.options.taskQueue),
      })) {
        const loadTest = parseLoadTestWorkflowId(execution.workflowId);
        if (loadTest === undefined || listed.has(loadTest.uid)) continue;
        if (this.options.namespace !== undefined && loadTest.namespace !== this.options.namespace) continue;
        this.enqueue(loadTest.uid, async () => {
          const object = await this.options.loadTests.get(loadTest.namespace, loadTest.name);
          if (object === undefined || object.metadata.uid !== loadTest.uid || isBeingDeleted(object)) {
            await this.signalDelete(loadTest);
          }
        });
      }
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not list LoadTest workflows; retrying at the next list');
    }
  }

  /** Runs `work` after earlier work for the same LoadTest, retrying with backoff; logs what still fails. */
  private enqueue(key: string, work: () => Promise<void>, what?: 'reconcile'): void {
    if (this.stopping) return;
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.withRetries(work, what));
    this.inFlight.set(key, next);
    void next.finally(() => {
      if (this.inFlight.get(key) === next) this.inFlight.delete(key);
    });
  }

  private async withRetries(work: () => Promise<void>, what?: 'reconcile'): Promise<void> {
    const attempts = this.options.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (what === 'reconcile') this.options.metrics?.reconciled('error');
        if (attempt >= attempts || this.stopping) {
          this.options.log.error({ err: error }, 'giving up until the next list');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
      }
    }
  }
}

/** How long the watcher waits for a running workflow to take a live change before restarting the run instead. */
const LIVE_UPDATE_TIMEOUT_MS = 15_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000}s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
