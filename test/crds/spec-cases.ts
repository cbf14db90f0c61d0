/**
 * LoadTest specs, valid and invalid, with the answer both validators must give: the CRD (crds/loadtest.yaml, what
 * `kubectl apply` meets) and the zod schema (src/loadtest/spec.ts, what `run --local` and the client meet).
 * test/crds/loadtest-crd.integration.test.ts runs the table against the API server, test/loadtest/spec-cases.test.ts
 * through validateLoadTestSpec: the same table in both proves they agree. Threshold strings are left to the
 * thresholds' own tests.
 */

import { HTTP_INPUT_MESSAGES } from '../../src/loadtest/http-input.js';

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

/** A spec with one runner over a Service and this `runner` section. */
const withRunner = (runner: unknown) => ({ replicas: 1, test: service, runner });
const requests = (resources: Record<string, unknown>) => withRunner({ resources: { requests: resources } });
const toleration = (fields: Record<string, unknown>) => withRunner({ tolerations: [fields] });
const many = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 'v']));

/** spec.test.headersFrom and bodyFrom, on the test and on a request of a mix (README, "Secrets"). */
const tokenRef = { name: 'api-token', key: 'header' };
const fromSecret = (name: string, secretKeyRef: unknown = tokenRef) => ({ name, secretKeyRef });
const secretRequest = (fields: Record<string, unknown>) =>
  withTest({ requests: [{ name: 'pay', path: '/pay', weight: 1, ...fields }] });
const SECRET_CASES: SpecCase[] = [
  valid(
    'headersFrom and bodyFrom on the test, beside other inline headers',
    withTest({
      method: 'POST',
      headers: { accept: 'application/json' },
      headersFrom: [fromSecret('Authorization'), fromSecret('X-Api-Key', { name: 'keys.v2', key: 'api_key-1.txt' })],
      bodyFrom: { secretKeyRef: { name: 'payloads', key: 'checkout.json' } },
    }),
  ),
  valid(
    "headersFrom and bodyFrom on a request of a mix, overriding the test's inline header",
    withTest({
      headers: { Authorization: 'placeholder' },
      requests: [
        {
          name: 'pay',
          path: '/pay',
          weight: 1,
          headersFrom: [fromSecret('Authorization')],
          bodyFrom: { secretKeyRef: tokenRef },
        },
      ],
    }),
  ),
  invalid(
    'a header named in both headers and headersFrom',
    withTest({ headers: { Authorization: 'x' }, headersFrom: [fromSecret('Authorization')] }),
    'spec.test.headersFrom',
    'a header is named in both headers and headersFrom',
  ),
  invalid(
    'a header named in both headers and headersFrom of a request of a mix',
    secretRequest({ headers: { Authorization: 'x' }, headersFrom: [fromSecret('Authorization')] }),
    'spec.test.requests',
    'a header is named in both headers and headersFrom',
  ),
  invalid(
    'headersFrom naming a header twice',
    withTest({ headersFrom: [fromSecret('Authorization'), fromSecret('Authorization')] }),
    'spec.test.headersFrom',
    'headersFrom names each header once',
  ),
  invalid(
    'body and bodyFrom together',
    withTest({ body: '{}', bodyFrom: { secretKeyRef: tokenRef } }),
    'spec.test.bodyFrom',
    'set at most one of body and bodyFrom',
  ),
  invalid(
    'body and bodyFrom together on a request of a mix',
    secretRequest({ body: '{}', bodyFrom: { secretKeyRef: tokenRef } }),
    'spec.test.requests',
    'set at most one of body and bodyFrom',
  ),
  invalid(
    'a headersFrom entry without a secretKeyRef',
    withTest({ headersFrom: [{ name: 'Authorization' }] }),
    'secretKeyRef',
    'required',
  ),
  invalid(
    'a headersFrom entry without a name',
    withTest({ headersFrom: [{ secretKeyRef: tokenRef }] }),
    'spec.test.headersFrom',
    'required',
  ),
  invalid(
    'a secretKeyRef without a key',
    withTest({ headersFrom: [fromSecret('Authorization', { name: 'api-token' })] }),
    'secretKeyRef.key',
    'required',
  ),
  invalid(
    'a bodyFrom secretKeyRef without a name',
    withTest({ bodyFrom: { secretKeyRef: { key: 'checkout.json' } } }),
    'secretKeyRef.name',
    'required',
  ),
  invalid(
    'an invalid Secret name ("Api_Token")',
    withTest({ headersFrom: [fromSecret('Authorization', { name: 'Api_Token', key: 'header' })] }),
    'secretKeyRef.name',
    'must be the name of a Secret',
  ),
  invalid(
    'an invalid Secret key ("a/b")',
    withTest({ bodyFrom: { secretKeyRef: { name: 'payloads', key: 'a/b' } } }),
    'secretKeyRef.key',
    'must be a key of the Secret',
  ),
  invalid(
    'a headersFrom name that is not a header name ("X Token")',
    withTest({ headersFrom: [fromSecret('X Token')] }),
    'spec.test.headersFrom',
    'is an HTTP header name',
  ),
  invalid(
    'secretKeyRef.optional (a missing Secret must stop the run, not drop the header)',
    withTest({ bodyFrom: { secretKeyRef: { ...tokenRef, optional: true } } }),
    'unknown field',
    'optional',
  ),
];

