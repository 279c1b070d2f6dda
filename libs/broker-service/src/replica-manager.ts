// Which partition replicas this broker hosts and in which role, as Kafka's ReplicaManager: reconciled with the
// metadata image (open, lead, follow, drop), looked up by the request handlers; one replica fetcher per leader broker
// this broker follows partitions from; the periodic ISR check of the partitions it leads, and their ISR changes sent
// to the controller.
import type { Bus } from '@sluice/bus';
import { ControllerVerbs, type MetadataImage, type PartitionInfo, type Subjects } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { BrokerMetrics } from './broker-metrics.js';
import type { LogManager } from './log-manager.js';
import { Partition } from './partition.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { logConfigFor, minInsyncReplicas } from './topic-log-config.js';
import type { BrokerConfig } from './broker-config.js';

interface Hosted {
  partition: Partition;
  /** The topic configs the log was last configured from (replaced, never mutated, when they change). */
  configs: Record<string, string>;
}

export interface ReplicaManagerOptions {
  bus: Bus;
  subjects: Subjects;
  brokerId: number;
  /** This broker's registration incarnation, for the controller to check its ISR changes against. */
  incarnation: () => number;
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
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private isrTimer: NodeJS.Timeout | undefined;
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
      for (const p of topic.partitions) if (p.replicas.includes(brokerId)) wanted.add(key(topic.id, p.partition));
    }
    // Replicas no longer wanted go first: a topic deleted and created again under the same name has its new replica
    // in the same directory, which deleting the old one afterwards would wipe under the new one's feet.
    for (const [k, hosted] of this.hosted) {
      if (wanted.has(k)) continue;
      this.hosted.delete(k);
      hosted.partition.close();
      await hosted.partition.log.delete();
      hosted.partition.logger.info('replica deleted');
    }
    for (const topic of Object.values(image.topics)) {
      if (this.stopped) return;
      for (const p of topic.partitions) {
        if (!p.replicas.includes(brokerId)) continue;
        const k = key(topic.id, p.partition);
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
            replicaLagTimeMaxMs: this.o.config.replicaLagTimeMaxMs,
            alterIsr: (partition, newIsr) => this.alterIsr(partition, newIsr),
            isrEligible: (id) => {
              const node = this.o.image().nodes[id];
              return node?.role === 'broker' && node.state === 'alive';
            },
          });
          hosted = { partition, configs: topic.configs };
          this.hosted.set(k, hosted);
        } else if (hosted.configs !== topic.configs) {
          hosted.partition.log.updateConfig(logConfigFor(topic.configs, this.o.config));
          hosted.configs = topic.configs;
        }
        await this.applyRole(hosted.partition, p);
      }
    }
    let leaders = 0;
    for (const h of this.hosted.values()) if (h.partition.role === 'leader') leaders++;
    this.o.metrics.setPartitions(leaders, this.hosted.size);
    this.syncFetchers();
  }

  private async applyRole(partition: Partition, info: PartitionInfo): Promise<void> {
    const previous = partition.role;
    const changed = await partition.applyInfo(info);
    if (changed === 'leader') partition.logger.info({ leaderEpoch: info.leaderEpoch }, 'became leader');
    else if (changed !== undefined && previous === 'leader') partition.logger.info({ leader: info.leader, leaderEpoch: info.leaderEpoch }, 'no longer leader');
  }

  /** One fetcher per leader broker this broker follows partitions from; fetchers of leaders no longer followed stop. */
  private syncFetchers(): void {
    if (this.stopped) return;
    const leaders = new Set<number>();
    for (const { partition } of this.hosted.values()) if (partition.role === 'follower' && partition.leaderId >= 0) leaders.add(partition.leaderId);
    for (const [leader, fetcher] of this.fetchers) {
      if (leaders.has(leader)) continue;
      this.fetchers.delete(leader);
      void fetcher.stop();
    }
    for (const leader of leaders) {
      let fetcher = this.fetchers.get(leader);
      if (!fetcher) {
        fetcher = new ReplicaFetcher({
          bus: this.o.bus,
          subjects: this.o.subjects,
          brokerId: this.o.brokerId,
          leaderId: leader,
          logger: this.o.logger.child({ leader }),
          maxWaitMs: this.o.config.replicaFetchWaitMaxMs,
          maxBytes: this.o.config.replicaFetchMaxBytes,
          partitions: () => this.followedFrom(leader),
        });
        this.fetchers.set(leader, fetcher);
        fetcher.start();
      }
      fetcher.wake();
    }
  }

  private followedFrom(leader: number): Partition[] {
    const out: Partition[] = [];
    for (const { partition } of this.hosted.values()) if (partition.role === 'follower' && partition.leaderId === leader) out.push(partition);
    return out;
  }

  /**
   * Starts the periodic ISR check of the partitions this broker leads (every half replica.lag.time.max.ms, as Kafka, and
   * at least every 5 s), which also refreshes the replication gauges.
   */
  startIsrChecks(): void {
    this.isrTimer = setInterval(() => {
      const now = Date.now();
      const snapshot = { underReplicated: 0, underMinIsr: 0, maxFollowerLag: 0, offline: 0 };
      for (const { partition } of this.hosted.values()) {
        partition.maybeShrinkIsr(now);
        if (partition.leaderId < 0) snapshot.offline++;
        const state = partition.replicationState();
        if (!state) continue;
        if (state.underReplicated) snapshot.underReplicated++;
        if (state.underMinIsr) snapshot.underMinIsr++;
        snapshot.maxFollowerLag = Math.max(snapshot.maxFollowerLag, state.maxFollowerLag);
      }
      this.o.metrics.setReplication(snapshot);
    }, Math.max(50, Math.min(5_000, Math.floor(this.o.config.replicaLagTimeMaxMs / 2))));
    this.isrTimer.unref();
  }

  /** AlterPartition: the partition as the controller now has it, or undefined when refused (its reason logged). */
  private async alterIsr(partition: Partition, newIsr: number[]): Promise<PartitionInfo | undefined> {
    const request = {
      brokerId: this.o.brokerId,
      brokerIncarnation: this.o.incarnation(),
      partitions: [{ topicId: partition.topicId, partition: partition.partition, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch, newIsr }],
    };
    const reply = await this.o.bus.ask(this.o.subjects.at(ControllerVerbs.alterPartition), request, { timeoutMs: 10_000 });
    const result = reply.meta.partitions[0];
    if (result?.errorCode === 0 && result.partition) return result.partition;
    partition.logger.info({ newIsr, errorCode: result?.errorCode, message: result?.errorMessage }, 'the controller refused an ISR change');
    return undefined;
  }

  /** Stops reconciling and fetching; parked requests answer at once. The logs are closed by the log manager. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.isrTimer);
    await this.reconciling;
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    this.fetchers.clear();
    for (const h of this.hosted.values()) h.partition.close();
  }
}
