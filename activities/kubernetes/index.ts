/**
 * LoadTestActivities on Kubernetes: runners are pods owned by the LoadTest, status goes to `.status` through
 * the status subresource, and what happens is posted as Events. Every activity is idempotent: runner names are
 * deterministic, "already exists" and "not found" count as done.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type {
  EventClient,
  LoadTestClient,
  LoadTestObject,
  LoadTestStatusPatch,
  PodClient,
  SecretClient,
  ServiceClient,
} from '../../src/k8s/index.js';
import {
  apiStatusCode,
  describeApiError,
  GENERATION_LABEL,
  isConflict,
  isNotFound,
  LOADTEST_UID_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  runnersOf,
} from '../../src/k8s/index.js';
import type { LoadTestSpec } from '../../src/loadtest/spec.js';
import { parseRunnerSummary, START_AT_ANNOTATION, type RunnerSummary } from '../../src/runner/contract.js';
import { mergeSummaries } from '../../src/runner/merge.js';
import {
  INVALID_SPEC,
  LOADTEST_GONE,
  RUNNER_NAME_TAKEN,
  RUNNER_POD_REJECTED,
  type RunnersRef,
  type LoadTestActivities,
  type LoadTestEvent,
  type LoadTestRef,
  type RunnerFailure,
  type RunnersCompleted,
  type RunnersRunning,
  type RunWatch,
  type ThresholdAbort,
} from '../types.js';
import { heartbeatStartAtMs, type LiveProgress, type ProgressHeartbeat, type StartHeartbeat } from '../progress.js';
import { awaitRunners, countByKind, type RunnerPodCache } from './await-runners.js';
import { eventManifest } from './events.js';
import {
  breachedAbortRule,
  LIVE_POLL_MS,
  LiveMerge,
  PROGRESS_PATCH_MS,
  snapshotSummary,
  startSkewMs,
  statusProgress,
} from '../live-run.js';
import {
  controlAddress,
  ControlRefused,
  controlSecretManifest,
  CONTROL_TOKEN_KEY,
  ControlTokens,
  RunnerControl,
  tokenOf,
} from './runner-control.js';
import { missingServicePort } from './service-ports.js';
import { ownedBy, runnerLabels, runnerPodManifest, runnerState, type RunnerState } from './runner-pods.js';
import { formatLatency, formatRps, statusPatch } from './status.js';

export type { RunnerPodCache } from './await-runners.js';

/** What the worker's shared LoadTest informer offers (src/k8s loadTestInformer). */
export interface LoadTestCache {
  get(namespace: string | undefined, name: string): LoadTestObject | undefined;
  /** False until the first list: until then every read is a GET. */
  readonly hasSynced: boolean;
}

/** States a run publishes once it has settled: its runners ended (or never were), long seen by the pod informer. */
const SETTLED_STATES: ReadonlySet<string> = new Set(['finished', 'failed']);
/** How often a status patch computed from the cache is tried again from a fresh read when the object changed. */
const STATUS_PATCH_ATTEMPTS = 3;
/**
 * How long a runner's control endpoint is tried while it does not answer, ms: its pod runs a moment before its
 * process listens. Only then the start-at annotation (one API call, and a kubelet sync before the runner sees it).
 */
const CONTROL_START_PATIENCE_MS = 2000;

export interface KubernetesActivityDeps {
  loadTests: LoadTestClient;
  /**
   * The worker's shared, started informer of LoadTests (src/k8s loadTestInformer): activities read the LoadTest
   * there, and GET it only when the cache could be wrong (see requireLoadTest).
   */
  loadTestCache: LoadTestCache;
  pods: PodClient;
  services: ServiceClient;
  secrets: SecretClient;
  events: EventClient;
  /** The worker's shared, started informer of runner pods (src/k8s runnerPodInformer). */
  runnerPods: RunnerPodCache;
  /** Image of runner pods; its entrypoint is `loadtest-operator`. */
  runnerImage: string;
  /** Heartbeat interval of waiting activities, ms. Default 5000. */
  heartbeatIntervalMs?: number;
  /** How long a runner may be missing from the informer before one GET checks it, ms. Default 15 000. */
  missingGraceMs?: number;
  /** Pods created or annotated at once. Default 10. */
  concurrency?: number;
  /** Names this worker in Events. Default: the host name (the pod name in a cluster). */
  instance?: string;
  /** How often running runners are polled for progress, ms. Default LIVE_POLL_MS. */
  livePollMs?: number;
  /** `.status.progress` is written at most this often, ms. Default PROGRESS_PATCH_MS. */
  progressPatchMs?: number;
}

