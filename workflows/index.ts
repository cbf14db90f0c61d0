// Entry point of the workflow bundle (Worker `workflowsPath`): every workflow the operator registers.
export { loadTestWorkflow } from './loadtest.js';
export { loadTestRunWorkflow } from './run.js';
