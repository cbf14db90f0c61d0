/**
 * The test bed's stand-in for kubelet and cluster networking (test support code, not product code).
 *
 * - Registers one Ready Node, PROCESS_NODE, and renews its Lease as a kubelet does (the node lifecycle
 *   controller would mark a silent node unreachable). Runs the pods bound to it (kube-scheduler binds them; see
 *   nodes.ts for which pods go where). Pods bound to another node are not its business.
 * - Runs each container's command as a local process with the pod's env, in a private mount namespace
 *   (`unshare --mount`) where, as in a container, the pod's own /etc/hosts, termination-message file and
 *   downwardAPI volumes are mounted. Images are mapped to local programs: the runner image to the local build.
 * - Writes pod status through the API: Pending → Running → Succeeded/Failed, with exit code, reason and the
 *   termination message read from `terminationMessagePath`.
 * - On pod deletion kills the process and completes the deletion with grace period 0, as kubelet does.
 * - Plays kube-proxy and cluster DNS: each Service with a cluster IP 10.0.0.N gets the loopback address
 *   127.77.0.N, where a TCP proxy forwards each service port to the Service's EndpointSlice addresses; pods'
 *   /etc/hosts map `<svc>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local` to it.
 */
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { NODE_LABEL, PROCESS_NODE, taintsOf } from './nodes.js';
import { TESTBED_MARKER } from './state.js';

export const NODE_NAME = PROCESS_NODE;
/**
 * The node's InternalIP. EndpointSlices may not hold loopback addresses, so host-network endpoints on this node
 * use this address (TEST-NET-1, reserved for documentation, never routed) and the service proxy connects to
 * 127.0.0.1 instead. Endpoints with any other address are refused: the test bed sends nothing off this machine.
 */
export const NODE_IP = '192.0.2.10';
const RUNNER_REPOSITORY = 'loadtest-operator';
/** As a kubelet's default nodeLeaseDurationSeconds (40 s) / 4. */
const LEASE_RENEW_MS = 10_000;

export interface NodeAgentOptions {
  kubeconfig: string;
  /** Folder for per-pod files (logs, hosts, termination messages, volumes). */
  workDir: string;
  /** The test bed's state folder, marked in every pod process's environment so none is left behind. */
  testbedDir: string;
  /** argv that stands for the runner image's entrypoint, e.g. ['node', '/repo/dist/src/cli.js']. */
  runnerEntrypoint: string[];
  log: (line: string) => void;
}

interface RunningContainer {
  name: string;
  process: ChildProcess;
  startedAt: string;
  terminationFile: string;
  logFile: string;
  fallbackToLogs: boolean;
  exit?: { code: number; signal: NodeJS.Signals | null; finishedAt: string };
}

interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  dir: string;
  containers: RunningContainer[];
  startTime: string;
  annotationsKey: string;
  downwardFiles: Array<{ path: string; render: (pod: k8s.V1Pod) => string }>;
  deleting: boolean;
}

