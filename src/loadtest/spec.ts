/**
 * The LoadTest resource as TypeScript types plus a zod schema that mirrors the CRD's OpenAPI schema and CEL
 * rules (crds/loadtest.yaml). The CRD is what Kubernetes enforces; this schema gives the same answers to
 * users who run a LoadTest without a cluster (`loadtest-operator run --local`) and to the typed client.
 */
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.js';
import { scheduleProblem } from './schedule.js';
import {
  bodyWithoutMethod,
  headersProblems,
  HTTP_INPUT_MESSAGES,
  isZeroDuration,
  MAX_REQUEST_HEADER_VALUE,
  MAX_TEST_HEADER_VALUE,
  urlHasCredentials,
} from './http-input.js';
import type { RunRecord } from './run-history.js';
import {
  DNS_SUBDOMAIN_MAX_LENGTH,
  DNS_SUBDOMAIN_PATTERN,
  isOperatorAnnotationKey,
  isOperatorLabelKey,
  isQualifiedName,
  LABEL_VALUE_MAX_LENGTH,
  LABEL_VALUE_PATTERN,
  OPERATOR_KEY_PREFIX,
  OPERATOR_LABEL_KEYS,
  quantityProblem,
} from './kubernetes-values.js';
import {
  thresholdEntryProblem,
  thresholdRequestNames,
  thresholdTexts,
  unknownFieldsMessage,
  type ThresholdEntry,
} from './thresholds.js';

export const LOADTEST_GROUP = 'example.org';
export const LOADTEST_VERSION = 'v1';
export const LOADTEST_PLURAL = 'loadtests';
export const LOADTEST_KIND = 'LoadTest';
export const LOADTEST_API_VERSION = `${LOADTEST_GROUP}/${LOADTEST_VERSION}`;

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A status code ("200") or class ("2xx"). */
const STATUS_MATCHER = /^[1-5]([0-9]{2}|xx)$/;

/** The object without its null fields; anything else as it is. */
const withoutNullFields = (value: unknown): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null))
    : value;

/**
 * A misspelled field is rejected, not dropped: `kubectl apply` (strict field validation) answers the same, and a
 * silently dropped `repaet` would run a different test than the one written.
 */
const unknownFieldMessage = (issue: { code?: string; keys?: string[] }): string | undefined =>
  issue.code === 'unrecognized_keys' ? unknownFieldsMessage(issue.keys!) : undefined;

/** A duration of nothing but zeros ("0s", "0m0.0s"): valid as a duration, not as the length of a stage. */
const ZERO_DURATION = /^(0+(\.0+)?(ms|s|m|h))+$/;
/** A request name in a mix: what `{name:...}` in a threshold refers to. Same expression as the CRD's. */
export const REQUEST_NAME_PATTERN = /^[a-z0-9]([-a-z0-9_.]{0,30}[a-z0-9])?$/;

/** Adds one issue per problem of a headers map (src/loadtest/http-input.ts). */
const headerIssues = (maxValueLength: number) => (headers: Record<string, string>, ctx: z.RefinementCtx) => {
  for (const message of headersProblems(headers, maxValueLength)) ctx.addIssue({ code: 'custom', message });
};

/** The CRD's messages for stages and request mixes, word for word (crds/loadtest.yaml). */
export const SPEC_MESSAGES = {
  stagesExclusive: 'stages set the rate and the length of the run: leave out test.duration, test.repeat and test.rate',
  stageZero: 'a stage duration must be greater than 0',
  weightsZero: 'the weights of test.requests must sum to more than 0',
  duplicateName: 'test.requests names must be unique',
  unknownRequest: 'a threshold names a request ({name:...}) that is not in test.requests',
  modelWithoutStages: 'test.model says what stage targets mean: set it only with test.stages',
  closedConnections: 'closed-model stages set the number of connections: leave out test.connections',
  closedTarget: 'with test.model closed, a stage target is a whole number of connections from 0 to 10000',
  pathOrUrl: 'set exactly one of path and url on each of test.requests',
  requestUrl: 'a request url must be an absolute http:// or https:// URL',
};

