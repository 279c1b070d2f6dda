// Durable metadata through Prisma (SQLite via libSQL, or PostgreSQL): the image is loaded when a controller becomes
// active, and each batch of deltas is written in one transaction together with the new metadata offset. The database
// is also the controllers' quorum: one row holds the lease (owner, expiry by the database's clock) and the controller
// epoch, and every write checks, in its own transaction, that the writer's epoch is still the current one.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkRows, openPrismaClient, type Provider } from '@sluice/database';
import type { ControllerInstanceInfo, MetadataDelta, MetadataImage, NodeInfo, NodeRole, NodeState, PartitionInfo, TopicInfo } from '@sluice/contracts';
import { Prisma, type PrismaClient } from './generated/prisma-sqlite/client.js';

type PrismaPromise<T> = Prisma.PrismaPromise<T>;

const prismaDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');
/** Deltas whose rows gather into multi-row statements. */
const batched = new Set<MetadataDelta['type']>(['topic-created', 'partitions-created', 'partition-changed']);
/** Partition rows read per query at start. */
const LOAD_PAGE_ROWS = 10_000;

/** A write refused because another controller took over (the writer's epoch is no longer the current one). */
export class ControllerFencedError extends Error {
  constructor(readonly epoch: number) {
    super(`controller epoch ${epoch} is no longer the current one: another controller took over`);
    this.name = 'ControllerFencedError';
  }
}

/** The lease a controller won: its epoch and where the metadata log stands. */
export interface WonLease {
  controllerEpoch: number;
  metadataOffset: number;
}

/** Interactive transactions may take this long (a CreateTopics request of thousands of partitions). */
const TRANSACTION_TIMEOUT_MS = 60_000;

type Client = PrismaClient | Prisma.TransactionClient;

export class MetadataStore {
  private constructor(
    private readonly prisma: PrismaClient,
    readonly provider: Provider,
  ) {}

  /**
   * Connects, applies pending migrations, and returns the store with the names of the migrations it applied. On
   * PostgreSQL a session left idle inside a transaction (a controller paused while writing) is ended after
   * `idleInTransactionMs`, so that its row locks cannot hold up the controller taking over.
   */
  static async open(url: string, options: { idleInTransactionMs?: number } = {}): Promise<{ store: MetadataStore; applied: string[] }> {
    const { client, provider, applied } = await openPrismaClient<PrismaClient>(
      url,
      prismaDir,
      {
        sqlite: () => import('./generated/prisma-sqlite/client.js'),
        postgres: () => import('./generated/prisma-postgres/client.js'),
      },
      { idle_in_transaction_session_timeout: options.idleInTransactionMs },
    );
    return { store: new MetadataStore(client, provider), applied };
  }

  /** The database's clock in milliseconds since the epoch, as SQL: the one clock every controller's lease is read by. */
  private get nowMs(): Prisma.Sql {
    return this.provider === 'sqlite'
      ? Prisma.raw(`CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`)
      : Prisma.raw(`CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`);
  }

  /** Creates the cluster's row on first start; refuses a database that belongs to another cluster. */
  async claimCluster(clusterId: string): Promise<void> {
    await this.prisma.$executeRaw`INSERT INTO "ClusterState" ("id", "clusterId", "controllerEpoch", "metadataOffset", "leaseExpiresAt", "nextProducerId")
      VALUES (1, ${clusterId}, 0, 0, 0, 0) ON CONFLICT ("id") DO NOTHING`;
    const row = await this.prisma.clusterState.findUnique({ where: { id: 1 }, select: { clusterId: true } });
    if (row?.clusterId !== clusterId) throw new Error(`the metadata database belongs to cluster "${row?.clusterId}", not "${clusterId}"`);
  }

