/**
 * The workflow bundle holds only what workflows need (src/loadtest/target.ts says why): with zod and the spec's
 * schemas in it, every cached workflow carried them, and the bundle was 3.1 MB instead of 1.9 MB.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { strict as assert } from 'node:assert';
import { WORKFLOWS_PATH } from '../../src/temporal/workflow-bundle.js';

describe('the workflow bundle', function () {
  this.timeout(60_000);

  it('leaves out zod and the spec schemas', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
    const modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"/gm)].map((match) => match[1]!);
    assert.ok(modules.length > 0, 'no module names found in the bundle');
    assert.deepEqual(
      modules.filter((name) => /node_modules\/zod\/|src\/loadtest\/spec\.js/.test(name)),
      [],
    );
  });
});

const silent = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
