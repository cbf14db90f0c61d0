/**
 * A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver (RBAC on, service-account tokens) and
 * kube-controller-manager (garbage collector and namespace controllers), from binaries built by
 * build-binaries.sh and cached outside the clone.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, waitFor } from '../../src/util/process.js';
import { generateCredentials } from './certs.js';
import { ManagedProcess } from './managed-process.js';

const run = promisify(execFile);

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

/** Builds the binaries when missing (10–25 min cold, then cached) and returns their paths. */
export async function ensureControlPlaneBinaries(logFile: string): Promise<ControlPlaneBinaries> {
  const script = fileURLToPath(new URL('../../../test/testbed/build-binaries.sh', import.meta.url));
  const { stdout } = await run('bash', ['-c', `bash "$0" 2>>"$1"`, script, logFile], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: Error) => {
    throw new Error(`building etcd/kube-apiserver failed (${error.message.split('\n')[0]}); see ${logFile}`);
  });
  const paths = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split('=') as [string, string]),
  );
  return {
    etcd: paths.ETCD!,
    kubeApiserver: paths.KUBE_APISERVER!,
    kubeControllerManager: paths.KUBE_CONTROLLER_MANAGER!,
  };
}

export interface ControlPlane {
  kubeconfig: string;
  server: string;
  processes: ManagedProcess[];
}

const START_TIMEOUT_MS = 90_000;

export async function startControlPlane(stateDir: string, binaries: ControlPlaneBinaries): Promise<ControlPlane> {
  const pki = join(stateDir, 'pki');
  const logs = join(stateDir, 'logs');
  await mkdir(pki, { recursive: true });
  await mkdir(logs, { recursive: true });
  const credentials = await generateCredentials(pki);
  const processes: ManagedProcess[] = [];

  const etcdClientPort = await freePort();
  const etcdPeerPort = await freePort();
  const etcdLog = join(logs, 'etcd.log');
  const etcd = new ManagedProcess('etcd', etcdLog, binaries.etcd, [
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
  ]);
  processes.push(etcd);
  await waitFor(
    async () => {
      if (!etcd.running) throw new Error(etcd.describeExit());
      const response = await fetch(`http://127.0.0.1:${etcdClientPort}/health`);
      return response.ok;
    },
    { timeoutMs: START_TIMEOUT_MS, what: `etcd (log: ${etcdLog})` },
  );

  const apiserverPort = await freePort();
  const apiserverLog = join(logs, 'kube-apiserver.log');
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  const apiserver = new ManagedProcess('kube-apiserver', apiserverLog, binaries.kubeApiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdClientPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiserverPort}`,
    `--cert-dir=${pki}`,
    `--tls-cert-file=${credentials.servingCert}`,
    `--tls-private-key-file=${credentials.servingKey}`,
    `--client-ca-file=${credentials.caCert}`,
    `--token-auth-file=${credentials.tokenFile}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    // Pods get no service-account token volume: the local node agent has no use for one.
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=${issuer}`,
    `--service-account-key-file=${credentials.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${credentials.serviceAccountKey}`,
    `--api-audiences=${issuer}`,
    '--endpoint-reconciler-type=none',
    '--v=1',
  ]);
  processes.push(apiserver);
  const server = `https://127.0.0.1:${apiserverPort}`;
  const ca = await readFile(credentials.caCert);
  await waitFor(
    async () => {
      if (!apiserver.running) throw new Error(apiserver.describeExit());
      return (await httpsStatus(`${server}/readyz`, ca, credentials.adminToken)) === 200;
    },
    { timeoutMs: START_TIMEOUT_MS, what: `kube-apiserver (log: ${apiserverLog})` },
  );

  const kubeconfig = join(stateDir, 'kubeconfig');
  await writeFile(kubeconfig, renderKubeconfig(server, ca, credentials.adminToken));

  const controllerManagerLog = join(logs, 'kube-controller-manager.log');
  const controllerManagerPort = await freePort();
  const controllerManager = new ManagedProcess(
    'kube-controller-manager',
    controllerManagerLog,
    binaries.kubeControllerManager,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--controllers=garbage-collector-controller,namespace-controller',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${controllerManagerPort}`,
      `--cert-dir=${join(pki, 'kcm')}`,
      '--v=1',
    ],
  );
  processes.push(controllerManager);
  await waitFor(
    async () => {
      if (!controllerManager.running) throw new Error(controllerManager.describeExit());
      // /healthz is always allowed; its serving certificate is self-signed in its cert dir.
      return (await httpsStatus(`https://127.0.0.1:${controllerManagerPort}/healthz`, undefined, undefined)) === 200;
    },
    { timeoutMs: START_TIMEOUT_MS, what: `kube-controller-manager (log: ${controllerManagerLog})` },
  );
  return { kubeconfig, server, processes };
}

function renderKubeconfig(server: string, ca: Buffer, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'testbed', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: 'admin', namespace: 'default' } }],
      'current-context': 'testbed',
    },
    null,
    2,
  );
}

function httpsStatus(url: string, ca: Buffer | undefined, token: string | undefined): Promise<number> {
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
