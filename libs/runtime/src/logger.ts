// Structured logs (pino): one JSON line per event, with the service and node id on every line.
import { isSluiceError } from '@sluice/protocol';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level?: LevelWithSilent | string;
  fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino({
    level: options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info',
    base: { service: options.service, pid: process.pid, ...options.fields },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** What logFailure needs of a logger (a pino logger, or Fastify's request logger). */
export interface FailureLogger {
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/**
 * Logs a failure once at the level it deserves: a retriable error (the controller not answering yet, a leader moving)
 * at warn with its code and message only, anything else at error with its stack.
 */
export function logFailure(logger: FailureLogger, err: unknown, msg: string, fields: Record<string, unknown> = {}): void {
  if (isSluiceError(err) && err.retriable) logger.warn({ ...fields, error: { code: err.code, message: err.message } }, msg);
  else logger.error({ ...fields, err }, msg);
}