/** The CRD's messages for headersFrom and bodyFrom, word for word (crds/loadtest.yaml). */
export const SECRET_MESSAGES = {
  headerName: "a headersFrom name is an HTTP header name: letters, digits and !#$%&'*+.^_`|~-",
  headerNamedTwice: 'headersFrom names each header once',
  headerInBoth: 'a header is named in both headers and headersFrom: set it in one of them',
  bodyAndBodyFrom: 'set at most one of body and bodyFrom',
  secretName:
    'secretKeyRef.name must be the name of a Secret: a DNS subdomain (lower-case letters, digits, "-" and ".")',
  secretKey: 'secretKeyRef.key must be a key of the Secret: letters, digits, "-", "_" and "."',
  secretNameRequired: "secretKeyRef.name is required: the Secret to read, in the LoadTest's namespace",
  secretKeyRequired: 'secretKeyRef.key is required: the key of the Secret to read',
  secretKeyRefRequired: 'secretKeyRef is required: the Secret and key to read',
  headerNameRequired: 'a headersFrom name is required: the header to set',
} as const;
/** An HTTP header name (RFC 9110 token), as the runner checks it. */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A key of a Secret's data, as Kubernetes allows it. */
const SECRET_KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;

/**
 * An object field's errors: a missing one says what it is for (`missing`), an unknown field inside is named;
 * anything else gets zod's message.
 */
const objectError =
  (missing: string) =>
  (issue: { code?: string; keys?: string[]; input?: unknown }): string | undefined =>
    issue.code === 'invalid_type' && issue.input === undefined ? missing : unknownFieldMessage(issue);

/** `{ name, key }` of a Secret in the LoadTest's namespace: a Pod's `secretKeyRef`, without `optional`. */
const secretKeyRefSchema = z.preprocess(
  (ref) => withoutNullFields(ref),
  z.strictObject(
    {
      name: z
        .string({ error: SECRET_MESSAGES.secretNameRequired })
        .refine((name) => name.length <= DNS_SUBDOMAIN_MAX_LENGTH && DNS_SUBDOMAIN_PATTERN.test(name), {
          error: SECRET_MESSAGES.secretName,
        }),
      key: z
        .string({ error: SECRET_MESSAGES.secretKeyRequired })
        .refine((key) => key.length <= DNS_SUBDOMAIN_MAX_LENGTH && SECRET_KEY_PATTERN.test(key), {
          error: SECRET_MESSAGES.secretKey,
        }),
    },
    { error: objectError(SECRET_MESSAGES.secretKeyRefRequired) },
  ),
);

const headerFromSchema = z.preprocess(
  (header) => withoutNullFields(header),
  z.strictObject(
    {
      name: z
        .string({ error: SECRET_MESSAGES.headerNameRequired })
        .refine((name) => name.length <= 256 && HEADER_NAME_PATTERN.test(name), { error: SECRET_MESSAGES.headerName }),
      secretKeyRef: secretKeyRefSchema,
    },
    { error: unknownFieldMessage },
  ),
);

/** `headersFrom`: headers whose values are read from Secrets by the runner pods, never written into the spec. */
const headersFromSchema = z
  .array(headerFromSchema)
  .max(64, 'headersFrom must have at most 64 entries')
  .superRefine((headers, ctx) => {
    const names = headers.map((header) => header.name);
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', message: SECRET_MESSAGES.headerNamedTwice });
  });

/** `bodyFrom`: the body read from a Secret by the runner pods. */
const bodyFromSchema = z.preprocess(
  (body) => withoutNullFields(body),
  z.strictObject(
    {
      secretKeyRef: secretKeyRefSchema,
    },
    { error: unknownFieldMessage },
  ),
);

/** The checks a test and each request of a mix share: a header set once, body or bodyFrom. */
function checkSecretSources(
  fields: { headers?: Record<string, string>; headersFrom?: { name: string }[]; body?: string; bodyFrom?: unknown },
  ctx: z.RefinementCtx,
): void {
  const inline = new Set(Object.keys(fields.headers ?? {}));
  const both = [...new Set((fields.headersFrom ?? []).map((header) => header.name).filter((name) => inline.has(name)))];
  if (both.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['headersFrom'],
      message: `${SECRET_MESSAGES.headerInBoth} (${both.join(', ')})`,
    });
  }
  if (fields.body !== undefined && fields.bodyFrom !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['bodyFrom'], message: SECRET_MESSAGES.bodyAndBodyFrom });
  }
}

