// Committed offsets and known groups through Prisma (SQLite by default, PostgreSQL for several coordinators sharing
// shards). Every write is one transaction and resolves only once committed: a commit is answered after it is durable.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkRows, openPrismaClient, type Provider } from '@sluice/database';
import { Prisma, type PrismaClient } from './generated/prisma-sqlite/client.js';

const prismaDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

/** A stored offset no JS number holds exactly (a commit accepted before commits were checked): never served. */
export interface UnreadableOffset {
  topic: string;
  partition: number;
  /** The stored value, in decimal. */
  stored: string;
}

/**
 * Offsets are int64 in Kafka and JS numbers here: a commit is accepted when its offset is a safe integer. Negative
 * values stay accepted as in Kafka (KafkaJS's admin commits -2 and -1 for earliest and latest); clients read any
 * negative committed offset as none.
 */
export function isStorableOffset(offset: number): boolean {
  return Number.isSafeInteger(offset);
}

export interface StoredGroup {
  groupId: string;
  protocolType: string;
  generation: number;
  updatedAt: number;
}

interface PendingCommit {
  groupId: string;
  shard: number;
  protocolType: string;
  generation: number;
  offsets: CommittedOffset[];
  at: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Metadata is stored as its UTF-8 bytes, so every Kafka string (NUL included) comes back as it was committed. */
function metadataBytes(metadata: string | null): Buffer | null {
  return metadata === null ? null : Buffer.from(metadata, 'utf8');
}

/** Topic names one offset query binds (Prisma allows 999 parameters per statement on SQLite). */
const TOPICS_PER_QUERY = 500;
/** Most commits one write carries. */
const MAX_COMMITS_PER_WRITE = 500;

export class OffsetStore {
  /** Commits waiting for the write in progress: the next write carries all of them (a group commit). */
  private readonly pending: PendingCommit[] = [];
  private writing = false;

  private constructor(
    private readonly prisma: PrismaClient,
    readonly provider: Provider,
  ) {}

  static async open(url: string): Promise<{ store: OffsetStore; applied: string[] }> {
    const { client, provider, applied } = await openPrismaClient<PrismaClient>(url, prismaDir, {
      sqlite: () => import('./generated/prisma-sqlite/client.js'),
      postgres: () => import('./generated/prisma-postgres/client.js'),
    });
    return { store: new OffsetStore(client, provider), applied };
  }

  /** Records a group (after a rebalance, or with its first commit). */
  async saveGroup(groupId: string, shard: number, protocolType: string, generation: number, now = Date.now()): Promise<void> {
    await this.prisma.consumerGroup.upsert({
      where: { groupId },
      create: { groupId, shard, protocolType, generation, updatedAt: BigInt(now) },
      update: { protocolType, generation, updatedAt: BigInt(now) },
    });
  }

