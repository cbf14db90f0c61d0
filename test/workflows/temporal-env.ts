/**
 * A real Temporal dev server for tests (the project's cached CLI binary, never a download) with the
 * LoadTest search attributes, and the workflow bundle built once per test process.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { ensureTemporalCli } from '../../src/temporal/dev-server.js';
import {
  LOADTEST_GENERATION,
  LOADTEST_NAME,
  LOADTEST_NAMESPACE,
  LOADTEST_STATE,
} from '../../src/loadtest/search-attributes.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));

export async function startTestEnvironment(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await ensureTemporalCli() },
      searchAttributes: [LOADTEST_NAMESPACE, LOADTEST_NAME, LOADTEST_STATE, LOADTEST_GENERATION],
      extraArgs: ['--log-level', 'error'],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const ignore = () => {};
const quietLogger = { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: ignore, error: console.error };
