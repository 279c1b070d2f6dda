// Process lifecycle for a service: --help, config errors, graceful shutdown on SIGTERM/SIGINT.
import type { Logger } from 'pino';
import { ConfigError } from './config.js';
import { DataDirLockedError } from './data-dir-lock.js';

export interface Stoppable {
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Text printed for --help / -h. */
  help: string;
  argv?: string[];
  /** Starts the service; the config is loaded inside, so a ConfigError is reported cleanly. */
  start: () => Promise<{ service: Stoppable; logger: Logger }>;
  /** How long a graceful stop may take before the process exits anyway. */
  shutdownTimeoutMs?: number;
}

/** Prints help and returns true when argv asks for it. */
export function wantsHelp(argv: string[] = process.argv.slice(2)): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export async function runService(options: RunOptions): Promise<void> {
  if (wantsHelp(options.argv)) {
    process.stdout.write(options.help.endsWith('\n') ? options.help : options.help + '\n');
    return;
  }
  let started: { service: Stoppable; logger: Logger };
  try {
    started = await options.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nRun with --help for the list of variables.\n`);
      process.exit(2);
    }
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`failed to start: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
  const { service, logger } = started;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timeout = setTimeout(() => {
      logger.error({ timeoutMs: options.shutdownTimeoutMs ?? 15_000 }, 'graceful shutdown timed out');
      process.exit(1);
    }, options.shutdownTimeoutMs ?? 15_000);
    timeout.unref();
    service.stop().then(
      () => {
        logger.info('stopped');
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => {
    logger.error({ err }, 'unhandled promise rejection');
  });
}
