/**
 * The simulated node's agent (bench/sim-node.ts), a kubelet for stand-in runners: it registers a Ready, labelled,
 * tainted Node and renews its Lease (test/testbed/node-agent.ts's code), watches the pods bound to it, and for each
 * runs a StandIn (stand-in.ts) on a loopback address of its own, written into the pod's status as its IP. Status
 * as kubelet writes it: Running (IP, container running, Ready), then Succeeded with the runner's summary as the
 * container's termination message. A deleted pod's stand-in is killed and its deletion finished (grace 0).
 * Status writes go through a queue with bounded concurrency that keeps only each pod's latest status.
 */
import * as k8s from '@kubernetes/client-node';
import {
  isStatus,
  keepInformed,
  podConditions,
  registerReadyNode,
  renewNodeLease,
} from '../../test/testbed/node-agent.js';
import { START_AT_ANNOTATION } from '../../src/runner/contract.js';
import { CONTROL_TOKEN_ENV } from '../../src/runner/control-api.js';
import { parseStartAt } from '../../src/runner/start-sync.js';
import { StandIn, type StandInExit } from './stand-in.js';

/** Label every simulated node carries (the namespace node selector picks it). */
export const SIM_NODE_LABEL = 'loadtest.example.org/bench-simulated-node';
/** Taint that keeps every pod but the bench's (which tolerate it through their namespace) off the node. */
export const SIM_NODE_TAINT = { key: 'loadtest.example.org/bench-simulated', value: 'true', effect: 'NoSchedule' };
/** The Node's InternalIP: TEST-NET-1, never routed (nothing dials it: there is no kubelet API). */
const NODE_IP = '192.0.2.11';
/** As a kubelet's default nodeLeaseDurationSeconds (40 s) / 4. */
const LEASE_RENEW_MS = 10_000;
/** Pod status writes (and deletions) in flight at once, by default. */
export const STATUS_CONCURRENCY = 16;
/** Attempts of one status write that fails for another reason than a gone pod. */
const STATUS_ATTEMPTS = 5;
/** How often a pod whose control Secret could not be read tries again (kubelet retries too). */
const SECRET_RETRY_MS = 2000;

export interface SimAgentOptions {
  kubeconfig: string;
  nodeName: string;
  requestsPerRunner: number;
  sendMs: number;
  /** Pod status writes in flight at once. Default STATUS_CONCURRENCY. */
  statusConcurrency?: number;
  /** First two octets of the pods' loopback addresses, e.g. [127, 101]: pods get 127.101.x.y. */
  addressPrefix?: [number, number];
  log: (line: string) => void;
  /** A stand-in got its start instant (epoch ms of the call). */
  onStarted: (atMs: number) => void;
  /** A stand-in's pod was written Succeeded or Failed (epoch ms of the accepted write). */
  onEnded: (atMs: number) => void;
}

/** Namespace annotations that put every pod of a namespace on the simulated node (PodNodeSelector, tolerations). */
export function simNamespaceAnnotations(nodeName: string): Record<string, string> {
  return {
    'scheduler.alpha.kubernetes.io/node-selector': `${SIM_NODE_LABEL}=${nodeName}`,
    'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([
      { key: SIM_NODE_TAINT.key, operator: 'Exists', effect: SIM_NODE_TAINT.effect },
    ]),
  };
}

interface SimPod {
  uid: string;
  namespace: string;
  name: string;
  container: string;
  address?: string;
  standIn?: StandIn;
  startTime: Date;
  deleting: boolean;
  /** The status to write next (the latest wins), or undefined when nothing is pending. */
  pending?: k8s.V1PodStatus;
  /** The pending status ends the pod: its accepted write is the end on the timeline. */
  pendingFinal?: boolean;
  queued: boolean;
}

export class SimNodeAgent {
  private readonly kubeConfig = new k8s.KubeConfig();
  private readonly core: k8s.CoreV1Api;
  private readonly pods = new Map<string, SimPod>();
  private readonly tokens = new Map<string, Promise<string>>();
  private readonly usedAddresses = new Set<string>();
  private nextAddress = 0;
  private informer?: k8s.Informer<k8s.V1Pod>;
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;
  private readonly queue: string[] = [];
  private writers = 0;

