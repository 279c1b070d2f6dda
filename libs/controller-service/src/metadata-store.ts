// Durable metadata through Prisma (SQLite via libSQL, or PostgreSQL): the image is loaded at start, and each batch
// of deltas is written in one transaction together with the new metadata offset.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkRows, openPrismaClient, type Provider } from '@sluice/database';
import type { MetadataDelta, MetadataImage, NodeInfo, NodeRole, NodeState, PartitionInfo, TopicInfo } from '@sluice/contracts';
import { Prisma, type PrismaClient } from './generated/prisma-sqlite/client.js';

type PrismaPromise<T> = Prisma.PrismaPromise<T>;

const prismaDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');
/** Deltas whose rows gather into multi-row statements. */
const batched = new Set<MetadataDelta['type']>(['topic-created', 'partitions-created', 'partition-changed']);
/** Partition rows read per query at start. */
const LOAD_PAGE_ROWS = 10_000;

export interface LoadedState {
  clusterId: string;
  controllerEpoch: number;
  image: MetadataImage;
}

export class MetadataStore {
  private constructor(
    private readonly prisma: PrismaClient,
    readonly provider: Provider,
  ) {}

  /** Connects, applies pending migrations, and returns the store with the names of the migrations it applied. */
  static async open(url: string): Promise<{ store: MetadataStore; applied: string[] }> {
    const { client, provider, applied } = await openPrismaClient<PrismaClient>(url, prismaDir, {
      sqlite: () => import('./generated/prisma-sqlite/client.js'),
      postgres: () => import('./generated/prisma-postgres/client.js'),
    });
    return { store: new MetadataStore(client, provider), applied };
  }

  /** Loads the image and starts a new controller epoch. */
  async load(clusterId: string): Promise<LoadedState> {
    const previous = await this.prisma.clusterState.findUnique({ where: { id: 1 } });
    if (previous && previous.clusterId !== clusterId) {
      throw new Error(`the metadata database belongs to cluster "${previous.clusterId}", not "${clusterId}"`);
    }
    const controllerEpoch = (previous?.controllerEpoch ?? 0) + 1;
    const offset = previous?.metadataOffset ?? 0;
    await this.prisma.clusterState.upsert({
      where: { id: 1 },
      create: { id: 1, clusterId, controllerEpoch, metadataOffset: offset },
      update: { controllerEpoch },
    });
    const image: MetadataImage = { clusterId, offset, controllerEpoch, nodes: {}, topics: {} };
    for (const n of await this.prisma.node.findMany()) {
      image.nodes[n.id] = {
        id: n.id,
        role: n.role as NodeRole,
        host: n.host,
        ports: JSON.parse(n.ports) as Record<string, number>,
        rack: n.rack,
        state: n.state as NodeState,
        incarnation: n.incarnation,
      };
    }
    for (const t of await this.prisma.topic.findMany({ select: { id: true, name: true, configs: true } })) {
      image.topics[t.id] = { id: t.id, name: t.name, configs: JSON.parse(t.configs) as Record<string, string>, partitions: [] };
    }
    // Partitions by key, a page at a time, and never through a relation: Prisma fetches an `include` with one bound
    // parameter per topic, which stopped the controller from starting at about 2,000 topics on SQLite.
    let after: { topicId: string; partition: number } | undefined;
    for (;;) {
      const page = await this.prisma.partition.findMany({
        where: after && { OR: [{ topicId: { gt: after.topicId } }, { topicId: after.topicId, partition: { gt: after.partition } }] },
        orderBy: [{ topicId: 'asc' }, { partition: 'asc' }],
        take: LOAD_PAGE_ROWS,
      });
      for (const p of page) {
        image.topics[p.topicId]?.partitions.push({
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          replicas: JSON.parse(p.replicas) as number[],
          isr: JSON.parse(p.isr) as number[],
          ...reassignmentOf(p.reassignment),
        });
      }
      if (page.length < LOAD_PAGE_ROWS) break;
      after = page[page.length - 1];
    }
    return { clusterId, controllerEpoch, image };
  }

  /**
   * Writes the deltas and the metadata offset they lead to, atomically. Runs of topic and partition writes become
   * multi-row statements (a fenced broker changes every partition it led, a CreateTopics request may add thousands).
   */
  async persist(deltas: readonly MetadataDelta[], metadataOffset: number): Promise<void> {
    const p = this.prisma;
    await p.$transaction([...this.writesFor(deltas), p.clusterState.update({ where: { id: 1 }, data: { metadataOffset } })]);
  }

