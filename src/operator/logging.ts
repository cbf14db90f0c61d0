/**
 * One pino logger per process, for the operator's own lines and the Temporal SDK's (worker, workflow `log.*`,
 * activity `log.*`) alike: JSON on stdout (what a pod's log collector reads; readable lines on a terminal), at
 * LOG_LEVEL, errors with their stack under `err`. Runtime.install works once per process and only before the first Worker or
 * NativeConnection, so only the worker command calls installTemporalRuntime.
 */
import { Runtime, type LogLevel } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevelName } from '../config.js';
import { sdkLoggerFor } from '../temporal/sdk-logger.js';

/**
 * The process's logger (`name` is worker or watcher): JSON lines, or readable lines when `stream` is a terminal
 * (coloured unless NO_COLOR is set or TERM=dumb).
 */
export function createProcessLogger(
  name: string,
  level: LogLevelName,
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Logger {
  if (stream.isTTY !== true) return stream === process.stdout ? pino({ name, level }) : pino({ name, level }, stream);
  const colorize = env.NO_COLOR === undefined && env.TERM !== 'dumb';
  return pino({ name, level }, pretty({ destination: stream, colorize, sync: true }));
}

/** The SDK's threshold for `level`: lines below it are not even produced. */
function sdkLevel(level: LogLevelName): LogLevel {
  if (level === 'trace' || level === 'debug' || level === 'info' || level === 'warn' || level === 'error') {
    return level.toUpperCase() as LogLevel;
  }
  return 'ERROR';
}

/**
 * Routes the SDK's logs to `logger` and, when `sdkMetricsPort` is not 0, serves the SDK's own Prometheus metrics
 * on that port (all interfaces, `/metrics`).
 */
export function installTemporalRuntime(logger: Logger, level: LogLevelName, sdkMetricsPort: number): void {
  Runtime.install({
    logger: sdkLoggerFor(logger, sdkLevel(level)),
    telemetryOptions:
      sdkMetricsPort === 0 ? undefined : { metrics: { prometheus: { bindAddress: `0.0.0.0:${sdkMetricsPort}` } } },
  });
}