  constructor(private readonly options: SimAgentOptions) {
    this.kubeConfig.loadFromFile(options.kubeconfig);
    this.core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  private get concurrency(): number {
    return this.options.statusConcurrency ?? STATUS_CONCURRENCY;
  }

  get nodeName(): string {
    return this.options.nodeName;
  }

  async start(): Promise<void> {
    const name = this.options.nodeName;
    const now = new Date();
    await registerReadyNode(this.core, {
      metadata: {
        name,
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', [SIM_NODE_LABEL]: name },
      },
      spec: { taints: [{ ...SIM_NODE_TAINT }] },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'simulated node of npm run bench:operator: its pods are stand-in runners that send nothing',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [
          { type: 'InternalIP', address: NODE_IP },
          { type: 'Hostname', address: name },
        ],
        // Room for a few thousand runner pods at their default requests (250m CPU, 128Mi): a simulation.
        capacity: { cpu: '2000', memory: '1Ti', pods: '5000' },
        allocatable: { cpu: '2000', memory: '1Ti', pods: '5000' },
        nodeInfo: {
          architecture: 'amd64',
          operatingSystem: 'linux',
          kubeletVersion: 'bench-simulated',
          kubeProxyVersion: 'bench-simulated',
          bootID: '',
          containerRuntimeVersion: 'simulated://1',
          kernelVersion: '',
          machineID: '',
          osImage: 'simulated',
          systemUUID: '',
        },
      },
    });
    const log = (line: string) => {
      if (!this.stopped) this.options.log(`simulated node: ${line}`);
    };
    await renewNodeLease(this.kubeConfig, name, log);
    this.heartbeat = setInterval(() => void renewNodeLease(this.kubeConfig, name, log), LEASE_RENEW_MS);
    const fieldSelector = `spec.nodeName=${name}`;
    const informer = new k8s.ListWatch<k8s.V1Pod>(
      '/api/v1/pods',
      new k8s.Watch(this.kubeConfig),
      () => this.core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    keepInformed(
      informer,
      '/api/v1/pods',
      (type, pod) => this.onPodEvent(type, pod),
      log,
      () => this.stopped,
    );
    this.informer = informer;
    await informer.start();
  }

  /**
   * Stops everything: the watch, the heartbeat, every stand-in; force-deletes the pods still bound to the node
   * that have not ended (no kubelet would ever finish them), then the Lease and the Node.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.informer?.stop();
    await Promise.all([...this.pods.values()].map((pod) => pod.standIn?.kill() ?? Promise.resolve()));
    const name = this.options.nodeName;
    const bound = await this.core
      .listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })
      .catch(() => ({ items: [] as k8s.V1Pod[] }));
    const unfinished = bound.items.filter((pod) => !['Succeeded', 'Failed'].includes(pod.status?.phase ?? ''));
    await forEachLimited(unfinished, this.concurrency, (pod) => this.forceDelete(pod));
    const coordination = this.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    await coordination.deleteNamespacedLease({ name, namespace: 'kube-node-lease' }).catch(ignoreNotFound);
    await this.core.deleteNode({ name }).catch(ignoreNotFound);
  }

  private onPodEvent(type: 'add' | 'update' | 'delete', pod: k8s.V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const sim = this.pods.get(uid);
    if (type === 'delete') {
      if (sim !== undefined) this.release(sim);
      return;
    }
    if (pod.spec?.nodeName !== this.options.nodeName) return;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      void this.terminate(pod, sim);
      return;
    }
    if (sim !== undefined) {
      const annotated = pod.metadata?.annotations?.[START_AT_ANNOTATION];
      const atMs = annotated === undefined ? undefined : parseStartAt(annotated);
      if (atMs !== undefined) sim.standIn?.annotatedStart(atMs);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const container = pod.spec.containers[0];
    const created: SimPod = {
      uid,
      namespace: pod.metadata!.namespace!,
      name: pod.metadata!.name!,
      container: container?.name ?? 'runner',
      startTime: new Date(),
      deleting: false,
      queued: false,
    };
    this.pods.set(uid, created);
    void this.startPod(created, pod).catch((error: unknown) =>
      this.options.log(`simulated node: starting pod ${created.namespace}/${created.name}: ${String(error)}`),
    );
  }

  private async startPod(sim: SimPod, pod: k8s.V1Pod): Promise<void> {
    const container = pod.spec!.containers[0];
    if (container === undefined || pod.spec!.containers.length !== 1) {
      this.writeStatus(sim, this.failedStatus(sim, 'the simulated node runs runner pods: one container each'), true);
      return;
    }
    const tokenRef = container.env?.find((variable) => variable.name === CONTROL_TOKEN_ENV)?.valueFrom?.secretKeyRef;
    let token = '';
    if (tokenRef !== undefined) {
      try {
        token = await this.secretValue(sim.namespace, tokenRef.name ?? '', tokenRef.key);
      } catch (error) {
        // As kubelet: the container cannot be created without its env; it says why and tries again.
        this.writeStatus(sim, this.waitingStatus(sim, 'CreateContainerConfigError', (error as Error).message));
        setTimeout(() => {
          if (!this.stopped && !sim.deleting && this.pods.get(sim.uid) === sim) void this.startPod(sim, pod);
        }, SECRET_RETRY_MS);
        return;
      }
    }
    if (sim.deleting || this.stopped) return;
    const standIn = await this.listen(sim, container.args ?? [], token);
    void standIn.exited.then((exit) => {
      if (sim.deleting || this.stopped) return;
      this.writeStatus(sim, this.terminatedStatus(sim, exit), true);
      this.freeAddress(sim);
    });
    this.writeStatus(sim, this.runningStatus(sim));
  }

  /** Starts the pod's stand-in on a free loopback address (the next one when another process holds one). */
  private async listen(sim: SimPod, args: string[], token: string): Promise<StandIn> {
    for (let attempt = 0; ; attempt++) {
      const address = this.takeAddress();
      try {
        const standIn = await StandIn.start({
          address,
          args,
          token,
          requests: this.options.requestsPerRunner,
          sendMs: this.options.sendMs,
          onStartCall: () => this.options.onStarted(Date.now()),
        });
        sim.address = address;
        sim.standIn = standIn;
        return standIn;
      } catch (error) {
        this.usedAddresses.delete(address);
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 20) throw error;
      }
    }
  }

