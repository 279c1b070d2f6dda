// The broker: hosts the partition replicas the controller assigns to it and runs a leader actor for each partition it leads.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reply, type Actor, type Envelope, type Reply } from '@sluice/bus';
import { MetadataClient, NodeSession } from '@sluice/metadata';
import {
  wholeBatchesWithin,
  BrokerVerb,
  KafkaErrorCode,
  type BrokerFetchReply,
  type BrokerFetchRequest,
  type BrokerProduceReply,
  type BrokerProduceRequest,
  type MetadataImage,
  type ProduceReply,
  type TopicInfo,
} from '@sluice/protocol';
import { lockDataDir, type DataDirLock, type ServiceDeps, type ServiceFactory, type RunningService } from '@sluice/runtime';
import { FilePool, PartitionLog } from '@sluice/storage';
import { brokerConfig, type BrokerConfig } from './broker-config.js';
import { readIdentity, writeIdentity } from './broker-identity.js';
import { createBrokerMetrics, type BrokerMetrics } from './broker-metrics.js';
import { PartitionLeader, untilAppend } from './partition-leader.js';
import { logConfigFor, minInsyncReplicas } from './topic-log-config.js';

interface Replica {
  topicId: string;
  topicName: string;
  partition: number;
  dir: string;
  log: PartitionLog;
  leader: PartitionLeader | undefined;
  /** The topic configs the log was last configured from (replaced, never mutated, when they change). */
  configs: Record<string, string>;
}

const PARTITION_METADATA = 'partition.metadata';

/** The directory of one replica: Kafka's `<topic>-<partition>` naming; the topic id inside tells a re-created topic apart. */
function replicaDir(dataDir: string, topicName: string, partition: number): string {
  return join(dataDir, `${topicName}-${partition}`);
}

