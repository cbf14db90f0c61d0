/**
 * The CRD's spec.runner states the very rules of src/loadtest/kubernetes-values.ts: the same quantity, label and
 * name expressions, the same reserved keys and the same messages. (test/crds/spec-cases.ts checks that both
 * answer alike case by case; this keeps the expressions themselves from drifting apart.)
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  DNS_SUBDOMAIN_MAX_LENGTH,
  DNS_SUBDOMAIN_PATTERN,
  LABEL_VALUE_MAX_LENGTH,
  LABEL_VALUE_PATTERN,
  NEGATIVE_QUANTITY_MESSAGE,
  OPERATOR_KEY_PREFIX,
  OPERATOR_LABEL_KEYS,
  QUALIFIED_NAME_PATTERN,
  QUANTITY_MAX_LENGTH,
  QUANTITY_MESSAGE,
  QUANTITY_PATTERN,
  quantityProblem,
} from '../../src/loadtest/kubernetes-values.js';
import { RESERVED_ANNOTATIONS_MESSAGE, RESERVED_LABELS_MESSAGE } from '../../src/loadtest/spec.js';

const CRD_FILE = fileURLToPath(new URL('../../../crds/loadtest.yaml', import.meta.url));

interface Schema {
  type?: string;
  pattern?: string;
  maxLength?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  'x-kubernetes-validations'?: Array<{ rule: string; message: string }>;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

function runnerSchema(): Schema {
  const crd = parse(readFileSync(CRD_FILE, 'utf8')) as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> };
  };
  return crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.runner!;
}

const runner = runnerSchema();
const props = runner.properties!;

/** Every path under `schema` (dotted) whose node says x-kubernetes-preserve-unknown-fields. */
function preservingPaths(schema: Schema, path: string): string[] {
  const here = schema['x-kubernetes-preserve-unknown-fields'] ? [path] : [];
  const children = Object.entries(schema.properties ?? {}).flatMap(([name, child]) =>
    preservingPaths(child, `${path}.${name}`),
  );
  const nested = [schema.additionalProperties, schema.items].flatMap((child) =>
    child === undefined ? [] : preservingPaths(child, `${path}[]`),
  );
  return [...here, ...children, ...nested];
}

describe('spec.runner in the CRD', () => {
  it('checks every quantity with the one pattern, then Kubernetes’ own isQuantity, and refuses negatives', () => {
    const { requests, limits } = props.resources!.properties!;
    for (const list of [requests!, limits!]) {
      assert.deepEqual(Object.keys(list.properties!), ['cpu', 'memory', 'ephemeral-storage']);
      for (const quantity of Object.values(list.properties!)) {
        assert.equal(quantity['x-kubernetes-int-or-string'], true);
        assert.equal(quantity.maxLength, QUANTITY_MAX_LENGTH);
        assert.deepEqual(quantity['x-kubernetes-validations'], [
          {
            rule: `string(self).matches('${QUANTITY_PATTERN.source}') && isQuantity(string(self))`,
            message: QUANTITY_MESSAGE,
          },
          {
            rule: "!isQuantity(string(self)) || !quantity(string(self)).isLessThan(quantity('0'))",
            message: NEGATIVE_QUANTITY_MESSAGE,
          },
        ]);
      }
    }
  });

  it('checks label-like keys and values with the same expressions as the zod schema', () => {
    for (const field of ['nodeSelector', 'labels', 'annotations']) {
      const map = props[field]!;
      assert.equal(map.maxProperties, 64, field);
      assert.deepEqual(map['x-kubernetes-validations']![0]!.rule, keyRule(), field);
      assert.match(map['x-kubernetes-validations']![0]!.message, new RegExp(`^runner\\.${field} keys must be`));
    }
    for (const field of ['nodeSelector', 'labels']) {
      assert.equal(props[field]!.additionalProperties!.pattern, LABEL_VALUE_PATTERN.source, field);
      assert.equal(props[field]!.additionalProperties!.maxLength, LABEL_VALUE_MAX_LENGTH, field);
    }
  });

  it('reserves the operator’s label and annotation keys, with the zod schema’s messages', () => {
    const keys = OPERATOR_LABEL_KEYS.map((key) => `'${key}'`).join(', ');
    assert.deepEqual(props.labels!['x-kubernetes-validations']![1], {
      rule: `self.all(k, !(k in [${keys}]) && !k.startsWith('${OPERATOR_KEY_PREFIX}'))`,
      message: RESERVED_LABELS_MESSAGE,
    });
    assert.deepEqual(props.annotations!['x-kubernetes-validations']![1], {
      rule: `self.all(k, !k.startsWith('${OPERATOR_KEY_PREFIX}'))`,
      message: RESERVED_ANNOTATIONS_MESSAGE,
    });
  });

  it('checks object names as DNS subdomains', () => {
    for (const name of [
      props.priorityClassName!,
      props.serviceAccountName!,
      props.imagePullSecrets!.items!.properties!.name!,
    ]) {
      assert.equal(name.pattern, DNS_SUBDOMAIN_PATTERN.source);
      assert.equal(name.maxLength, DNS_SUBDOMAIN_MAX_LENGTH);
    }
  });

  it('keeps unknown fields only inside the three affinity kinds', () => {
    assert.deepEqual(preservingPaths(runner, 'runner'), [
      'runner.affinity.nodeAffinity',
      'runner.affinity.podAffinity',
      'runner.affinity.podAntiAffinity',
    ]);
  });
});

describe('quantityProblem', () => {
  it('accepts what Kubernetes writes and refuses negatives and non-quantities, with the CRD’s messages', () => {
    for (const valid of ['0', '250m', '0.5', '2', 2, '128Mi', '1.5Gi', '1e3', '1E-2', '100n', '5u', '+1', '-0', '.5'])
      assert.equal(quantityProblem(valid), undefined, String(valid));
    for (const negative of ['-1', -1, '-250m', '-0.5Gi', '-1e3'])
      assert.equal(quantityProblem(negative), NEGATIVE_QUANTITY_MESSAGE, String(negative));
    for (const invalid of ['', 'one', '1 m', '200K', 'Mi', '1.5.5', '1e', '1e1.5', '1ki', '1e9223372036854775808'])
      assert.equal(quantityProblem(invalid), QUANTITY_MESSAGE, invalid);
    assert.equal(quantityProblem('1e-9223372036854775808'), undefined);
    assert.equal(quantityProblem('1'.repeat(QUANTITY_MAX_LENGTH + 1)), QUANTITY_MESSAGE);
  });
});

function keyRule(): string {
  return `self.all(k, k.matches('${QUALIFIED_NAME_PATTERN.source}') && k.indexOf('/') <= ${DNS_SUBDOMAIN_MAX_LENGTH})`;
}