export class NodeAgent {
  private readonly kubeConfig = new k8s.KubeConfig();
  private readonly core: k8s.CoreV1Api;
  private readonly runs = new Map<string, PodRun>();
  private readonly informers: Array<k8s.Informer<k8s.KubernetesObject>> = [];
  private readonly proxies = new Map<string, Server>();
  private services = new Map<string, k8s.V1Service>();
  private slices = new Map<string, k8s.V1EndpointSlice>();
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: NodeAgentOptions) {
    this.kubeConfig.loadFromFile(options.kubeconfig);
    this.core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  async start(): Promise<void> {
    await mkdir(this.options.workDir, { recursive: true });
    await this.registerNode();
    await this.renewLease();
    this.heartbeat = setInterval(() => void this.renewLease(), LEASE_RENEW_MS);
    const discovery = this.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.watch<k8s.V1Service>(
      '/api/v1/services',
      () => this.core.listServiceForAllNamespaces(),
      (type, service) => {
        const key = `${service.metadata?.namespace}/${service.metadata?.name}`;
        if (type === 'delete') this.services.delete(key);
        else this.services.set(key, service);
        this.syncProxies();
      },
    );
    this.watch<k8s.V1EndpointSlice>(
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces(),
      (type, slice) => {
        const key = `${slice.metadata?.namespace}/${slice.metadata?.name}`;
        if (type === 'delete') this.slices.delete(key);
        else this.slices.set(key, slice);
      },
    );
    this.watch<k8s.V1Pod>(
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces(),
      (type, pod) => this.onPodEvent(type, pod),
    );
    await Promise.all(this.informers.map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await Promise.all(this.informers.map((informer) => informer.stop()));
    for (const run of this.runs.values())
      for (const container of run.containers) killGroup(container.process, 'SIGKILL');
    for (const server of this.proxies.values()) server.close();
  }

  /** Starts an informer that restarts itself after errors (the 1.x informer stops on them). */
  private watch<T extends k8s.KubernetesObject>(
    path: string,
    list: () => Promise<k8s.KubernetesListObject<T>>,
    handle: (type: 'add' | 'update' | 'delete', object: T) => void,
  ): void {
    const informer = k8s.makeInformer<T>(this.kubeConfig, path, list);
    keepInformed(
      informer,
      path,
      handle,
      (line) => this.options.log(`node agent: ${line}`),
      () => this.stopped,
    );
    this.informers.push(informer);
  }

  private async registerNode(): Promise<void> {
    const now = new Date();
    const status: k8s.V1NodeStatus = {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'test bed node agent is ready',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      addresses: [
        { type: 'InternalIP', address: NODE_IP },
        { type: 'Hostname', address: NODE_NAME },
      ],
      capacity: { cpu: '2', memory: '24Gi', pods: '1000' },
      allocatable: { cpu: '2', memory: '24Gi', pods: '1000' },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'testbed',
        kubeProxyVersion: 'testbed',
        bootID: '',
        containerRuntimeVersion: 'local-process://1',
        kernelVersion: '',
        machineID: '',
        osImage: 'local',
        systemUUID: '',
      },
    };
    const node: k8s.V1Node = {
      metadata: {
        name: NODE_NAME,
        labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', [NODE_LABEL]: 'process' },
      },
      spec: { taints: taintsOf('process') },
      // Ready from its creation, as a kubelet registers: the node lifecycle controller never sees it without.
      status,
    };
    await registerReadyNode(this.core, node);
  }

  /** The node's heartbeat: its Lease in kube-node-lease, renewed every LEASE_RENEW_MS. */
  private async renewLease(): Promise<void> {
    await renewNodeLease(this.kubeConfig, NODE_NAME, (line) => {
      if (!this.stopped) this.options.log(`node agent: ${line}`);
    });
  }

  private onPodEvent(type: 'add' | 'update' | 'delete', pod: k8s.V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const run = this.runs.get(uid);
    if (type === 'delete') {
      if (run !== undefined) this.killRun(run, 'SIGKILL');
      this.runs.delete(uid);
      return;
    }
    if (pod.spec?.nodeName !== NODE_NAME) return;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      void this.terminate(pod, run);
      return;
    }
    if (run !== undefined) {
      void this.refreshDownwardApi(run, pod);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    void this.startPod(pod).catch((error: unknown) =>
      this.options.log(`node agent: starting pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${String(error)}`),
    );
  }

  private async startPod(pod: k8s.V1Pod): Promise<void> {
    const metadata = pod.metadata!;
    const uid = metadata.uid!;
    const dir = join(this.options.workDir, uid);
    await mkdir(dir, { recursive: true });
    const run: PodRun = {
      uid,
      namespace: metadata.namespace!,
      name: metadata.name!,
      dir,
      containers: [],
      startTime: new Date().toISOString(),
      annotationsKey: '',
      downwardFiles: [],
      deleting: false,
    };
    this.runs.set(uid, run);
    const hostsFile = join(dir, 'hosts');
    await writeFile(hostsFile, this.renderHosts(run.namespace, run.name));
    const volumeMounts = await this.prepareVolumes(run, pod);

    const problems: string[] = [];
    for (const container of pod.spec!.containers) {
      const argv = this.resolveArgv(container);
      if (typeof argv === 'string') {
        problems.push(`${container.name}: ${argv}`);
        continue;
      }
      const terminationPath = container.terminationMessagePath ?? '/dev/termination-log';
      const terminationFile = join(dir, `${container.name}.termination-log`);
      await writeFile(terminationFile, '');
      const logFile = join(dir, `${container.name}.log`);
      const mounts: Array<[string, string]> = [
        [hostsFile, '/etc/hosts'],
        [terminationFile, terminationPath],
        ...(container.volumeMounts ?? []).flatMap((mount): Array<[string, string]> => {
          const source = volumeMounts.get(mount.name);
          return source === undefined ? [] : [[source, mount.mountPath]];
        }),
      ];
      for (const [source, target] of mounts) ensureMountPoint(source, target);
      // Bind each file or folder over its path inside a private mount namespace, then exec the command.
      const script = mounts.map((_, i) => `mount --bind "$${2 * i + 1}" "$${2 * i + 2}" || exit 126`).join(' && ');
      const mountArgs = mounts.flat();
      const shellArgs = ['-c', `${script} && shift ${mountArgs.length} && exec "$@"`, 'pod', ...mountArgs, ...argv];
      const out = createWriteStream(logFile, { flags: 'a' });
      const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', ...shellArgs], {
        env: {
          PATH: process.env.PATH,
          HOME: '/root',
          HOSTNAME: run.name,
          [TESTBED_MARKER]: this.options.testbedDir,
          ...this.containerEnv(container, pod),
        },
        cwd: container.workingDir ?? '/',
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.pipe(out);
      child.stderr.pipe(out);
      const running: RunningContainer = {
        name: container.name,
        process: child,
        startedAt: new Date().toISOString(),
        terminationFile,
        logFile,
        fallbackToLogs: container.terminationMessagePolicy === 'FallbackToLogsOnError',
      };
      child.once('exit', (code, signal) => {
        running.exit = { code: code ?? 128 + signalNumber(signal), signal, finishedAt: new Date().toISOString() };
        out.end();
        void this.onContainerExit(run);
      });
      child.once('error', (error) => this.options.log(`node agent: ${run.name}/${container.name}: ${String(error)}`));
      run.containers.push(running);
    }
    if (problems.length > 0) {
      this.killRun(run, 'SIGKILL');
      await this.writeStatus(run, () => ({
        phase: 'Failed',
        reason: 'ImageUnavailable',
        message: problems.join('; '),
        startTime: new Date(run.startTime),
      }));
      return;
    }
    await this.writeStatus(run, () => this.runningStatus(run));
  }

  /** Maps a container to a local argv, Docker-style: `command` replaces the entrypoint, `args` the default. */
  private resolveArgv(container: k8s.V1Container): string[] | string {
    const image = container.image ?? '';
    const repository = image
      .replace(/[:@].*$/, '')
      .split('/')
      .pop();
    const command = container.command ?? [];
    const args = container.args ?? [];
    if (repository === RUNNER_REPOSITORY) {
      if (command.length === 0) return [...this.options.runnerEntrypoint, ...args];
      if (command[0] === 'loadtest-operator') return [...this.options.runnerEntrypoint, ...command.slice(1), ...args];
      return [...command, ...args];
    }
    if (command.length === 0) return `image ${image} has no local stand-in on the test bed node; give it a command`;
    return [...command, ...args];
  }

  private containerEnv(container: k8s.V1Container, pod: k8s.V1Pod): Record<string, string> {
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom?.fieldRef !== undefined) {
        env[variable.name] = fieldValue(pod, variable.valueFrom.fieldRef.fieldPath);
      }
    }
    return env;
  }

  /** Supports downwardAPI and emptyDir volumes: what runner pods use. */
  private async prepareVolumes(run: PodRun, pod: k8s.V1Pod): Promise<Map<string, string>> {
    const sources = new Map<string, string>();
    for (const volume of pod.spec?.volumes ?? []) {
      const folder = join(run.dir, 'volumes', volume.name);
      await mkdir(folder, { recursive: true });
      sources.set(volume.name, folder);
      for (const item of volume.downwardAPI?.items ?? []) {
        const fieldPath = item.fieldRef?.fieldPath;
        if (fieldPath === undefined) continue;
        run.downwardFiles.push({ path: join(folder, item.path), render: (current) => fieldValue(current, fieldPath) });
      }
    }
    await this.refreshDownwardApi(run, pod);
    return sources;
  }

  /** Rewrites downwardAPI files when the pod's metadata changes, atomically, as kubelet does. */
  private async refreshDownwardApi(run: PodRun, pod: k8s.V1Pod): Promise<void> {
    const key = JSON.stringify([pod.metadata?.annotations, pod.metadata?.labels]);
    if (key === run.annotationsKey) return;
    run.annotationsKey = key;
    for (const file of run.downwardFiles) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(`${file.path}.tmp`, file.render(pod));
      await rename(`${file.path}.tmp`, file.path);
    }
  }

  private async onContainerExit(run: PodRun): Promise<void> {
    if (run.deleting) return;
    if (run.containers.some((container) => container.exit === undefined)) {
      await this.writeStatus(run, () => this.runningStatus(run));
      return;
    }
    const statuses = await Promise.all(run.containers.map((container) => this.terminatedStatus(container)));
    const failed = run.containers.some((container) => container.exit?.code !== 0);
    await this.writeStatus(run, (previous) => ({
      ...previous,
      phase: failed ? 'Failed' : 'Succeeded',
      conditions: podConditions(false),
      containerStatuses: statuses,
    }));
  }

  private runningStatus(run: PodRun): k8s.V1PodStatus {
    return {
      phase: 'Running',
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: new Date(run.startTime),
      conditions: podConditions(run.containers.every((container) => container.exit === undefined)),
      containerStatuses: run.containers.map((container) => ({
        name: container.name,
        image: '',
        imageID: '',
        containerID: `local-process://${container.process.pid}`,
        ready: container.exit === undefined,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: new Date(container.startedAt) } },
      })),
    };
  }

  private async terminatedStatus(container: RunningContainer): Promise<k8s.V1ContainerStatus> {
    const exit = container.exit!;
    let message = (await readFile(container.terminationFile, 'utf8').catch(() => '')).slice(0, 4096);
    if (message === '' && exit.code !== 0 && container.fallbackToLogs) {
      const log = await readFile(container.logFile, 'utf8').catch(() => '');
      message = log.split('\n').slice(-80).join('\n').slice(-2048);
    }
    return {
      name: container.name,
      image: '',
      imageID: '',
      containerID: `local-process://${container.process.pid}`,
      ready: false,
      restartCount: 0,
      started: false,
      state: {
        terminated: {
          exitCode: exit.code,
          signal: exit.signal === null ? undefined : signalNumber(exit.signal),
          reason: exit.code === 0 ? 'Completed' : 'Error',
          message: message === '' ? undefined : message,
          startedAt: new Date(container.startedAt),
          finishedAt: new Date(exit.finishedAt),
          containerID: `local-process://${container.process.pid}`,
        },
      },
    };
  }

  /** Writes pod status from the latest pod, retrying on conflicts; gives up quietly if the pod is gone. */
  private async writeStatus(run: PodRun, next: (previous: k8s.V1PodStatus) => k8s.V1PodStatus): Promise<void> {
    for (let attempt = 0; attempt < 10 && !this.stopped; attempt++) {
      try {
        const pod = await this.core.readNamespacedPod({ name: run.name, namespace: run.namespace });
        if (pod.metadata?.uid !== run.uid) return;
        pod.status = next(pod.status ?? {});
        await this.core.replaceNamespacedPodStatus({ name: run.name, namespace: run.namespace, body: pod });
        return;
      } catch (error) {
        if (isStatus(error, 404)) return;
        if (!isStatus(error, 409)) this.options.log(`node agent: status of ${run.name}: ${String(error)}`);
      }
    }
  }

  private async terminate(pod: k8s.V1Pod, run: PodRun | undefined): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    if (run !== undefined && !run.deleting) {
      run.deleting = true;
      const graceMs = Math.min(pod.spec?.terminationGracePeriodSeconds ?? 30, 30) * 1000;
      const exited = Promise.all(
        run.containers.map(
          (container) =>
            new Promise<void>((resolve) => {
              if (container.exit !== undefined) resolve();
              else container.process.once('exit', () => resolve());
            }),
        ),
      );
      this.killRun(run, 'SIGTERM');
      const timer = setTimeout(() => this.killRun(run, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else if (run?.deleting) {
      return;
    }
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace,
        // In the body: the apiserver ignores query options when DeleteOptions are sent.
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
    } catch (error) {
      if (!isStatus(error, 404) && !isStatus(error, 409))
        this.options.log(`node agent: delete ${name}: ${String(error)}`);
    }
  }

  private killRun(run: PodRun, signal: NodeJS.Signals): void {
    for (const container of run.containers) if (container.exit === undefined) killGroup(container.process, signal);
  }

  // --- Services: loopback addresses, proxies and /etc/hosts ---

  private renderHosts(namespace: string, podName: string): string {
    const lines = ['127.0.0.1\tlocalhost', `127.0.0.1\t${podName}`, '::1\tlocalhost ip6-localhost ip6-loopback'];
    for (const service of this.services.values()) {
      const address = loopbackAddress(service);
      if (address === undefined) continue;
      const name = service.metadata!.name!;
      const ns = service.metadata!.namespace!;
      const names = [`${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`];
      if (ns === namespace) names.unshift(name);
      lines.push(`${address}\t${names.join(' ')}`);
    }
    return lines.join('\n') + '\n';
  }

  private syncProxies(): void {
    const wanted = new Set<string>();
    for (const service of this.services.values()) {
      const address = loopbackAddress(service);
      if (address === undefined) continue;
      for (const port of service.spec?.ports ?? []) {
        if ((port.protocol ?? 'TCP') !== 'TCP') continue;
        const key = `${address}:${port.port}`;
        wanted.add(key);
        if (this.proxies.has(key)) continue;
        const serviceKey = `${service.metadata!.namespace}/${service.metadata!.name}`;
        const server = createServer((client) => {
          const target = this.pickEndpoint(serviceKey, port);
          if (target === undefined) {
            client.destroy();
            return;
          }
          const upstream = connect(target.port, target.address);
          client.pipe(upstream).pipe(client);
          const close = () => {
            client.destroy();
            upstream.destroy();
          };
          client.on('error', close);
          upstream.on('error', close);
          client.on('close', close);
          upstream.on('close', close);
        });
        server.on('error', (error) => this.options.log(`node agent: proxy ${key}: ${String(error)}`));
        server.listen(port.port, address);
        this.proxies.set(key, server);
      }
    }
    for (const [key, server] of this.proxies) {
      if (!wanted.has(key)) {
        server.close();
        this.proxies.delete(key);
      }
    }
  }

  private pickEndpoint(serviceKey: string, port: k8s.V1ServicePort): { address: string; port: number } | undefined {
    const [namespace, name] = serviceKey.split('/');
    const candidates: Array<{ address: string; port: number }> = [];
    for (const slice of this.slices.values()) {
      if (slice.metadata?.namespace !== namespace) continue;
      if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== name) continue;
      const slicePort = slice.ports?.find((p) => (p.name ?? '') === (port.name ?? '')) ?? slice.ports?.[0];
      const targetPort = slicePort?.port ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port);
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false) continue;
        for (const address of endpoint.addresses) {
          if (address === NODE_IP) candidates.push({ address: '127.0.0.1', port: targetPort });
        }
      }
    }
    return candidates[Math.floor(Math.random() * candidates.length)];
  }
}

