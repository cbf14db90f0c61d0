/**
 * The test bed's real node: kubelet v1.34 on containerd (Debian's, with runc) and a CNI bridge, with
 * kube-proxy (iptables mode) routing Services and CoreDNS answering cluster names, registered with the test
 * bed's apiserver as Node REAL_NODE with its own client certificate (system:node:<name>, group system:nodes).
 * See /work/shared/notes/real-node.md for the facts this rests on.
 *
 * - The pod network is a bridge of its own (BRIDGE, POD_CIDR) that exists only on this machine. Its address,
 *   BRIDGE_IP, is the node's InternalIP: the apiserver reaches the kubelet there (logs, exec), pods reach the
 *   host there (CoreDNS listens there; test servers on the host listen there), and host-network endpoints of
 *   Services use it. A guard chain drops whatever would leave the machine from the pod network.
 * - Secured as a real cluster: the kubelet serves with a certificate from the test bed's CA, refuses anonymous
 *   requests and asks the apiserver (webhook) whether a caller may use its API; the apiserver calls it with a
 *   client certificate bound to system:kubelet-api-admin.
 * - Cluster DNS is a Service (kube-dns, CLUSTER_DNS_IP) whose endpoint is CoreDNS on BRIDGE_IP:53, as in a real
 *   cluster: pods resolve `<service>.<namespace>.svc` through kube-proxy.
 * - Images come from archives (no registry): the toolbox image for tests, and the sandbox ("pause") image; pulls
 *   of anything else fail at once (every registry is a closed local port).
 * - Everything it changes on the machine is recorded before and restored on stop (host-state.ts).
 */
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from '../../src/util/process.js';
import {
  applyManifests,
  clientKubeconfig,
  launch,
  START_TIMEOUT_MS,
  type ControlPlane,
  type TestbedBinaries,
} from './control-plane.js';
import { issueCertificate } from './certs.js';
import {
  acquireRealNodeLock,
  BRIDGE,
  BRIDGE_IP,
  captureHost,
  CNI_NETWORK,
  GUARD_CHAIN,
  pendingHostRecord,
  POD_CIDR,
  restoreHost,
  writeHostRecord,
  type HostRecord,
} from './host-state.js';
import { Component, ManagedProcess } from './managed-process.js';
import { NODE_LABEL, REAL_NODE, taintsOf } from './nodes.js';
import { REPO_ROOT } from './state.js';

const run = promisify(execFile);

export { BRIDGE_IP as REAL_NODE_IP, REAL_NODE };

/** kube-dns's cluster IP (in the apiserver's service range 10.0.0.0/24), the pods' nameserver. */
export const CLUSTER_DNS_IP = '10.0.0.10';
const CLUSTER_DOMAIN = 'cluster.local';

export interface RealNodeOptions {
  stateDir: string;
  binaries: TestbedBinaries;
  log: (line: string) => void;
  onUnexpectedExit: (component: Component, description: string) => void;
}

export interface ImageRef {
  ref: string;
  archive: string;
}

export class RealNode {
  /** containerd, then (once joined) kubelet, kube-proxy and CoreDNS. */
  readonly components: Component[] = [];
  /** The toolbox image (test/testbed/toolbox) every test may run on this node. */
  toolboxImage = '';
  private readonly dir: string;
  /** Images and snapshots, kept across test bed starts so that images are imported once. */
  private readonly containerdRoot: string;
  private readonly containerdSocket: string;
  private lock: { release: () => Promise<void> } | undefined;
  private readonly forwarders: Server[] = [];
  private readonly forwarded = new Set<Socket>();
  private record: HostRecord | undefined;
  private adminKubeconfig: string | undefined;

  constructor(private readonly options: RealNodeOptions) {
    this.dir = join(options.stateDir, 'real-node');
    this.containerdRoot = join(options.stateDir, CONTAINERD_ROOT);
    this.containerdSocket = containerdSocket(options.stateDir);
  }

