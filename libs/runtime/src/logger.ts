// Structured logs (pino): one JSON line per event, with the service and node id on every line.
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