/** What `spec.test.model` may be: what a stage's target means (arrival rate, or connections). */
export const LOAD_MODELS = ['open', 'closed'] as const;
/** The most connections a closed-model stage may ramp to (as test.connections). */
export const MAX_CLOSED_TARGET = 10000;
/** An absolute http(s) URL, as the CRD checks it (test.url and a mix request's url). */
const URL_PATTERN = /^https?:\/\/[^/\s]+(\/\S*)?$/;

const stageSchema = z.preprocess(
  (stage) => withoutNullFields(stage),
  z
    .strictObject(
      {
        duration: z
          .string()
          .max(32, 'a stage duration is at most 32 characters')
          .regex(DURATION_PATTERN, 'a stage duration looks like "30s", "500ms" or "2m"'),
        target: z
          .number({ message: 'a stage target is a number: requests per second, or connections (test.model closed)' })
          .min(0, 'a stage target must be greater than or equal to 0'),
      },
      { error: unknownFieldMessage },
    )
    .superRefine((stage, ctx) => {
      if (ZERO_DURATION.test(stage.duration)) ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.stageZero });
    }),
);

const mixRequestSchema = z.preprocess(
  (request) => withoutNullFields(request),
  z
    .strictObject(
      {
        name: z
          .string()
          .max(32, 'a request name is at most 32 characters')
          .regex(REQUEST_NAME_PATTERN, 'a request name is lower-case letters, digits, "-", "_" or "."'),
        method: z.enum(HTTP_METHODS, { message: `method must be one of ${HTTP_METHODS.join(', ')}` }).optional(),
        path: z
          .string()
          .max(2048, 'path must be at most 2048 characters')
          .startsWith('/', 'path must start with "/"')
          .optional(),
        url: z
          .string()
          .max(2048, 'a request url must be at most 2048 characters')
          .regex(URL_PATTERN, SPEC_MESSAGES.requestUrl)
          .optional(),
        headers: z
          .record(z.string(), z.string())
          .refine((headers) => Object.keys(headers).length <= 64, 'headers must have at most 64 entries')
          .superRefine(headerIssues(MAX_REQUEST_HEADER_VALUE))
          .optional(),
        body: z.string().max(65536, 'body must be at most 65536 characters').optional(),
        headersFrom: headersFromSchema.optional(),
        bodyFrom: bodyFromSchema.optional(),
        weight: z
          .number({ message: 'a request weight is a whole number' })
          .int('a request weight is a whole number')
          .min(0, 'a request weight must be greater than or equal to 0')
          .max(1_000_000, 'a request weight must be less than or equal to 1000000'),
      },
      { error: unknownFieldMessage },
    )
    .superRefine((request, ctx) => {
      if ((request.path === undefined) === (request.url === undefined)) {
        ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.pathOrUrl });
      }
      checkSecretSources(request, ctx);
      if (request.url !== undefined && urlHasCredentials(request.url)) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: HTTP_INPUT_MESSAGES.urlCredentials });
      }
      if (bodyWithoutMethod(request.method, request.body)) {
        ctx.addIssue({ code: 'custom', path: ['body'], message: HTTP_INPUT_MESSAGES.requestBody });
      }
    }),
);

