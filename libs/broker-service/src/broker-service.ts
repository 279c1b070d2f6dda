// The broker: hosts the partition replicas the controller assigns to it. Composition of its parts: its identity and
// controller session, the metadata it follows, the log manager (files, retention, cleaner, checkpoints), the replica
// manager (which replicas, which role) and the request handlers (the broker's bus verbs).
import type { Actor } from '@sluice/bus';
import { MetadataClient, NodeSession } from '@sluice/metadata';
import { lockDataDir, logFailure, type DataDirLock, type RunningService, type ServiceDeps, type ServiceFactory } from '@sluice/runtime';
import { brokerConfig, type BrokerConfig } from './broker-config.js';
import { readIdentity, writeIdentity } from './broker-identity.js';
import { createBrokerMetrics, type BrokerMetrics } from './broker-metrics.js';
import { LogManager, type ManagedLog } from './log-manager.js';
import { ReplicaManager } from './replica-manager.js';
import { serveBrokerVerbs } from './request-handlers.js';

export class Broker implements RunningService {
  private readonly metadata: MetadataClient;
  private readonly metrics: BrokerMetrics;
  private readonly logs: LogManager;
  private replicas: ReplicaManager | undefined;
  private session: NodeSession | undefined;
  private brokerId = -1;
  private actors: Actor[] = [];
  private ready = false;
  private stopped = false;
  private lock: DataDirLock | undefined;

  constructor(
    private readonly config: BrokerConfig,
    private readonly deps: ServiceDeps,
  ) {
    this.metadata = new MetadataClient({
      bus: deps.bus,
      subjects: deps.subjects,
      onError: (err) => logFailure(deps.logger, err, 'metadata reload failed'),
    });
    this.metrics = createBrokerMetrics(deps.registry, () => this.brokerId);
    this.logs = new LogManager(config, deps.logger);
  }

  get id(): number {
    return this.brokerId;
  }

  async start(): Promise<void> {
    const { logger, subjects, bus } = this.deps;
    // Before anything else: a second broker on this directory would register in its place and write into its replicas.
    this.lock = await lockDataDir(this.config.dataDir, 'broker', logger);
    const stored = await readIdentity(this.config.dataDir);
    if (stored && stored.clusterId !== subjects.clusterId) {
      throw new Error(`data directory ${this.config.dataDir} belongs to cluster "${stored.clusterId}", not "${subjects.clusterId}"`);
    }
    if (stored && this.config.brokerId >= 0 && stored.brokerId !== this.config.brokerId) {
      throw new Error(`data directory ${this.config.dataDir} belongs to broker ${stored.brokerId}, but SLUICE_BROKER_ID is ${this.config.brokerId}`);
    }
    this.session = new NodeSession({
      bus,
      subjects,
      registration: {
        role: 'broker',
        nodeId: this.config.brokerId >= 0 ? this.config.brokerId : stored?.brokerId,
        host: this.config.advertisedHost,
        ports: {},
        rack: this.config.rack === '' ? null : this.config.rack,
      },
    });
    this.session.on('error', (err) => logFailure(logger, err, 'controller session problem'));
    this.session.on('fenced', () => logger.warn({ brokerId: this.brokerId }, 'fenced by the controller; registering again'));
    this.session.on('registered', (r) => logger.info({ brokerId: r.nodeId, incarnation: r.incarnation }, 'registered with the controller'));
    const registration = await this.session.start();
    this.brokerId = registration.nodeId;
    if (!stored) await writeIdentity(this.config.dataDir, { brokerId: this.brokerId, clusterId: subjects.clusterId });

    const session = this.session;
    const replicas = new ReplicaManager({
      bus,
      subjects,
      brokerId: this.brokerId,
      incarnation: () => session.registered?.incarnation ?? -1,
      config: this.config,
      logs: this.logs,
      logger: logger.child({ brokerId: this.brokerId }),
      metrics: this.metrics,
      image: () => this.metadata.current,
    });
    this.replicas = replicas;
    this.metadata.on('change', () => void replicas.scheduleReconcile());
    await this.metadata.start();
    await this.metadata.waitForOffset(registration.metadataOffset);
    await replicas.scheduleReconcile();
    await this.logs.removeOrphans(new Set([...replicas.partitions()].map((p) => p.log.dir)), (topicId) => this.metadata.view.topicById(topicId) !== undefined);
    this.actors = serveBrokerVerbs({ bus, subjects, brokerId: this.brokerId, config: this.config, replicas });
    replicas.startIsrChecks();
    this.logs.startBackgroundWork(() => this.managedLogs());
    this.ready = true;
    logger.info({ brokerId: this.brokerId, partitions: replicas.size }, 'broker ready');
  }

  private *managedLogs(): Iterable<ManagedLog> {
    for (const p of this.replicas?.partitions() ?? []) yield { log: p.log, topicName: p.topicName, partition: p.partition };
  }

  readiness() {
    const healthy = this.session?.healthy ?? false;
    return {
      ready: this.ready && healthy && !this.stopped,
      reason: !this.ready ? 'starting' : !healthy ? 'no controller session' : undefined,
      details: { brokerId: this.brokerId, partitions: this.replicas?.size ?? 0 },
    };
  }

  /**
   * Controlled shutdown: the broker leaves the cluster first, so the controller moves its leaderships to in-sync
   * followers (a rolling restart keeps every partition available); once this broker's metadata shows it, requests still
   * parked here answer (NOT_LEADER_OR_FOLLOWER: clients go to the new leaders), then fetchers and logs close.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const stage = <T>(what: string, work: Promise<T>) => slowStageWarning(this.deps.logger, what, work);
    const left = await stage('leaving the cluster', this.session?.stop() ?? Promise.resolve(undefined));
    if (left !== undefined && this.replicas) {
      await stage('waiting for the metadata to show this broker gone', this.metadata.waitForOffset(left, 5000).catch(() => undefined));
      await stage('handing over leadership', this.replicas.scheduleReconcile());
    }
    this.metadata.close();
    // Replication stops first: fetches still waiting at leaders are abandoned, and requests parked here (acks=all
    // produces, long polls) answer now, so finishing the requests in flight takes no longer than a disk write.
    await stage('stopping replication', this.replicas?.stop() ?? Promise.resolve());
    await stage('finishing requests in flight', Promise.all(this.actors.map((a) => a.stop())));
    await stage('closing the logs', this.logs.stop(this.managedLogs()));
    await this.lock?.release();
    this.deps.logger.info({ brokerId: this.brokerId }, 'broker stopped');
  }
}

export const startBroker: ServiceFactory<BrokerConfig> = async (config, deps) => {
  const broker = new Broker(config, deps);
  try {
    await broker.start();
  } catch (err) {
    await broker.stop().catch(() => undefined);
    throw err;
  }
  return broker;
};

export { brokerConfig };

/** Waits for one stage of the shutdown, logging which one it is if it takes more than 2 s. */
async function slowStageWarning<T>(logger: ServiceDeps['logger'], what: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => logger.warn({ stage: what, waitedMs: Date.now() - started }, 'shutdown still waiting'), 2000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
