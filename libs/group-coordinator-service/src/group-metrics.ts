// Prometheus metrics of a group coordinator: rebalances per group, groups by state and members of the shards it
// serves, and consumer lag per group, topic and partition.
//
// Lag is computed where it is scraped, at a bounded cost: a scrape of /metrics refreshes it when the last refresh is
// older than SLUICE_GROUP_LAG_REFRESH_MS, with one database query for the committed offsets of every group of the
// shards this coordinator serves (at most LAG_MAX_SERIES rows) and one ListOffsets request per partition leader
// broker (latest offsets, i.e. high watermarks) over the bus. A refresh that takes longer than LAG_REFRESH_WAIT_MS
// lets the scrape answer with the previous values; nothing is computed when nobody scrapes.
import type { Bus } from '@sluice/bus';
import { BrokerVerbs, OffsetSpec, type Subjects } from '@sluice/contracts';
import type { MetadataClient } from '@sluice/metadata';
import { KafkaErrorCode } from '@sluice/protocol';
import { Gauge, sharedCounterFamily, type CounterFamily, type Logger, type Registry } from '@sluice/runtime';
import type { OffsetStore } from './offset-store.js';

/** Most group partitions the lag gauge reports per coordinator. */
export const LAG_MAX_SERIES = 10_000;
/** How long a scrape waits for a lag refresh before answering with the previous values. */
const LAG_REFRESH_WAIT_MS = 5_000;
const LIST_OFFSETS_TIMEOUT_MS = 4_000;

export interface GroupLag {
  group: string;
  topic: string;
  partition: number;
  committed: number;
  end: number;
}

export interface LagSources {
  store: OffsetStore;
  metadata: MetadataClient;
  bus: Bus;
  subjects: Subjects;
  logger: Logger;
  /** The shards this coordinator serves now. */
  shards(): number[];
}

/** Committed offsets against the partitions' end offsets, recomputed at most once per `refreshMs`. */
export class LagMonitor {
  private values: GroupLag[] = [];
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly sources: LagSources,
    private readonly refreshMs: number,
  ) {}

  /** The lag as of the last refresh, refreshed first when older than the interval (waiting a bounded time). */
  async current(): Promise<GroupLag[]> {
    if (Date.now() - this.refreshedAt >= this.refreshMs) {
      this.refreshing ??= this.refresh()
        .catch((err: unknown) => this.sources.logger.warn({ err }, 'consumer lag refresh failed'))
        .finally(() => {
          this.refreshedAt = Date.now();
          this.refreshing = undefined;
        });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.refreshing, new Promise<void>((resolve) => (timer = setTimeout(resolve, LAG_REFRESH_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.values;
  }

  private async refresh(): Promise<void> {
    const { store, metadata, bus, subjects } = this.sources;
    const committed = await store.shardOffsets(this.sources.shards(), LAG_MAX_SERIES);
    // The latest offset of each committed partition, asked of its leader: one request per broker.
    const byBroker = new Map<number, Map<string, { topicId: string; partition: number }>>();
    const key = (topicId: string, partition: number) => `${topicId}:${partition}`;
    for (const c of committed) {
      const topic = metadata.view.topicByName(c.topic);
      const leader = topic?.partitions[c.partition]?.leader ?? -1;
      if (!topic || leader < 0) continue;
      let parts = byBroker.get(leader);
      if (!parts) byBroker.set(leader, (parts = new Map()));
      parts.set(key(topic.id, c.partition), { topicId: topic.id, partition: c.partition });
    }
    const ends = new Map<string, number>();
    await Promise.all(
      [...byBroker].map(async ([broker, parts]) => {
        const list = [...parts.values()];
        try {
          const reply = await bus.ask(
            subjects.at(BrokerVerbs.listOffsets, broker),
            { isolationLevel: 0, partitions: list.map((p) => ({ ...p, leaderEpoch: -1, timestamp: OffsetSpec.latest })) },
            { timeoutMs: LIST_OFFSETS_TIMEOUT_MS },
          );
          reply.meta.partitions.forEach((r, i) => {
            if (r.errorCode === KafkaErrorCode.NONE && r.offset >= 0) ends.set(key(list[i].topicId, list[i].partition), r.offset);
          });
        } catch (err) {
          this.sources.logger.debug({ err, broker }, 'end offsets for consumer lag unavailable');
        }
      }),
    );
    const values: GroupLag[] = [];
    for (const c of committed) {
      const topic = metadata.view.topicByName(c.topic);
      const end = topic && ends.get(key(topic.id, c.partition));
      if (end === undefined) continue;
      values.push({ group: c.groupId, topic: c.topic, partition: c.partition, committed: c.offset, end });
    }
    this.values = values;
  }
}

export interface GroupStateCounts {
  /** Groups in memory by state, over the shards served. */
  states: Map<string, number>;
  members: number;
  shards: number;
}

export interface GroupMetrics {
  rebalances: CounterFamily;
}

/** Registers the coordinator's metrics (once per registry: the embedded mode has one coordinator). */
export function createGroupMetrics(registry: Registry, lag: LagMonitor, counts: () => GroupStateCounts): GroupMetrics {
  const rebalances = sharedCounterFamily(registry, 'sluice_group_rebalances_total', 'Rebalances started (a group entering PreparingRebalance), by group', ['group']);
  if (!registry.getSingleMetric('sluice_consumer_group_lag')) {
    const perPartition = (name: string, help: string, value: (v: GroupLag) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['group', 'topic', 'partition'],
        registers: [registry],
        async collect() {
          const values = await lag.current();
          this.reset();
          for (const v of values) this.set({ group: v.group, topic: v.topic, partition: String(v.partition) }, value(v));
        },
      });
    perPartition('sluice_consumer_group_lag', 'Records between a group’s committed offset and the partition’s latest offset (refreshed on scrape)', (v) => Math.max(0, v.end - v.committed));
    perPartition('sluice_consumer_group_committed_offset', 'A group’s committed offset, by topic and partition (refreshed on scrape)', (v) => v.committed);
    new Gauge({
      name: 'sluice_group_coordinator_groups',
      help: 'Consumer groups in memory on this coordinator, by state',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [state, n] of counts().states) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'sluice_group_coordinator_members',
      help: 'Members of the consumer groups on this coordinator',
      registers: [registry],
      collect() {
        this.set(counts().members);
      },
    });
    new Gauge({
      name: 'sluice_group_coordinator_shards',
      help: 'Group shards this coordinator serves',
      registers: [registry],
      collect() {
        this.set(counts().shards);
      },
    });
  }
  return { rebalances };
}
