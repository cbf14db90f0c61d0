/**
 * LoadTest specs, valid and invalid, with the answer both validators must give: the CRD (crds/loadtest.yaml, what
 * `kubectl apply` meets) and the zod schema (src/loadtest/spec.ts, what `run --local` and the client meet).
 * test/crds/loadtest-crd.integration.test.ts runs the table against the API server, test/loadtest/spec-cases.test.ts
 * through validateLoadTestSpec: the same table in both proves they agree. Threshold strings are left to the
 * thresholds' own tests.
 */

export interface SpecCase {
  name: string;
  /** `.spec` of the LoadTest, as it would be written in YAML. */
  spec: unknown;
  valid: boolean;
  /** For an invalid spec: strings the error must contain (case-insensitive), from the CRD and from zod alike. */
  messageIncludes: string[];
}

const service = { serviceName: 'checkout' };
const valid = (name: string, spec: unknown): SpecCase => ({ name, spec, valid: true, messageIncludes: [] });
const invalid = (name: string, spec: unknown, ...messageIncludes: string[]): SpecCase => ({
  name,
  spec,
  valid: false,
  messageIncludes,
});
/** A spec with one runner and `test` fields over a Service target. */
const withTest = (test: Record<string, unknown>) => ({ replicas: 1, test: { ...service, ...test } });

export const SPEC_CASES: SpecCase[] = [
  valid('the smallest spec: replicas and a Service', { replicas: 1, test: service }),
  valid('every test field set, at their limits', {
    replicas: 1000,
    test: {
      method: 'POST',
      ...service,
      port: 65535,
      path: `/${'p'.repeat(2047)}`,
      duration: '1m30s',
      connections: 10000,
      rate: 0.5,
      headers: Object.fromEntries(Array.from({ length: 64 }, (_, index) => [`x-h${index}`, 'v'])),
      body: 'b'.repeat(65536),
      timeout: '500ms',
      expectStatus: Array.from({ length: 64 }, () => '2xx'),
      pipelining: 256,
    },
  }),
  valid('an https URL with a port and a query', { replicas: 2, test: { url: 'https://shop.example:8443/a?b=c' } }),
  valid('null fields, as YAML writes `repeat:` left empty, count as unset', withTest({ port: null, repeat: null })),

  invalid('replicas 1001', { replicas: 1001, test: service }, 'spec.replicas', '1000'),
  invalid('replicas 1.5', { replicas: 1.5, test: service }, 'spec.replicas', 'integer'),
  invalid('replicas "2" (a string)', { replicas: '2', test: service }, 'spec.replicas'),
  invalid('port 0', withTest({ port: 0 }), 'spec.test.port', 'greater than or equal to 1'),
  invalid('port 65536', withTest({ port: 65536 }), 'spec.test.port', 'less than or equal to 65535'),
  invalid(
    'neither serviceName nor url',
    { replicas: 1, test: { port: 80 } },
    'spec.test',
    'set exactly one of test.serviceName and test.url',
  ),
  invalid(
    'both serviceName and url',
    withTest({ url: 'http://checkout/' }),
    'set exactly one of test.serviceName and test.url',
  ),
  invalid(
    'a URL that is not http (ftp://x)',
    { replicas: 1, test: { url: 'ftp://x' } },
    'spec.test.url',
    'must be an absolute http:// or https:// URL',
  ),
  invalid('a duration without a unit ("30")', withTest({ duration: '30' }), 'spec.test.duration'),
  invalid('a timeout without a unit ("10")', withTest({ timeout: '10' }), 'spec.test.timeout'),
  invalid('both repeat and duration', withTest({ repeat: 2, duration: '1s' }), 'set at most one of'),
  invalid('repeat 0', withTest({ repeat: 0 }), 'spec.test.repeat'),
  invalid('rate 0', withTest({ rate: 0 }), 'spec.test.rate', 'greater than 0 requests per second'),
  invalid('connections 0', withTest({ connections: 0 }), 'spec.test.connections', 'greater than or equal to 1'),
  invalid(
    'connections 10001',
    withTest({ connections: 10001 }),
    'spec.test.connections',
    'less than or equal to 10000',
  ),
  invalid('pipelining 0', withTest({ pipelining: 0 }), 'spec.test.pipelining', 'greater than or equal to 1'),
  invalid('pipelining 257', withTest({ pipelining: 257 }), 'spec.test.pipelining', 'less than or equal to 256'),
  invalid('expectStatus ["600"]', withTest({ expectStatus: ['600'] }), 'spec.test.expectStatus'),
  invalid('a method in lower case', withTest({ method: 'get' }), 'spec.test.method'),
  invalid('a path without a leading "/"', withTest({ path: 'x' }), 'spec.test.path', 'must start with "/"'),
  invalid('a path over 2048 characters', withTest({ path: `/${'p'.repeat(2048)}` }), 'spec.test.path', '2048'),
  invalid('a body over 65536 characters', withTest({ body: 'b'.repeat(65537) }), 'spec.test.body', '65536'),
  invalid(
    'more than 64 headers',
    withTest({ headers: Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`x-h${index}`, 'v'])) }),
    'spec.test.headers',
    '64',
  ),
  invalid(
    'more than 64 expectStatus entries',
    withTest({ expectStatus: Array.from({ length: 65 }, () => '2xx') }),
    'spec.test.expectStatus',
    '64',
  ),
  invalid('an empty spec', {}, 'spec.replicas', 'spec.test'),
  // Misspelled fields: rejected, as `kubectl apply` does (strict field validation), never silently dropped.
  invalid('a misspelled test field (spec.test.repaet)', withTest({ repaet: 3 }), 'unknown field', 'repaet'),
  invalid('a misspelled spec field (spec.replica)', { replica: 1, test: service }, 'unknown field', 'replica'),
];