export class Broker implements RunningService {
  private readonly replicas = new Map<string, Replica>();
  private readonly metadata: MetadataClient;
  private readonly metrics: BrokerMetrics;
  private session: NodeSession | undefined;
  private brokerId = -1;
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private retentionTimer: NodeJS.Timeout | undefined;
  private cleanerTimer: NodeJS.Timeout | undefined;
  private hwCheckpointTimer: NodeJS.Timeout | undefined;
  private cleanerRunning = false;
  /** Open segment files, bounded over all partitions of this broker. */
  private readonly files: FilePool;
  /** Produce and fetch requests for several of this broker's partitions at once. */
  private brokerActors: Actor[] = [];
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
      onError: (err) => deps.logger.warn({ err }, 'metadata reload failed'),
    });
    this.metrics = createBrokerMetrics(deps.registry, () => this.brokerId);
    this.files = new FilePool(config.maxOpenFiles);
  }

  get id(): number {
    return this.brokerId;
  }

  async start(): Promise<void> {
    const { logger, subjects } = this.deps;
    // Before anything else: a second broker on this directory would register in its place and write into its replicas.
    this.lock = await lockDataDir(this.config.dataDir, 'broker', logger);
    const stored = await readIdentity(this.config.dataDir);
    if (stored && stored.clusterId !== subjects.clusterId) {
      throw new Error(`data directory ${this.config.dataDir} belongs to cluster "${stored.clusterId}", not "${subjects.clusterId}"`);
    }
    if (stored && this.config.brokerId >= 0 && stored.brokerId !== this.config.brokerId) {
      throw new Error(`data directory ${this.config.dataDir} belongs to broker ${stored.brokerId}, but SLUICE_BROKER_ID is ${this.config.brokerId}`);
    }
    const wantedId = this.config.brokerId >= 0 ? this.config.brokerId : stored?.brokerId;
    this.session = new NodeSession({
      bus: this.deps.bus,
      subjects,
      registration: {
        role: 'broker',
        nodeId: wantedId,
        host: this.config.advertisedHost,
        ports: {},
        rack: this.config.rack === '' ? null : this.config.rack,
      },
    });
    this.session.on('error', (err) => logger.warn({ err }, 'controller session problem'));
    this.session.on('fenced', () => logger.warn({ brokerId: this.brokerId }, 'fenced by the controller; registering again'));
    this.session.on('registered', (r) => logger.info({ brokerId: r.nodeId, incarnation: r.incarnation }, 'registered with the controller'));
    const registration = await this.session.start();
    this.brokerId = registration.nodeId;
    if (!stored) await writeIdentity(this.config.dataDir, { brokerId: this.brokerId, clusterId: subjects.clusterId });

    this.metadata.on('change', () => this.scheduleReconcile());
    await this.metadata.start();
    await this.metadata.waitForOffset(registration.metadataOffset);
    await this.reconciling;
    await this.removeOrphanReplicas();
    this.brokerActors = [
      this.deps.bus.serve<BrokerProduceRequest, BrokerProduceReply>(subjects.broker(this.brokerId, BrokerVerb.produce), (req) => this.produce(req), {
        mode: 'concurrent',
      }),
      this.deps.bus.serve<BrokerFetchRequest, BrokerFetchReply>(subjects.broker(this.brokerId, BrokerVerb.fetch), (req) => this.fetch(req), { mode: 'concurrent' }),
    ];
    this.retentionTimer = setInterval(() => void this.applyRetention(), this.config.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    this.cleanerTimer = setInterval(() => void this.cleanLogs(), this.config.cleanerIntervalMs);
    this.cleanerTimer.unref();
    this.hwCheckpointTimer = setInterval(() => void this.checkpointHighWatermarks(), this.config.hwCheckpointIntervalMs);
    this.hwCheckpointTimer.unref();
    this.ready = true;
    logger.info({ brokerId: this.brokerId, partitions: this.replicas.size }, 'broker ready');
  }

  /**
   * A produce request for several partitions this broker leads: each partition's batches go to its leader in request
   * order, synchronously on arrival (so appends keep the order requests arrive in), and the replies come back together.
   */
  private async produce(req: Envelope<BrokerProduceRequest>): Promise<Reply<BrokerProduceReply>> {
    const { acks, timeoutMs, partitions } = req.meta;
    const body = req.body ?? Buffer.alloc(0);
    let at = 0;
    const results = partitions.map((p): Promise<ProduceReply> => {
      const bytes = body.subarray(at, at + p.bytes);
      at += p.bytes;
      const leader = this.replicas.get(`${p.topicId}:${p.partition}`)?.leader;
      if (!leader) {
        return Promise.resolve({
          errorCode: KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
          errorMessage: `broker ${this.brokerId} does not lead partition ${p.partition} of ${p.topicId}`,
          baseOffset: -1,
          logAppendTimeMs: -1,
          logStartOffset: -1,
        });
      }
      return leader.produce({ acks, timeoutMs, leaderEpoch: p.leaderEpoch }, bytes);
    });
    return reply({ partitions: await Promise.all(results) });
  }

  /**
   * A fetch for several partitions this broker leads: one read of each without waiting; below `minBytes` (and with no
   * partition in error), the fetch waits for the next append to any of them or the end of `maxWaitMs`, then reads
   * again. Whole partitions count towards `maxBytes` in request order, the first with data always.
   */
  private async fetch(req: Envelope<BrokerFetchRequest>): Promise<Reply<BrokerFetchReply>> {
    const { partitions, isolationLevel } = req.meta;
    const deadline = Date.now() + Math.max(0, Math.min(req.meta.maxWaitMs | 0, 60_000));
    const leaders = partitions.map((p) => this.replicas.get(`${p.topicId}:${p.partition}`)?.leader);
    // The reply is one bus message: never more than SLUICE_FETCH_MAX_BYTES of batches, whatever the client allows.
    const maxBytes = Math.min(Math.max(1, req.meta.maxBytes | 0), this.config.maxFetchBytes);
    for (;;) {
      const results = await Promise.all(
        partitions.map((p, i) => {
          const leader = leaders[i];
          if (leader) return leader.read({ fetchOffset: p.fetchOffset, maxBytes: Math.min(p.maxBytes, maxBytes), leaderEpoch: p.leaderEpoch, isolationLevel });
          const meta = {
            errorCode: KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
            errorMessage: `broker ${this.brokerId} does not lead partition ${p.partition} of ${p.topicId}`,
            highWatermark: -1,
            lastStableOffset: -1,
            logStartOffset: -1,
          };
          return Promise.resolve({ meta, bytes: Buffer.alloc(0) });
        }),
      );
      // KIP-74: partitions in request order share maxBytes; whole batches only, the first batch of the first partition
      // with data whole even when larger.
      let total = 0;
      for (const r of results) {
        if (r.bytes.length === 0) continue;
        r.bytes = wholeBatchesWithin(r.bytes, maxBytes - total, total === 0);
        total += r.bytes.length;
      }
      const failed = results.some((r) => r.meta.errorCode !== KafkaErrorCode.NONE);
      const wait = deadline - Date.now();
      if (failed || total >= Math.max(1, req.meta.minBytes) || wait <= 0) {
        results.forEach((r, i) => leaders[i]?.countOut(r.bytes));
        return reply({ partitions: results.map((r) => ({ ...r.meta, bytes: r.bytes.length })) }, results.map((r) => r.bytes));
      }
      await untilAppend(leaders, wait);
    }
  }

  readiness() {
    const healthy = this.session?.healthy ?? false;
    return {
      ready: this.ready && healthy && !this.stopped,
      reason: !this.ready ? 'starting' : !healthy ? 'no controller session' : undefined,
      details: { brokerId: this.brokerId, partitions: this.replicas.size },
    };
  }

  /**
   * Reconciles with the latest image once the current pass is done. Passes are coalesced: a burst of deltas (a fenced
   * broker's thousands of leadership changes) costs one pass more, not one pass per delta, which made a broker with
   * many partitions spend minutes in quadratic work, miss its heartbeats and be fenced again.
   */
  private scheduleReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    this.reconciling = this.reconciling
      .then(() => {
        this.reconcileQueued = false;
        return this.reconcile(this.metadata.current);
      })
      .catch((err: unknown) => this.deps.logger.error({ err }, 'failed to apply metadata'));
  }

  /** Opens, leads, follows or drops replicas to match the image. */
  private async reconcile(image: MetadataImage): Promise<void> {
    if (this.stopped) return;
    const wanted = new Set<string>();
    for (const topic of Object.values(image.topics)) {
      if (this.stopped) return;
      for (const p of topic.partitions) {
        if (!p.replicas.includes(this.brokerId)) continue;
        const key = `${topic.id}:${p.partition}`;
        wanted.add(key);
        let replica = this.replicas.get(key);
        if (!replica) {
          replica = await this.openReplica(topic, p.partition);
          this.replicas.set(key, replica);
        } else if (replica.configs !== topic.configs) {
          replica.log.updateConfig(logConfigFor(topic.configs, this.config));
          replica.configs = topic.configs;
        }
        const leads = p.leader === this.brokerId;
        if (leads && !replica.leader) {
          replica.leader = new PartitionLeader({
            bus: this.deps.bus,
            subjects: this.deps.subjects,
            topicId: topic.id,
            topicName: topic.name,
            partition: p,
            log: replica.log,
            logger: this.deps.logger,
            metrics: this.metrics,
            maxFetchBytes: this.config.maxFetchBytes,
            minInsyncReplicas: () => minInsyncReplicas(this.metadata.view.topicById(topic.id)?.configs ?? {}),
          });
          this.deps.logger.info({ topic: topic.name, partition: p.partition, leaderEpoch: p.leaderEpoch }, 'became leader');
        } else if (leads && replica.leader) {
          replica.leader.update(p);
        } else if (!leads && replica.leader) {
          await replica.leader.stop();
          replica.leader = undefined;
          this.deps.logger.info({ topic: topic.name, partition: p.partition, leader: p.leader }, 'no longer leader');
        }
      }
    }
    for (const [key, replica] of this.replicas) {
      if (wanted.has(key)) continue;
      this.replicas.delete(key);
      await replica.leader?.stop();
      await replica.log.delete();
      this.deps.logger.info({ topic: replica.topicName, partition: replica.partition }, 'replica deleted');
    }
    this.metrics.setPartitions([...this.replicas.values()].filter((r) => r.leader).length, this.replicas.size);
  }

  private async openReplica(topic: TopicInfo, partition: number): Promise<Replica> {
    const dir = replicaDir(this.config.dataDir, topic.name, partition);
    const markerPath = join(dir, PARTITION_METADATA);
    const marker = await readFile(markerPath, 'utf8').catch(() => undefined);
    const sameTopic = marker !== undefined && (JSON.parse(marker) as { topicId: string }).topicId === topic.id;
    // A topic of the same name that was deleted and created again while this broker was away: start afresh.
    if (marker !== undefined && !sameTopic) await rm(dir, { recursive: true, force: true });
    const log = await PartitionLog.open(dir, logConfigFor(topic.configs, this.config), { files: this.files });
    if (!sameTopic) {
      await writeFile(markerPath, JSON.stringify({ topicId: topic.id, topic: topic.name, partition }) + '\n');
    }
    return { topicId: topic.id, topicName: topic.name, partition, dir, log, leader: undefined, configs: topic.configs };
  }

  /** Replica directories of topics the cluster no longer has (deleted while this broker was down). */
  private async removeOrphanReplicas(): Promise<void> {
    const known = new Set([...this.replicas.values()].map((r) => r.dir));
    const entries = await readdir(this.config.dataDir, { withFileTypes: true });
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const dir = join(this.config.dataDir, e.name);
      if (known.has(dir)) continue;
      const marker = await readFile(join(dir, PARTITION_METADATA), 'utf8').catch(() => undefined);
      if (marker === undefined) continue;
      const { topicId } = JSON.parse(marker) as { topicId: string };
      if (!this.metadata.view.topicById(topicId)) {
        await rm(dir, { recursive: true, force: true });
        this.deps.logger.info({ dir }, 'removed the replica of a deleted topic');
      }
    }
  }

  private async applyRetention(): Promise<void> {
    const now = Date.now();
    for (const r of this.replicas.values()) {
      try {
        await r.log.applyRetention(now);
      } catch (err) {
        this.deps.logger.warn({ err, topic: r.topicName, partition: r.partition }, 'retention failed');
      }
    }
  }

  /**
   * Writes each partition's high watermark to its checkpoint (only those that moved), as Kafka's replica manager does
   * periodically. A leader does not depend on it (it moves the high watermark to its log end when it takes over); a
   * checkpoint that lags only means records above it count as uncommitted until then.
   */
  private async checkpointHighWatermarks(): Promise<void> {
    for (const r of this.replicas.values()) {
      if (this.stopped) return;
      try {
        await r.log.checkpointHighWatermark();
      } catch (err) {
        this.deps.logger.warn({ err, topic: r.topicName, partition: r.partition }, 'high-watermark checkpoint failed');
      }
    }
  }

  /** The log cleaner: compacts the partitions of compacted topics whose dirty ratio has reached their threshold. */
  private async cleanLogs(): Promise<void> {
    if (this.cleanerRunning || this.stopped) return;
    this.cleanerRunning = true;
    try {
      for (const r of this.replicas.values()) {
        if (this.stopped) return;
        try {
          const result = await r.log.compact(Date.now());
          if (result) this.deps.logger.info({ topic: r.topicName, partition: r.partition, ...result }, 'compacted');
        } catch (err) {
          this.deps.logger.warn({ err, topic: r.topicName, partition: r.partition }, 'compaction failed');
        }
      }
    } finally {
      this.cleanerRunning = false;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.retentionTimer);
    clearInterval(this.cleanerTimer);
    clearInterval(this.hwCheckpointTimer);
    this.metadata.close();
    await Promise.all(this.brokerActors.map((a) => a.stop()));
    await this.reconciling;
    await Promise.all([...this.replicas.values()].map((r) => r.leader?.stop()));
    await Promise.all([...this.replicas.values()].map((r) => r.log.close()));
    await this.files.closeAll();
    this.replicas.clear();
    await this.session?.stop();
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