/**
 * Keeps an informer informed: routes its events to `handle` (an exception there is logged, not fatal) and
 * restarts it after errors (the 1.x informer stops on them) until `stopped()`.
 */
export function keepInformed<T extends k8s.KubernetesObject>(
  informer: k8s.Informer<T>,
  path: string,
  handle: (type: 'add' | 'update' | 'delete', object: T) => void,
  log: (line: string) => void,
  stopped: () => boolean,
): void {
  const safely = (type: 'add' | 'update' | 'delete') => (object: T) => {
    try {
      handle(type, object);
    } catch (error) {
      log(`${type} ${path}: ${String(error)}`);
    }
  };
  informer.on('add', safely('add'));
  informer.on('update', safely('update'));
  informer.on('delete', safely('delete'));
  informer.on('error', (error: unknown) => {
    if (stopped()) return;
    log(`watch ${path} failed (${String(error)}), restarting`);
    setTimeout(() => void informer.start().catch(() => undefined), 1000);
  });
}

/** Registers `node` (Ready in its status, as a kubelet registers), or writes its status when it exists already. */
export async function registerReadyNode(core: k8s.CoreV1Api, node: k8s.V1Node): Promise<void> {
  const name = node.metadata!.name!;
  try {
    await core.createNode({ body: node });
    return;
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
  }
  // Registered before (the same cluster): write the status, on the latest version of the Node.
  for (let attempt = 0; ; attempt++) {
    const current = await core.readNode({ name });
    current.status = node.status;
    try {
      await core.replaceNodeStatus({ name, body: current });
      return;
    } catch (error) {
      if (!isStatus(error, 409) || attempt === 10) throw error;
    }
  }
}