  /** 127.B.x.y for the pods (x.y from 0.1 to 255.254), skipping addresses in use. */
  private takeAddress(): string {
    const [a, b] = this.options.addressPrefix ?? [127, 101];
    for (;;) {
      const n = this.nextAddress++ % (256 * 254);
      const address = `${a}.${b}.${Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (this.usedAddresses.has(address)) continue;
      this.usedAddresses.add(address);
      return address;
    }
  }

  private freeAddress(sim: SimPod): void {
    if (sim.address !== undefined) this.usedAddresses.delete(sim.address);
  }

  /** A Secret's key, one GET per Secret (cached; a failed read is not). */
  private secretValue(namespace: string, name: string, key: string): Promise<string> {
    const cacheKey = `${namespace}/${name}`;
    let secret = this.tokens.get(cacheKey);
    if (secret === undefined) {
      secret = this.core.readNamespacedSecret({ name, namespace }).then(
        (read) => JSON.stringify(read.data ?? {}),
        (error: unknown) => {
          this.tokens.delete(cacheKey);
          throw new Error(
            isStatus(error, 404) ? `secret "${name}" not found` : `reading secret "${name}": ${String(error)}`,
          );
        },
      );
      this.tokens.set(cacheKey, secret);
    }
    return secret.then((data) => {
      const encoded = (JSON.parse(data) as Record<string, string>)[key];
      if (encoded === undefined) throw new Error(`couldn't find key ${key} in Secret ${namespace}/${name}`);
      return Buffer.from(encoded, 'base64').toString('utf8');
    });
  }

  private release(sim: SimPod): void {
    sim.deleting = true;
    this.pods.delete(sim.uid);
    void sim.standIn?.kill().then(() => this.freeAddress(sim));
  }

  /** As kubelet on a pod's deletion: stop its container, then finish the deletion (grace 0, this pod only). */
  private async terminate(pod: k8s.V1Pod, sim: SimPod | undefined): Promise<void> {
    if (sim?.deleting === true) return;
    if (sim !== undefined) {
      sim.deleting = true;
      sim.pending = undefined;
      await sim.standIn?.kill();
      this.freeAddress(sim);
    }
    await this.forceDelete(pod);
  }

  private async forceDelete(pod: k8s.V1Pod): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        // In the body: the apiserver ignores query options when DeleteOptions are sent.
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
    } catch (error) {
      if (!isStatus(error, 404) && !isStatus(error, 409))
        this.options.log(`simulated node: delete ${pod.metadata?.name}: ${String(error)}`);
    }
  }

  // --- Pod status, as kubelet writes it ---

  private containerId(sim: SimPod): string {
    return `simulated://${sim.uid}`;
  }

  private runningStatus(sim: SimPod): k8s.V1PodStatus {
    return {
      phase: 'Running',
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      podIP: sim.address,
      podIPs: [{ ip: sim.address! }],
      startTime: sim.startTime,
      conditions: podConditions(true),
      containerStatuses: [
        {
          name: sim.container,
          image: '',
          imageID: '',
          containerID: this.containerId(sim),
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: sim.startTime } },
        },
      ],
    };
  }

  private terminatedStatus(sim: SimPod, exit: StandInExit): k8s.V1PodStatus {
    return {
      ...this.runningStatus(sim),
      phase: exit.exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: podConditions(false),
      containerStatuses: [
        {
          name: sim.container,
          image: '',
          imageID: '',
          containerID: this.containerId(sim),
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            terminated: {
              exitCode: exit.exitCode,
              reason: exit.exitCode === 0 ? 'Completed' : 'Error',
              message: exit.message === '' ? undefined : exit.message,
              startedAt: exit.startedAt,
              finishedAt: exit.finishedAt,
              containerID: this.containerId(sim),
            },
          },
        },
      ],
    };
  }

  private waitingStatus(sim: SimPod, reason: string, message: string): k8s.V1PodStatus {
    return {
      phase: 'Pending',
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      startTime: sim.startTime,
      conditions: podConditions(false),
      containerStatuses: [
        {
          name: sim.container,
          image: '',
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason, message } },
        },
      ],
    };
  }

  private failedStatus(sim: SimPod, message: string): k8s.V1PodStatus {
    return { phase: 'Failed', reason: 'NotSimulated', message, startTime: sim.startTime };
  }

  /** Queues `status` as the pod's next write (replacing any not yet written). */
  private writeStatus(sim: SimPod, status: k8s.V1PodStatus, final = false): void {
    sim.pending = status;
    sim.pendingFinal = final;
    if (!sim.queued) {
      sim.queued = true;
      this.queue.push(sim.uid);
    }
    while (this.writers < this.concurrency && this.queue.length > 0) {
      this.writers++;
      void this.drain().finally(() => this.writers--);
    }
  }

  private async drain(): Promise<void> {
    for (let uid = this.queue.shift(); uid !== undefined; uid = this.queue.shift()) {
      const sim = this.pods.get(uid);
      if (sim === undefined) continue;
      sim.queued = false;
      const status = sim.pending;
      const final = sim.pendingFinal === true;
      sim.pending = undefined;
      if (status === undefined || sim.deleting || this.stopped) continue;
      if (await this.patchStatus(sim, status)) {
        if (final) this.options.onEnded(Date.now());
      }
    }
  }

  /**
   * One strategic-merge patch of the pod's status, as kubelet sends: with the pod's uid, so that it never lands on
   * another pod of the same name. False when the pod is gone.
   */
  private async patchStatus(sim: SimPod, status: k8s.V1PodStatus): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.core.patchNamespacedPodStatus(
          { name: sim.name, namespace: sim.namespace, body: { metadata: { uid: sim.uid }, status } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        );
        return true;
      } catch (error) {
        if (isStatus(error, 404) || sim.deleting || this.stopped) return false;
        if (attempt === STATUS_ATTEMPTS) {
          this.options.log(`simulated node: status of ${sim.namespace}/${sim.name}: ${String(error)}`);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}

async function forEachLimited<T>(items: readonly T[], limit: number, each: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function ignoreNotFound(error: unknown): void {
  if (!isStatus(error, 404)) throw error;
}
