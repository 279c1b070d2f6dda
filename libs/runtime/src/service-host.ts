// Hosts one Sluice service in its own process: validated config, logger, NATS bus, metrics, admin port, signals.
// Each app's main.ts is one call to hostService; the embedded mode composes the same factories over an in-process bus.
import { setFlagsFromString } from 'node:v8';
import { Bus, NatsTransport } from '@sluice/bus';
import { Subjects } from '@sluice/contracts';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { defineConfig, v, type ConfigDefinition, type VarSpec } from './config.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry, startAdminServer, type Readiness } from './admin-server.js';
import { runService } from './lifecycle.js';

export interface ServiceDeps {
  bus: Bus;
  subjects: Subjects;
  logger: Logger;
  registry: Registry;
  /** The admin HTTP server's configured port (0: chosen when it starts), for services that advertise it. */
  adminPort?: number;
}

export interface RunningService {
  readiness(): Readiness;
  /** Graceful stop: stop accepting, finish in-flight work, flush, deregister. */
  stop(): Promise<void>;
}

export type ServiceFactory<C> = (config: C, deps: ServiceDeps) => Promise<RunningService>;

/** The variables every service process reads, besides its own. */
export function hostConfig(service: string, adminPort: number) {
  return defineConfig(service, {
    clusterId: v.string('SLUICE_CLUSTER_ID', 'Cluster id: the prefix of every bus subject; all services of a cluster share it', {
      default: 'sluice',
    }),
    natsUrl: v.list('SLUICE_NATS_URL', 'NATS server URL(s), comma-separated', { default: ['nats://127.0.0.1:4222'] }),
    adminHost: v.string('SLUICE_ADMIN_HOST', 'Interface of the admin HTTP server (/healthz, /readyz, /metrics)', { default: '0.0.0.0' }),
    adminPort: v.port('SLUICE_ADMIN_PORT', 'Port of the admin HTTP server (0: any free port)', { default: adminPort }),
    logLevel: v.oneOf('SLUICE_LOG_LEVEL', 'Log level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  });
}

export interface HostOptions<S extends Record<string, VarSpec<unknown>>, C> {
  service: string;
  description: string;
  adminPort: number;
  config: ConfigDefinition<S>;
  start: ServiceFactory<C>;
  /**
   * Compile WebAssembly with V8's baseline compiler only. For services whose only WebAssembly is Prisma's query
   * compiler and schema engine, run a few times a second at most: the optimising tier's code and memory cost about
   * 30 MB of resident memory at idle for no gain there (`npm run bench:memory`).
   */
  baselineWasm?: boolean;
}

export function hostService<S extends Record<string, VarSpec<unknown>>>(
  options: HostOptions<S, ReturnType<ConfigDefinition<S>['load']>>,
): Promise<void> {
  const host = hostConfig(options.service, options.adminPort);
  const help = [
    `sluice ${options.service}: ${options.description}`,
    '',
    `Usage: node apps/${options.service}/dist/main.js [--help]`,
    '',
    'Configuration is read from environment variables:',
    host.help(),
    options.config.help(),
    '',
    'SIGTERM or SIGINT stops the service gracefully.',
  ].join('\n');
  // Before anything compiles WebAssembly (Prisma compiles its modules at the first query).
  if (options.baselineWasm) setFlagsFromString('--liftoff-only');
  return runService({
    help,
    start: async () => {
      const hostVars = host.load();
      const config = options.config.load();
      const logger = createLogger({ service: options.service, level: hostVars.logLevel });
      const subjects = new Subjects(hostVars.clusterId);
      const transport = await NatsTransport.connect({ servers: hostVars.natsUrl, name: options.service });
      logger.info({ nats: hostVars.natsUrl, maxPayload: transport.maxPayload }, 'connected to NATS');
      const bus = new Bus(transport, { onError: (err, subject) => logger.warn({ err, subject }, 'bus message failed') });
      const registry = createMetricsRegistry(options.service);
      const running = await options.start(config, { bus, subjects, logger, registry, adminPort: hostVars.adminPort });
      const admin = await startAdminServer({
        host: hostVars.adminHost,
        port: hostVars.adminPort,
        service: options.service,
        registry,
        logger,
        readiness: () => running.readiness(),
      });
      logger.info({ adminPort: admin.port }, `${options.service} started`);
      return {
        logger,
        service: {
          stop: async () => {
            await running.stop();
            await admin.close();
            await bus.close();
          },
        },
      };
    },
  });
}