/** One heartbeat of node `name`: its Lease in kube-node-lease renewed (created the first time). */
export async function renewNodeLease(kubeConfig: k8s.KubeConfig, name: string, log: (line: string) => void) {
  const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const namespace = 'kube-node-lease';
  const spec = {
    holderIdentity: name,
    leaseDurationSeconds: 40,
    renewTime: new k8s.V1MicroTime(),
  };
  try {
    const lease = await coordination.readNamespacedLease({ name, namespace });
    lease.spec = { ...lease.spec, ...spec };
    await coordination.replaceNamespacedLease({ name, namespace, body: lease });
  } catch (error) {
    if (!isStatus(error, 404)) {
      log(`renewing the node lease: ${String(error)}`);
      return;
    }
    await coordination
      .createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } })
      .catch((created: unknown) => log(`creating the node lease: ${String(created)}`));
  }
}

/** 10.0.0.N → 127.77.0.N (the service CIDR is 10.0.0.0/24). */
function loopbackAddress(service: k8s.V1Service): string | undefined {
  const ip = service.spec?.clusterIP;
  if (ip === undefined || ip === 'None' || ip === '') return undefined;
  const last = ip.split('.')[3];
  return last === undefined ? undefined : `127.77.0.${last}`;
}

export function podConditions(ready: boolean): k8s.V1PodCondition[] {
  const now = new Date();
  const status = ready ? 'True' : 'False';
  return [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    { type: 'Initialized', status: 'True', lastTransitionTime: now },
    { type: 'ContainersReady', status, lastTransitionTime: now },
    { type: 'Ready', status, lastTransitionTime: now },
  ];
}