  /**
   * What needs no apiserver: takes the machine's real-node lock, records the machine, creates the bridge and the
   * guard, starts containerd and imports the images.
   */
  async prepare(): Promise<void> {
    const { stateDir, log } = this.options;
    this.lock = await acquireRealNodeLock(stateDir, log);
    const stale = pendingHostRecord();
    if (stale !== undefined) {
      log(`restoring the machine after the test bed in ${stale.stateDir} (pid ${stale.pid}) that did not`);
      const problems = await restoreHost(stale, log);
      if (problems.length > 0) throw new Error(`could not restore the machine: ${problems.join('; ')}`);
    }
    this.record = captureHost(stateDir);
    await writeHostRecord(this.record);
    await mkdir(this.dir, { recursive: true });
    await this.createNetwork();
    const [toolbox, sandbox] = await Promise.all([
      imageFromScript('toolbox-image.sh'),
      existsSync(IMAGES_SCRIPT) ? imageFromScript('images.sh', 'pause') : undefined,
    ]);
    this.toolboxImage = toolbox.ref;
    // The toolbox image waits for SIGTERM without arguments: it stands in as the sandbox image when no pause
    // image is built (test/testbed/images.sh).
    await this.writeContainerdConfig((sandbox ?? toolbox).ref);
    const containerd = await Component.start(
      'containerd',
      () =>
        launch(
          new ManagedProcess('containerd', join(this.options.stateDir, 'logs', 'containerd.log'), 'containerd', [
            '--config',
            join(this.dir, 'containerd.toml'),
          ]),
          () => this.ctr(['version']).then(() => true),
        ),
      this.options.onUnexpectedExit,
    );
    this.components.push(containerd);
    if ((await this.removeContainers()) > 0) {
      // Left by a test bed that was killed: CRI loaded them at start; restart it on the cleaned metadata.
      await containerd.stop();
      await this.removeCriFolders();
      await containerd.restart();
    }
    await Promise.all([toolbox, ...(sandbox === undefined ? [] : [sandbox])].map((image) => this.importImage(image)));
  }

