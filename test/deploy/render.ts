/**
 * The operator's install manifests as a user gets them: `kubectl kustomize` of config/ (and of a user's overlay on
 * it), and `helm template` of charts/loadtest-operator with the Helm that test/deploy/ensure-helm.sh builds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { requireTool } from '../support/tools.js';
import type { PodTemplate } from './pod-security.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART = join(REPO, 'charts/loadtest-operator');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; never throws on a non-zero exit. */
export function runProgram(
  file: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr: stderr || (error?.message ?? '') });
      },
    );
    // A program that exits without reading its input must not fail the caller with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs a program and returns stdout; a failure throws with the command and its stderr. */
export async function runOk(file: string, args: string[], options: { input?: string } = {}): Promise<string> {
  const result = await runProgram(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

let helm: Promise<string> | undefined;

/**
 * The path of the helm binary, built on first use (minutes, cached in ~/.cache/loadtest-operator). A build that
 * fails rejects with the script's output: a test that needs helm fails then, it never skips.
 */
export function ensureHelm(): Promise<string> {
  helm ??= runProgram('bash', [join(REPO, 'test/deploy/ensure-helm.sh')]).then((result) => {
    if (result.code !== 0) throw new Error(`test/deploy/ensure-helm.sh failed (${result.code}):\n${result.stderr}`);
    return result.stdout.trim().split('\n').at(-1)!;
  });
  return helm;
}

/** The objects of a multi-document YAML stream, in order (empty documents left out). */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`bad YAML: ${document.errors[0]!.message}`);
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

/** `kubectl kustomize DIR` (the kustomize built into kubectl, what `kubectl apply -k` uses). */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  return parseManifests(await runOk(requireTool('kubectl'), ['kustomize', dir]));
}

/**
 * Builds a user's overlay: a kustomization in a temporary folder (outside the repository) whose resources are the
 * repository folder `base` (e.g. `config/default`), plus `fields` (images, namespace, patches...) and the
 * repository's kustomize `components` (e.g. `config/components/temporal-tls`).
 */
export async function kustomizeOverlay(base: string, fields: object, components: string[] = []): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'loadtest-overlay-'));
  try {
    // Kustomize takes only relative paths to other folders.
    const from = (folder: string) => relative(dir, join(REPO, folder));
    const kustomization = {
      resources: [from(base)],
      ...(components.length > 0 ? { components: components.map(from) } : {}),
      ...fields,
    };
    await writeFile(join(dir, 'kustomization.yaml'), stringify(kustomization));
    return await kustomize(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `helm template RELEASE charts/loadtest-operator --include-crds -n NAMESPACE ARGS...`. */
export async function helmTemplate(release: string, namespace: string, args: string[] = []): Promise<K8sObject[]> {
  const output = await runOk(await ensureHelm(), [
    'template',
    release,
    CHART,
    '--include-crds',
    '--namespace',
    namespace,
    ...args,
  ]);
  return parseManifests(output);
}

/** Every pod template in `objects`, named by its object: what PodSecurity admission checks for workloads. */
export function podTemplates(objects: K8sObject[]): Array<{ owner: string; template: PodTemplate }> {
  const templates: Array<{ owner: string; template: PodTemplate }> = [];
  for (const object of objects) {
    const owner = `${object.kind}/${object.metadata.name}`;
    const spec = object.spec as Record<string, unknown> | undefined;
    if (object.kind === 'Pod') templates.push({ owner, template: object as unknown as PodTemplate });
    else if (object.kind === 'CronJob') {
      const job = (spec?.jobTemplate as { spec: { template: PodTemplate } }).spec;
      templates.push({ owner, template: job.template });
    } else if (spec?.template !== undefined && (spec.template as PodTemplate).spec?.containers !== undefined) {
      templates.push({ owner, template: spec.template as PodTemplate });
    }
  }
  return templates;
}

/** `Kind namespace/name` of each object, sorted: what two ways of installing must agree on. */
export function identities(objects: K8sObject[]): string[] {
  return objects.map((object) => `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`).sort();
}

/** The one object of `kind` named `name`; fails naming what is there instead. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among: ${identities(objects).join(', ')}`);
  return found;
}

/** Every container image in the pod templates, and RUNNER_IMAGE of every ConfigMap that has one. */
export function imagesIn(objects: K8sObject[]): { containers: string[]; runnerImages: string[] } {
  const containers = podTemplates(objects).flatMap(({ template }) =>
    [...template.spec.containers, ...(template.spec.initContainers ?? [])].map(
      (container) => (container as unknown as { image: string }).image,
    ),
  );
  const runnerImages = objects
    .filter((object) => object.kind === 'ConfigMap')
    .map((object) => (object.data as Record<string, string> | undefined)?.RUNNER_IMAGE)
    .filter((image): image is string => image !== undefined);
  return { containers, runnerImages };
}