/** Values of the downward API's fieldRef paths, in kubelet's file format for maps. */
function fieldValue(pod: k8s.V1Pod, fieldPath: string): string {
  const metadata = pod.metadata ?? {};
  const map = (values: Record<string, string> | undefined) =>
    Object.keys(values ?? {})
      .sort()
      .map((key) => `${key}=${JSON.stringify(values![key])}`)
      .join('\n');
  const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelMatch !== null)
    return (labelMatch[1] === 'labels' ? metadata.labels : metadata.annotations)?.[labelMatch[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return metadata.name ?? '';
    case 'metadata.namespace':
      return metadata.namespace ?? '';
    case 'metadata.uid':
      return metadata.uid ?? '';
    case 'metadata.labels':
      return map(metadata.labels);
    case 'metadata.annotations':
      return map(metadata.annotations);
    case 'spec.nodeName':
      return NODE_NAME;
    case 'status.podIP':
    case 'status.hostIP':
      return '127.0.0.1';
    default:
      return '';
  }
}

/** A bind mount needs an existing target of the same kind, as a container runtime creates in the rootfs. */
function ensureMountPoint(source: string, target: string): void {
  if (existsSync(target)) return;
  if (statSync(source).isFile()) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, '');
  } else {
    mkdirSync(target, { recursive: true });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
  return signal === null ? 0 : (numbers[signal] ?? 1);
}

export function isStatus(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: number }).code === code;
}
