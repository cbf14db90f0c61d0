/** Drives the test bed the way a user does: through kubectl, with the test bed's KUBECONFIG. */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { requireTool } from './tools.js';

const run = promisify(execFile);

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs kubectl; never throws on a non-zero exit (tests assert on `code` and `stderr`). */
export function kubectl(args: string[], options: { input?: string; token?: string } = {}): Promise<KubectlResult> {
  const fullArgs = options.token === undefined ? args : [`--token=${options.token}`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(requireTool('kubectl'), fullArgs, { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs kubectl and returns stdout, throwing with kubectl's own message on failure. */
export async function kubectlOk(args: string[], options: { input?: string } = {}): Promise<string> {
  const result = await kubectl(args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** Applies manifests given as objects (JSON is valid YAML). */
export function apply(...objects: object[]): Promise<string> {
  const list = { apiVersion: 'v1', kind: 'List', items: objects };
  return kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(list) });
}

/**
 * Waits, event-driven through kubectl's watch, for a condition such as `--for=jsonpath={.status.phase}=Succeeded`
 * or `--for=delete`.
 */
export function kubectlWait(resource: string, condition: string, timeoutSeconds = 60, namespace?: string) {
  const args = ['wait', resource, condition, `--timeout=${timeoutSeconds}s`];
  if (namespace !== undefined) args.push('-n', namespace);
  return kubectlOk(args);
}

export async function getJson<T = Record<string, unknown>>(resource: string, namespace?: string): Promise<T> {
  const args = ['get', resource, '-o', 'json'];
  if (namespace !== undefined) args.push('-n', namespace);
  return JSON.parse(await kubectlOk(args)) as T;
}

/**
 * Pods are admitted once the namespace has its `default` ServiceAccount, which the controller manager adds a moment
 * after the namespace (as in any cluster).
 */
export const DEFAULT_SERVICE_ACCOUNT_WAIT = (namespace: string) => [
  'wait',
  '--for=create',
  'serviceaccount/default',
  '-n',
  namespace,
  '--timeout=60s',
];

/** A fresh namespace per test file keeps tests independent. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await kubectlOk(['create', 'namespace', name]);
  await kubectlOk(DEFAULT_SERVICE_ACCOUNT_WAIT(name));
  return name;
}

export { run as execFileAsync };