/** spec.runner: what runner pods get besides the operator's own settings (README, "spec.runner"). */
const RUNNER_CASES: SpecCase[] = [
  valid('an empty runner section', withRunner({})),
  valid('every runner field set', {
    replicas: 2,
    test: service,
    runner: {
      resources: {
        requests: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
        limits: { cpu: 2, memory: '1.5Gi', 'ephemeral-storage': '2G' },
      },
      nodeSelector: { 'kubernetes.io/os': 'linux', pool: '' },
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'load', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
        { operator: 'Exists' },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['load'] }] }],
          },
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { a: 'b' } } },
            },
          ],
        },
      },
      imagePullSecrets: [{ name: 'registry.example' }],
      priorityClassName: 'load-tests',
      serviceAccountName: 'runner',
      labels: { team: 'checkout', 'example.com/cost-center': 'c-42', [`x${'y'.repeat(62)}`]: 'v'.repeat(63) },
      annotations: { 'example.com/note': 'any text, even "quoted"', 'app.kubernetes.io/managed-by': 'anyone' },
    },
  }),
  valid(
    'quantities in every form Kubernetes writes them (0, -0, 1e3, .5, 1., +2, 100n, 1E, 64Ki)',
    withRunner({
      resources: {
        requests: { cpu: '0', memory: '1e3', 'ephemeral-storage': '.5' },
        limits: { cpu: '1.', memory: '+2', 'ephemeral-storage': '64Ki' },
      },
    }),
  ),
  valid(
    'a zero written as "-0", and exa and nano suffixes',
    requests({ cpu: '-0', memory: '1E', 'ephemeral-storage': '100n' }),
  ),
  valid('whole-number quantities', requests({ cpu: 1, memory: 134217728 })),

  invalid(
    'a negative CPU request ("-250m")',
    requests({ cpu: '-250m' }),
    'spec.runner.resources.requests.cpu',
    'must not be negative',
  ),
  invalid(
    'a negative memory limit written as a number (-1)',
    withRunner({ resources: { limits: { memory: -1 } } }),
    'spec.runner.resources.limits.memory',
    'must not be negative',
  ),
  invalid(
    'a quantity with a space ("250 m")',
    requests({ cpu: '250 m' }),
    'spec.runner.resources.requests.cpu',
    'must be a Kubernetes quantity',
  ),
  invalid(
    'a quantity in words ("one")',
    requests({ memory: 'one' }),
    'spec.runner.resources.requests.memory',
    'must be a Kubernetes quantity',
  ),
  invalid(
    'an upper-case kilo ("200K", Kubernetes writes 200k)',
    requests({ 'ephemeral-storage': '200K' }),
    'spec.runner.resources.requests.ephemeral-storage',
    'must be a Kubernetes quantity',
  ),
  invalid('a suffix with no number ("Mi")', requests({ memory: 'Mi' }), 'must be a Kubernetes quantity'),
  invalid(
    'an exponent out of int64 range ("1e9223372036854775808")',
    requests({ cpu: '1e9223372036854775808' }),
    'must be a Kubernetes quantity',
  ),
  invalid('a fractional number (0.5, not "0.5")', requests({ cpu: 0.5 }), 'spec.runner.resources.requests.cpu'),
  invalid(
    'a resource that is not cpu, memory or ephemeral-storage (gpu)',
    requests({ gpu: '1' }),
    'unknown field',
    'gpu',
  ),
  invalid(
    'a misspelled runner field (nodeSelectors)',
    withRunner({ nodeSelectors: {} }),
    'unknown field',
    'nodeSelectors',
  ),
  invalid(
    'a misspelled affinity kind (nodeAfinity)',
    withRunner({ affinity: { nodeAfinity: {} } }),
    'unknown field',
    'nodeAfinity',
  ),
  invalid(
    'an affinity kind that is not an object',
    withRunner({ affinity: { nodeAffinity: [] } }),
    'spec.runner.affinity.nodeAffinity',
  ),
  invalid(
    'a label that would hide the runner from the operator (app.kubernetes.io/managed-by)',
    withRunner({ labels: { 'app.kubernetes.io/managed-by': 'me' } }),
    "runner.labels may not set the operator's own labels",
    'the operator finds its runner pods by them',
  ),
  invalid(
    'a label under the operator’s prefix (loadtest.example.org/uid)',
    withRunner({ labels: { team: 'a', 'loadtest.example.org/uid': 'x' } }),
    "runner.labels may not set the operator's own labels",
  ),
  invalid(
    'an annotation under the operator’s prefix (loadtest.example.org/start-at)',
    withRunner({ annotations: { 'loadtest.example.org/start-at': '0' } }),
    "runner.annotations may not set the operator's own annotations",
  ),
  invalid(
    'a label key with a space',
    withRunner({ labels: { 'my team': 'a' } }),
    'runner.labels keys must be label keys',
  ),
  invalid(
    'a label key whose name is over 63 characters',
    withRunner({ labels: { [`x${'y'.repeat(63)}`]: 'a' } }),
    'runner.labels keys must be label keys',
  ),
  invalid(
    'a label key whose prefix is over 253 characters',
    withRunner({ labels: { [`${'a'.repeat(254)}/name`]: 'a' } }),
    'runner.labels keys must be label keys',
  ),
  invalid(
    'an annotation key with two slashes',
    withRunner({ annotations: { 'a/b/c': 'x' } }),
    'runner.annotations keys must be label keys',
  ),
  invalid(
    'a nodeSelector key ending in "-"',
    withRunner({ nodeSelector: { 'pool-': 'a' } }),
    'runner.nodeSelector keys',
  ),
  invalid('a label value with a space', withRunner({ labels: { team: 'check out' } }), 'spec.runner.labels.team'),
  invalid(
    'a label value over 63 characters',
    withRunner({ labels: { team: 'v'.repeat(64) } }),
    'spec.runner.labels.team',
  ),
  invalid('more than 64 labels', withRunner({ labels: many(65) }), 'spec.runner.labels', '64'),
  invalid('more than 64 annotations', withRunner({ annotations: many(65) }), 'spec.runner.annotations', '64'),
  invalid(
    'a toleration with operator Exists and a value',
    toleration({ key: 'a', operator: 'Exists', value: 'b' }),
    'a toleration with operator Exists takes no value',
  ),
  invalid(
    'a toleration with neither key nor operator Exists',
    toleration({ value: 'b' }),
    'a toleration without a key must have operator Exists',
  ),
  invalid(
    'tolerationSeconds on a NoSchedule toleration',
    toleration({ key: 'a', effect: 'NoSchedule', tolerationSeconds: 5 }),
    'tolerationSeconds is only for effect NoExecute',
  ),
  invalid(
    'a toleration effect that does not exist (NoRun)',
    toleration({ key: 'a', effect: 'NoRun' }),
    'spec.runner.tolerations',
    'NoSchedule',
  ),
  invalid(
    'a misspelled toleration field (tolerationSecond)',
    toleration({ key: 'a', tolerationSecond: 5 }),
    'unknown field',
    'tolerationSecond',
  ),
  invalid(
    'an image pull secret without a name',
    withRunner({ imagePullSecrets: [{}] }),
    'spec.runner.imagePullSecrets',
    'name',
  ),
  invalid(
    'a priorityClassName with "_"',
    withRunner({ priorityClassName: 'load_tests' }),
    'spec.runner.priorityClassName',
  ),
  invalid(
    'a serviceAccountName in upper case',
    withRunner({ serviceAccountName: 'Runner' }),
    'spec.runner.serviceAccountName',
  ),
  invalid('a runner section that is a string', withRunner('big'), 'spec.runner'),
];