export const testSpecSchema = z.preprocess(
  // Kubernetes drops null fields (`repeat:` left empty in YAML) before defaulting: so does this schema.
  (test) => withoutNullFields(test),
  z
    .strictObject(
      {
        method: z.enum(HTTP_METHODS, { message: `method must be one of ${HTTP_METHODS.join(', ')}` }).default('GET'),
        serviceName: z
          .string()
          .max(63)
          .regex(DNS_LABEL, 'serviceName must be a DNS label (lower-case letters, digits and "-")')
          .optional(),
        port: z
          .number()
          .int('port must be an integer')
          .min(1, 'port must be greater than or equal to 1')
          .max(65535, 'port must be less than or equal to 65535')
          .default(80),
        path: z
          .string()
          .max(2048, 'path must be at most 2048 characters')
          .startsWith('/', 'path must start with "/"')
          .default('/'),
        url: z
          .string()
          .max(2048, 'url must be at most 2048 characters')
          .regex(URL_PATTERN, 'url must be an absolute http:// or https:// URL')
          .optional(),
        repeat: z.number().int('repeat must be an integer').min(1, 'repeat must be at least 1').optional(),
        duration: z
          .string()
          .max(32, 'duration must be at most 32 characters')
          .regex(DURATION_PATTERN, 'duration must look like "30s", "500ms" or "2m"')
          .optional(),
        connections: z
          .number()
          .int('connections must be an integer')
          .min(1, 'connections must be greater than or equal to 1')
          .max(10000, 'connections must be less than or equal to 10000')
          .optional(),
        rate: z.number().positive('rate must be greater than 0 requests per second').optional(),
        headers: z
          .record(z.string(), z.string())
          .refine((headers) => Object.keys(headers).length <= 64, 'headers must have at most 64 entries')
          .superRefine(headerIssues(MAX_TEST_HEADER_VALUE))
          .optional(),
        body: z.string().max(65536, 'body must be at most 65536 characters').optional(),
        headersFrom: headersFromSchema.optional(),
        bodyFrom: bodyFromSchema.optional(),
        timeout: z
          .string()
          .max(32, 'timeout must be at most 32 characters')
          .regex(DURATION_PATTERN, 'timeout must look like "10s" or "500ms"')
          .optional(),
        expectStatus: z
          .array(z.string().regex(STATUS_MATCHER, 'expectStatus entries look like "200" or "2xx"'))
          .max(64, 'expectStatus must have at most 64 entries')
          .optional(),
        pipelining: z
          .number()
          .int('pipelining must be an integer')
          .min(1, 'pipelining must be greater than or equal to 1')
          .max(256, 'pipelining must be less than or equal to 256')
          .optional(),
        stages: z
          .array(stageSchema)
          .min(1, 'stages must have at least 1 item')
          .max(64, 'stages must have at most 64 items')
          .optional(),
        model: z
          .enum(LOAD_MODELS, {
            message: 'test.model is open (stage targets are arrival rates) or closed (connections)',
          })
          .optional(),
        requests: z
          .array(mixRequestSchema)
          .min(1, 'requests must have at least 1 item')
          .max(16, 'requests must have at most 16 items')
          .optional(),
      },
      { error: unknownFieldMessage },
    )
    .superRefine((test, ctx) => {
      if ((test.serviceName === undefined) === (test.url === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'set exactly one of test.serviceName and test.url' });
      }
      checkSecretSources(test, ctx);
      if (test.url !== undefined && urlHasCredentials(test.url)) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: HTTP_INPUT_MESSAGES.urlCredentials });
      }
      if (bodyWithoutMethod(test.method, test.body)) {
        ctx.addIssue({ code: 'custom', path: ['body'], message: HTTP_INPUT_MESSAGES.testBody });
      }
      if (test.duration !== undefined && isZeroDuration(test.duration)) {
        ctx.addIssue({ code: 'custom', path: ['duration'], message: HTTP_INPUT_MESSAGES.durationZero });
      }
      if (test.timeout !== undefined && isZeroDuration(test.timeout)) {
        ctx.addIssue({ code: 'custom', path: ['timeout'], message: HTTP_INPUT_MESSAGES.timeoutZero });
      }
      if (test.repeat !== undefined && test.duration !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'set at most one of test.repeat and test.duration' });
      }
      if (
        test.stages !== undefined &&
        (test.duration !== undefined || test.repeat !== undefined || test.rate !== undefined)
      ) {
        ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.stagesExclusive });
      }
      if (test.model !== undefined && test.stages === undefined) {
        ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.modelWithoutStages });
      }
      if (test.model === 'closed' && test.stages !== undefined) {
        if (test.connections !== undefined) ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.closedConnections });
        if (!test.stages.every((stage) => Number.isInteger(stage.target) && stage.target <= MAX_CLOSED_TARGET)) {
          ctx.addIssue({ code: 'custom', path: ['stages'], message: SPEC_MESSAGES.closedTarget });
        }
      }
      if (test.requests !== undefined) {
        if (!test.requests.some((request) => request.weight > 0)) {
          ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.weightsZero });
        }
        const names = test.requests.map((request) => request.name);
        if (new Set(names).size !== names.length) {
          ctx.addIssue({ code: 'custom', message: SPEC_MESSAGES.duplicateName });
        }
      }
    }),
);

