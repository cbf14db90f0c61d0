/** Certificates and keys of the test bed's control plane and real node, generated with openssl on every start. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ControlPlaneCredentials {
  caCert: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  tokenFile: string;
  adminToken: string;
  /** The apiserver's client certificate towards kubelets (user kube-apiserver-kubelet-client). */
  kubeletClientCert: string;
  kubeletClientKey: string;
}

/** The user the apiserver is towards kubelets; bound to ClusterRole system:kubelet-api-admin. */
export const APISERVER_KUBELET_CLIENT = 'kube-apiserver-kubelet-client';

export async function generateCredentials(dir: string): Promise<ControlPlaneCredentials> {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args);
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=testbed-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  await openssl('genrsa', '-out', file('apiserver.key'), '2048');
  await openssl(
    'req',
    '-new',
    '-key',
    file('apiserver.key'),
    '-subj',
    '/CN=kube-apiserver',
    '-out',
    file('apiserver.csr'),
  );
  await writeFile(
    file('apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' +
      'extendedKeyUsage=serverAuth\n',
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    file('apiserver.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('apiserver.ext'),
    '-out',
    file('apiserver.crt'),
  );
  await openssl('genrsa', '-out', file('sa.key'), '2048');
  await openssl('rsa', '-in', file('sa.key'), '-pubout', '-out', file('sa.pub'));
  const kubeletClient = await issueCertificate(dir, 'apiserver-kubelet-client', {
    commonName: APISERVER_KUBELET_CLIENT,
  });
  const adminToken = randomBytes(24).toString('hex');
  // Static tokens: the admin (system:masters) for kubectl and the controller manager.
  await writeFile(file('tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`);
  return {
    caCert: file('ca.crt'),
    servingCert: file('apiserver.crt'),
    servingKey: file('apiserver.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPublicKey: file('sa.pub'),
    tokenFile: file('tokens.csv'),
    adminToken,
    kubeletClientCert: kubeletClient.cert,
    kubeletClientKey: kubeletClient.key,
  };
}

export interface CertificateRequest {
  /** The user name (CN). */
  commonName: string;
  /** The groups (O). */
  organizations?: string[];
  /** For a serving certificate: the IP addresses it serves on (subjectAltName); otherwise a client certificate. */
  servingIps?: string[];
}

/**
 * Issues `<name>.crt` and `<name>.key` in `dir` (an ECDSA P-256 key, quick to make), signed by the test bed's CA
 * in the same folder (generateCredentials must have run).
 */
export async function issueCertificate(
  dir: string,
  name: string,
  request: CertificateRequest,
): Promise<{ cert: string; key: string }> {
  const file = (suffix: string) => join(dir, `${name}.${suffix}`);
  const subject = [...(request.organizations ?? []).map((o) => `/O=${o}`), `/CN=${request.commonName}`].join('');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('key')]);
  await run('openssl', ['req', '-new', '-key', file('key'), '-subj', subject, '-out', file('csr')]);
  const extensions =
    request.servingIps === undefined
      ? 'extendedKeyUsage=clientAuth\n'
      : `subjectAltName=${request.servingIps.map((ip) => `IP:${ip}`).join(',')}\nextendedKeyUsage=serverAuth\n`;
  await writeFile(file('ext'), extensions);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('csr'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    // A random serial rather than the CA's serial file, so that certificates can be issued in parallel.
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    file('ext'),
    '-out',
    file('crt'),
  ]);
  return { cert: file('crt'), key: file('key') };
}