export function createKubernetesActivities(deps: KubernetesActivityDeps): LoadTestActivities {
  // Three heartbeats per heartbeat timeout (workflows/activity-options.ts): one lost one is not a lost worker.
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 3000;
  const missingGraceMs = deps.missingGraceMs ?? 15_000;
  const concurrency = deps.concurrency ?? 10;
  const instance = deps.instance ?? hostname();
  const livePollMs = deps.livePollMs ?? LIVE_POLL_MS;
  const progressPatchMs = deps.progressPatchMs ?? PROGRESS_PATCH_MS;
  const tokens = new ControlTokens(deps.secrets);
  /** When each run's `.status.progress` was last written (epoch ms), across the rounds of its wait. */
  const lastProgressPatch = new Map<string, number>();

  /** A runner's control endpoint, or undefined when it has none yet (no IP) or its run has no token. */
  async function controlOf(loadTest: LoadTestRef, generation: number, runner: string) {
    const address = controlAddress(deps.runnerPods.get(loadTest.namespace, runner));
    if (address === undefined) return undefined;
    const token = await tokens.get(loadTest, generation);
    return token === undefined ? undefined : new RunnerControl(address, token);
  }

  /** Creates the run's control Secret (or reads the one a previous attempt created) and remembers its token. */
  async function ensureControlSecret(loadTest: LoadTestRef, generation: number): Promise<void> {
    const manifest = controlSecretManifest(loadTest, generation, runnerLabels(loadTest, generation), ownedBy(loadTest));
    const { created, secret } = await deps.secrets.create(manifest).catch((error: unknown) => {
      throw podRejection(manifest.metadata!.name!, error) ?? error;
    });
    const name = manifest.metadata!.name!;
    const labels = secret.metadata?.labels ?? {};
    if (!created && labels[MANAGED_BY_LABEL] !== MANAGED_BY) {
      // Someone else's Secret: never hand its value to runners, never delete it.
      throw ApplicationFailure.nonRetryable(
        `Secret ${name} already exists in namespace ${loadTest.namespace} and is not a runner control token: ` +
          'rename the LoadTest or delete that Secret',
        RUNNER_NAME_TAKEN,
      );
    }
    if (!created && labels[LOADTEST_UID_LABEL] !== loadTest.uid) {
      // The token of an earlier LoadTest of the same name, not yet garbage-collected: remove it and try again.
      await deps.secrets.delete(loadTest.namespace, name);
      throw new Error(`Secret ${name} of an earlier LoadTest named ${loadTest.name} is still there`);
    }
    const token = created ? manifest.stringData![CONTROL_TOKEN_KEY] : tokenOf(secret);
    if (token === undefined) {
      throw ApplicationFailure.nonRetryable(`Secret ${name} holds no ${CONTROL_TOKEN_KEY}`, RUNNER_NAME_TAKEN);
    }
    tokens.remember(loadTest, generation, token);
  }

  /**
   * The LoadTest, if it still exists with this uid; otherwise the workflow must clean up and end. Read from the
   * worker's LoadTest cache; one GET confirms what only a stale cache could say: that the LoadTest is not there
   * (created a moment ago) or has another uid (the cache has not seen it replaced). A deletionTimestamp on our
   * uid is final. With `fresh`, and before the cache's first list, it is a GET.
   */
  async function requireLoadTest(ref: LoadTestRef, fresh = false): Promise<LoadTestObject> {
    const gone = () =>
      ApplicationFailure.nonRetryable(`LoadTest ${ref.namespace}/${ref.name} (uid ${ref.uid}) is gone`, LOADTEST_GONE);
    let object = fresh || !deps.loadTestCache.hasSynced ? undefined : deps.loadTestCache.get(ref.namespace, ref.name);
    if (object?.metadata.uid !== ref.uid) object = await deps.loadTests.get(ref.namespace, ref.name);
    if (object === undefined || object.metadata.uid !== ref.uid || object.metadata.deletionTimestamp) throw gone();
    return object;
  }

  /**
   * Patches `.status` with what `build` makes of the LoadTest as it is (undefined: write nothing). `build` sees the
   * cached object, and the patch carries its resourceVersion as a precondition: when the object changed since the
   * cache saw it, the API server refuses the patch (409) and it is built again from a GET.
   */
  async function patchStatusOf(
    ref: LoadTestRef,
    build: (current: LoadTestObject) => LoadTestStatusPatch | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await requireLoadTest(ref, attempt > 1);
      const patch = build(current);
      if (patch === undefined) return;
      const { resourceVersion } = current.metadata;
      try {
        await deps.loadTests.patchStatus(
          ref.namespace,
          ref.name,
          patch,
          resourceVersion === undefined ? undefined : { resourceVersion },
        );
        return;
      } catch (error) {
        // Deleted in between: say so as LoadTestGone (when it is) rather than as a failed patch.
        if (isNotFound(error)) await requireLoadTest(ref, true);
        if (!isConflict(error) || attempt >= STATUS_PATCH_ATTEMPTS) throw error;
      }
    }
  }

  /** Records `event` about the LoadTest: one Event per (LoadTest, generation, reason), however often retried. */
  async function recordEvent(loadTest: LoadTestRef, event: LoadTestEvent): Promise<void> {
    await deps.events.create(eventManifest(loadTest, event, new Date(), instance));
  }

  /**
   * The LoadTest's runner pods (every generation) as the worker's pod informer holds them, but those already being
   * deleted (a retry deletes nothing twice).
   */
  async function cachedRunnersOf(loadTest: LoadTestRef): Promise<V1Pod[]> {
    await deps.runnerPods.waitForSync();
    return deps.runnerPods
      .list()
      .filter(
        (pod) =>
          pod.metadata?.namespace === loadTest.namespace &&
          pod.metadata.labels?.[LOADTEST_UID_LABEL] === loadTest.uid &&
          pod.metadata.deletionTimestamp === undefined,
      );
  }

  /** Deletes `pods` (runners of the LoadTest), heartbeating each; returns the names of those it deleted. */
  async function deletePods(loadTest: LoadTestRef, pods: readonly V1Pod[]): Promise<string[]> {
    const deleted: string[] = [];
    const context = Context.current();
    await forEachLimited(pods, concurrency, async (pod) => {
      const name = pod.metadata!.name!;
      context.heartbeat({ deleting: name });
      if (await deps.pods.delete(loadTest.namespace, name)) deleted.push(name);
    });
    return deleted.sort();
  }

  /** Deletes the runner pods of one generation of the LoadTest. */
  async function deleteRunnersOf(loadTest: LoadTestRef, generation: number): Promise<void> {
    const pods = await deps.pods.list(
      loadTest.namespace,
      `${runnersOf(loadTest.uid)},${GENERATION_LABEL}=${generation}`,
    );
    await forEachLimited(pods, concurrency, async (pod) => {
      await deps.pods.delete(loadTest.namespace, pod.metadata!.name!);
    });
  }

  /** Sets `.status.message` while the LoadTest still shows this generation pending, and only then. */
  async function showPendingMessage({ loadTest, generation }: RunnersRef, message: string): Promise<void> {
    await patchStatusOf(loadTest, ({ status }) =>
      status?.state === 'pending' && status.observedGeneration === generation ? { message } : undefined,
    );
  }

  function runnerStateOf(namespace: string, runner: string): RunnerState | undefined {
    const pod = deps.runnerPods.get(namespace, runner);
    return pod === undefined ? undefined : runnerState(pod);
  }

  /** Writes the live view into `.status.progress` and the Requests/s and P99 columns. */
  async function patchProgress(loadTest: LoadTestRef, view: LiveProgress & { running: number }): Promise<void> {
    await deps.loadTests.patchStatus(loadTest.namespace, loadTest.name, {
      progress: statusProgress(view),
      rps: formatRps(view.rps),
      p99: formatLatency(view.p99Ms),
    });
  }

  /**
   * Tells every runner to start sending at `startAtMs`: through its control endpoint, else (no endpoint, no answer)
   * through the start-at annotation its pod's Downward API file shows it. Heartbeats the instant with each runner.
   */
  async function startAll({ loadTest, generation, runners }: RunnersRef, startAtMs: number): Promise<void> {
    const context = Context.current();
    let started = 0;
    let annotated = 0;
    await forEachLimited(runners, concurrency, async (name) => {
      // Through the runner's control endpoint: milliseconds, where the annotation takes a kubelet sync.
      const control = await controlOf(loadTest, generation, name);
      const answered = control !== undefined && (await startThrough(control, startAtMs));
      if (!answered) {
        // No endpoint (a runner created before them) or no answer: the annotation reaches it all the same.
        // A missing runner is reported by awaitRunnersCompleted, with the reason.
        await deps.pods.annotate(loadTest.namespace, name, { [START_AT_ANNOTATION]: String(startAtMs) });
        annotated++;
      }
      context.heartbeat({ startAtMs, started: ++started, annotated });
    });
  }

  /**
   * The start instant an earlier attempt already sent to some runner although its heartbeat of it was lost: from a
   * start-at annotation the pod informer shows, else from a runner's control endpoint. Undefined when none has one.
   */
  async function startAtAlreadySent({ loadTest, generation, runners }: RunnersRef): Promise<number | undefined> {
    for (const name of runners) {
      const pod = deps.runnerPods.get(loadTest.namespace, name);
      const annotated = Number(pod?.metadata?.annotations?.[START_AT_ANNOTATION]);
      if (Number.isFinite(annotated) && annotated > 0) return annotated;
    }
    let sent: number | undefined;
    await forEachLimited(runners, concurrency, async (name) => {
      if (sent !== undefined) return;
      const control = await controlOf(loadTest, generation, name);
      const snapshot = await control?.progress().catch(() => undefined);
      sent ??= snapshot?.startAtMs;
    });
    return sent;
  }

  async function awaitRunnersCompleted(input: RunnersRef & { watch?: RunWatch }): Promise<RunnersCompleted> {
    const { loadTest, generation, watch } = input;
    const continueOnLoss = watch?.onRunnerFailure === 'continue';
    const lost = new Set(watch?.lost ?? []);
    const live = new LiveMerge();
    let aborted: ThresholdAbort | undefined;
    let latestView: (LiveProgress & { running: number }) | undefined;

    const decide = (states: ReadonlyMap<string, RunnerState | undefined>): RunnersCompleted | undefined => {
      const summaries: RunnerSummary[] = [];
      // Failures first: one failed runner settles the run (unless lost runners are tolerated) while others send.
      const ordered = [...states].sort(([, a], [, b]) => Number(b?.kind === 'failed') - Number(a?.kind === 'failed'));
      for (const [runner, state] of ordered) {
        if (lost.has(runner)) continue;
        if (state?.kind === 'failed') {
          // Stopped for an abort, a runner whose requests failed still reports them: its results count.
          const summary =
            (aborted !== undefined || watch?.stopped === true) && state.summary !== undefined
              ? parseRunnerSummary(state.summary)
              : undefined;
          if (summary !== undefined) {
            summaries.push(summary);
            continue;
          }
          if (!continueOnLoss) return { kind: 'failed', runner, reason: state.reason };
          lost.add(runner);
          live.forget(runner);
          continue;
        }
        if (state?.kind !== 'succeeded') return undefined;
        const summary = parseRunnerSummary(state.summary);
        if (summary === undefined) {
          return { kind: 'failed', runner, reason: 'succeeded but left no runner summary in its termination message' };
        }
        summaries.push(summary);
      }
      if (summaries.length === 0) {
        const [runner] = [...lost];
        return { kind: 'failed', runner: runner ?? '(none)', reason: 'was lost, and so was every other runner' };
      }
      const results = mergeSummaries(summaries);
      const skew = startSkewMs(summaries);
      if (skew !== undefined) results.startSkewMs = skew;
      if (lost.size > 0) results.lostRunners = [...lost].sort();
      return { kind: 'succeeded', results, runners: summaries.length, ...(aborted ? { aborted } : {}) };
    };

    const beside =
      watch === undefined
        ? undefined
        : (answer: (value: RunnersCompleted) => void, recheck: () => void) => {
            const context = Context.current();
            let patching = Promise.resolve();
            // As often as the workflow takes in the live view (every 10 s, at most 30 times a run): a long soak
            // test writes its status as often as a short one, not once every 10 s for hours.
            const patchEveryMs = Math.max(progressPatchMs, watch.reportAfterMs ?? 0);
            const runKey = `${loadTest.uid}/${generation}`;
            /** Writes the view into `.status.progress` when this run's last write is PROGRESS_PATCH_MS old. */
            const patchIfDue = (view: LiveProgress & { running: number }) => {
              // Half a poll of slack: a round ends on the same beat as the write it should carry.
              // The first write comes a period into the run, not at its first poll: a test shorter than that
              // shows its executing state and then its results, and costs no progress write at all.
              const last = lastProgressPatch.get(runKey) ?? watch.startAtMs;
              if (view.at - last < patchEveryMs - livePollMs / 2) return;
              lastProgressPatch.set(runKey, view.at);
              patching = patching.then(() => patchProgress(loadTest, view)).catch(() => undefined);
            };
            let stopped = false;
            let polling = false;
            const poll = async () => {
              if (polling || stopped) return;
              polling = true;
              try {
                let running = 0;
                await forEachLimited(input.runners, concurrency, async (runner) => {
                  if (lost.has(runner)) return;
                  const state = runnerStateOf(loadTest.namespace, runner);
                  if (state?.kind === 'succeeded') {
                    live.record(runner, parseRunnerSummary(state.summary));
                    return;
                  }
                  if (state?.kind !== 'running') return;
                  running++;
                  const control = await controlOf(loadTest, generation, runner);
                  const snapshot = await control?.progress().catch(() => undefined);
                  if (snapshot !== undefined) live.record(runner, snapshotSummary(snapshot));
                });
                const results = live.merged();
                if (results === undefined || stopped) return;
                const now = Date.now();
                latestView = live.view(results, input.runners.length - lost.size, running, now);
                context.heartbeat({ progress: latestView } satisfies ProgressHeartbeat);
                patchIfDue(latestView);
                if (aborted === undefined && watch.abort !== undefined && watch.abort.length > 0) {
                  aborted = breachedAbortRule(results, watch.abort, watch.startAtMs, now);
                  if (aborted !== undefined) {
                    // Stop every runner; each then writes its summary and ends, and the wait merges them as usual.
                    await forEachLimited(input.runners, concurrency, async (runner) => {
                      const control = await controlOf(loadTest, generation, runner);
                      await control?.stop().catch(() => undefined);
                    });
                  }
                }
                recheck();
              } finally {
                polling = false;
              }
            };
            const pollTimer = setInterval(() => void poll(), livePollMs);
            let reportTimer: NodeJS.Timeout | undefined;
            if (watch.reportAfterMs !== undefined) {
              reportTimer = setTimeout(() => {
                // Mid-abort the round goes on: the stop's results are what the workflow needs next.
                if (aborted !== undefined || latestView === undefined) return;
                const view = latestView;
                patchIfDue(view);
                void patching.then(() => answer({ kind: 'progress', live: view, lost: [...lost].sort() }));
              }, watch.reportAfterMs);
            }
            return () => {
              stopped = true;
              clearInterval(pollTimer);
              clearTimeout(reportTimer);
            };
          };

    const outcome = await awaitRunners<RunnersCompleted>(deps.runnerPods, deps.pods, input, decide, {
      heartbeatIntervalMs,
      missingGraceMs,
      // Once runners report, the heartbeat carries the live view (what `watch` and the Web UI show).
      heartbeatDetails:
        watch === undefined
          ? undefined
          : (states) =>
              latestView === undefined ? countByKind(states) : ({ progress: latestView } satisfies ProgressHeartbeat),
      beside,
    });
    if (outcome.kind !== 'progress') lastProgressPatch.delete(`${loadTest.uid}/${generation}`);
    return outcome;
  }

  return {
    async checkTarget({ loadTest, spec }) {
      const { serviceName, port } = spec.test;
      if (serviceName === undefined) return { ok: true };
      const service = await deps.services.get(loadTest.namespace, serviceName);
      if (service === undefined) {
        return { ok: false, reason: `Service "${serviceName}" does not exist in namespace "${loadTest.namespace}"` };
      }
      const missing = missingServicePort(service, serviceName, loadTest.namespace, port);
      return missing === undefined ? { ok: true } : { ok: false, reason: missing };
    },

    async createRunners({ loadTest, generation, spec, replaceOthers, createdEvent }) {
      await requireLoadTest(loadTest);
      const manifests = runnerManifests(loadTest, generation, spec, deps.runnerImage);
      if (replaceOthers === true) {
        // Runners of other generations were created by earlier runs, long enough ago for the informer to hold
        // them: no LIST. This generation's own are kept (a retry finds them).
        const others = (await cachedRunnersOf(loadTest)).filter(
          (pod) => pod.metadata?.labels?.[GENERATION_LABEL] !== String(generation),
        );
        await deletePods(loadTest, others);
      }
      await ensureControlSecret(loadTest, generation);
      const context = Context.current();
      let created = 0;
      const creating = forEachLimited(manifests, concurrency, async (manifest) => {
        context.cancellationSignal.throwIfAborted();
        const result = await deps.pods.create(manifest).catch((error: unknown) => {
          throw podRejection(manifest.metadata!.name!, error) ?? error;
        });
        const labels = result.pod.metadata?.labels ?? {};
        if (!result.created && labels[MANAGED_BY_LABEL] !== MANAGED_BY) {
          // Someone else's pod: never delete what this operator did not create.
          throw ApplicationFailure.nonRetryable(
            `pod ${manifest.metadata!.name} already exists in namespace ${loadTest.namespace} and is not a runner: ` +
              'rename the LoadTest or delete that pod',
            RUNNER_NAME_TAKEN,
          );
        }
        if (!result.created && labels[LOADTEST_UID_LABEL] !== loadTest.uid) {
          // A pod of an earlier LoadTest of the same name is still terminating: remove it and try again.
          await deps.pods.delete(loadTest.namespace, manifest.metadata!.name!);
          throw new Error(
            `pod ${manifest.metadata!.name} of an earlier LoadTest named ${loadTest.name} is still there`,
          );
        }
        context.heartbeat({ created: ++created });
      });
      try {
        await creating;
      } catch (error) {
        if (error instanceof ApplicationFailure && error.type === RUNNER_POD_REJECTED) {
          // The run fails for good: take back the runners this generation did get, so none waits at the start line.
          await deleteRunnersOf(loadTest, generation);
        }
        throw error;
      }
      const names = manifests.map((manifest) => manifest.metadata!.name!);
      if (createdEvent !== undefined) {
        await recordEvent(loadTest, {
          type: 'Normal',
          reason: 'RunnersCreated',
          message: `created runners ${names.join(', ')}`,
          generation: createdEvent.generation,
        });
      }
      return names;
    },

    async awaitRunnersRunning(input) {
      const context = Context.current();
      // The start time an earlier attempt chose and heartbeated: a runner that got it must not get another.
      const carried = input.startDelayMs === undefined ? undefined : heartbeatStartAtMs(context.info.heartbeatDetails);
      // Why runners wait (unschedulable, an image being pulled) becomes the LoadTest's message while it is pending,
      // so a user sees it in `kubectl get ld -o wide` without looking at pods. Only on a change: a few calls a run.
      let shown = '';
      let showing = Promise.resolve();
      const showWhyPending = (states: ReadonlyMap<string, RunnerState | undefined>) => {
        const reason = pendingReason(states);
        if (reason === undefined || reason === shown) return;
        shown = reason;
        const message = `waiting for ${input.runners.length} runner(s) to start: ${reason}`;
        showing = showing.then(() => showPendingMessage(input, message)).catch(() => undefined);
      };
      let running: RunnersRunning;
      try {
        running = await awaitRunners<RunnersRunning>(
          deps.runnerPods,
          deps.pods,
          input,
          (states) => {
            showWhyPending(states);
            const failure = firstFailure(states);
            if (failure !== undefined) return failure;
            const started = [...states.values()].every((s) => s?.kind === 'running' || s?.kind === 'succeeded');
            return started ? { kind: 'running' } : undefined;
          },
          {
            heartbeatIntervalMs,
            missingGraceMs,
            timeoutMs: input.timeoutMs,
            // Waiting again after an earlier attempt chose the start time: the heartbeat keeps it for the next one.
            heartbeatDetails:
              carried === undefined ? undefined : (states) => ({ ...countByKind(states), startAtMs: carried }),
            onTimeout: (states) => {
              const [runner, state] = [...states].find(([, s]) => s?.kind !== 'running' && s?.kind !== 'succeeded')!;
              const detail = state?.kind === 'pending' && state.detail ? ` (${state.detail})` : '';
              return { kind: 'failed', runner, reason: `did not start within ${input.timeoutMs / 1000}s${detail}` };
            },
          },
        );
      } finally {
        await showing;
      }
      if (running.kind !== 'running' || input.startDelayMs === undefined) return running;
      const startAtMs =
        carried ??
        (context.info.attempt > 1 ? await startAtAlreadySent(input) : undefined) ??
        Date.now() + input.startDelayMs;
      // Heartbeated before any runner hears of it, so that a retried attempt sends the same instant.
      context.heartbeat({ startAtMs } satisfies StartHeartbeat);
      await startAll(input, startAtMs);
      return { kind: 'running', startAtMs };
    },

    async startRunners(input) {
      await startAll(input, input.startAtMs);
    },

    async awaitRunnersCompleted(input) {
      return awaitRunnersCompleted(input);
    },

    async stopRunners({ loadTest, generation, runners }) {
      const context = Context.current();
      const stopped: string[] = [];
      await forEachLimited(runners, concurrency, async (runner) => {
        context.heartbeat({ stopping: runner });
        const state = runnerStateOf(loadTest.namespace, runner);
        if (state?.kind === 'succeeded' || state?.kind === 'failed') return; // ended: nothing to stop
        const control = await controlOf(loadTest, generation, runner);
        // No endpoint (no IP yet) or no answer: the workflow deletes what did not end.
        const answered = await control?.stop().then(
          () => true,
          () => false,
        );
        if (answered === true) stopped.push(runner);
      });
      return stopped.sort();
    },

    async deleteLoadTest({ loadTest }) {
      return deps.loadTests.deleteWithUid(loadTest.namespace, loadTest.name, loadTest.uid);
    },

    async changeRunners({ loadTest, generation, runners, change }) {
      const applied: string[] = [];
      const refused: { runner: string; reason: string }[] = [];
      const context = Context.current();
      await forEachLimited(runners, concurrency, async (runner) => {
        context.heartbeat({ changing: runner });
        const state = runnerStateOf(loadTest.namespace, runner);
        if (state?.kind === 'succeeded' || state?.kind === 'failed') return; // ended: nothing to change
        const control = await controlOf(loadTest, generation, runner);
        if (control === undefined) {
          refused.push({ runner, reason: 'has no control endpoint' });
          return;
        }
        try {
          await control.change(change);
          applied.push(runner);
        } catch (error) {
          if (!(error instanceof ControlRefused)) throw error; // unreachable: retry the activity
          refused.push({ runner, reason: error.message });
        }
      });
      return { applied: applied.sort(), refused };
    },

    async deleteRunners({ loadTest, exceptGeneration, onlyGeneration, keepFinished }) {
      // Once the LoadTest shows its run settled, its runners ended (or were never made) long enough ago for the
      // pod informer to hold every one: no LIST. Before that (a run cut short, perhaps while its runners were being
      // created a moment ago) only a LIST sees them all.
      const shown = deps.loadTestCache.hasSynced
        ? deps.loadTestCache.get(loadTest.namespace, loadTest.name)
        : undefined;
      const settled = shown?.metadata.uid === loadTest.uid && SETTLED_STATES.has(shown.status?.state ?? '');
      const pods = settled
        ? await cachedRunnersOf(loadTest)
        : await deps.pods.list(loadTest.namespace, runnersOf(loadTest.uid));
      const doomed = pods.filter((pod) => {
        const podGeneration = pod.metadata?.labels?.[GENERATION_LABEL];
        if (exceptGeneration !== undefined && podGeneration === String(exceptGeneration)) return false;
        if (onlyGeneration !== undefined && podGeneration !== String(onlyGeneration)) return false;
        const phase = pod.status?.phase;
        return !(keepFinished === true && (phase === 'Succeeded' || phase === 'Failed'));
      });
      return deletePods(loadTest, doomed);
    },

    async publishStatus({ loadTest, status, event }) {
      await patchStatusOf(loadTest, (current) => {
        const replicas =
          current.metadata.generation === status.generation
            ? (current.spec as { replicas?: number } | undefined)?.replicas
            : undefined;
        return statusPatch(status, current.status, replicas);
      });
      // After the status: a retry after a lost event writes the same status again (a no-op) and posts it.
      if (event !== undefined) await recordEvent(loadTest, event);
    },

    async recordEvent({ loadTest, event }) {
      await recordEvent(loadTest, event);
    },

    async publishRunHistory({ loadTest, report }) {
      await requireLoadTest(loadTest);
      try {
        // Only these fields: the run's own state is the run workflow's to write (publishStatus).
        await deps.loadTests.patchStatus(loadTest.namespace, loadTest.name, {
          history: report.history,
          ...(report.lastScheduleTime === undefined ? {} : { lastScheduleTime: report.lastScheduleTime }),
          ...(report.nextScheduleTime === undefined ? {} : { nextScheduleTime: report.nextScheduleTime }),
        });
      } catch (error) {
        if (isNotFound(error)) await requireLoadTest(loadTest, true);
        throw error;
      }
    },
  };
}

