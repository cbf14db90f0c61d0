/** Certificates and keys of the test bed's control plane, generated with openssl on every start. */
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
}

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
  };
}
