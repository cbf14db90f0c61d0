/**
 * The Temporal SDK's Runtime is a per-process singleton that must be installed before any Worker exists:
 * install it once for the whole mocha run, with workers' logs at WARN so test output stays readable.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
