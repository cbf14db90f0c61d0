/**
 * Where a test's requests go. Apart from spec.ts so that the workflow bundle, which needs it to describe a run,
 * does not take in zod and the spec's schemas with it: every cached workflow pays for what the bundle holds.
 */
import type { TestSpec } from './spec.js';

/** Where the requests go, as the runners see it: `url`, or the Service's cluster DNS name in `namespace`. */
export function targetUrl(test: Pick<TestSpec, 'url' | 'serviceName' | 'port' | 'path'>, namespace: string): string {
  return test.url ?? `http://${test.serviceName}.${namespace}.svc:${test.port}${test.path}`;
}
