/**
 * A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver (Node and RBAC authorization,
 * NodeRestriction, service-account tokens, reached by pods as the `kubernetes` Service), kube-controller-manager
 * (CONTROLLERS) and kube-scheduler, from binaries built by build-binaries.sh and cached outside the clone. Each is a Component
 * the supervisor can restart on the same ports.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, StartTimeoutError, waitFor } from '../../src/util/process.js';
import {
  APISERVER_KUBELET_CLIENT,
  generateCredentials,
  issueCertificate,
  type CertificateRequest,
  type ControlPlaneCredentials,
} from './certs.js';
import { BRIDGE_IP } from './host-state.js';
import { Component, ManagedProcess } from './managed-process.js';

const run = promisify(execFile);

export interface TestbedBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubelet: string;
  kubeProxy: string;
  coredns: string;
}

/** Builds the binaries when missing (10–25 min cold, then cached) and returns their paths. */
export async function ensureTestbedBinaries(logFile: string): Promise<TestbedBinaries> {
  const script = fileURLToPath(new URL('../../../test/testbed/build-binaries.sh', import.meta.url));
  const { stdout } = await run('bash', ['-c', `bash "$0" 2>>"$1"`, script, logFile], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: Error) => {
    throw new Error(`building the Kubernetes binaries failed (${error.message.split('\n')[0]}); see ${logFile}`);
  });
  const paths = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split('=') as [string, string]),
  );
  const path = (name: string) => {
    const value = paths[name];
    if (value === undefined) throw new Error(`build-binaries.sh printed no ${name}=; see ${logFile}`);
    return value;
  };
  return {
    etcd: path('ETCD'),
    kubeApiserver: path('KUBE_APISERVER'),
    kubeControllerManager: path('KUBE_CONTROLLER_MANAGER'),
    kubeScheduler: path('KUBE_SCHEDULER'),
    kubelet: path('KUBELET'),
    kubeProxy: path('KUBE_PROXY'),
    coredns: path('COREDNS'),
  };
}

export interface ControlPlane {
  kubeconfig: string;
  server: string;
  credentials: ControlPlaneCredentials;
  /** etcd, kube-apiserver, kube-controller-manager, kube-scheduler. */
  components: Component[];
}

export const START_TIMEOUT_MS = 90_000;

/** The controllers kube-controller-manager runs: what the tests need of a cluster, no more. */
const CONTROLLERS = [
  'garbage-collector-controller',
  'namespace-controller',
  'node-lifecycle-controller',
  'resourcequota-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'deployment-controller',
  'replicaset-controller',
];

/** The address the apiserver uses to reach a kubelet: a Node's InternalIP (see real-node.ts). */
const KUBELET_ADDRESS_TYPES = 'InternalIP';

/**
 * Starts the control plane. Each component is handed to `register` as soon as it serves, so that the caller can
 * stop what did start when a later one fails.
 */
