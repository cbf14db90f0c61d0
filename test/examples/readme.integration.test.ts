/** Every YAML manifest README.md shows is valid: the API server, with the CRD installed, accepts each as written. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCrd, kubectl, REPO } from '../operator/cluster.js';

/** The contents of every ```yaml fenced block in `markdown`, in order. */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

describe('README.md', function () {
  const blocks = yamlBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'));

  before(async function () {
    await ensureCrd();
  });

  it('has YAML examples to check', function () {
    assert.ok(blocks.length >= 1, 'no ```yaml block found in README.md');
    assert.ok(
      blocks.some((block) => /^kind: LoadTest$/m.test(block)),
      'README.md shows no LoadTest',
    );
  });

  for (const [index, block] of blocks.entries()) {
    const name = /^ {2}name: (\S+)$/m.exec(block)?.[1] ?? `block ${index + 1}`;
    it(`YAML example ${index + 1} (${name}) is accepted by the API server (server-side dry run)`, async function () {
      const output = await kubectl(['apply', '--dry-run=server', '-n', 'default', '-f', '-'], block);
      assert.match(output, /\S+ (created|configured|unchanged) \(server dry run\)/);
    });
  }
});