  /**
   * Commits offsets of one group; resolves once they are in the database. Commits that arrive while a write is in
   * progress are written together by the next one: one transaction of two multi-row upserts (groups, offsets), in
   * arrival order, so the last commit of a partition wins.
   */
  commit(groupId: string, shard: number, protocolType: string, generation: number, offsets: CommittedOffset[], now = Date.now()): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ groupId, shard, protocolType, generation, offsets, at: now, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_COMMITS_PER_WRITE);
      try {
        await this.writeCommits(batch);
        for (const c of batch) c.resolve();
      } catch (err) {
        for (const c of batch) c.reject(err);
      }
    }
    this.writing = false;
  }

  private async writeCommits(batch: PendingCommit[]): Promise<void> {
    const groups = new Map<string, PendingCommit>();
    const offsets = new Map<string, { c: PendingCommit; o: CommittedOffset }>();
    for (const c of batch) {
      groups.set(c.groupId, c);
      for (const o of c.offsets) offsets.set(`${c.groupId}\u0000${o.topic}\u0000${o.partition}`, { c, o });
    }
    // The same statements on SQLite and PostgreSQL: INSERT ... ON CONFLICT DO UPDATE, identifiers quoted as Prisma names
    // them, as many statements as the rows need to stay within the databases' parameter limits.
    const groupWrites = chunkRows([...groups.values()], 5).map((chunk) => {
      const rows = chunk.map((c) => Prisma.sql`(${c.groupId}, ${c.shard}, ${c.protocolType}, ${c.generation}, ${BigInt(c.at)})`);
      return this.prisma.$executeRaw`INSERT INTO "ConsumerGroup" ("groupId", "shard", "protocolType", "generation", "updatedAt") VALUES ${Prisma.join(rows)}
        ON CONFLICT ("groupId") DO UPDATE SET "updatedAt" = excluded."updatedAt"`;
    });
    const offsetWrites = chunkRows([...offsets.values()], 7).map((chunk) => {
      const rows = chunk.map(({ c, o }) => Prisma.sql`(${c.groupId}, ${o.topic}, ${o.partition}, ${BigInt(o.offset)}, ${o.leaderEpoch}, ${metadataBytes(o.metadata)}, ${BigInt(c.at)})`);
      return this.prisma.$executeRaw`INSERT INTO "CommittedOffset" ("groupId", "topic", "partition", "offset", "leaderEpoch", "metadata", "commitTime") VALUES ${Prisma.join(rows)}
        ON CONFLICT ("groupId", "topic", "partition") DO UPDATE SET "offset" = excluded."offset", "leaderEpoch" = excluded."leaderEpoch", "metadata" = excluded."metadata", "commitTime" = excluded."commitTime"`;
    });
    await this.prisma.$transaction([...groupWrites, ...offsetWrites]);
  }

  /**
   * Committed offsets of a group, all of them or those of the given topics. Offsets are read as text: a row holding
   * an offset beyond 2^53 (an older version accepted such commits) must not fail the read of the others (SQLite's
   * driver refuses to return it as a number); it comes back in `unreadable` instead. A fetch naming thousands of topics
   * asks a few hundred at a time (the databases' parameter limits).
   */
  async offsets(groupId: string, topics?: readonly string[]): Promise<{ offsets: CommittedOffset[]; unreadable: UnreadableOffset[] }> {
    if (topics?.length === 0) return { offsets: [], unreadable: [] };
    type Row = { topic: string; partition: number; offset: string; leaderEpoch: number; metadata: Uint8Array | null };
    const query = (chunk: readonly string[] | undefined) => this.prisma.$queryRaw<Row[]>`
      SELECT "topic", "partition", CAST("offset" AS TEXT) AS "offset", "leaderEpoch", "metadata" FROM "CommittedOffset"
      WHERE "groupId" = ${groupId}${chunk ? Prisma.sql` AND "topic" IN (${Prisma.join([...chunk])})` : Prisma.empty}
      ORDER BY "topic", "partition"`;
    const chunks = topics ? chunkRows([...new Set(topics)].sort(), 1, TOPICS_PER_QUERY) : [undefined];
    const rows = (await Promise.all(chunks.map(query))).flat();
    const offsets: CommittedOffset[] = [];
    const unreadable: UnreadableOffset[] = [];
    for (const r of rows) {
      const offset = Number(r.offset);
      if (!isStorableOffset(offset)) unreadable.push({ topic: r.topic, partition: Number(r.partition), stored: r.offset });
      else offsets.push({ topic: r.topic, partition: Number(r.partition), offset, leaderEpoch: Number(r.leaderEpoch), metadata: r.metadata === null ? null : Buffer.from(r.metadata).toString('utf8') });
    }
    return { offsets, unreadable };
  }

  /**
   * The committed offsets of every group of the given shards, at most `limit` of them (for the lag gauges): one query.
   * Offsets no JS number holds and negative ones (none committed) are left out.
   */
  async shardOffsets(shards: readonly number[], limit: number): Promise<Array<{ groupId: string; topic: string; partition: number; offset: number }>> {
    if (shards.length === 0) return [];
    type Row = { groupId: string; topic: string; partition: number; offset: string };
    const rows = await this.prisma.$queryRaw<Row[]>`
      SELECT o."groupId", o."topic", o."partition", CAST(o."offset" AS TEXT) AS "offset"
      FROM "CommittedOffset" o JOIN "ConsumerGroup" g ON g."groupId" = o."groupId"
      WHERE g."shard" IN (${Prisma.join([...shards])})
      ORDER BY o."groupId", o."topic", o."partition" LIMIT ${limit}`;
    return rows
      .map((r) => ({ groupId: r.groupId, topic: r.topic, partition: Number(r.partition), offset: Number(r.offset) }))
      .filter((r) => isStorableOffset(r.offset) && r.offset >= 0);
  }

  async group(groupId: string): Promise<StoredGroup | undefined> {
    const row = await this.prisma.consumerGroup.findUnique({ where: { groupId } });
    return row ? { groupId: row.groupId, protocolType: row.protocolType, generation: row.generation, updatedAt: Number(row.updatedAt) } : undefined;
  }

  /** Groups of the given shards. */
  async groups(shards: readonly number[]): Promise<StoredGroup[]> {
    const rows = await this.prisma.consumerGroup.findMany({ where: { shard: { in: [...shards] } }, orderBy: { groupId: 'asc' } });
    return rows.map((row) => ({ groupId: row.groupId, protocolType: row.protocolType, generation: row.generation, updatedAt: Number(row.updatedAt) }));
  }

  /** Deletes a group and its offsets; false when it did not exist. */
  async deleteGroup(groupId: string): Promise<boolean> {
    // Offsets first: SQLite enforces the foreign key's cascade only when its pragma is on.
    const [, groups] = await this.prisma.$transaction([
      this.prisma.committedOffset.deleteMany({ where: { groupId } }),
      this.prisma.consumerGroup.deleteMany({ where: { groupId } }),
    ]);
    return groups.count > 0;
  }

  /** Deletes a group's committed offsets of the given partitions of one topic (OffsetDelete). */
  async deleteOffsets(groupId: string, topic: string, partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.prisma.committedOffset.deleteMany({ where: { groupId, topic, partition: { in: [...partitions] } } });
  }

  /** offsets.retention.minutes: deletes the given groups' offsets (and the groups) last updated before `before`. */
  async expire(groupIds: readonly string[], before: number): Promise<string[]> {
    const stale = await this.prisma.consumerGroup.findMany({ where: { groupId: { in: [...groupIds] }, updatedAt: { lt: BigInt(before) } }, select: { groupId: true } });
    const ids = stale.map((g) => g.groupId);
    if (ids.length > 0) {
      await this.prisma.$transaction([
        this.prisma.committedOffset.deleteMany({ where: { groupId: { in: ids } } }),
        this.prisma.consumerGroup.deleteMany({ where: { groupId: { in: ids } } }),
      ]);
    }
    return ids;
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
