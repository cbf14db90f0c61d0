/**
 * The Temporal SDK's logs (worker, workflow and activity `log.*`) as lines of a pino logger, for every process
 * mode: tagged `component: temporal`, and with errors under `err`, where pino serializes them with their stack
 * (the SDK puts them under `error`).
 */
import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** An SDK logger that writes to `logger` the SDK's lines at `level` and above. */
export function sdkLoggerFor(logger: Logger, level: LogLevel): DefaultLogger {
  return new DefaultLogger(level, ({ message, meta, level: entryLevel }) => {
    const fields: Record<string, unknown> = { ...meta, component: 'temporal' };
    if (fields.error instanceof Error) {
      fields.err = fields.error;
      delete fields.error;
    }
    logger[PINO_LEVELS[entryLevel]](fields, message);
  });
}