  /** Registers the node with the control plane: kubelet, kube-proxy and CoreDNS; resolves once the node is Ready. */
  async join(controlPlane: ControlPlane): Promise<void> {
    const { stateDir, binaries, log } = this.options;
    this.adminKubeconfig = controlPlane.kubeconfig;
    const pki = join(stateDir, 'pki');
    const logs = join(stateDir, 'logs');
    const operatorImage = existsSync(IMAGES_SCRIPT) ? imageFromScript('images.sh', 'operator') : undefined;
    const [nodeKubeconfig, serving, proxyKubeconfig, dnsKubeconfig] = await Promise.all([
      clientKubeconfig(stateDir, controlPlane.server, 'kubelet', {
        commonName: `system:node:${REAL_NODE}`,
        organizations: ['system:nodes'],
      }),
      issueCertificate(pki, 'kubelet-serving', { commonName: `system:node:${REAL_NODE}`, servingIps: [BRIDGE_IP] }),
      clientKubeconfig(stateDir, controlPlane.server, 'kube-proxy', { commonName: 'system:kube-proxy' }),
      clientKubeconfig(stateDir, controlPlane.server, 'coredns', { commonName: COREDNS_USER }),
      applyManifests(controlPlane.kubeconfig, CLUSTER_DNS_OBJECTS),
    ]);
    const kubeletPort = await freePort();
    const kubeletHealthzPort = await freePort();
    const kubeletConfig = join(this.dir, 'kubelet.json');
    await writeFile(
      kubeletConfig,
      JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          address: BRIDGE_IP,
          port: kubeletPort,
          readOnlyPort: 0,
          healthzBindAddress: '127.0.0.1',
          healthzPort: kubeletHealthzPort,
          tlsCertFile: serving.cert,
          tlsPrivateKeyFile: serving.key,
          authentication: {
            anonymous: { enabled: false },
            webhook: { enabled: true },
            x509: { clientCAFile: controlPlane.credentials.caCert },
          },
          authorization: { mode: 'Webhook' },
          // This machine: cgroup v1, PID 1 is not systemd, no swap accounting wanted.
          cgroupDriver: 'cgroupfs',
          failCgroupV1: false,
          failSwapOn: false,
          containerRuntimeEndpoint: `unix://${this.containerdSocket}`,
          clusterDNS: [CLUSTER_DNS_IP],
          clusterDomain: CLUSTER_DOMAIN,
          // Pods never get the host's nameserver: nothing leaves the machine.
          resolvConf: '',
          registerWithTaints: taintsOf('real'),
          // A shared, busy machine: evict only when it is really short, never collect the imported images.
          evictionHard: {
            'memory.available': '100Mi',
            'nodefs.available': '1%',
            'nodefs.inodesFree': '1%',
            'imagefs.available': '1%',
          },
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          serializeImagePulls: false,
          podLogsDir: join(this.dir, 'pod-logs'),
          volumePluginDir: join(this.dir, 'volume-plugins'),
        },
        null,
        2,
      ),
    );
    const kubelet = () =>
      launch(
        new ManagedProcess('kubelet', join(logs, 'kubelet.log'), binaries.kubelet, [
          `--config=${kubeletConfig}`,
          `--kubeconfig=${nodeKubeconfig}`,
          `--root-dir=${join(this.dir, 'kubelet')}`,
          `--cert-dir=${join(this.dir, 'kubelet-pki')}`,
          `--hostname-override=${REAL_NODE}`,
          `--node-ip=${BRIDGE_IP}`,
          `--node-labels=${NODE_LABEL}=real`,
          '--v=1',
        ]),
        async () => (await httpStatus(`http://127.0.0.1:${kubeletHealthzPort}/healthz`)) === 200,
      );

    const proxyHealthzPort = await freePort();
    const proxyMetricsPort = await freePort();
    const proxyConfig = join(this.dir, 'kube-proxy.json');
    await writeFile(
      proxyConfig,
      JSON.stringify(
        {
          apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
          kind: 'KubeProxyConfiguration',
          clientConnection: { kubeconfig: proxyKubeconfig },
          hostnameOverride: REAL_NODE,
          mode: 'iptables',
          clusterCIDR: POD_CIDR,
          detectLocalMode: 'ClusterCIDR',
          healthzBindAddress: `127.0.0.1:${proxyHealthzPort}`,
          metricsBindAddress: `127.0.0.1:${proxyMetricsPort}`,
          // NodePorts only on the bridge, never on the machine's own interfaces or loopback (which would need
          // route_localnet).
          nodePortAddresses: [POD_CIDR],
          iptables: { localhostNodePorts: false, masqueradeAll: false },
          // Zero: leave the machine's conntrack settings alone.
          conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
        },
        null,
        2,
      ),
    );
    const kubeProxy = () =>
      launch(
        new ManagedProcess('kube-proxy', join(logs, 'kube-proxy.log'), binaries.kubeProxy, [
          `--config=${proxyConfig}`,
          '--v=1',
        ]),
        async () => (await httpStatus(`http://127.0.0.1:${proxyHealthzPort}/healthz`)) === 200,
      );

    const dnsReadyPort = await freePort();
    const corefile = join(this.dir, 'Corefile');
    // No forward plugin: names outside the cluster get no answer from the internet.
    await writeFile(
      corefile,
      [
        '.:53 {',
        `    bind ${BRIDGE_IP}`,
        '    errors',
        `    ready 127.0.0.1:${dnsReadyPort}`,
        `    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {`,
        `        kubeconfig ${dnsKubeconfig} testbed`,
        '        pods insecure',
        '        fallthrough in-addr.arpa ip6.arpa',
        '        ttl 5',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
    const coredns = () =>
      launch(
        new ManagedProcess('coredns', join(logs, 'coredns.log'), binaries.coredns, ['-conf', corefile]),
        async () => (await httpStatus(`http://127.0.0.1:${dnsReadyPort}/ready`)) === 200,
      );

    const start = async (name: string, launchIt: () => Promise<ManagedProcess>) => {
      this.components.push(await Component.start(name, launchIt, this.options.onUnexpectedExit));
    };
    const results = await Promise.allSettled([
      start('kubelet', kubelet),
      start('kube-proxy', kubeProxy),
      start('coredns', coredns),
      operatorImage?.then((image) => this.importImage(image)),
    ]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    await this.waitReady();
    log(`real node ${REAL_NODE} is Ready`);
  }

  /**
   * Waits until the Node reports Ready (after a start, or a restart of kubelet or containerd), in a status the
   * kubelet posted after `since` when given (a kubelet posts its status when it starts).
   */
  async waitReady(since?: Date): Promise<void> {
    if (this.adminKubeconfig === undefined) return;
    const config = new k8s.KubeConfig();
    config.loadFromFile(this.adminKubeconfig);
    const core = config.makeApiClient(k8s.CoreV1Api);
    await waitFor(
      async () => {
        const node = await core.readNode({ name: REAL_NODE });
        const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(`Ready is ${ready?.status}: ${ready?.message}`);
        const heartbeat = ready.lastHeartbeatTime === undefined ? 0 : new Date(ready.lastHeartbeatTime).getTime();
        // Heartbeats have a resolution of one second.
        if (since !== undefined && heartbeat < Math.floor(since.getTime() / 1000) * 1000) {
          throw new Error(`no status posted since ${since.toISOString()}`);
        }
        return true;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 500, what: `node ${REAL_NODE} (log: logs/kubelet.log)` },
    );
  }

  /** Stops every component, removes every pod's containers and restores the machine. */
  /**
   * Lets pods reach a server of this machine that listens on 127.0.0.1:`port` (the apiserver, Temporal) at
   * BRIDGE_IP:`port`, the node's address: each connection is piped to the loopback listener, so a restarted
   * server is reached again without anything to redo.
   */
  async forwardFromPods(port: number): Promise<void> {
    const forwarder = createServer((socket) => {
      const upstream = createConnection({ host: '127.0.0.1', port });
      this.forwarded.add(socket);
      socket.on('close', () => this.forwarded.delete(socket));
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      forwarder.once('error', reject);
      forwarder.listen(port, BRIDGE_IP, resolve);
    });
    this.forwarders.push(forwarder);
  }

  async stop(): Promise<void> {
    const { log } = this.options;
    for (const forwarder of this.forwarders.splice(0)) forwarder.close();
    // Connections of pods that are about to go: close() alone would wait for them.
    for (const socket of this.forwarded) socket.destroy();
    const byName = (name: string) => this.components.find((component) => component.name === name);
    for (const name of ['coredns', 'kube-proxy', 'kubelet']) await byName(name)?.stop();
    if (byName('kube-proxy') !== undefined) {
      // kube-proxy removes its own rules; what is left goes with restoreHost.
      await run(this.options.binaries.kubeProxy, ['--cleanup']).catch(() => undefined);
    }
    const containerd = byName('containerd');
    if (containerd?.process.child.exitCode === null) await this.removeContainers().catch(() => undefined);
    await containerd?.stop();
    await this.removeCriFolders();
    if (this.record !== undefined) await restoreHost(this.record, log);
    await this.lock?.release();
    this.lock = undefined;
  }

  private async createNetwork(): Promise<void> {
    await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await run('ip', ['address', 'add', `${BRIDGE_IP}/24`, 'dev', BRIDGE]);
    await run('ip', ['link', 'set', BRIDGE, 'up']);
    // The guard, before any packet: nothing from the pod network leaves the machine, and no connection that
    // kube-proxy translated to an address elsewhere does either. Only the bridge and loopback are allowed out.
    await iptablesRestore('iptables', [
      '*mangle',
      `:${GUARD_CHAIN} - [0:0]`,
      `-A ${GUARD_CHAIN} -o ${BRIDGE} -j RETURN`,
      `-A ${GUARD_CHAIN} -o lo -j RETURN`,
      `-A ${GUARD_CHAIN} -s ${POD_CIDR} -j DROP`,
      `-A ${GUARD_CHAIN} -m conntrack --ctstate DNAT -j DROP`,
      `-I POSTROUTING 1 -j ${GUARD_CHAIN}`,
      'COMMIT',
      '',
    ]);
    await mkdir(join(this.dir, 'cni'), { recursive: true });
    await writeFile(
      join(this.dir, 'cni', '10-testbed.conflist'),
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          name: CNI_NETWORK,
          plugins: [
            {
              type: 'bridge',
              bridge: BRIDGE,
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              ipam: {
                type: 'host-local',
                ranges: [[{ subnet: POD_CIDR, gateway: BRIDGE_IP }]],
                routes: [{ dst: '0.0.0.0/0' }],
                dataDir: join(this.dir, 'ipam'),
              },
            },
          ],
        },
        null,
        2,
      ),
    );
  }

  private async writeContainerdConfig(sandboxImage: string): Promise<void> {
    const state = join(this.dir, 'containerd');
    const registries = join(this.dir, 'registries');
    // Every registry is a closed port on this machine: a missing image fails at once (ErrImagePull), rather than
    // after the internet's timeouts.
    await mkdir(join(registries, '_default'), { recursive: true });
    const closed = `http://127.0.0.1:${CLOSED_PORT}`;
    // containerd 1.6 refuses a hosts.toml without a [host] table ("invalid `host` tree").
    await writeFile(
      join(registries, '_default', 'hosts.toml'),
      `server = "${closed}"\n\n[host."${closed}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const quote = (value: string) => JSON.stringify(value);
    await writeFile(
      join(this.dir, 'containerd.toml'),
      [
        'version = 2',
        `root = ${quote(this.containerdRoot)}`,
        `state = ${quote(state)}`,
        'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",',
        '  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
        '[grpc]',
        `  address = ${quote(this.containerdSocket)}`,
        '[ttrpc]',
        `  address = ${quote(`${this.containerdSocket}.ttrpc`)}`,
        '[debug]',
        '  level = "warn"',
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = ${quote(join(state, 'opt'))}`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = ${quote(sandboxImage)}`,
        // Without it every sandbox fails: root here may not set a negative oom_score_adj.
        '  restrict_oom_score_adj = true',
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        '  netns_mounts_under_state_dir = true',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = ${quote(join(this.dir, 'cni'))}`,
        '    max_conf_num = 1',
        '  [plugins."io.containerd.grpc.v1.cri".registry]',
        `    config_path = ${quote(registries)}`,
        '',
      ].join('\n'),
    );
  }

  private async ctr(args: string[]): Promise<string> {
    const { stdout } = await run('ctr', ['--address', this.containerdSocket, '--namespace', 'k8s.io', ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /** Removes every container and task in CRI's namespace (leftovers of a crash, or all pods at stop); counts them. */
  private async removeContainers(): Promise<number> {
    for (const id of lines(await this.ctr(['tasks', 'list', '--quiet']))) {
      await this.ctr(['tasks', 'delete', '--force', id]).catch(() => undefined);
    }
    const containers = lines(await this.ctr(['containers', 'list', '--quiet']));
    for (const id of containers) await this.ctr(['containers', 'delete', id]).catch(() => undefined);
    return containers.length;
  }

  /** The CRI plugin's per-pod folders, which outlive containers removed behind its back (containerd stopped). */
  private async removeCriFolders(): Promise<void> {
    for (const folder of ['sandboxes', 'containers']) {
      await rm(join(this.containerdRoot, 'io.containerd.grpc.v1.cri', folder), { recursive: true, force: true });
    }
  }

  private importImage(image: ImageRef): Promise<void> {
    return importImage(this.containerdSocket, image, this.options.log);
  }
}

/** containerd's socket in a test bed (for `ctr --address`). */
export const containerdSocket = (stateDir: string) => join(stateDir, 'real-node', 'containerd.sock');

/** Kept across starts (the supervisor does not wipe it): containerd's images and snapshots. */
export const CONTAINERD_ROOT = 'containerd-root';

/** No server listens on port 1 (tcpmux) here: connections are refused at once. */
const CLOSED_PORT = 1;

const IMAGES_SCRIPT = join(REPO_ROOT, 'test', 'testbed', 'images.sh');

/**
 * Builds the product's image from the current code if it changed (images.sh operator) and imports it into the
 * running test bed's containerd, so that runner pods run this clone's code even in a test bed started earlier.
 */
export async function importOperatorImage(stateDir: string, log: (line: string) => void): Promise<ImageRef> {
  const image = await imageFromScript('images.sh', 'operator');
  await importImage(containerdSocket(stateDir), image, log);
  return image;
}

/** Imports an image archive unless containerd already has that very image (same manifest digest). */
async function importImage(socket: string, image: ImageRef, log: (line: string) => void): Promise<void> {
  const ctr = async (...args: string[]) =>
    (await run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  const digest = await manifestDigest(image.archive);
  const present = async () =>
    lines(await ctr('images', 'list', `name==${image.ref}`))
      .slice(1)
      .some((line) => line.split(/\s+/)[2] === digest);
  if (await present()) return;
  log(`importing ${image.ref} from ${image.archive}`);
  await ctr('images', 'import', image.archive);
  if (!(await present())) throw new Error(`importing ${image.archive} gave containerd no image ${image.ref}@${digest}`);
}

/** Runs one of the image scripts: the reference is the second-to-last line of stdout, the archive the last. */
async function imageFromScript(script: string, ...args: string[]): Promise<ImageRef> {
  const { stdout } = await run('bash', [join(REPO_ROOT, 'test', 'testbed', script), ...args], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`${script} ${args.join(' ')} failed: ${(error.stderr ?? error.message).trim().slice(-2000)}`);
  });
  const [ref, archive] = lines(stdout).slice(-2);
  if (ref === undefined || archive === undefined) throw new Error(`${script} ${args.join(' ')} printed no image`);
  return { ref, archive };
}

/** The digest of the (first) manifest an OCI archive's index names. */
async function manifestDigest(archive: string): Promise<string> {
  const { stdout } = await run('tar', ['-xOf', archive, '--wildcards', '--no-anchored', 'index.json']);
  const index = JSON.parse(stdout) as { manifests?: Array<{ digest?: string }> };
  const digest = index.manifests?.[0]?.digest;
  if (digest === undefined) throw new Error(`${archive}: its index.json names no manifest`);
  return digest;
}

const COREDNS_USER = 'system:coredns';

/** kube-dns, the Service pods resolve through, and what CoreDNS may read (as its own manifests grant). */
/**
 * The test bed's Temporal server (on 127.0.0.1:`port`, forwarded from BRIDGE_IP) as Service temporal-frontend in
 * namespace temporal, port 7233: where the operator's manifests look for it by default.
 */
export function temporalServiceObjects(port: number): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'temporal' } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'temporal-frontend', namespace: 'temporal' },
      spec: { ports: [{ name: 'grpc', port: 7233, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'temporal-frontend-host',
        namespace: 'temporal',
        labels: { 'kubernetes.io/service-name': 'temporal-frontend' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port, protocol: 'TCP' }],
      endpoints: [{ addresses: [BRIDGE_IP], nodeName: REAL_NODE, conditions: { ready: true } }],
    },
  ];
}

const CLUSTER_DNS_OBJECTS = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'system:coredns' },
    rules: [
      { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:coredns' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: COREDNS_USER }],
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    spec: {
      clusterIP: CLUSTER_DNS_IP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  },
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kube-dns-host',
      namespace: 'kube-system',
      labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'testbed' },
    },
    addressType: 'IPv4',
    ports: [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ],
    endpoints: [{ addresses: [BRIDGE_IP], nodeName: REAL_NODE, conditions: { ready: true } }],
  },
];

async function iptablesRestore(tool: string, input: string[]): Promise<void> {
  const child = run(`${tool}-restore`, ['--noflush']);
  child.child.stdin?.end(input.join('\n'));
  await child;
}

function httpStatus(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(5000) }).then((response) => response.status);
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}
