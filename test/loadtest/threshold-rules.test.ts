/**
 * One rule for thresholds at every door: what the zod schema (run --local, the typed client) accepts, the
 * evaluator can evaluate, and the reverse; and the admission policy beside the CRD states the very same rules (its CEL
 * is generated from THRESHOLD_RULES). The apiserver's side is checked in threshold-rules.integration.test.ts.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { DURATION_PATTERN } from '../../src/loadtest/duration.js';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { sampleResults } from '../workflows/fake-backend.js';
import { generatedThresholds } from './threshold-samples.js';
import { evaluateThresholds, parseThreshold } from '../../src/loadtest/thresholds.js';
import { LOADTEST_POLICY_NAME, loadTestValidationPolicy } from '../../src/loadtest/validation-policy.js';
import { fileURLToPath } from 'node:url';

const CRD_FILE = fileURLToPath(new URL('../../../crds/loadtest.yaml', import.meta.url));
const POLICY_FILE = fileURLToPath(new URL('../../../crds/loadtest-validation.yaml', import.meta.url));

interface CrdDocument {
  spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: CrdSpec } } } }> };
}
interface CrdSpec {
  'x-kubernetes-validations'?: unknown[];
  properties: {
    thresholds: { items: Record<string, unknown> };
    test: { properties: Record<string, { pattern?: string }> };
  };
}
interface PolicyDocument {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const results = sampleResults();

function schemaProblems(threshold: string): string[] {
  return validateLoadTestSpec({ replicas: 1, test: { url: 'http://target/' }, thresholds: [threshold] }).problems;
}

function evaluatorAccepts(threshold: string): boolean {
  try {
    parseThreshold(threshold);
    evaluateThresholds(results, [threshold]);
    return true;
  } catch {
    return false;
  }
}

describe('threshold rules', () => {
  it('the schema accepts a threshold exactly when the evaluator does, over ~6000 generated strings', () => {
    const strings = generatedThresholds();
    const disagreements = strings.filter((text) => (schemaProblems(text).length === 0) !== evaluatorAccepts(text));
    assert.deepEqual(disagreements, []);
    // Both sides of the equivalence are exercised.
    const accepted = strings.filter((text) => schemaProblems(text).length === 0);
    assert.ok(accepted.length > 200 && accepted.length < strings.length / 2, `${accepted.length} accepted`);
  });

  it('rejects a unit that does not fit its metric at the door, saying which units fit', () => {
    assert.deepEqual(schemaProblems('p99 < 5%'), [
      'spec.thresholds.0: latency thresholds (p50, p90, p95, p99, p99.9, max, mean) take ms, s or us, e.g. "p99 < 250ms"',
    ]);
    assert.match(schemaProblems('errorRate < 5ms')[0]!, /errorRate takes a percentage or a fraction/);
    assert.match(schemaProblems('rps > 5s')[0]!, /rps takes no unit/);
    assert.match(schemaProblems('p98 < 5ms')[0]!, /thresholds look like/);
    for (const valid of [
      'p99 < 250ms',
      'p99.9 <= 1.5s',
      'mean<900us',
      'errorRate < 1%',
      'errorRate < 0.01',
      'rps > 1000',
    ])
      assert.deepEqual(schemaProblems(valid), [], valid);
  });

  it('are what the admission policy beside the CRD states, rule for rule and message for message', () => {
    const [policy, binding] = parseAllDocuments(readFileSync(POLICY_FILE, 'utf8')).map(
      (document) => document.toJS() as PolicyDocument,
    );
    const { matchConditions, variables, validations } = policy!.spec;

    assert.deepEqual(
      { matchConditions, variables, validations },
      loadTestValidationPolicy(),
      'regenerate crds/loadtest-validation.yaml from loadTestValidationPolicy() (src/loadtest/validation-policy.ts)',
    );
    assert.deepEqual(
      [policy!.kind, policy!.metadata.name, binding!.kind, binding!.spec],
      [
        'ValidatingAdmissionPolicy',
        LOADTEST_POLICY_NAME,
        'ValidatingAdmissionPolicyBinding',
        { policyName: LOADTEST_POLICY_NAME, validationActions: ['Deny'] },
      ],
    );
  });

  it("leave the CRD's threshold items untyped, with no CEL rule on or above them", () => {
    // The API server refuses a CRD with x-kubernetes-validations over an untyped node: the policy checks them.
    const crd = parse(readFileSync(CRD_FILE, 'utf8')) as CrdDocument;
    const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    assert.deepEqual(spec.properties.thresholds.items, { 'x-kubernetes-preserve-unknown-fields': true });
    assert.equal(spec['x-kubernetes-validations'], undefined);
  });

  it('durations in the CRD follow the one duration pattern', () => {
    const crd = parse(readFileSync(CRD_FILE, 'utf8')) as CrdDocument;
    const test = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.test;
    assert.equal(test.properties.duration?.pattern, DURATION_PATTERN.source);
    assert.equal(test.properties.timeout?.pattern, DURATION_PATTERN.source);
  });
});