  /**
   * The statements for `deltas`, in their order. Consecutive topic creations, partition creations and partition changes
   * gather into one run: its new topic rows are inserted first, then its partition rows upserted, the last change of a
   * partition winning, which is what applying them one by one would leave. Consecutive topic deletions gather likewise.
   */
  private writesFor(deltas: readonly MetadataDelta[]): Array<PrismaPromise<unknown>> {
    const p = this.prisma;
    const ops: Array<PrismaPromise<unknown>> = [];
    const newTopics: TopicInfo[] = [];
    const partitionRows = new Map<string, PartitionRow>();
    const deletedTopics: string[] = [];
    const flush = () => {
      ops.push(...this.insertTopics(newTopics), ...this.upsertPartitions([...partitionRows.values()]));
      if (deletedTopics.length > 0) {
        // Partitions first: SQLite applies the foreign key's cascade only when its pragma is on.
        ops.push(p.partition.deleteMany({ where: { topicId: { in: [...deletedTopics] } } }), p.topic.deleteMany({ where: { id: { in: [...deletedTopics] } } }));
      }
      newTopics.length = 0;
      partitionRows.clear();
      deletedTopics.length = 0;
    };
    const writePartition = (topicId: string, partition: PartitionInfo) => partitionRows.set(`${topicId}:${partition.partition}`, partitionRow(topicId, partition));
    let run: 'write' | 'delete' | undefined;
    for (const delta of deltas) {
      const next = delta.type === 'topic-deleted' ? 'delete' : batched.has(delta.type) ? 'write' : undefined;
      if (next !== run) flush();
      run = next;
      switch (delta.type) {
        case 'topic-created':
          newTopics.push(delta.topic);
          for (const partition of delta.topic.partitions) writePartition(delta.topic.id, partition);
          break;
        case 'partitions-created':
          for (const partition of delta.partitions) writePartition(delta.topicId, partition);
          break;
        case 'partition-changed':
          writePartition(delta.topicId, delta.partition);
          break;
        case 'topic-deleted':
          deletedTopics.push(delta.topicId);
          break;
        default:
          ops.push(this.singleWrite(delta));
      }
    }
    flush();
    return ops;
  }

  private singleWrite(delta: Exclude<MetadataDelta, { type: 'topic-created' | 'partitions-created' | 'partition-changed' | 'topic-deleted' }>): PrismaPromise<unknown> {
    const p = this.prisma;
    switch (delta.type) {
      case 'node-registered': {
        const row = nodeRow(delta.node);
        return p.node.upsert({ where: { id: row.id }, create: row, update: row });
      }
      case 'node-fenced':
        return p.node.update({ where: { id: delta.nodeId }, data: { state: 'fenced' } });
      case 'node-unregistered':
        return p.node.deleteMany({ where: { id: delta.nodeId } });
      case 'topic-configs-changed':
        return p.topic.update({ where: { id: delta.topicId }, data: { configs: JSON.stringify(delta.configs) } });
    }
  }

  // Raw statements because Prisma writes one row per statement (or, with createMany, at most 999 parameters at a time
  // on SQLite): the same SQL on SQLite and PostgreSQL, identifiers quoted as Prisma names them.

  private insertTopics(topics: readonly TopicInfo[]): Array<PrismaPromise<unknown>> {
    const now = new Date();
    return chunkRows(topics, 4).map((chunk) => {
      const rows = chunk.map((t) => Prisma.sql`(${t.id}, ${t.name}, ${JSON.stringify(t.configs)}, ${now})`);
      return this.prisma.$executeRaw`INSERT INTO "Topic" ("id", "name", "configs", "createdAt") VALUES ${Prisma.join(rows)}`;
    });
  }

  private upsertPartitions(partitions: readonly PartitionRow[]): Array<PrismaPromise<unknown>> {
    return chunkRows(partitions, 8).map((chunk) => {
      const rows = chunk.map((r) => Prisma.sql`(${r.topicId}, ${r.partition}, ${r.leader}, ${r.leaderEpoch}, ${r.partitionEpoch}, ${r.replicas}, ${r.isr}, ${r.reassignment})`);
      return this.prisma.$executeRaw`INSERT INTO "Partition" ("topicId", "partition", "leader", "leaderEpoch", "partitionEpoch", "replicas", "isr", "reassignment")
        VALUES ${Prisma.join(rows)}
        ON CONFLICT ("topicId", "partition") DO UPDATE SET "leader" = excluded."leader", "leaderEpoch" = excluded."leaderEpoch",
          "partitionEpoch" = excluded."partitionEpoch", "replicas" = excluded."replicas", "isr" = excluded."isr",
          "reassignment" = excluded."reassignment"`;
    });
  }

  close(): Promise<void> {
    return this.prisma.$disconnect();
  }
}

function nodeRow(n: NodeInfo) {
  return { id: n.id, role: n.role, host: n.host, ports: JSON.stringify(n.ports), rack: n.rack, state: n.state, incarnation: n.incarnation };
}

interface PartitionRow {
  topicId: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: string;
  isr: string;
  reassignment: string | null;
}

function partitionRow(topicId: string, p: PartitionInfo): PartitionRow {
  return {
    topicId,
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    replicas: JSON.stringify(p.replicas),
    isr: JSON.stringify(p.isr),
    reassignment: p.addingReplicas || p.removingReplicas ? JSON.stringify({ adding: p.addingReplicas ?? [], removing: p.removingReplicas ?? [] }) : null,
  };
}

function reassignmentOf(column: string | null): Pick<PartitionInfo, 'addingReplicas' | 'removingReplicas'> {
  if (column === null) return {};
  const { adding, removing } = JSON.parse(column) as { adding: number[]; removing: number[] };
  return { addingReplicas: adding, removingReplicas: removing };
}

export type { TopicInfo };
