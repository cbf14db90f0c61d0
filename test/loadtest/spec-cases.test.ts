/**
 * The zod schema answers like the CRD: every row of test/crds/spec-cases.ts (which the CRD's own test applies to
 * the API server) through validateLoadTestSpec, the check `run --local` and the typed client rely on.
 */
import { strict as assert } from 'node:assert';
import { validateLoadTestSpec } from '../../src/loadtest/spec.js';
import { SPEC_CASES } from '../crds/spec-cases.js';

describe('the LoadTest zod schema on the CRD cases', () => {
  for (const { name, spec, valid, messageIncludes } of SPEC_CASES) {
    it(`${valid ? 'accepts' : 'rejects'} ${name}`, () => {
      const { spec: parsed, problems } = validateLoadTestSpec(spec);

      if (valid) {
        assert.deepEqual(problems, []);
        assert.ok(parsed);
        return;
      }
      assert.equal(parsed, undefined);
      const message = problems.join('; ');
      for (const text of messageIncludes) {
        assert.ok(message.toLowerCase().includes(text.toLowerCase()), `"${message}" does not name "${text}"`);
      }
    });
  }

  it('fills in the defaults of fields given as null, as the API server does', () => {
    const { spec } = validateLoadTestSpec({ replicas: 1, test: { serviceName: 'a', port: null, path: null } });

    assert.equal(spec?.test.port, 80);
    assert.equal(spec?.test.path, '/');
  });
});
