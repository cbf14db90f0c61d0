/**
 * Logs of the CLI's in-process worker (local mode): pino, to a file by default so the terminal shows only what
 * people asked for, or to stderr with --verbose. The Temporal SDK's own logs (worker, workflow `log.*`) are
 * routed there too.
 */
import { Runtime } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { sdkLoggerFor } from '../temporal/sdk-logger.js';

/** A pino logger writing to `file`, or to stderr when `verbose`. */
export function createLogger(options: { file: string; verbose: boolean }): Logger {
  return options.verbose
    ? pino({ level: 'debug' }, pino.destination({ dest: 2, sync: true }))
    : pino({ level: 'info' }, pino.destination({ dest: options.file, sync: true, mkdir: true }));
}

/**
 * Sends the Temporal SDK's logs to `logger`, and leaves signals to the command. Runtime.install works once per process and only before the first
 * Worker or NativeConnection, so only commands (never library code or tests) call this.
 */
export function routeTemporalLogs(logger: Logger): void {
  Runtime.install({
    // The command decides what Ctrl-C means (stop the runners first); the SDK would shut the worker down at once.
    shutdownSignals: [],
    logger: sdkLoggerFor(logger, 'INFO'),
  });
}
