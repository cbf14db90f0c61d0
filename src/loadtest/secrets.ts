/**
 * Headers and bodies that a LoadTest reads from Secrets (spec.test.headersFrom, bodyFrom, and the same on each
 * request of a mix): the spec names only the Secret and key, so the value is never in the LoadTest, in workflow
 * history, in pod args, Events or logs. A runner pod gets each value through an environment variable with
 * `valueFrom.secretKeyRef` (the kubelet reads the Secret; the operator never does), and the runner reads it at start
 * (`--header-from-env`, `--body-from-env`). This module names those variables, one per reference, the same way for
 * the pod manifest and the runner's flags.
 */
import type { SecretKeyRef, TestSpec } from './spec.js';

/** One value a runner reads from a Secret. */
export interface SecretUse {
  /** Where the spec asks for it, for messages: "spec.test.headersFrom Authorization". */
  field: string;
  /** The environment variable of the runner container that carries the value. */
  env: string;
  secretKeyRef: SecretKeyRef;
}

/** The variable of header `index` of headersFrom, on the test (`request` undefined) or on request `request` of a mix. */
export function headerEnvName(index: number, request?: number): string {
  return request === undefined ? `LOADTEST_HEADER_${index}` : `LOADTEST_REQUEST_${request}_HEADER_${index}`;
}

/** The variable of bodyFrom, on the test or on request `request` of a mix. */
export function bodyEnvName(request?: number): string {
  return request === undefined ? 'LOADTEST_BODY' : `LOADTEST_REQUEST_${request}_BODY`;
}

interface SecretSources {
  headersFrom?: { name: string; secretKeyRef: SecretKeyRef }[];
  bodyFrom?: { secretKeyRef: SecretKeyRef };
}

function usesOf(sources: SecretSources, where: string, request?: number): SecretUse[] {
  const uses = (sources.headersFrom ?? []).map((header, index) => ({
    field: `${where}.headersFrom ${header.name}`,
    env: headerEnvName(index, request),
    secretKeyRef: header.secretKeyRef,
  }));
  if (sources.bodyFrom !== undefined) {
    uses.push({ field: `${where}.bodyFrom`, env: bodyEnvName(request), secretKeyRef: sources.bodyFrom.secretKeyRef });
  }
  return uses;
}

/** Every Secret value the runners of this test read, in a stable order: the test's, then each request's. */
export function secretUses(test: TestSpec): SecretUse[] {
  return [
    ...usesOf(test, 'spec.test'),
    ...(test.requests ?? []).flatMap((request, index) => usesOf(request, `spec.test.requests[${request.name}]`, index)),
  ];
}

/** Header name → environment variable, for `--header-from-env` (undefined without headersFrom). */
export function headersFromEnv(sources: SecretSources, request?: number): Record<string, string> | undefined {
  if (sources.headersFrom === undefined || sources.headersFrom.length === 0) return undefined;
  return Object.fromEntries(sources.headersFrom.map((header, index) => [header.name, headerEnvName(index, request)]));
}

/** The environment variable of bodyFrom, for `--body-from-env` (undefined without bodyFrom). */
export function bodyFromEnv(sources: SecretSources, request?: number): string | undefined {
  return sources.bodyFrom === undefined ? undefined : bodyEnvName(request);
}

/**
 * Why local runners cannot run a test that reads Secrets, or undefined when it reads none. Local mode has no
 * cluster to read them from; the values then belong in the spec's inline fields (which stay on this machine).
 */
export function localSecretsProblem(test: TestSpec): string | undefined {
  const uses = secretUses(test);
  if (uses.length === 0) return undefined;
  const named = uses.map((use) => `${use.field} (Secret ${use.secretKeyRef.name}, key ${use.secretKeyRef.key})`);
  return (
    `local runners cannot read Kubernetes Secrets: ${named.join(', ')}. ` +
    'Run it in a cluster (without --local), or for a local run write the values into headers and body instead'
  );
}
