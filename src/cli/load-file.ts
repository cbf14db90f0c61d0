/**
 * Reads a LoadTest manifest the way kubectl would before sending it: one YAML (or JSON) document of kind
 * LoadTest, its spec checked against the CRD's rules. Every problem becomes a CliError with exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { LOADTEST_API_VERSION, LOADTEST_KIND, validateLoadTestSpec, type LoadTestSpec } from '../loadtest/spec.js';
import { usageError } from './common.js';

/** A LoadTest manifest, validated. */
export interface LoadTestManifest {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  /** The spec with the CRD's defaults filled in. */
  spec: LoadTestSpec;
  /** The spec as written, which is what gets applied to a cluster (the API server fills in defaults itself). */
  specAsWritten: unknown;
}

/** DNS subdomain, the rule for custom resource names. */
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Reads and validates the manifest in `file`. The namespace is the manifest's, else `namespace`, else
 * `defaultNamespace` (the kubeconfig context's, in a cluster); when both are given they must agree (as with kubectl).
 */
export async function readLoadTestFile(
  file: string,
  namespace?: string,
  defaultNamespace = 'default',
): Promise<LoadTestManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    throw usageError(`cannot read ${file}: ${why}`);
  }
  return parseLoadTestManifest(text, file, namespace, defaultNamespace);
}

/** Parses and validates a manifest's text; `source` names it in messages. */
export function parseLoadTestManifest(
  text: string,
  source: string,
  namespace?: string,
  defaultNamespace = 'default',
): LoadTestManifest {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw usageError(`${source}: expected a LoadTest manifest, found nothing`);
  for (const document of documents) {
    const error = document.errors[0];
    if (error !== undefined) {
      const at = error.linePos?.[0];
      const where = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
      const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw usageError(`${source}: invalid YAML${where}: ${what}`);
    }
  }
  const objects = documents.map((document) => document.toJS() as unknown).filter((value) => value !== null);
  const loadTests = objects.filter((value) => isObject(value) && value.kind === LOADTEST_KIND);
  if (loadTests.length !== 1) {
    const kinds = objects.map((value) => (isObject(value) && typeof value.kind === 'string' ? value.kind : 'no kind'));
    const found = kinds.length === 0 ? 'nothing' : kinds.join(', ');
    throw usageError(
      loadTests.length === 0
        ? `${source}: expected a ${LOADTEST_KIND} (apiVersion ${LOADTEST_API_VERSION}), found ${found}`
        : `${source}: expected one ${LOADTEST_KIND}, found ${loadTests.length}; run them one at a time`,
    );
  }
  return checkManifest(loadTests[0] as Record<string, unknown>, source, namespace, defaultNamespace);
}

function checkManifest(
  object: Record<string, unknown>,
  source: string,
  namespace: string | undefined,
  defaultNamespace: string,
): LoadTestManifest {
  if (object.apiVersion !== LOADTEST_API_VERSION) {
    throw usageError(`${source}: apiVersion must be ${LOADTEST_API_VERSION}, found ${String(object.apiVersion)}`);
  }
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') throw usageError(`${source}: metadata.name is missing`);
  if (name.length > 253 || !NAME_PATTERN.test(name)) {
    throw usageError(`${source}: metadata.name "${name}" must be lower-case letters, digits, "-" and "."`);
  }
  const own = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  if (own !== undefined && namespace !== undefined && own !== namespace) {
    throw usageError(`${source}: the manifest's namespace "${own}" does not match --namespace "${namespace}"`);
  }
  const { spec, problems } = validateLoadTestSpec(object.spec);
  if (spec === undefined) throw usageError(`${source}: invalid LoadTest "${name}": ${problems.join('; ')}`);
  const labels = isObject(metadata.labels) ? (metadata.labels as Record<string, string>) : undefined;
  return { name, namespace: own ?? namespace ?? defaultNamespace, labels, spec, specAsWritten: object.spec };
}

/**
 * The spec local runners run: `target` (a base URL) replaces the Service, or the host of spec.test.url; the
 * request path stays the spec's unless the target names one.
 */
export function withTarget(manifest: LoadTestManifest, source: string, target?: string): LoadTestManifest {
  const test = manifest.spec.test;
  if (target === undefined) {
    if (test.url !== undefined) return manifest;
    throw usageError(
      `${source}: spec.test.serviceName "${test.serviceName}" is a Kubernetes Service; with --local, pass --target URL`,
    );
  }
  let base: URL;
  try {
    base = new URL(target);
  } catch {
    throw usageError(`--target "${target}" is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw usageError(`--target "${target}" must start with http:// or https://`);
  }
  const specPath = test.url === undefined ? test.path : new URL(test.url).pathname + new URL(test.url).search;
  const path = base.pathname === '/' && base.search === '' ? specPath : base.pathname + base.search;
  const url = `${base.protocol}//${base.host}${path}`;
  const { serviceName: _serviceName, ...rest } = test;
  return { ...manifest, spec: { ...manifest.spec, test: { ...rest, url } } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
