// `sluice dev`: the embedded mode — controller, brokers, group coordinator and gateway in one process over the
// in-process bus, with SQLite and all data under one directory. Composition only: the services are the same libraries.
import { join, resolve } from 'node:path';
import { startBroker, brokerConfig } from '@sluice/broker-service';
import { Bus, InProcessTransport } from '@sluice/bus';
import { controllerConfig, startController } from '@sluice/controller-service';
import { gatewayConfig, startGateway } from '@sluice/gateway-service';
import { groupCoordinatorConfig, startGroupCoordinator } from '@sluice/group-coordinator-service';
import { Subjects } from '@sluice/contracts';
import {
  createLogger,
  createMetricsRegistry,
  defineConfig,
  lockDataDir,
  logFailure,
  runService,
  startAdminServer,
  v,
  type RunningService,
  type ServiceDeps,
} from '@sluice/runtime';

export const devConfig = defineConfig('dev', {
  dataDir: v.string('SLUICE_DATA_DIR', 'Directory for all data (controller database, broker logs)', { default: './data' }),
  brokers: v.int('SLUICE_BROKERS', 'Number of brokers in the process', { default: 1, min: 1, max: 16 }),
  clusterId: v.string('SLUICE_CLUSTER_ID', 'Cluster id', { default: 'sluice' }),
  adminHost: v.string('SLUICE_ADMIN_HOST', 'Interface of the admin HTTP server', { default: '127.0.0.1' }),
  adminPort: v.port('SLUICE_ADMIN_PORT', 'Port of the admin HTTP server (/healthz, /readyz, /metrics)', { default: 9600 }),
  logLevel: v.oneOf('SLUICE_LOG_LEVEL', 'Log level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
});

export function devHelp(): string {
  return [
    'sluice dev: controller, broker(s), group coordinator and gateway in one process (no external servers).',
    '',
    'Configuration (environment variables):',
    devConfig.help(),
    '',
    'The gateway, controller and broker variables apply too, e.g.:',
    gatewayConfig.help(),
    '',
  ].join('\n');
}

/** Loads a service's config with `overrides` taking the place of variables the embedded mode sets itself. */
function load<T>(definition: { load(source: Record<string, string | undefined>): T }, overrides: Record<string, string>): T {
  return definition.load({ ...process.env, ...overrides });
}

export async function runDev(): Promise<void> {
  await runService({
    help: devHelp(),
    argv: [],
    start: async () => {
      const config = devConfig.load();
      const dataDir = resolve(config.dataDir);
      // Service configs are read before anything starts, so a bad variable stops the process at once.
      const controller = load(controllerConfig, { SLUICE_DATA_DIR: join(dataDir, 'controller') });
      const brokers = Array.from({ length: config.brokers }, (_, i) =>
        load(brokerConfig, { SLUICE_DATA_DIR: join(dataDir, `broker-${i + 1}`), SLUICE_BROKER_ID: String(i + 1) }),
      );
      const coordinator = load(groupCoordinatorConfig, { SLUICE_DATA_DIR: join(dataDir, 'group-coordinator') });
      const gateway = load(gatewayConfig, {});

      const logger = createLogger({ service: 'sluice', level: config.logLevel, fields: { mode: 'embedded' } });
      // The whole directory, before any service opens its part of it (each also locks its own).
      const lock = await lockDataDir(dataDir, 'sluice dev', logger);
      const bus = new Bus(new InProcessTransport(), { onError: (err, subject) => logFailure(logger, err, 'bus message failed', { subject }) });
      const registry = createMetricsRegistry('sluice');
      const subjects = new Subjects(config.clusterId);
      const deps = (service: string, fields: Record<string, unknown> = {}): ServiceDeps => ({
        bus,
        subjects,
        registry,
        logger: logger.child({ component: service, ...fields }),
      });
      const started: Array<{ name: string; service: RunningService }> = [];
      const stopAll = async (): Promise<void> => {
        for (const s of started.reverse()) {
          await s.service.stop().catch((err: unknown) => logger.error({ err, service: s.name }, 'stop failed'));
        }
      };
      let kafkaAt = '';
      let httpAt = '';
      try {
        started.push({ name: 'controller', service: await startController(controller, deps('controller')) });
        const brokerServices = await Promise.all(brokers.map((b, i) => startBroker(b, deps('broker', { brokerId: i + 1 }))));
        brokerServices.forEach((service, i) => started.push({ name: `broker-${i + 1}`, service }));
        started.push({ name: 'group-coordinator', service: await startGroupCoordinator(coordinator, deps('group-coordinator')) });
        const running = await startGateway(gateway, deps('gateway'));
        started.push({ name: 'gateway', service: running });
        kafkaAt = `${gateway.advertisedHost}:${running.kafkaPort}`;
        httpAt = `http://${gateway.advertisedHost}:${running.httpPort}`;
      } catch (err) {
        await stopAll();
        await lock.release();
        throw err;
      }
      const admin = await startAdminServer({
        host: config.adminHost,
        port: config.adminPort,
        service: 'sluice',
        registry,
        logger,
        readiness: () => {
          const notReady = started.map((s) => ({ name: s.name, r: s.service.readiness() })).filter((s) => !s.r.ready);
          return notReady.length === 0
            ? { ready: true }
            : { ready: false, reason: notReady.map((s) => `${s.name}: ${s.r.reason ?? 'not ready'}`).join('; ') };
        },
      });
      logger.info({ dataDir, brokers: config.brokers, adminPort: admin.port, kafka: kafkaAt, http: httpAt }, 'sluice started (embedded)');
      // Where to go next, as the last line of a start.
      const consoleAt = gateway.consoleEnabled ? `${httpAt}/console` : undefined;
      logger.info(
        { kafka: kafkaAt, http: httpAt, console: consoleAt },
        `ready: Kafka clients at ${kafkaAt}, HTTP API at ${httpAt} (docs at ${httpAt}/docs)${consoleAt ? `, web console at ${consoleAt}` : ''}; try \`npx sluice cluster info\``,
      );
      return {
        logger,
        service: {
          stop: async () => {
            await stopAll();
            await admin.close();
            await bus.close();
            await lock.release();
          },
        },
      };
    },
  });
}
