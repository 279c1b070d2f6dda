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
      const rows = chunk.map(({ c, o }) => Prisma.sql`(${c.groupId}, ${o.topic}, ${o.partition}, ${BigInt(o.offset)}, ${o.leaderEpoch}, ${o.metadata}, ${BigInt(c.at)})`);
      return this.prisma.$executeRaw`INSERT INTO "CommittedOffset" ("groupId", "topic", "partition", "offset", "leaderEpoch", "metadata", "commitTime") VALUES ${Prisma.join(rows)}
        ON CONFLICT ("groupId", "topic", "partition") DO UPDATE SET "offset" = excluded."offset", "leaderEpoch" = excluded."leaderEpoch", "metadata" = excluded."metadata", "commitTime" = excluded."commitTime"`;
    });
    await this.prisma.$transaction([...groupWrites, ...offsetWrites]);
  }

  /** Committed offsets of a group, all of them or those of the given topics. */
  async offsets(groupId: string, topics?: readonly string[]): Promise<CommittedOffset[]> {
    const orderBy = [{ topic: 'asc' }, { partition: 'asc' }] as const;
    // Prisma binds an `in` list beside other conditions and an order as one statement, which SQLite refuses beyond 999
    // parameters: a fetch naming thousands of topics asks a few hundred at a time.
    const rows = topics
      ? (
          await Promise.all(
            chunkRows([...new Set(topics)].sort(), 1, TOPICS_PER_QUERY).map((chunk) =>
              this.prisma.committedOffset.findMany({ where: { groupId, topic: { in: chunk } }, orderBy: [...orderBy] }),
            ),
          )
        ).flat()
      : await this.prisma.committedOffset.findMany({ where: { groupId }, orderBy: [...orderBy] });
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.offset), leaderEpoch: r.leaderEpoch, metadata: r.metadata }));
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
