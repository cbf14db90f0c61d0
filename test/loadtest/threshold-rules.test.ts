/**
 * One rule for thresholds at every door: what the zod schema (run --local, the typed client) accepts, the
 * evaluator can evaluate, and the reverse; and the CRD states the very same rules (its CEL is generated from
 * THRESHOLD_RULES). The apiserver's side is checked in threshold-rules.integration.test.ts.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DURATION_PATTERN } from '../../src/loadtest/duration.js';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { sampleResults } from '../workflows/fake-backend.js';
import { generatedThresholds } from './threshold-samples.js';
import { celRule, evaluateThresholds, parseThreshold, THRESHOLD_RULES } from '../../src/loadtest/thresholds.js';
import { fileURLToPath } from 'node:url';

const CRD_FILE = fileURLToPath(new URL('../../../crds/loadtest.yaml', import.meta.url));

/** The CRD's rules for one threshold string, as written in crds/loadtest.yaml. */
function crdThresholdRules(): Array<{ rule: string; message: string }> {
  const crd = parse(readFileSync(CRD_FILE, 'utf8')) as CrdDocument;
  const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
  return spec.properties.thresholds.items['x-kubernetes-validations'];
}

interface CrdDocument {
  spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: CrdSpec } } } }> };
}
interface CrdSpec {
  properties: {
    thresholds: { items: { 'x-kubernetes-validations': Array<{ rule: string; message: string }> } };
    test: { properties: Record<string, { pattern?: string }> };
  };
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

  it('are what the CRD states, rule for rule and message for message', () => {
    assert.deepEqual(
      crdThresholdRules(),
      THRESHOLD_RULES.map((rule) => ({ rule: celRule(rule), message: rule.message })),
      'regenerate the CEL rules in crds/loadtest.yaml from THRESHOLD_RULES (celRule)',
    );
  });

  it('durations in the CRD follow the one duration pattern', () => {
    const crd = parse(readFileSync(CRD_FILE, 'utf8')) as CrdDocument;
    const test = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.test;
    assert.equal(test.properties.duration?.pattern, DURATION_PATTERN.source);
    assert.equal(test.properties.timeout?.pattern, DURATION_PATTERN.source);
  });
});
