/**
 * How a LoadTest workflow is started, whoever starts it (the watcher for a LoadTest object, the typed client
 * without one): the same id, input, Web UI summary and details, and search attributes. Pure: it builds the
 * options; the caller's Temporal client makes the call.
 */
import { loadTestDetails, loadTestSummary } from '../src/loadtest/describe.js';
import { loadTestSearchAttributes } from '../src/loadtest/search-attributes.js';
import { loadTestWorkflowId } from '../src/loadtest/workflow-id.js';
import { validSpecOf, type LoadTestWorkflowInput } from './definitions.js';

/** The options of `client.workflow.start` / `signalWithStart` for a LoadTest's workflow. */
export function loadTestStartOptions(input: LoadTestWorkflowInput, taskQueue: string) {
  const { loadTest, desired } = input;
  const spec = validSpecOf(desired);
  return {
    workflowId: loadTestWorkflowId(loadTest),
    taskQueue,
    args: [input] as [LoadTestWorkflowInput],
    // Shown at the top of the run in the Temporal Web UI (first run; later runs show current details).
    staticSummary: loadTestSummary(loadTest, spec),
    staticDetails: loadTestDetails(loadTest, spec),
    typedSearchAttributes: loadTestSearchAttributes(loadTest, 'pending', desired.generation),
  };
}
