// Committed offsets and known groups through Prisma (SQLite by default, PostgreSQL for several coordinators sharing
// shards). Every write is one transaction and resolves only once committed: a commit is answered after it is durable.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPrismaClient, type Provider } from '@sluice/database';
import type { PrismaClient } from './generated/prisma-sqlite/client.js';

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

export class OffsetStore {
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

  /** Commits offsets of one group in one transaction. */
  async commit(groupId: string, shard: number, protocolType: string, generation: number, offsets: CommittedOffset[], now = Date.now()): Promise<void> {
    const at = BigInt(now);
    await this.prisma.$transaction([
      this.prisma.consumerGroup.upsert({
        where: { groupId },
        create: { groupId, shard, protocolType, generation, updatedAt: at },
        update: { updatedAt: at },
      }),
      ...offsets.map((o) =>
        this.prisma.committedOffset.upsert({
          where: { groupId_topic_partition: { groupId, topic: o.topic, partition: o.partition } },
          create: { groupId, topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTime: at },
          update: { offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTime: at },
        }),
      ),
    ]);
  }

  /** Committed offsets of a group, all of them or those of the given topics. */
  async offsets(groupId: string, topics?: readonly string[]): Promise<CommittedOffset[]> {
    const rows = await this.prisma.committedOffset.findMany({
      where: { groupId, ...(topics ? { topic: { in: [...topics] } } : {}) },
      orderBy: [{ topic: 'asc' }, { partition: 'asc' }],
    });
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