  /**
   * Takes the lease if it has expired by the database's clock (or at once with `force`: the caller knows no other
   * controller can run, as with SQLite's data-directory lock), starting the next controller epoch. One statement, so
   * of two controllers trying at once exactly one wins. Undefined while another controller holds it.
   */
  async acquireLease(owner: string, leaseMs: number, force = false): Promise<WonLease | undefined> {
    const now = this.nowMs;
    const rows = await this.prisma.$queryRaw<Array<{ controllerEpoch: number | bigint; metadataOffset: number | bigint }>>`
      UPDATE "ClusterState" SET "controllerEpoch" = "controllerEpoch" + 1, "leaseOwner" = ${owner}, "leaseExpiresAt" = ${now} + ${leaseMs}
      WHERE "id" = 1 AND ("leaseExpiresAt" <= ${now} OR ${Prisma.raw(force ? '1 = 1' : '1 = 0')})
      RETURNING "controllerEpoch", "metadataOffset"`;
    if (rows.length === 0) return undefined;
    return { controllerEpoch: Number(rows[0].controllerEpoch), metadataOffset: Number(rows[0].metadataOffset) };
  }

  /** Extends the lease of `epoch`; false when another controller holds the current epoch. */
  async renewLease(epoch: number, leaseMs: number): Promise<boolean> {
    const now = this.nowMs;
    const n = await this.prisma.$executeRaw`UPDATE "ClusterState" SET "leaseExpiresAt" = ${now} + ${leaseMs} WHERE "id" = 1 AND "controllerEpoch" = ${epoch}`;
    return n === 1;
  }

  /** Ends the lease of `epoch` now, so that a standby takes over at its next look instead of after the lease time. */
  async resignLease(epoch: number): Promise<void> {
    await this.prisma.$executeRaw`UPDATE "ClusterState" SET "leaseExpiresAt" = 0 WHERE "id" = 1 AND "controllerEpoch" = ${epoch}`;
  }

  /** Refreshes this instance's row in the quorum's membership; forgets instances not seen for `forgetAfterMs`. */
  async touchInstance(instance: { id: string; host: string; pid: number; adminPort: number; startedAt: number }, forgetAfterMs: number): Promise<void> {
    const now = this.nowMs;
    const { id, host, pid, adminPort, startedAt } = instance;
    await this.prisma.$transaction([
      this.prisma.$executeRaw`INSERT INTO "ControllerInstance" ("id", "host", "pid", "adminPort", "startedAt", "lastSeenAt")
        VALUES (${id}, ${host}, ${pid}, ${adminPort}, ${startedAt}, ${now})
        ON CONFLICT ("id") DO UPDATE SET "lastSeenAt" = excluded."lastSeenAt", "adminPort" = excluded."adminPort"`,
      this.prisma.$executeRaw`DELETE FROM "ControllerInstance" WHERE "lastSeenAt" < ${now} - ${forgetAfterMs}`,
    ]);
  }

  /** Removes this instance's row (a clean stop). */
  async forgetInstance(id: string): Promise<void> {
    await this.prisma.controllerInstance.deleteMany({ where: { id } });
  }

  /** Instances seen within `seenWithinMs`, by the database's clock. */
  async instances(seenWithinMs: number): Promise<ControllerInstanceInfo[]> {
    const now = this.nowMs;
    const rows = await this.prisma.$queryRaw<Array<{ id: string; host: string; pid: number | bigint; adminPort: number | bigint; startedAt: number | bigint; lastSeenAt: number | bigint }>>`
      SELECT "id", "host", "pid", "adminPort", "startedAt", "lastSeenAt" FROM "ControllerInstance" WHERE "lastSeenAt" >= ${now} - ${seenWithinMs} ORDER BY "startedAt"`;
    return rows.map((r) => ({ id: r.id, host: r.host, pid: Number(r.pid), adminPort: Number(r.adminPort), startedAt: Number(r.startedAt), lastSeenAt: Number(r.lastSeenAt) }));
  }

  /** Hands out `count` producer ids from the persisted counter, fenced by `epoch`; returns the first. */
  async allocateProducerIds(epoch: number, count: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<Array<{ nextProducerId: number | bigint }>>`
      UPDATE "ClusterState" SET "nextProducerId" = "nextProducerId" + ${count} WHERE "id" = 1 AND "controllerEpoch" = ${epoch}
      RETURNING "nextProducerId"`;
    if (rows.length === 0) throw new ControllerFencedError(epoch);
    return Number(rows[0].nextProducerId) - count;
  }

