// Public API of the loadtest-operator package.
export * from './loadtest/spec.js';
export * from './runner/contract.js';
