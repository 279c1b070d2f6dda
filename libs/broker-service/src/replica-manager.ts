// Which partition replicas this broker hosts and in which role, as Kafka's ReplicaManager: reconciled with the
// metadata image (open, lead, follow, drop), and looked up by the request handlers.
import type { MetadataImage, PartitionInfo } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { BrokerMetrics } from './broker-metrics.js';
import type { LogManager } from './log-manager.js';
import { Partition } from './partition.js';
import { logConfigFor, minInsyncReplicas } from './topic-log-config.js';
import type { BrokerConfig } from './broker-config.js';

interface Hosted {
  partition: Partition;
  /** The topic configs the log was last configured from (replaced, never mutated, when they change). */
  configs: Record<string, string>;
}

export interface ReplicaManagerOptions {
  brokerId: number;
  config: BrokerConfig;
  logs: LogManager;
  logger: Logger;
  metrics: BrokerMetrics;
  /** The current image (read when a pass starts, and for topic configs that change). */
  image: () => MetadataImage;
}

const key = (topicId: string, partition: number): string => `${topicId}:${partition}`;

export class ReplicaManager {
  private readonly hosted = new Map<string, Hosted>();
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private stopped = false;

  constructor(private readonly o: ReplicaManagerOptions) {}

  get(topicId: string, partition: number): Partition | undefined {
    return this.hosted.get(key(topicId, partition))?.partition;
  }

  partitions(): IterableIterator<Partition> {
    return [...this.hosted.values()].map((h) => h.partition)[Symbol.iterator]();
  }

  get size(): number {
    return this.hosted.size;
  }

  /**
   * Reconciles with the latest image once the current pass is done. Passes are coalesced: a burst of deltas (a fenced
   * broker's thousands of leadership changes) costs one pass more, not one pass per delta, which made a broker with
   * many partitions spend minutes in quadratic work, miss its heartbeats and be fenced again.
   */
  scheduleReconcile(): Promise<void> {
    if (this.reconcileQueued) return this.reconciling;
    this.reconcileQueued = true;
    this.reconciling = this.reconciling
      .then(() => {
        this.reconcileQueued = false;
        return this.reconcile(this.o.image());
      })
      .catch((err: unknown) => this.o.logger.error({ err }, 'failed to apply metadata'));
    return this.reconciling;
  }

  /** Opens, leads, follows or drops replicas to match the image. */
  private async reconcile(image: MetadataImage): Promise<void> {
    if (this.stopped) return;
    const { brokerId } = this.o;
    const wanted = new Set<string>();
    for (const topic of Object.values(image.topics)) {
      if (this.stopped) return;
      for (const p of topic.partitions) {
        if (!p.replicas.includes(brokerId)) continue;
        const k = key(topic.id, p.partition);
        wanted.add(k);
        let hosted = this.hosted.get(k);
        if (!hosted) {
          const log = await this.o.logs.open(topic, p.partition);
          const partition = new Partition({
            topicId: topic.id,
            topicName: topic.name,
            brokerId,
            info: p,
            log,
            logger: this.o.logger.child({ topic: topic.name, partition: p.partition }),
            metrics: this.o.metrics,
            minInsyncReplicas: () => minInsyncReplicas(this.o.image().topics[topic.id]?.configs ?? {}),
          });
          hosted = { partition, configs: topic.configs };
          this.hosted.set(k, hosted);
        } else if (hosted.configs !== topic.configs) {
          hosted.partition.log.updateConfig(logConfigFor(topic.configs, this.o.config));
          hosted.configs = topic.configs;
        }
        this.applyRole(hosted.partition, p);
      }
    }
    for (const [k, hosted] of this.hosted) {
      if (wanted.has(k)) continue;
      this.hosted.delete(k);
      hosted.partition.close();
      await hosted.partition.log.delete();
      hosted.partition.logger.info('replica deleted');
    }
    let leaders = 0;
    for (const h of this.hosted.values()) if (h.partition.role === 'leader') leaders++;
    this.o.metrics.setPartitions(leaders, this.hosted.size);
  }

  private applyRole(partition: Partition, info: PartitionInfo): void {
    const previous = partition.role;
    const changed = partition.applyInfo(info);
    if (changed === 'leader') partition.logger.info({ leaderEpoch: info.leaderEpoch }, 'became leader');
    else if (changed !== undefined && previous === 'leader') partition.logger.info({ leader: info.leader, leaderEpoch: info.leaderEpoch }, 'no longer leader');
  }

  /** Stops reconciling; parked requests answer at once. The logs are closed by the log manager. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reconciling;
    for (const h of this.hosted.values()) h.partition.close();
  }
}
