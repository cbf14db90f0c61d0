/**
 * Where the workflow code is, for every worker (the operator's and local mode's), and the workflow code as one
 * pre-built bundle, so that production workers start without running webpack.
 * `node dist/src/temporal/workflow-bundle.js` writes it next to the compiled code (dist/workflow-bundle.js), where
 * `loadtest-operator worker` looks for it first.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../../workflow-bundle.js', import.meta.url));

/**
 * What Worker.create needs for the workflow code: `bundlePath` when given (it must exist), else the bundle next to
 * the compiled code when built, else the sources.
 */
export function workflowCodeOptions(
  bundlePath?: string,
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  if (bundlePath !== undefined) {
    if (!existsSync(bundlePath)) throw new Error(`WORKFLOW_BUNDLE ${bundlePath} does not exist`);
    return { workflowBundle: { codePath: bundlePath } };
  }
  return existsSync(WORKFLOW_BUNDLE_PATH)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH };
}

export async function writeWorkflowBundle(path = WORKFLOW_BUNDLE_PATH): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  await writeFile(path, code);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`workflow bundle written to ${await writeWorkflowBundle(process.argv[2])}\n`);
}