/** An object schema that, like the API server, drops null fields and rejects unknown ones. */
const section = <Shape extends z.core.$ZodLooseShape>(shape: Shape) =>
  z.preprocess((value) => withoutNullFields(value), z.strictObject(shape, { error: unknownFieldMessage }));

/** A resource quantity: a string ("250m", "128Mi") or a whole number, as Kubernetes takes them. */
const quantitySchema = z
  .union([z.int(), z.string()], { error: 'must be a Kubernetes quantity (a string such as "250m" or a whole number)' })
  .superRefine((value, ctx) => {
    const problem = quantityProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const resourceListSchema = section({
  cpu: quantitySchema.optional(),
  memory: quantitySchema.optional(),
  'ephemeral-storage': quantitySchema.optional(),
});

const labelValueSchema = z
  .string()
  .max(LABEL_VALUE_MAX_LENGTH, `a label value is at most ${LABEL_VALUE_MAX_LENGTH} characters`)
  .regex(LABEL_VALUE_PATTERN, 'a label value is alphanumerics with "-", "_" or "." inside');

const MAP_MAX_ENTRIES = 64;
const keyMessage = (field: string) =>
  `${field} keys must be label keys: an optional DNS-subdomain prefix and "/", then at most 63 alphanumerics with "-", "_" or "." inside`;

/** A map keyed like labels: valid keys (at most 64 of them), and none the operator keeps for itself. */
const keyedMap = <Value extends z.ZodType>(
  field: string,
  value: Value,
  reserved?: { isReserved: (key: string) => boolean; message: string },
) =>
  z
    .record(z.string(), value)
    .superRefine((map, ctx) => {
      const keys = Object.keys(map);
      if (keys.length > MAP_MAX_ENTRIES) {
        ctx.addIssue({ code: 'custom', message: `${field} must have at most ${MAP_MAX_ENTRIES} entries` });
      }
      if (!keys.every(isQualifiedName)) ctx.addIssue({ code: 'custom', message: keyMessage(field) });
      if (reserved !== undefined && keys.some(reserved.isReserved)) {
        ctx.addIssue({ code: 'custom', message: reserved.message });
      }
    })
    .optional();

/** The CRD's messages, word for word (crds/loadtest.yaml). */
export const RESERVED_LABELS_MESSAGE =
  `runner.labels may not set the operator's own labels (${OPERATOR_LABEL_KEYS.join(', ')} and ${OPERATOR_KEY_PREFIX}*): ` +
  'the operator finds its runner pods by them';
export const RESERVED_ANNOTATIONS_MESSAGE = `runner.annotations may not set the operator's own annotations (${OPERATOR_KEY_PREFIX}*)`;

const dnsSubdomain = (field: string) =>
  z
    .string()
    .max(DNS_SUBDOMAIN_MAX_LENGTH, `${field} is at most ${DNS_SUBDOMAIN_MAX_LENGTH} characters`)
    .regex(DNS_SUBDOMAIN_PATTERN, `${field} must be a DNS subdomain (lower-case letters, digits, "-" and ".")`);

const TOLERATION_OPERATORS = ['', 'Exists', 'Equal'] as const;
const TAINT_EFFECTS = ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

const TOLERATION_MESSAGES = {
  existsWithValue: 'a toleration with operator Exists takes no value',
  noKey: 'a toleration without a key must have operator Exists (it then tolerates every taint)',
  seconds: 'tolerationSeconds is only for effect NoExecute',
};

const tolerationSchema = section({
  key: z.string().max(316, 'a toleration key is at most 316 characters').optional(),
  operator: z.enum(TOLERATION_OPERATORS, { message: 'a toleration operator is Exists or Equal' }).optional(),
  value: z.string().max(LABEL_VALUE_MAX_LENGTH, 'a toleration value is at most 63 characters').optional(),
  effect: z
    .enum(TAINT_EFFECTS, { message: 'a toleration effect is NoSchedule, PreferNoSchedule or NoExecute' })
    .optional(),
  tolerationSeconds: z.int('tolerationSeconds must be an integer').optional(),
}).superRefine((toleration, ctx) => {
  if (toleration.operator === 'Exists' && (toleration.value ?? '') !== '') {
    ctx.addIssue({ code: 'custom', message: TOLERATION_MESSAGES.existsWithValue });
  }
  if ((toleration.key ?? '') === '' && toleration.operator !== 'Exists') {
    ctx.addIssue({ code: 'custom', message: TOLERATION_MESSAGES.noKey });
  }
  if (toleration.tolerationSeconds !== undefined && toleration.effect !== 'NoExecute') {
    ctx.addIssue({ code: 'custom', message: TOLERATION_MESSAGES.seconds });
  }
});

/** One of a pod's affinity kinds: passed to the pod as written, and validated by the API server there. */
const affinityTermsSchema = z.record(z.string(), z.unknown()).optional();

/**
 * How runner pods are placed, sized and labelled (README, "spec.runner"). No defaults here: the operator fills
 * them in when it builds the pods (activities/kubernetes/runner-pods.ts), so stored LoadTests keep only what
 * their authors wrote and a newer operator's defaults apply to them.
 */
export const runnerSpecSchema = section({
  resources: section({ requests: resourceListSchema.optional(), limits: resourceListSchema.optional() }).optional(),
  nodeSelector: keyedMap('runner.nodeSelector', labelValueSchema),
  tolerations: z.array(tolerationSchema).max(64, 'runner.tolerations must have at most 64 entries').optional(),
  affinity: section({
    nodeAffinity: affinityTermsSchema,
    podAffinity: affinityTermsSchema,
    podAntiAffinity: affinityTermsSchema,
  }).optional(),
  imagePullSecrets: z
    .array(section({ name: dnsSubdomain('an image pull secret name') }))
    .max(16, 'runner.imagePullSecrets must have at most 16 entries')
    .optional(),
  priorityClassName: dnsSubdomain('runner.priorityClassName').optional(),
  serviceAccountName: dnsSubdomain('runner.serviceAccountName').optional(),
  labels: keyedMap('runner.labels', labelValueSchema, {
    isReserved: isOperatorLabelKey,
    message: RESERVED_LABELS_MESSAGE,
  }),
  annotations: keyedMap('runner.annotations', z.string(), {
    isReserved: isOperatorAnnotationKey,
    message: RESERVED_ANNOTATIONS_MESSAGE,
  }),
});

/**
 * One item of spec.thresholds: the expression ("p99 < 250ms") or k6's object form. One check, shared with the
 * admission policy's CEL (src/loadtest/thresholds.ts thresholdEntryProblem), so both give the same message.
 */
const thresholdEntrySchema = z.custom<ThresholdEntry>().superRefine((entry, ctx) => {
  const problem = thresholdEntryProblem(entry);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * What happens to runner pods once a run settles. Unset: delete them when the run finished, keep them when it
 * failed (their logs and termination messages are what whoever investigates reads first).
 */
export const CLEANUP_POLICIES = ['delete', 'keep'] as const;
/** The longest `ttlSecondsAfterFinished`: a year. */
export const MAX_TTL_SECONDS = 31_536_000;
/** The CRD's messages for the lifecycle fields, word for word (crds/loadtest.yaml). */
export const LIFECYCLE_MESSAGES = {
  timeout: 'timeout must be a duration greater than 0 such as "90s", "5m" or "1h30m"',
  cleanup: 'cleanup must be "delete" or "keep"',
  ttl: 'ttlSecondsAfterFinished must be a whole number of seconds from 0 to 31536000 (a year)',
  schedule:
    'schedule must be a cron expression of 5 fields in UTC such as "*/15 * * * *" or "0 3 * * MON-FRI", a macro such as "@hourly", or "@every <duration>" of 1s or more',
  concurrencyPolicy: 'concurrencyPolicy must be "Forbid", "Replace" or "Allow"',
  suspend: 'suspend must be a boolean: true or false',
  historyLimit: 'historyLimit must be a whole number from 0 to 100',
} as const;

/** What a scheduled run does when the previous one is still running; named as CronJob names it. Default Forbid. */
export const CONCURRENCY_POLICIES = ['Forbid', 'Replace', 'Allow'] as const;
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];
export { DEFAULT_HISTORY_LIMIT } from './run-history.js';
export const MAX_HISTORY_LIMIT = 100;

/** What a lost runner does to the run; unset means fail (the CRD's default). */
export const ON_RUNNER_FAILURE = ['fail', 'continue'] as const;

export const loadTestSpecSchema = z.preprocess(
  (spec) => withoutNullFields(spec),
  z
    .strictObject(
      {
        replicas: z
          .number({ message: 'replicas must be a number between 1 and 1000' })
          .int('replicas must be an integer')
          .min(1, 'replicas must be at least 1')
          .max(1000, 'replicas must be at most 1000'),
        test: testSpecSchema,
        thresholds: z.array(thresholdEntrySchema).max(32, 'at most 32 thresholds').optional(),
        onRunnerFailure: z
          .enum(ON_RUNNER_FAILURE, { message: 'onRunnerFailure must be "fail" or "continue"' })
          .optional(),
        runner: runnerSpecSchema.optional(),
        timeout: z
          .string({ message: LIFECYCLE_MESSAGES.timeout })
          .refine(
            (text) => text.length <= 32 && DURATION_PATTERN.test(text) && !ZERO_DURATION.test(text),
            LIFECYCLE_MESSAGES.timeout,
          )
          .optional(),
        cleanup: z.enum(CLEANUP_POLICIES, { message: LIFECYCLE_MESSAGES.cleanup }).optional(),
        ttlSecondsAfterFinished: z
          .number({ message: LIFECYCLE_MESSAGES.ttl })
          .int(LIFECYCLE_MESSAGES.ttl)
          .min(0, LIFECYCLE_MESSAGES.ttl)
          .max(MAX_TTL_SECONDS, LIFECYCLE_MESSAGES.ttl)
          .optional(),
        schedule: z
          .string({ message: LIFECYCLE_MESSAGES.schedule })
          .superRefine((text, ctx) => {
            // The CRD's message, then what exactly is wrong (CEL can only say the first).
            const problem = scheduleProblem(text);
            if (problem !== undefined)
              ctx.addIssue({ code: 'custom', message: `${LIFECYCLE_MESSAGES.schedule}: ${problem}` });
          })
          .optional(),
        concurrencyPolicy: z.enum(CONCURRENCY_POLICIES, { message: LIFECYCLE_MESSAGES.concurrencyPolicy }).optional(),
        suspend: z.boolean({ message: LIFECYCLE_MESSAGES.suspend }).optional(),
        historyLimit: z
          .number({ message: LIFECYCLE_MESSAGES.historyLimit })
          .int(LIFECYCLE_MESSAGES.historyLimit)
          .min(0, LIFECYCLE_MESSAGES.historyLimit)
          .max(MAX_HISTORY_LIMIT, LIFECYCLE_MESSAGES.historyLimit)
          .optional(),
      },
      { error: unknownFieldMessage },
    )
    .superRefine((spec, ctx) => {
      const known = new Set((spec.test.requests ?? []).map((request) => request.name));
      // Only the valid items: an invalid one has its own message, and may hold anything (null, a number).
      const valid = (spec.thresholds ?? []).filter((entry) => thresholdEntryProblem(entry) === undefined);
      for (const name of thresholdRequestNames(thresholdTexts(valid))) {
        if (!known.has(name)) {
          ctx.addIssue({ code: 'custom', path: ['thresholds'], message: `${SPEC_MESSAGES.unknownRequest}: "${name}"` });
        }
      }
    }),
);

export type TestSpec = z.infer<typeof testSpecSchema>;
export type LoadTestSpec = z.infer<typeof loadTestSpecSchema>;
export type RunnerSpec = z.infer<typeof runnerSpecSchema>;
/** A Secret key a LoadTest reads a header or body from (spec.test.headersFrom, bodyFrom). */
export type SecretKeyRef = z.infer<typeof secretKeyRefSchema>;

export { targetUrl } from './target.js';

export type LoadTestState = 'pending' | 'executing' | 'finished' | 'failed';

/** Merged results of every runner of one run (see src/runner/merge.ts). */
export interface LoadTestResults {
  requests: number;
  completed: number;
  errors: number;
  dropped: number;
  errorRate: number;
  rps: number;
  statusCodes: Record<string, number>;
  errorsByKind: Record<string, number>;
  bytesRead: number;
  /** Latency in milliseconds from the intended send time (equals service time in the closed model). */
  latencyMs: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number; mean: number };
  /** Service time in ms (from the actual send); only differs from latencyMs in the open model. */
  serviceTimeMs?: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number; mean: number };
  startTime: string;
  endTime: string;
  pipelining?: number;
  /** A request mix's results per request name; each adds up to the totals above (dropped: totals only). */
  byRequest?: Record<string, RequestResults>;
  /** How far apart the runners began sending, ms: the latest first send minus the earliest. */
  startSkewMs?: number;
  /** Runners lost during the run (`spec.onRunnerFailure: continue`): their requests are not in these results. */
  lostRunners?: string[];
}

/** One request's results in a request mix (LoadTestResults.byRequest). */
export interface RequestResults {
  requests: number;
  completed: number;
  errors: number;
  errorRate: number;
  rps: number;
  statusCodes: Record<string, number>;
  errorsByKind: Record<string, number>;
  /** Absent when no runner could report this request's latency (see src/runner/summary-fit.ts). */
  latencyMs?: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number; mean: number };
  /** Set when some runners' latency for this request was left out to fit their termination message. */
  latencyPartial?: boolean;
}

