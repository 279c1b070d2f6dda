// The multi-process stack for integration tests: controller, brokers, group coordinator and gateway as real child
// processes from their build output, over a real NATS server, with SQLite or PostgreSQL behind the controller.
import { join } from 'node:path';
import { freePort, tempDir, waitFor, type TempDir } from './ports.js';
import { appEntry, ServiceProcess } from './service-process.js';

export interface StackOptions {
  natsUrl: string;
  brokers?: number;
  /** Controller database; SQLite in the stack's temp dir when absent. */
  databaseUrl?: string;
  /** Controller instances (1 by default): one active, the others standing by. Several need a PostgreSQL `databaseUrl`. */
  controllers?: number;
  sessionTimeoutMs?: number;
  /** Number of group coordinator processes (1 by default). Several need `groupsDatabaseUrl` (a shared PostgreSQL). */
  coordinators?: number;
  /** Number of gateway processes (1 by default); each is a Kafka broker to clients. */
  gateways?: number;
  /** The coordinators' offsets database; SQLite in each coordinator's data dir when absent. */
  groupsDatabaseUrl?: string;
  heartbeatIntervalMs?: number;
  /** Extra variables for every process. */
  env?: Record<string, string>;
  /** Node flags for every process (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

export interface RunningStack {
  clusterId: string;
  dir: TempDir;
  /** The first controller instance (active when the stack started). */
  controller: ServiceProcess;
  /** Every controller instance, by index (0 = the first). */
  controllers: ServiceProcess[];
  /** Starts controller instance `index` (again). */
  startController(index: number): Promise<ServiceProcess>;
  brokers: Map<number, ServiceProcess>;
  /** The first group coordinator. */
  coordinator: ServiceProcess;
  coordinators: ServiceProcess[];
  /** The first gateway, its HTTP URL and its Kafka listener (host:port). */
  gateway: ServiceProcess;
  httpUrl: string;
  kafkaBootstrap: string;
  /** Every gateway. */
  gateways: RunningGateway[];
  /** Starts broker `id` (again), with its same data directory. */
  startBroker(id: number): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface RunningGateway {
  process: ServiceProcess;
  httpUrl: string;
  kafkaBootstrap: string;
}

async function adminPortOf(p: ServiceProcess, service: string): Promise<number> {
  const line = await p.waitForMessage(`${service} started`, {}, 30_000);
  return Number(line.json?.adminPort);
}

/** Waits until the process's /readyz answers 200. */
export async function waitReady(p: ServiceProcess, service: string, timeoutMs = 30_000): Promise<number> {
  const port = await adminPortOf(p, service);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, { timeoutMs, what: `${p.name} ready` });
  return port;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const dir = await tempDir('sluice-stack-');
  const clusterId = `test_${Math.random().toString(36).slice(2, 10)}`;
  const common: Record<string, string> = {
    SLUICE_NATS_URL: options.natsUrl,
    SLUICE_CLUSTER_ID: clusterId,
    SLUICE_ADMIN_PORT: '0',
    SLUICE_ADMIN_HOST: '127.0.0.1',
    ...options.env,
  };
  const logDir = join(dir.path, 'logs');
  const processes: ServiceProcess[] = [];
  const spawn = async (name: string, app: Parameters<typeof appEntry>[0], env: Record<string, string>): Promise<ServiceProcess> => {
    const p = await ServiceProcess.start({ name, entry: appEntry(app), env: { ...common, ...env }, logDir, nodeArgs: options.nodeArgs });
    processes.push(p);
    return p;
  };
  const controllers: ServiceProcess[] = [];
  const startController = async (index: number): Promise<ServiceProcess> => {
    const p = await spawn(index === 0 ? 'controller' : `controller-${index + 1}`, 'controller', {
      SLUICE_DATA_DIR: join(dir.path, index === 0 ? 'controller' : `controller-${index + 1}`),
      DATABASE_URL: options.databaseUrl ?? '',
      SLUICE_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 4000),
      SLUICE_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 500),
    });
    controllers[index] = p;
    await waitReady(p, 'controller');
    return p;
  };
  try {
    // The first one first, so that it is the active one.
    const controller = await startController(0);
    for (let i = 1; i < (options.controllers ?? 1); i++) await startController(i);
    const brokers = new Map<number, ServiceProcess>();
    const startBroker = async (id: number): Promise<ServiceProcess> => {
      const p = await spawn(`broker-${id}`, 'broker', { SLUICE_BROKER_ID: String(id), SLUICE_DATA_DIR: join(dir.path, `broker-${id}`) });
      brokers.set(id, p);
      await waitReady(p, 'broker');
      return p;
    };
    await Promise.all(Array.from({ length: options.brokers ?? 3 }, (_, i) => startBroker(i + 1)));
    const coordinators = await Promise.all(
      Array.from({ length: options.coordinators ?? 1 }, (_, i) =>
        spawn(`group-coordinator-${i + 1}`, 'group-coordinator', {
          SLUICE_DATA_DIR: join(dir.path, `group-coordinator-${i + 1}`),
          ...(options.groupsDatabaseUrl ? { SLUICE_GROUPS_DATABASE_URL: options.groupsDatabaseUrl } : {}),
        }),
      ),
    );
    const coordinator = coordinators[0];
    const gateways: RunningGateway[] = [];
    for (let i = 0; i < (options.gateways ?? 1); i++) {
      const httpPort = await freePort();
      const kafkaPort = await freePort();
      const name = i === 0 ? 'gateway' : `gateway-${i + 1}`;
      const proc = await spawn(name, 'gateway', { SLUICE_HTTP_PORT: String(httpPort), SLUICE_KAFKA_PORT: String(kafkaPort) });
      gateways.push({ process: proc, httpUrl: `http://127.0.0.1:${httpPort}`, kafkaBootstrap: `127.0.0.1:${kafkaPort}` });
    }
    await Promise.all([...coordinators.map((c) => waitReady(c, 'group-coordinator')), ...gateways.map((g) => waitReady(g.process, 'gateway'))]);
    return {
      clusterId,
      dir,
      controller,
      controllers,
      startController,
      brokers,
      coordinator,
      coordinators,
      gateway: gateways[0].process,
      httpUrl: gateways[0].httpUrl,
      kafkaBootstrap: gateways[0].kafkaBootstrap,
      gateways,
      startBroker,
      stop: async () => {
        await Promise.all(processes.filter((p) => !controllers.includes(p)).map((p) => p.stop()));
        await Promise.all(controllers.map((p) => p.stop()));
        await dir.remove();
      },
    };
  } catch (err) {
    await Promise.all(processes.map((p) => p.stop(2000)));
    throw err;
  }
}