const mix = (...requests: Record<string, unknown>[]) => withTest({ duration: '10s', requests });
const home = { name: 'home', path: '/', weight: 1 };

/** spec.test.stages (ramping arrival rate) and spec.test.requests (a weighted request mix), issue 18. */
const RUNNER_V2_CASES: SpecCase[] = [
  valid(
    'stages ramping the arrival rate, with a stage at target 0',
    withTest({
      stages: [
        { duration: '30s', target: 100 },
        { duration: '1m', target: 100.5 },
        { duration: '500ms', target: 0 },
      ],
      connections: 50,
    }),
  ),
  valid(
    'a request mix with every field, weights 1:2:7 and one of weight 0',
    withTest({
      duration: '30s',
      headers: { accept: 'application/json' },
      requests: [
        { name: 'home', path: '/', weight: 1 },
        { name: 'search_v2', method: 'GET', path: '/search?q=x', weight: 2, headers: { 'x-a': 'b' } },
        { name: 'checkout.pay', method: 'POST', path: '/checkout', body: '{"cart":1}', weight: 7 },
        { name: 'off', path: '/off', weight: 0 },
      ],
    }),
  ),
  valid('a threshold on a named request of the mix', {
    ...mix(home, { name: 'checkout', path: '/checkout', weight: 2 }),
    thresholds: ['p99{name:checkout} < 300ms', 'errorRate{name:home} < 1%', 'rps{name:home} > 10', 'p99 < 1s'],
  }),
  valid(
    'stages together with a request mix',
    withTest({ stages: [{ duration: '10s', target: 50 }], requests: [home] }),
  ),
  invalid(
    'a stage of zero duration ("0s")',
    withTest({ stages: [{ duration: '0s', target: 10 }] }),
    'spec.test.stages',
    'a stage duration must be greater than 0',
  ),
  invalid(
    'a stage of zero duration written "0m0.0s"',
    withTest({
      stages: [
        { duration: '10s', target: 10 },
        { duration: '0m0.0s', target: 10 },
      ],
    }),
    'a stage duration must be greater than 0',
  ),
  invalid(
    'a negative stage target',
    withTest({ stages: [{ duration: '10s', target: -5 }] }),
    'spec.test.stages',
    'greater than or equal to 0',
  ),
  invalid(
    'stages together with duration',
    withTest({ stages: [{ duration: '10s', target: 5 }], duration: '10s' }),
    'leave out test.duration, test.repeat and test.rate',
  ),
  invalid(
    'stages together with rate',
    withTest({ stages: [{ duration: '10s', target: 5 }], rate: 5 }),
    'leave out test.duration, test.repeat and test.rate',
  ),
  invalid(
    'stages together with repeat',
    withTest({ stages: [{ duration: '10s', target: 5 }], repeat: 5 }),
    'leave out test.duration, test.repeat and test.rate',
  ),
  invalid('an empty list of stages', withTest({ stages: [] }), 'spec.test.stages', '1 item'),
  invalid('a stage without a target', withTest({ stages: [{ duration: '10s' }] }), 'spec.test.stages', 'target'),
  invalid(
    'a misspelled stage field (rate instead of target)',
    withTest({ stages: [{ duration: '10s', target: 1, rate: 5 }] }),
    'unknown field',
    'rate',
  ),
  invalid(
    'weights that sum to 0',
    mix({ ...home, weight: 0 }, { name: 'b', path: '/b', weight: 0 }),
    'the weights of test.requests must sum to more than 0',
  ),
  invalid('a negative weight', mix({ ...home, weight: -1 }), 'spec.test.requests', 'greater than or equal to 0'),
  invalid('a fractional weight', mix({ ...home, weight: 1.5 }), 'spec.test.requests'),
  invalid(
    'a duplicate request name',
    mix(home, { name: 'home', path: '/again', weight: 1 }),
    'test.requests names must be unique',
  ),
  invalid('a request name with upper-case letters', mix({ ...home, name: 'Home' }), 'spec.test.requests', 'name'),
  invalid('a request path without a leading "/"', mix({ ...home, path: 'x' }), 'path must start with "/"'),
  invalid('a request without a weight', mix({ name: 'home', path: '/' }), 'spec.test.requests', 'weight'),
  invalid(
    'more than 16 requests',
    mix(...Array.from({ length: 17 }, (_, index) => ({ ...home, name: `r${index}` }))),
    'spec.test.requests',
    '16',
  ),
  invalid('a misspelled request field (wieght)', mix({ ...home, wieght: 1 }), 'unknown field', 'wieght'),
  invalid(
    'a threshold naming a request that is not in the mix',
    { ...mix(home), thresholds: ['p99{name:checkout} < 300ms'] },
    'spec.thresholds',
    'a threshold names a request ({name:...}) that is not in test.requests',
  ),
  invalid(
    'a threshold naming a request when there is no mix',
    { ...withTest({ duration: '10s' }), thresholds: ['p99{name:home} < 300ms'] },
    'a threshold names a request ({name:...}) that is not in test.requests',
  ),
];