export async function startControlPlane(
  stateDir: string,
  binaries: TestbedBinaries,
  onUnexpectedExit: (component: Component, description: string) => void,
  register: (component: Component) => void,
): Promise<ControlPlane> {
  const pki = join(stateDir, 'pki');
  const logs = join(stateDir, 'logs');
  await mkdir(pki, { recursive: true });
  await mkdir(logs, { recursive: true });
  const credentials = await generateCredentials(pki);
  const components: ControlPlane['components'] = [];
  const started = async (component: Promise<Component>) => {
    const ready = await component;
    components.push(ready);
    register(ready);
  };

  const etcdClientPort = await freePort();
  const etcdPeerPort = await freePort();
  await started(
    Component.start(
      'etcd',
      () =>
        launch(
          new ManagedProcess('etcd', join(logs, 'etcd.log'), binaries.etcd, [
            '--data-dir',
            join(stateDir, 'etcd-data'),
            '--listen-client-urls',
            `http://127.0.0.1:${etcdClientPort}`,
            '--advertise-client-urls',
            `http://127.0.0.1:${etcdClientPort}`,
            '--listen-peer-urls',
            `http://127.0.0.1:${etcdPeerPort}`,
            '--initial-advertise-peer-urls',
            `http://127.0.0.1:${etcdPeerPort}`,
            '--initial-cluster',
            `default=http://127.0.0.1:${etcdPeerPort}`,
            '--unsafe-no-fsync',
            '--log-level',
            'warn',
          ]),
          async () => (await fetch(`http://127.0.0.1:${etcdClientPort}/health`)).ok,
        ),
      onUnexpectedExit,
    ),
  );

  const apiserverPort = await freePort();
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  const server = `https://127.0.0.1:${apiserverPort}`;
  const ca = await readFile(credentials.caCert);
  await started(
    Component.start(
      'kube-apiserver',
      () =>
        launch(
          new ManagedProcess('kube-apiserver', join(logs, 'kube-apiserver.log'), binaries.kubeApiserver, [
            `--etcd-servers=http://127.0.0.1:${etcdClientPort}`,
            '--bind-address=127.0.0.1',
            // Where pods reach it: the kubernetes Service's endpoint is this address, on which the real node
            // forwards to the loopback listener (RealNode.forwardFromPods).
            `--advertise-address=${BRIDGE_IP}`,
            `--secure-port=${apiserverPort}`,
            `--cert-dir=${pki}`,
            `--tls-cert-file=${credentials.servingCert}`,
            `--tls-private-key-file=${credentials.servingKey}`,
            `--client-ca-file=${credentials.caCert}`,
            `--token-auth-file=${credentials.tokenFile}`,
            // As a real cluster: kubelets are authorized as nodes (system:node:<name>, group system:nodes) and
            // may only touch their own Node and its pods.
            '--authorization-mode=Node,RBAC',
            // PodNodeSelector and PodTolerationRestriction let a namespace send its pods to one node (nodes.ts).
            '--enable-admission-plugins=NodeRestriction,PodNodeSelector,PodTolerationRestriction',
            // Logs, exec: the apiserver reaches kubelets with a client certificate they trust, and checks theirs.
            `--kubelet-client-certificate=${credentials.kubeletClientCert}`,
            `--kubelet-client-key=${credentials.kubeletClientKey}`,
            `--kubelet-certificate-authority=${credentials.caCert}`,
            `--kubelet-preferred-address-types=${KUBELET_ADDRESS_TYPES}`,
            '--service-cluster-ip-range=10.0.0.0/24',
            '--allow-privileged=true',
            `--service-account-issuer=${issuer}`,
            `--service-account-key-file=${credentials.serviceAccountPublicKey}`,
            `--service-account-signing-key-file=${credentials.serviceAccountKey}`,
            `--api-audiences=${issuer}`,
            '--v=1',
          ]),
          async () => (await httpsStatus(`${server}/readyz`, ca, credentials.adminToken)) === 200,
        ),
      onUnexpectedExit,
    ),
  );

  const kubeconfig = join(stateDir, 'kubeconfig');
  await writeFile(kubeconfig, renderKubeconfig(server, ca, { token: credentials.adminToken }));
  await applyManifests(kubeconfig, CONTROL_PLANE_RBAC);

  const controllerManagerPort = await freePort();
  const scheduler = await clientKubeconfig(stateDir, server, 'kube-scheduler', { commonName: 'system:kube-scheduler' });
  const schedulerPort = await freePort();
  await Promise.all([
    started(
      Component.start(
        'kube-controller-manager',
        () =>
          launch(
            new ManagedProcess(
              'kube-controller-manager',
              join(logs, 'kube-controller-manager.log'),
              binaries.kubeControllerManager,
              [
                `--kubeconfig=${kubeconfig}`,
                `--authentication-kubeconfig=${kubeconfig}`,
                `--authorization-kubeconfig=${kubeconfig}`,
                // The node lifecycle controller lifts the not-ready taint a kubelet registers with, and marks
                // nodes whose heartbeat stops; taint-based eviction stays off. The resourcequota controller fills
                // in a ResourceQuota's status, which quota admission enforces. The serviceaccount and root CA
                // publisher controllers give every namespace the `default` ServiceAccount and `kube-root-ca.crt`
                // that pods' service-account tokens need; deployments and replica sets run the operator's pods.
                `--controllers=${CONTROLLERS.join(',')}`,
                `--root-ca-file=${credentials.caCert}`,
                '--leader-elect=false',
                '--bind-address=127.0.0.1',
                `--secure-port=${controllerManagerPort}`,
                `--cert-dir=${join(pki, 'kcm')}`,
                '--v=1',
              ],
            ),
            // /healthz is always allowed; its serving certificate is self-signed in its cert dir.
            async () => (await httpsStatus(`https://127.0.0.1:${controllerManagerPort}/healthz`)) === 200,
          ),
        onUnexpectedExit,
      ),
    ),
    // The scheduler places every pod that names no node (nodes.ts decides which node takes which pods).
    started(
      Component.start(
        'kube-scheduler',
        () =>
          launch(
            new ManagedProcess('kube-scheduler', join(logs, 'kube-scheduler.log'), binaries.kubeScheduler, [
              `--kubeconfig=${scheduler}`,
              `--authentication-kubeconfig=${scheduler}`,
              `--authorization-kubeconfig=${scheduler}`,
              '--leader-elect=false',
              '--bind-address=127.0.0.1',
              `--secure-port=${schedulerPort}`,
              `--cert-dir=${join(pki, 'scheduler')}`,
              '--v=1',
            ]),
            async () => (await httpsStatus(`https://127.0.0.1:${schedulerPort}/healthz`)) === 200,
          ),
        onUnexpectedExit,
      ),
    ),
  ]);
  return { kubeconfig, server, credentials, components };
}

