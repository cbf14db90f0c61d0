/** The LoadTests README and examples/ show are valid: the CRD accepts every one of them as written. */
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCrd, kubectl, REPO } from '../operator/cluster.js';

describe('examples/', function () {
  const manifests = readdirSync(join(REPO, 'examples')).filter((file) => file.endsWith('.yaml'));

  before(async function () {
    await ensureCrd();
  });

  it('has LoadTest manifests to check', function () {
    assert.ok(manifests.includes('seed-loadtest.yaml') && manifests.includes('demo-loadtest.yaml'), manifests.join());
  });

  for (const file of manifests) {
    it(`${file} is accepted by the CRD (server-side dry run)`, async function () {
      const output = await kubectl(['apply', '--dry-run=server', '-n', 'default', '-f', join(REPO, 'examples', file)]);
      assert.match(output, /loadtest\.example\.org\/\S+ (created|configured|unchanged) \(server dry run\)/);
    });
  }
});
