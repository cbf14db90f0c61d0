/**
 * Kubernetes value formats that `spec.runner` passes on to runner pods: resource quantities, label keys and
 * values, object names; and the label and annotation keys the operator keeps for itself. The CRD
 * (crds/loadtest.yaml) writes the same expressions into its patterns and CEL rules, and
 * test/loadtest/runner-spec.test.ts holds the two equal, so `kubectl apply` and the zod schema answer alike.
 *
 * Patterns use `[.]` rather than `\.` so that one source string reads the same in TypeScript, in an OpenAPI
 * pattern and inside a CEL string.
 */

/**
 * A resource quantity as Kubernetes parses it (resource.ParseQuantity): a signed decimal number, then a binary
 * suffix (Ki … Ei), a decimal one (n, u, m, k, M … E) or a decimal exponent (e3, E-2). Kubernetes also takes a
 * few degenerate forms with no digit at all ("Ki", "."), which this pattern, and so the CRD, refuses.
 */
export const QUANTITY_PATTERN =
  /^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
/** Longest quantity accepted: ample for any real amount, and a bound for the CRD's CEL cost estimate. */
export const QUANTITY_MAX_LENGTH = 64;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

/** What is wrong with `value` as a quantity, or undefined when it is a valid, non-negative one. */
export function quantityProblem(value: string | number): string | undefined {
  const text = String(value);
  const exponent = /[eE]([+-]?[0-9]+)$/.exec(text)?.[1];
  // Kubernetes reads the exponent as an int64 (ParseInt): a longer one is no quantity (the CEL isQuantity).
  const exponentValue = exponent === undefined ? 0n : BigInt(exponent.replace(/^\+/, ''));
  const exponentFits = exponentValue >= INT64_MIN && exponentValue <= INT64_MAX;
  if (text.length > QUANTITY_MAX_LENGTH || !QUANTITY_PATTERN.test(text) || !exponentFits) {
    return QUANTITY_MESSAGE;
  }
  if (text.startsWith('-') && /[1-9]/.test(mantissaOf(text))) return NEGATIVE_QUANTITY_MESSAGE;
  return undefined;
}

export const QUANTITY_MESSAGE = 'must be a Kubernetes quantity such as 250m, 0.5, 2 or 128Mi';
export const NEGATIVE_QUANTITY_MESSAGE = 'must not be negative';

/** The number before the suffix: "-0.5" of "-0.5Gi", "-2" of "-2e3". */
function mantissaOf(text: string): string {
  return /^[+-]?[0-9.]*/.exec(text)![0];
}

/** A DNS subdomain (RFC 1123), at most 253 characters: names of Secrets, ServiceAccounts, PriorityClasses. */
export const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;

/**
 * A label or annotation key: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters
 * (alphanumerics, "-", "_", "." inside). The prefix may be at most 253 characters (checked apart).
 */
export const QUALIFIED_NAME_PATTERN =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*[/])?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label value: empty, or at most 63 characters of alphanumerics with "-", "_", "." inside. */
export const LABEL_VALUE_PATTERN = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const LABEL_VALUE_MAX_LENGTH = 63;

/** Whether `key` is a label or annotation key Kubernetes accepts. */
export function isQualifiedName(key: string): boolean {
  return QUALIFIED_NAME_PATTERN.test(key) && key.indexOf('/') <= DNS_SUBDOMAIN_MAX_LENGTH;
}

/**
 * Label keys the operator sets on every runner pod and selects them by (src/k8s/labels.ts): a user's label of
 * the same key would hide a runner from the operator or make another pod look like one.
 */
export const OPERATOR_LABEL_KEYS = ['app.kubernetes.io/managed-by', 'app.kubernetes.io/component'] as const;
/** Every label and annotation key under this prefix is the operator's (its uid, name, generation, start-at). */
export const OPERATOR_KEY_PREFIX = 'loadtest.example.org/';

export function isOperatorLabelKey(key: string): boolean {
  return (OPERATOR_LABEL_KEYS as readonly string[]).includes(key) || key.startsWith(OPERATOR_KEY_PREFIX);
}

export function isOperatorAnnotationKey(key: string): boolean {
  return key.startsWith(OPERATOR_KEY_PREFIX);
}