/**
 * RBAC that Kubernetes does not bootstrap: the apiserver's user towards kubelets gets the kubelet API (logs,
 * exec), as kubeadm binds it.
 */
const CONTROL_PLANE_RBAC = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'testbed:kube-apiserver-kubelet-client' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: APISERVER_KUBELET_CLIENT }],
  },
];

/**
 * Spawns `process` and waits until `ready` says it serves; stops it if it dies or never gets there.
 */
export async function launch(process: ManagedProcess, ready: () => Promise<boolean>): Promise<ManagedProcess> {
  try {
    await waitFor(
      async () => {
        if (!process.running) throw new StartTimeoutError(process.describeExit());
        return ready();
      },
      { timeoutMs: START_TIMEOUT_MS, what: `${process.component} (log: ${process.logFile})` },
    );
    return process;
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/** A kubeconfig for `user` with a client certificate from the test bed's CA. */
export async function clientKubeconfig(
  stateDir: string,
  server: string,
  user: string,
  request: CertificateRequest,
): Promise<string> {
  const pki = join(stateDir, 'pki');
  const { cert, key } = await issueCertificate(pki, user, request);
  const file = join(stateDir, `${user}.kubeconfig`);
  const [ca, certData, keyData] = await Promise.all([readFile(join(pki, 'ca.crt')), readFile(cert), readFile(key)]);
  await writeFile(file, renderKubeconfig(server, ca, { certData, keyData }));
  return file;
}

/** Creates or updates objects with kubectl (server-side apply: the test bed's own field manager). */
export async function applyManifests(kubeconfig: string, objects: object[]): Promise<void> {
  const child = run('kubectl', [
    `--kubeconfig=${kubeconfig}`,
    'apply',
    '--server-side',
    '--field-manager=testbed',
    '--force-conflicts',
    '-f',
    '-',
  ]);
  child.child.stdin?.end(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await child.catch((error: Error & { stderr?: string }) => {
    throw new Error(`kubectl apply failed: ${error.stderr?.trim() ?? error.message}`);
  });
}

function renderKubeconfig(
  server: string,
  ca: Buffer,
  credentials: { token: string } | { certData: Buffer; keyData: Buffer },
): string {
  const user =
    'token' in credentials
      ? { token: credentials.token }
      : {
          'client-certificate-data': credentials.certData.toString('base64'),
          'client-key-data': credentials.keyData.toString('base64'),
        };
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'testbed', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
      users: [{ name: 'admin', user }],
      contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: 'admin', namespace: 'default' } }],
      'current-context': 'testbed',
    },
    null,
    2,
  );
}

/** The HTTP status of a GET; without `ca`, any certificate is accepted. */
export function httpsStatus(url: string, ca?: Buffer, token?: string): Promise<number> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, rejectUnauthorized: ca !== undefined, headers, timeout: 5000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