export interface ThresholdResult {
  threshold: string;
  actual: number;
  passed: boolean;
}

export interface LoadTestStatus {
  state?: LoadTestState;
  children?: string[];
  /** Runners created / replicas of the current run, e.g. "5/5": the printer column that stays readable. */
  runners?: string;
  observedGeneration?: number;
  startTime?: string;
  completionTime?: string;
  message?: string;
  results?: LoadTestResults;
  thresholds?: ThresholdResult[];
  /** requests/s and p99 pre-formatted for printer columns: live while executing, final once finished. */
  rps?: string;
  p99?: string;
  /** The merged live view while executing, written at most every 10 s. */
  progress?: LoadTestProgress;
  /** The last runs, newest first (spec.historyLimit, default 10). */
  history?: RunRecord[];
  /** With spec.schedule: ISO times of the latest tick that started a run, and of the next tick. */
  lastScheduleTime?: string;
  nextScheduleTime?: string;
}

/** `.status.progress`: all runners' results so far, merged exactly. */
export interface LoadTestProgress {
  requests: number;
  errors: number;
  /** Requests per second since the previous update. */
  rps: number;
  p99Ms: number;
  runnersRunning: number;
  /** ISO time of this view. */
  updated: string;
}

export interface LoadTestMetadata {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion?: string;
}

export interface LoadTest {
  apiVersion: typeof LOADTEST_API_VERSION;
  kind: typeof LOADTEST_KIND;
  metadata: LoadTestMetadata & { deletionTimestamp?: string; labels?: Record<string, string> };
  spec: LoadTestSpec;
  status?: LoadTestStatus;
}

/** Validates a spec the way the CRD does; returns one line per problem, empty when valid. */
export function validateLoadTestSpec(spec: unknown): { spec?: LoadTestSpec; problems: string[] } {
  const parsed = loadTestSpecSchema.safeParse(spec);
  if (parsed.success) return { spec: parsed.data, problems: [] };
  return {
    problems: parsed.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? `spec.${issue.path.join('.')}: ` : 'spec: ';
      return where + issue.message;
    }),
  };
}