  /** Loads the image as the database holds it, for the controller that won `lease`. */
  async load(clusterId: string, lease: WonLease): Promise<MetadataImage> {
    const { controllerEpoch, metadataOffset: offset } = lease;
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
    return image;
  }

  /**
   * Writes the deltas and the metadata offset they lead to, atomically. Runs of topic and partition writes become
   * multi-row statements (a fenced broker changes every partition it led, a CreateTopics request may add thousands).
   */
  async persist(epoch: number, deltas: readonly MetadataDelta[], metadataOffset: number): Promise<void> {
    await this.prisma.$transaction(
      async (tx) => {
        // First, so that the row lock orders this write against a takeover, which updates the same row.
        const n = await tx.$executeRaw`UPDATE "ClusterState" SET "metadataOffset" = ${metadataOffset} WHERE "id" = 1 AND "controllerEpoch" = ${epoch}`;
        if (n !== 1) throw new ControllerFencedError(epoch);
        for (const write of this.writesFor(tx, deltas)) await write;
      },
      { timeout: TRANSACTION_TIMEOUT_MS, maxWait: TRANSACTION_TIMEOUT_MS },
    );
  }

  /**
   * The statements for `deltas`, in their order. Consecutive topic creations, partition creations and partition changes
   * gather into one run: its new topic rows are inserted first, then its partition rows upserted, the last change of a
   * partition winning, which is what applying them one by one would leave. Consecutive topic deletions gather likewise.
   */
  private writesFor(p: Client, deltas: readonly MetadataDelta[]): Array<PrismaPromise<unknown>> {
    const ops: Array<PrismaPromise<unknown>> = [];
    const newTopics: TopicInfo[] = [];
    const partitionRows = new Map<string, PartitionRow>();
    const deletedTopics: string[] = [];
    const flush = () => {
      ops.push(...insertTopics(p, newTopics), ...upsertPartitions(p, [...partitionRows.values()]));
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
          ops.push(singleWrite(p, delta));
      }
    }
    flush();
    return ops;
  }

  close(): Promise<void> {
    return this.prisma.$disconnect();
  }
}

function singleWrite(p: Client, delta: Exclude<MetadataDelta, { type: 'topic-created' | 'partitions-created' | 'partition-changed' | 'topic-deleted' }>): PrismaPromise<unknown> {
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

function insertTopics(p: Client, topics: readonly TopicInfo[]): Array<PrismaPromise<unknown>> {
  const now = new Date();
  return chunkRows(topics, 4).map((chunk) => {
    const rows = chunk.map((t) => Prisma.sql`(${t.id}, ${t.name}, ${JSON.stringify(t.configs)}, ${now})`);
    return p.$executeRaw`INSERT INTO "Topic" ("id", "name", "configs", "createdAt") VALUES ${Prisma.join(rows)}`;
  });
}

function upsertPartitions(p: Client, partitions: readonly PartitionRow[]): Array<PrismaPromise<unknown>> {
  return chunkRows(partitions, 8).map((chunk) => {
    const rows = chunk.map((r) => Prisma.sql`(${r.topicId}, ${r.partition}, ${r.leader}, ${r.leaderEpoch}, ${r.partitionEpoch}, ${r.replicas}, ${r.isr}, ${r.reassignment})`);
    return p.$executeRaw`INSERT INTO "Partition" ("topicId", "partition", "leader", "leaderEpoch", "partitionEpoch", "replicas", "isr", "reassignment")
      VALUES ${Prisma.join(rows)}
      ON CONFLICT ("topicId", "partition") DO UPDATE SET "leader" = excluded."leader", "leaderEpoch" = excluded."leaderEpoch",
        "partitionEpoch" = excluded."partitionEpoch", "replicas" = excluded."replicas", "isr" = excluded."isr",
        "reassignment" = excluded."reassignment"`;
  });
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