/** The pod manifests of one run; a spec that cannot become runner arguments fails for good. */
function runnerManifests(loadTest: LoadTestRef, generation: number, spec: LoadTestSpec, image: string) {
  try {
    return Array.from({ length: spec.replicas }, (_, index) =>
      runnerPodManifest({ loadTest, generation, index, spec, image }),
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw ApplicationFailure.nonRetryable(`cannot build runners: ${message}`, INVALID_SPEC);
  }
}

/**
 * A refusal to create a runner pod that retrying does not change, as a non-retryable failure that quotes the API
 * server (it names the ResourceQuota, the Pod Security level, the invalid field); undefined for anything else.
 * 403 Forbidden: a ResourceQuota, Pod Security admission, RBAC. 422 Invalid: a pod field the CRD let through.
 */
function podRejection(name: string, error: unknown): ApplicationFailure | undefined {
  const status = apiStatusCode(error);
  if (status !== 403 && status !== 422) return undefined;
  return ApplicationFailure.nonRetryable(
    `cannot create runner pod ${name}: ${describeApiError(error)}`,
    RUNNER_POD_REJECTED,
  );
}

/** Waiting reasons every runner passes through on its way to running: not worth a status update. */
const ROUTINE_WAITS = new Set(['ContainerCreating', 'PodInitializing']);

/** "runner x-g1-0 is pending: Unschedulable: 0/2 nodes are available: ..." for the first runner held up. */
export function pendingReason(states: ReadonlyMap<string, RunnerState | undefined>): string | undefined {
  for (const [runner, state] of states) {
    if (state?.kind === 'pending' && state.detail !== undefined && !ROUTINE_WAITS.has(state.detail)) {
      return `runner ${runner} is pending: ${state.detail}`;
    }
  }
  return undefined;
}

function firstFailure(states: ReadonlyMap<string, RunnerState | undefined>): RunnerFailure | undefined {
  for (const [runner, state] of states) {
    if (state?.kind === 'failed') return { kind: 'failed', runner, reason: state.reason };
  }
  return undefined;
}

/**
 * Tells one runner the start instant through its control endpoint; true once it took it. A runner that does not
 * answer yet (its process still opening the port) is asked again, backing off, for CONTROL_START_PATIENCE_MS at
 * most and never past the instant; one that refuses (4xx) is not.
 */
async function startThrough(control: RunnerControl, startAtMs: number): Promise<boolean> {
  const giveUpAt = Math.min(Date.now() + CONTROL_START_PATIENCE_MS, startAtMs);
  for (let waitMs = 50; ; waitMs *= 2) {
    try {
      await control.start(startAtMs);
      return true;
    } catch (error) {
      if (error instanceof ControlRefused || Date.now() + waitMs > giveUpAt) return false;
    }
    await delay(waitMs);
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first error after all have settled. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (errors.length > 0) throw errors[0];
}
