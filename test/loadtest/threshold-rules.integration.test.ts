/**
 * The apiserver answers every threshold as the zod schema does: a generated sample of near misses and valid
 * thresholds, applied with a server-side dry run, is rejected exactly where validateLoadTestSpec rejects it,
 * with the same message. Every other batch writes them in the object form, {threshold: "..."}: the admission policy
 * (crds/loadtest-validation.yaml) checks both forms, and names each invalid item in one denial.
 */
import { strict as assert } from 'node:assert';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { ensureCrd, KubectlError, kubectl, loadTestManifest } from '../operator/cluster.js';
import { generatedThresholds } from './threshold-samples.js';

/** The CRD takes at most 32 thresholds per LoadTest. */
const BATCH = 32;

/** One item of the policy's denial: `spec.thresholds[3]: message`, items separated by "; ". */
const POLICY_ITEM = /spec\.thresholds\[(\d+)\]: (.+?)(?=; spec\.thresholds\[|$)/gm;

/** index → message of every threshold the apiserver rejected in one dry-run apply. */
async function apiserverProblems(thresholds: unknown[]): Promise<Map<number, string>> {
  const manifest = loadTestManifest('default', 'threshold-rules', {
    replicas: 1,
    test: { url: 'http://target/' },
    thresholds,
  });
  const problems = new Map<number, string>();
  try {
    await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(manifest));
  } catch (error) {
    if (!(error instanceof KubectlError)) throw error;
    assert.match(error.message, /ValidatingAdmissionPolicy '[^']+' with binding '[^']+' denied request/);
    for (const match of error.message.matchAll(POLICY_ITEM)) {
      problems.set(Number(match[1]), match[2]!.trim());
    }
    assert.ok(problems.size > 0, `kubectl failed without naming a threshold: ${error.message}`);
  }
  return problems;
}

describe('threshold rules at the apiserver', function () {
  before(async () => {
    await ensureCrd();
  });

  it('rejects exactly the generated thresholds the schema rejects, with the same message', async function () {
    // Every 7th generated string: each metric, operator, number and unit appears, and both spacings.
    const sample = generatedThresholds().filter((_, index) => index % 7 === 0);
    const disagreements: string[] = [];
    let rejected = 0;
    for (let start = 0; start < sample.length; start += BATCH) {
      const batch = sample.slice(start, start + BATCH);
      const asObjects = (start / BATCH) % 2 === 1;
      const apiserver = await apiserverProblems(asObjects ? batch.map((threshold) => ({ threshold })) : batch);
      rejected += apiserver.size;
      batch.forEach((threshold, index) => {
        const entry = asObjects ? { threshold } : threshold;
        const schema = validateLoadTestSpec({ replicas: 1, test: { url: 'http://x/' }, thresholds: [entry] });
        const expected = schema.problems[0]?.replace(/^spec\.thresholds\.0: /, '');
        if (apiserver.get(index) !== expected) {
          disagreements.push(`"${threshold}": apiserver ${apiserver.get(index)}, schema ${expected}`);
        }
      });
    }
    assert.deepEqual(disagreements, []);
    assert.ok(rejected > 0 && rejected < sample.length, `${rejected} of ${sample.length} rejected`);
  });
});