const closedStages = (stages: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  withTest({ model: 'closed', stages, ...extra });

/** Closed-model stages (test.model) and a mix entry's own url, issue 18. */
const RUNNER_V2_CLOSED_AND_URL_CASES: SpecCase[] = [
  valid(
    'closed-model stages ramping connections up and down to 0',
    closedStages([
      { duration: '30s', target: 10 },
      { duration: '1m', target: 10000 },
      { duration: '10s', target: 0 },
    ]),
  ),
  valid(
    'stages with test.model open, as without it',
    withTest({ model: 'open', stages: [{ duration: '5s', target: 2.5 }] }),
  ),
  valid(
    'a mix with one request on its own url and one on the test target',
    mix(home, { name: 'auth', method: 'POST', url: 'https://auth.example:8443/token?x=1', weight: 1 }),
  ),
  invalid(
    'test.model closed without stages',
    withTest({ model: 'closed', duration: '10s' }),
    'test.model says what stage targets mean: set it only with test.stages',
  ),
  invalid('test.model open without stages', withTest({ model: 'open' }), 'set it only with test.stages'),
  invalid(
    'a test.model that is neither open nor closed',
    withTest({ model: 'ramping', stages: [{ duration: '1s', target: 1 }] }),
    'spec.test.model',
  ),
  invalid(
    'closed-model stages with test.connections',
    closedStages([{ duration: '10s', target: 5 }], { connections: 5 }),
    'closed-model stages set the number of connections: leave out test.connections',
  ),
  invalid(
    'a closed-model stage of 2.5 connections',
    closedStages([{ duration: '10s', target: 2.5 }]),
    'with test.model closed, a stage target is a whole number of connections from 0 to 10000',
  ),
  invalid(
    'a closed-model stage of 10001 connections',
    closedStages([{ duration: '10s', target: 10001 }]),
    'a whole number of connections from 0 to 10000',
  ),
  invalid(
    'a negative closed-model target',
    closedStages([{ duration: '10s', target: -1 }]),
    'spec.test.stages',
    'greater than or equal to 0',
  ),
  invalid(
    'a zero-duration closed-model stage',
    closedStages([
      { duration: '10s', target: 5 },
      { duration: '0ms', target: 0 },
    ]),
    'a stage duration must be greater than 0',
  ),
  invalid(
    'a mix request with both path and url',
    mix({ ...home, url: 'http://other.example/' }),
    'set exactly one of path and url on each of test.requests',
  ),
  invalid(
    'a mix request with neither path nor url',
    mix({ name: 'home', weight: 1 }),
    'set exactly one of path and url on each of test.requests',
  ),
  invalid(
    'a mix request url that is not http(s) (ftp://)',
    mix({ name: 'files', url: 'ftp://files.example/a', weight: 1 }),
    'a request url must be an absolute http:// or https:// URL',
  ),
  invalid(
    'a mix request url that is relative',
    mix({ name: 'rel', url: '/relative', weight: 1 }),
    'a request url must be an absolute http:// or https:// URL',
  ),
];

/** A spec over a Service for 10s with these thresholds. */
const withThresholds = (...thresholds: unknown[]) => ({ ...withTest({ duration: '10s' }), thresholds });

/**
 * Object thresholds and onRunnerFailure, issue 13. The CRD leaves threshold items untyped (a string or an object);
 * crds/loadtest-validation.yaml, the admission policy applied with it, checks them, one message per item.
 */
const THRESHOLD_OBJECT_CASES: SpecCase[] = [
  valid(
    'an object threshold with abortOnFail and delayAbortEval, beside a string one',
    withThresholds({ threshold: 'p99 < 250ms', abortOnFail: true, delayAbortEval: '10s' }, 'errorRate < 1%'),
  ),
  valid('an object threshold with its expression alone', withThresholds({ threshold: 'rps > 100' })),
  valid('onRunnerFailure continue', { ...withTest({ duration: '10s' }), onRunnerFailure: 'continue' }),
  valid('onRunnerFailure fail', { ...withTest({ duration: '10s' }), onRunnerFailure: 'fail' }),
  invalid(
    'an object threshold with a misspelled field (abortOnFial)',
    withThresholds({ threshold: 'p99 < 250ms', abortOnFial: true }),
    'spec.thresholds',
    'unknown field "abortOnFial"',
  ),
  invalid(
    'an object threshold whose delayAbortEval is not a duration ("10 seconds")',
    withThresholds({ threshold: 'p99 < 250ms', abortOnFail: true, delayAbortEval: '10 seconds' }),
    'spec.thresholds',
    'delayAbortEval must look like "10s", "500ms" or "2m"',
  ),
  invalid(
    'an object threshold whose abortOnFail is not a boolean ("yes")',
    withThresholds({ threshold: 'p99 < 250ms', abortOnFail: 'yes' }),
    'spec.thresholds',
    'abortOnFail must be true or false',
  ),
  invalid(
    'an object threshold without threshold',
    withThresholds({ abortOnFail: true, delayAbortEval: '10s' }),
    'spec.thresholds',
    'a threshold object needs threshold, the expression',
  ),
  invalid(
    'a number as a threshold',
    withThresholds(250),
    'spec.thresholds',
    'a threshold is a string such as "p99 < 250ms" or an object {threshold, abortOnFail, delayAbortEval}',
  ),
  invalid(
    'a list as a threshold',
    withThresholds(['p99 < 250ms']),
    'a threshold is a string such as "p99 < 250ms" or an object {threshold, abortOnFail, delayAbortEval}',
  ),
  invalid(
    'an object threshold whose expression is not one ("p98 < 2ms")',
    withThresholds({ threshold: 'p98 < 2ms', abortOnFail: true }),
    'spec.thresholds',
    'thresholds look like "p99 < 250ms", "errorRate < 1%", "rps > 1000" or "p99{name:checkout} < 300ms"',
  ),
  invalid(
    'an object threshold whose latency takes a percentage ("p99 < 5%")',
    withThresholds({ threshold: 'p99 < 5%' }),
    'latency thresholds (p50, p90, p95, p99, p99.9, max, mean) take ms, s or us',
  ),
  invalid(
    'a threshold expression longer than 64 characters',
    withThresholds({ threshold: `p99 <${' '.repeat(60)}250ms` }),
    'a threshold is at most 64 characters',
  ),
  invalid(
    'an object threshold naming a request that is not in the mix',
    { ...mix(home), thresholds: [{ threshold: 'p99{name:checkout} < 300ms', abortOnFail: true }] },
    'spec.thresholds',
    'a threshold names a request ({name:...}) that is not in test.requests',
  ),
  valid('an object threshold naming a request of the mix', {
    ...mix(home),
    thresholds: [{ threshold: 'p99{name:home} < 300ms', abortOnFail: true, delayAbortEval: '1m30s' }],
  }),
  invalid(
    'onRunnerFailure "sometimes"',
    { ...withTest({ duration: '10s' }), onRunnerFailure: 'sometimes' },
    'spec.onRunnerFailure',
    '"fail"',
    '"continue"',
  ),
];

/** A spec over a Service for 10s with these lifecycle fields (issue 14: timeout, cleanup, TTL). */
const withLifecycle = (fields: Record<string, unknown>) => ({ ...withTest({ duration: '10s' }), ...fields });

/** spec.timeout, spec.cleanup and spec.ttlSecondsAfterFinished (issue 14, README "Lifecycle"). */
const LIFECYCLE_CASES: SpecCase[] = [
  valid('every lifecycle field set', withLifecycle({ timeout: '1h30m', cleanup: 'keep', ttlSecondsAfterFinished: 0 })),
  valid('cleanup delete and the longest TTL', withLifecycle({ cleanup: 'delete', ttlSecondsAfterFinished: 31536000 })),
  invalid(
    'a timeout that is not a duration ("5 minutes")',
    withLifecycle({ timeout: '5 minutes' }),
    'spec.timeout',
    'timeout must be a duration greater than 0 such as "90s", "5m" or "1h30m"',
  ),
  invalid('a timeout without a unit ("300")', withLifecycle({ timeout: '300' }), 'spec.timeout', '"5m"'),
  invalid('a zero timeout ("0s")', withLifecycle({ timeout: '0s' }), 'spec.timeout', 'greater than 0'),
  invalid(
    'a negative ttlSecondsAfterFinished',
    withLifecycle({ ttlSecondsAfterFinished: -1 }),
    'spec.ttlSecondsAfterFinished',
    'ttlSecondsAfterFinished must be a whole number of seconds from 0 to 31536000 (a year)',
  ),
  invalid(
    'a ttlSecondsAfterFinished over a year',
    withLifecycle({ ttlSecondsAfterFinished: 31536001 }),
    'spec.ttlSecondsAfterFinished',
    '31536000',
  ),
  invalid('cleanup "sometimes"', withLifecycle({ cleanup: 'sometimes' }), 'spec.cleanup', '"delete"', '"keep"'),
];

/** A spec over a Service for 10s with these schedule fields (issue 14, item 3). */
const withSchedule = (fields: Record<string, unknown>) => withLifecycle(fields);
/** What both validators say of a schedule that is not one: the field, and the CRD's message word for word. */
const SCHEDULE_MESSAGE = [
  'spec.schedule',
  'schedule must be a cron expression of 5 fields in UTC such as "*/15 * * * *" or "0 3 * * MON-FRI", a macro such as ' +
    '"@hourly", or "@every <duration>" of 1s or more',
];
const badSchedule = (name: string, schedule: string) =>
  invalid(`${name} (${JSON.stringify(schedule)})`, withSchedule({ schedule }), ...SCHEDULE_MESSAGE);

/** spec.schedule, spec.concurrencyPolicy, spec.suspend and spec.historyLimit (README "Lifecycle"). */
const SCHEDULE_CASES: SpecCase[] = [
  valid('a schedule every 20s, suspended, keeping no history', {
    ...withSchedule({ schedule: '@every 20s', suspend: true, historyLimit: 0 }),
  }),
  valid(
    'a cron schedule every 5 minutes, Forbid',
    withSchedule({ schedule: '*/5 * * * *', concurrencyPolicy: 'Forbid' }),
  ),
  valid('an @hourly schedule, Replace', withSchedule({ schedule: '@hourly', concurrencyPolicy: 'Replace' })),
  valid(
    'weekdays at 03:00 by day names, Allow',
    withSchedule({ schedule: '0 3 * * MON-FRI', concurrencyPolicy: 'Allow' }),
  ),
  valid(
    'month names in any case, lists, ranges with steps, 7 for Sunday, the longest history',
    withSchedule({ schedule: '0,30 0-23/2 1-31/3 jan,Jul-DEC 0-7', suspend: false, historyLimit: 100 }),
  ),
  valid('an @every whose parts add up to 1s ("500ms500ms")', withSchedule({ schedule: '@every 500ms500ms' })),
  valid('every macro (@yearly)', withSchedule({ schedule: '@yearly' })),
  badSchedule('a cron expression with 4 fields', '* * * *'),
  badSchedule('a minute of 61', '61 * * * *'),
  badSchedule('a step of 0', '*/0 * * * *'),
  badSchedule('a range that ends before it starts', '0 3 * * FRI-MON'),
  badSchedule('a month name in the day-of-week field', '0 3 * * JAN'),
  badSchedule('an unknown macro', '@sometimes'),
  badSchedule('a macro in capitals', '@HOURLY'),
  badSchedule('an @every of 0s', '@every 0s'),
  badSchedule('an @every under 1s', '@every 999ms'),
  badSchedule('an @every that is not a duration', '@every soon'),
  badSchedule('an @every without a space', '@every20s'),
  badSchedule('an @every with a 6-digit number', '@every 604800s'),
  badSchedule('an @every beyond what a duration holds', '@every 99999999999999999999h'),
  badSchedule('spaces around the schedule', ' @hourly '),
  invalid(
    'a schedule over 100 characters',
    withSchedule({ schedule: `@every ${'1h'.repeat(50)}` }),
    'spec.schedule',
    '100',
  ),
  invalid('a schedule that is a number', withSchedule({ schedule: 5 }), 'spec.schedule'),
  invalid(
    'concurrencyPolicy "Sometimes"',
    withSchedule({ schedule: '@hourly', concurrencyPolicy: 'Sometimes' }),
    'spec.concurrencyPolicy',
    '"Forbid"',
    '"Replace"',
    '"Allow"',
  ),
  invalid('suspend "yes"', withSchedule({ schedule: '@hourly', suspend: 'yes' }), 'spec.suspend', 'boolean'),
  invalid(
    'historyLimit -1',
    withSchedule({ historyLimit: -1 }),
    'spec.historyLimit',
    'historyLimit must be a whole number from 0 to 100',
  ),
  invalid(
    'historyLimit 101',
    withSchedule({ historyLimit: 101 }),
    'spec.historyLimit',
    'historyLimit must be a whole number from 0 to 100',
  ),
  invalid('historyLimit 1.5', withSchedule({ historyLimit: 1.5 }), 'spec.historyLimit'),
];

/** A spec over a url for 10s with these `test` fields. */
const overUrl = (test: Record<string, unknown>) => ({
  replicas: 1,
  test: { url: 'http://shop.example/', duration: '10s', ...test },
});
/** A one-request mix with this request's fields over `home`'s. */
const mixOf = (request: Record<string, unknown>) => mix({ ...home, ...request });
const M = HTTP_INPUT_MESSAGES;

/**
 * Bad input a user writes by mistake, each caught before a runner starts (issue 16, item 6): headers the runner
 * could not send as written, credentials in a url, a body nothing would send, zero durations; and an IPv6 literal,
 * which is fine (test/runner/ipv6-target.test.ts runs one).
 */
const BAD_INPUT_CASES: SpecCase[] = [
  valid('an IPv6 literal url with a port ("http://[::1]:8080/")', overUrl({ url: 'http://[::1]:8080/' })),
  valid('an IPv6 literal https url without a port', overUrl({ url: 'https://[2001:db8::1]/a?b=c' })),
  valid('a body on DELETE', overUrl({ method: 'DELETE', body: '{"id":1}' })),
  valid(
    'headers of every token character, a Host header, a tab and Latin-1 in values, values at their longest',
    overUrl({
      headers: {
        "x-!#$%&'*+.^_`|~09AZaz": 'a\tb é',
        Host: 'shop.example',
        'X-Long': 'v'.repeat(8192),
      },
    }),
  ),
  valid(
    'a mix request with its own headers at their longest, and a body on POST',
    mixOf({ method: 'POST', body: 'b', headers: { 'x-a': 'v'.repeat(3072) } }),
  ),
  invalid(
    'duplicate header names differing only in case (X-Token and x-token)',
    overUrl({ headers: { 'X-Token': 'a', 'x-token': 'b' } }),
    'spec.test.headers',
    M.headerTwice,
  ),
  invalid(
    'duplicate header names in a mix request (Accept and ACCEPT)',
    mixOf({ headers: { Accept: 'a', ACCEPT: 'b' } }),
    'spec.test.requests',
    M.headerTwice,
  ),
  invalid(
    'a header name with a space ("X Token")',
    overUrl({ headers: { 'X Token': 'a' } }),
    'spec.test.headers',
    M.headerName,
  ),
  invalid(
    'a header name ending in ":" ("X-Token:", as copied from curl -H)',
    overUrl({ headers: { 'X-Token:': 'a' } }),
    'spec.test.headers',
    M.headerName,
  ),
  invalid('an empty header name', overUrl({ headers: { '': 'a' } }), 'spec.test.headers', M.headerName),
  invalid('a header name with non-ASCII letters ("X-Tökén")', mixOf({ headers: { 'X-Tökén': 'a' } }), M.headerName),
  invalid(
    'a header value with CR LF (header injection: "a\\r\\nX-Admin: 1")',
    overUrl({ headers: { 'X-Token': 'a\r\nX-Admin: 1' } }),
    'spec.test.headers',
    M.headerValue,
  ),
  invalid('a header value with a lone LF', overUrl({ headers: { 'X-Token': 'a\nb' } }), M.headerValue),
  invalid(
    'a header value with NUL',
    mixOf({ headers: { 'X-Token': 'a\u0000b' } }),
    'spec.test.requests',
    M.headerValue,
  ),
  invalid('a header value outside Latin-1 ("5 €")', overUrl({ headers: { 'X-Price': '5 €' } }), M.headerValue),
  invalid(
    'a Content-Length header',
    overUrl({ method: 'POST', body: 'abc', headers: { 'Content-Length': '3' } }),
    'spec.test.headers',
    M.framingHeader,
  ),
  invalid(
    'a Transfer-Encoding header in a mix request',
    mixOf({ method: 'POST', body: 'b', headers: { 'transfer-encoding': 'chunked' } }),
    M.framingHeader,
  ),
  invalid(
    'a header value over 8192 characters',
    overUrl({ headers: { 'X-Long': 'v'.repeat(8193) } }),
    'spec.test.headers',
    '8192',
  ),
  invalid(
    'a mix request header value over 3072 characters',
    mixOf({ headers: { 'X-Long': 'v'.repeat(3073) } }),
    'spec.test.requests',
    '3072',
  ),
  invalid('a body on GET, the default method', overUrl({ body: '{"q":1}' }), 'spec.test.body', M.testBody),
  invalid('a body on HEAD', overUrl({ method: 'HEAD', body: 'x' }), 'spec.test.body', M.testBody),
  invalid('an empty body on GET', overUrl({ method: 'GET', body: '' }), M.testBody),
  invalid('a mix request with a body and no method', mixOf({ body: 'x' }), 'spec.test.requests', M.requestBody),
  invalid(
    'a url with credentials ("http://user:pass@host/")',
    overUrl({ url: 'http://user:pass@host/' }),
    'spec.test.url',
    M.urlCredentials,
  ),
  invalid(
    'a url with a token as its user ("https://t0ken@host/")',
    overUrl({ url: 'https://t0ken@host:8443/' }),
    M.urlCredentials,
  ),
  invalid(
    'a mix request url with credentials',
    mix(home, { name: 'auth', url: 'https://user:pass@auth.example/token', weight: 1 }),
    'spec.test.requests',
    M.urlCredentials,
  ),
  invalid('a url without a scheme ("shop.example/")', overUrl({ url: 'shop.example/' }), 'spec.test.url', 'http://'),
  invalid(
    'a path that is a whole url',
    withTest({ path: 'http://checkout/' }),
    'spec.test.path',
    'must start with "/"',
  ),
  invalid('a negative rate (-5)', withTest({ rate: -5 }), 'spec.test.rate', 'greater than 0 requests per second'),
  invalid('a duration of 0 ("0s")', withTest({ duration: '0s' }), 'spec.test.duration', M.durationZero),
  invalid('a duration of 0 written "0m0.0s"', withTest({ duration: '0m0.0s' }), M.durationZero),
  invalid('a request timeout of 0 ("0ms")', withTest({ timeout: '0ms' }), 'spec.test.timeout', M.timeoutZero),
  invalid('a negative port (-80)', withTest({ port: -80 }), 'spec.test.port', 'greater than or equal to 1'),
];

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
  ...RUNNER_CASES,
  ...SECRET_CASES,
  ...RUNNER_V2_CASES,
  ...RUNNER_V2_CLOSED_AND_URL_CASES,
  ...THRESHOLD_OBJECT_CASES,
  ...LIFECYCLE_CASES,
  ...SCHEDULE_CASES,
  ...BAD_INPUT_CASES,
];
