// A group shard serving Kafka group requests (as the gateway forwards them) over a real database: SQLite and
// PostgreSQL. Offsets survive a new shard and store (a coordinator restart, or the shard moving), and databases
// written by older versions (text metadata, offsets beyond 2^53) are still served.
import { cp, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { adapterFor, applyMigrations } from '@sluice/database';
import { ApiKey, kafka, KafkaErrorCode, Reader, Writer } from '@sluice/protocol';
import { type GroupApiRequest } from '@sluice/contracts';
import { createLogger } from '@sluice/runtime';
import { createPostgresDatabase, tempDir, type PostgresDatabase, type TempDir } from '@sluice/testing';
import { defaultGroupConfig } from './consumer-group.js';
import { emptyConsumerAssignment, GroupShard } from './group-shard.js';
import { OffsetStore } from './offset-store.js';

const logger = createLogger({ service: 'test', level: 'silent' });

type Write<T> = (w: Writer, v: number, o: T) => void;
type Read<T> = (r: Reader, v: number) => T;

class Client {
  constructor(private readonly shard: GroupShard) {}
  async call<Q, S>(apiKey: number, v: number, write: Write<Q>, read: Read<S>, req: Q): Promise<S> {
    const w = new Writer();
    write(w, v, req);
    const meta: GroupApiRequest = { apiKey, apiVersion: v, clientId: 'test-client', clientHost: '/127.0.0.1' };
    return read(new Reader(await this.shard.handle(meta, w.toBuffer())), v);
  }
  join(req: kafka.JoinGroupRequest, v = 5) {
    return this.call(ApiKey.JoinGroup, v, kafka.writeJoinGroupRequest, kafka.readJoinGroupResponse, req);
  }
  sync(req: kafka.SyncGroupRequest, v = 3) {
    return this.call(ApiKey.SyncGroup, v, kafka.writeSyncGroupRequest, kafka.readSyncGroupResponse, req);
  }
  commit(req: kafka.OffsetCommitRequest, v = 7) {
    return this.call(ApiKey.OffsetCommit, v, kafka.writeOffsetCommitRequest, kafka.readOffsetCommitResponse, req);
  }
  fetch(groupId: string, topics: kafka.OffsetFetchRequestTopic[] | null, v = 5) {
    return this.call(ApiKey.OffsetFetch, v, kafka.writeOffsetFetchRequest, kafka.readOffsetFetchResponse, { groupId, topics });
  }
  heartbeat(req: kafka.HeartbeatRequest, v = 4) {
    return this.call(ApiKey.Heartbeat, v, kafka.writeHeartbeatRequest, kafka.readHeartbeatResponse, req);
  }
  leave(req: kafka.LeaveGroupRequest, v = 4) {
    return this.call(ApiKey.LeaveGroup, v, kafka.writeLeaveGroupRequest, kafka.readLeaveGroupResponse, req);
  }
}

const prismaDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');
/** The first migration, which stored metadata as text. */
const INIT_MIGRATION = '20261125165950_init';

/** Rows as an older version wrote them (it accepted any int64 offset), straight into the database. */
async function writeLegacyRows(url: string, provider: 'sqlite' | 'postgresql', sql: string): Promise<void> {
  const connection = await adapterFor(provider, url).connect();
  try {
    await connection.executeRaw({ sql, args: [], argTypes: [] });
  } finally {
    await connection.dispose();
  }
}

/** A database as the first release left it: only the init migration applied. */
async function migrateToInit(url: string, provider: 'sqlite' | 'postgresql', scratch: string): Promise<void> {
  const name = provider === 'sqlite' ? 'sqlite' : 'postgres';
  const migrations = join(scratch, name, 'migrations');
  await mkdir(migrations, { recursive: true });
  await cp(join(prismaDir, name, 'migrations', INIT_MIGRATION), join(migrations, INIT_MIGRATION), { recursive: true });
  await cp(join(prismaDir, name, 'migrations', 'migration_lock.toml'), join(migrations, 'migration_lock.toml'));
  await cp(join(prismaDir, name, 'schema.prisma'), join(scratch, name, 'schema.prisma'));
  expect(await applyMigrations(provider, url, migrations)).toEqual([INIT_MIGRATION]);
}

const protocols = [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 116, 255, 255, 255, 255]) }];

for (const provider of ['sqlite', 'postgresql'] as const) {
  describe(`group shard on ${provider}`, () => {
    let dir: TempDir;
    let pg: PostgresDatabase | undefined;
    let url: string;
    let store: OffsetStore;
    let shard: GroupShard;
    let client: Client;
    const open = async () => {
      store = (await OffsetStore.open(url)).store;
      shard = new GroupShard(7, {
        store,
        groupConfig: { ...defaultGroupConfig, initialRebalanceDelayMs: 0 },
        topicExists: (name) => name !== 'missing',
        offsetMetadataMaxBytes: 16,
        logger,
      });
      client = new Client(shard);
    };

    beforeEach(async () => {
      dir = await tempDir('sluice-groups-');
      pg = provider === 'postgresql' ? await createPostgresDatabase() : undefined;
      url = pg ? pg.url : `file:${join(dir.path, 'groups.db')}`;
      await open();
    });
    afterEach(async () => {
      shard.shutdown();
      await store.close();
      await pg?.drop();
      await dir.remove();
    });

    it('joins, syncs (an empty assignment still well-formed), commits and fetches offsets that survive a restart', async () => {
      const first = await client.join({ groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols });
      expect(first.errorCode).toBe(KafkaErrorCode.MEMBER_ID_REQUIRED);
      const joined = await client.join({ groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: first.memberId, protocolType: 'consumer', protocols });
      expect(joined).toMatchObject({ errorCode: 0, generationId: 1, leader: first.memberId, memberId: first.memberId, protocolName: 'range' });
      expect(joined.members).toHaveLength(1);
      const synced = await client.sync({ groupId: 'g', generationId: 1, memberId: first.memberId, assignments: [] });
      expect(synced.errorCode).toBe(0);
      expect(synced.assignment.equals(emptyConsumerAssignment())).toBe(true);

      const commit = await client.commit({
        groupId: 'g',
        generationIdOrMemberEpoch: 1,
        memberId: first.memberId,
        topics: [
          { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, committedMetadata: 'meta' }, { partitionIndex: 1, committedOffset: 7, committedMetadata: null }] },
          { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
          { name: 'u', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: 'x'.repeat(17) }] },
        ],
      });
      expect(commit.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)])).toEqual([
        ['t', [0, 0]],
        ['missing', [KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
        ['u', [KafkaErrorCode.OFFSET_METADATA_TOO_LARGE]],
      ]);
      // A commit from the past generation or an unknown member is refused, and changes nothing.
      const stale = await client.commit({ groupId: 'g', generationIdOrMemberEpoch: 0, memberId: first.memberId, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] });
      expect(stale.topics[0].partitions[0].errorCode).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
      const stranger = await client.commit({ groupId: 'g', generationIdOrMemberEpoch: 1, memberId: 'who', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] });
      expect(stranger.topics[0].partitions[0].errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);

      shard.shutdown();
      await store.close();
      await open();
      const fetched = await client.fetch('g', [{ name: 't', partitionIndexes: [0, 1, 2] }]);
      expect(fetched.topics?.[0].partitions?.map((p) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata])).toEqual([
        [0, 42, 3, 'meta'],
        // As in Kafka, null metadata reads back as the empty string.
        [1, 7, -1, ''],
        [2, -1, -1, ''],
      ]);
      const all = await client.fetch('g', null);
      expect(all.topics?.map((t) => t.name)).toEqual(['t']);
    });

    it('refuses offsets a JS number cannot hold, per partition, and the rest of the commit stands', async () => {
      const commit = await client.commit({
        groupId: 'poison',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, committedOffset: 2 ** 62, committedMetadata: null },
              { partitionIndex: 1, committedOffset: 2 ** 53, committedMetadata: null },
              { partitionIndex: 2, committedOffset: Number.MAX_SAFE_INTEGER, committedMetadata: null },
              { partitionIndex: 3, committedOffset: 17, committedMetadata: 'kept' },
              // Kafka's earliest sentinel, as KafkaJS's admin commits it: negative offsets stay accepted.
              { partitionIndex: 4, committedOffset: -2, committedMetadata: null },
              { partitionIndex: 5, committedOffset: -(2 ** 62), committedMetadata: null },
            ],
          },
        ],
      });
      expect(commit.topics[0].partitions.map((p) => p.errorCode)).toEqual([
        KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE,
        KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE,
        0,
        0,
        0,
        KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE,
      ]);
      const fetched = await client.fetch('poison', null);
      expect(fetched.errorCode).toBe(0);
      expect(fetched.topics?.[0].partitions?.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode])).toEqual([
        [2, Number.MAX_SAFE_INTEGER, '', 0],
        [3, 17, 'kept', 0],
        [4, -2, '', 0],
      ]);
    });

    it('serves a group whose stored offsets are out of range (written by an older version): those partitions read as uncommitted, and are logged', async () => {
      await client.commit({ groupId: 'legacy', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: 12, committedMetadata: 'm' }] }] });
      await writeLegacyRows(
        url,
        provider,
        `INSERT INTO "CommittedOffset" ("groupId", "topic", "partition", "offset", "leaderEpoch", "metadata", "commitTime") VALUES
          ('legacy', 't', 0, 4611686018427387904, -1, NULL, 1000), ('legacy', 't', 1, 9223372036854775807, -1, NULL, 1000)`,
      );
      const warn = vi.spyOn(logger, 'warn');
      try {
        const named = await client.fetch('legacy', [{ name: 't', partitionIndexes: [0, 1, 2] }]);
        expect(named.errorCode).toBe(0);
        expect(named.topics?.[0].partitions?.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode])).toEqual([
          [0, -1, 0],
          [1, -1, 0],
          [2, 12, 0],
        ]);
        const all = await client.fetch('legacy', null);
        expect(all.topics?.[0].partitions?.map((p) => [p.partitionIndex, p.committedOffset])).toEqual([[2, 12]]);
        const v8 = await client.call(ApiKey.OffsetFetch, 8, kafka.writeOffsetFetchRequest, kafka.readOffsetFetchResponse, { groups: [{ groupId: 'legacy', topics: null }], requireStable: false });
        expect(v8.groups?.map((g) => [g.groupId, g.errorCode, g.topics?.[0].partitions?.map((p) => p.committedOffset)])).toEqual([['legacy', 0, [12]]]);
        expect((await store.offsets('legacy')).unreadable).toEqual([
          { topic: 't', partition: 0, stored: '4611686018427387904' },
          { topic: 't', partition: 1, stored: '9223372036854775807' },
        ]);
        expect(warn).toHaveBeenCalledWith(expect.objectContaining({ group: 'legacy', topic: 't', partition: 0, offset: '4611686018427387904' }), expect.stringContaining('out of range'));
      } finally {
        warn.mockRestore();
      }
      const described = await client.call(ApiKey.DescribeGroups, 5, kafka.writeDescribeGroupsRequest, kafka.readDescribeGroupsResponse, { groups: ['legacy'] });
      expect(described.groups.map((g) => [g.errorCode, g.groupState])).toEqual([[0, 'Empty']]);
      // The next commit of such a partition replaces the bad row.
      await client.commit({ groupId: 'legacy', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 3, committedMetadata: null }] }] });
      expect((await client.fetch('legacy', [{ name: 't', partitionIndexes: [0] }])).topics?.[0].partitions?.[0].committedOffset).toBe(3);
    });

    it('migrates a database whose metadata was text: existing commits keep their metadata and offsets', async () => {
      const legacyPg = provider === 'postgresql' ? await createPostgresDatabase() : undefined;
      const legacyUrl = legacyPg ? legacyPg.url : `file:${join(dir.path, 'legacy.db')}`;
      try {
        await migrateToInit(legacyUrl, provider, join(dir.path, 'init'));
        await writeLegacyRows(legacyUrl, provider, `INSERT INTO "ConsumerGroup" ("groupId", "shard", "protocolType", "generation", "updatedAt") VALUES ('legacy', 7, 'consumer', 3, 1000)`);
        await writeLegacyRows(
          legacyUrl,
          provider,
          `INSERT INTO "CommittedOffset" ("groupId", "topic", "partition", "offset", "leaderEpoch", "metadata", "commitTime") VALUES
            ('legacy', 't', 0, 42, 5, 'plain', 1000), ('legacy', 't', 1, 43, -1, 'é€😀 ünïcødé', 1000), ('legacy', 't', 2, 44, -1, NULL, 1000)`,
        );
        const { store: migrated, applied } = await OffsetStore.open(legacyUrl);
        try {
          expect(applied).toEqual([expect.stringMatching(/_metadata_bytes$/)]);
          expect((await migrated.offsets('legacy')).offsets.map((o) => [o.partition, o.offset, o.leaderEpoch, o.metadata])).toEqual([
            [0, 42, 5, 'plain'],
            [1, 43, -1, 'é€😀 ünïcødé'],
            [2, 44, -1, null],
          ]);
          // New commits, NUL included, go into the migrated table beside them.
          await migrated.commit('legacy', 7, 'consumer', 3, [{ topic: 't', partition: 0, offset: 50, leaderEpoch: 6, metadata: 'a\u0000b' }]);
          expect((await migrated.offsets('legacy', ['t'])).offsets[0]).toEqual({ topic: 't', partition: 0, offset: 50, leaderEpoch: 6, metadata: 'a\u0000b' });
        } finally {
          await migrated.close();
        }
      } finally {
        await legacyPg?.drop();
      }
    });

    it('returns commit metadata exactly as committed: NUL and multi-byte UTF-8', async () => {
      const metadata = ['Hello\u0000world!', '\u0000é€😀\u0000'];
      const commit = await client.commit({
        groupId: 'meta',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [{ name: 't', partitions: metadata.map((m, partitionIndex) => ({ partitionIndex, committedOffset: 1, committedMetadata: m })) }],
      });
      expect(commit.topics[0].partitions.map((p) => p.errorCode)).toEqual([0, 0]);
      const fetched = await client.fetch('meta', [{ name: 't', partitionIndexes: [0, 1] }]);
      expect(fetched.topics?.[0].partitions?.map((p) => p.metadata)).toEqual(metadata);
    });

    it('fences the replaced incarnation of a static member: heartbeat, sync, commit and leave get FENCED_INSTANCE_ID', async () => {
      const staticJoin = (memberId = '') =>
        client.join({ groupId: 's', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: 'worker-1', protocolType: 'consumer', protocols }, 5);
      const old = await staticJoin();
      expect(old.errorCode).toBe(0);
      expect((await client.sync({ groupId: 's', generationId: old.generationId ?? -1, memberId: old.memberId, groupInstanceId: 'worker-1', assignments: [] })).errorCode).toBe(0);
      // A second consumer with the same group.instance.id takes its place.
      const current = await staticJoin();
      expect(current.errorCode).toBe(0);
      expect(current.memberId).not.toBe(old.memberId);

      const generation = old.generationId ?? -1;
      const asOld = { groupId: 's', generationId: generation, memberId: old.memberId, groupInstanceId: 'worker-1' };
      expect((await client.heartbeat(asOld)).errorCode).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
      expect((await client.sync({ ...asOld, assignments: [] })).errorCode).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
      const commit = await client.commit({
        groupId: 's',
        generationIdOrMemberEpoch: generation,
        memberId: old.memberId,
        groupInstanceId: 'worker-1',
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }],
      });
      expect(commit.topics[0].partitions[0].errorCode).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
      const leave = await client.leave({ groupId: 's', members: [{ memberId: old.memberId, groupInstanceId: 'worker-1' }] });
      expect(leave.members?.map((m) => m.errorCode)).toEqual([KafkaErrorCode.FENCED_INSTANCE_ID]);
      expect((await staticJoin(old.memberId)).errorCode).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);

      // The current incarnation was not displaced by any of it.
      expect((await client.heartbeat({ groupId: 's', generationId: current.generationId ?? -1, memberId: current.memberId, groupInstanceId: 'worker-1' })).errorCode).toBe(0);
      const described = await client.call(ApiKey.DescribeGroups, 5, kafka.writeDescribeGroupsRequest, kafka.readDescribeGroupsResponse, { groups: ['s'] });
      expect(described.groups[0].members.map((m) => [m.memberId, m.groupInstanceId])).toEqual([[current.memberId, 'worker-1']]);
    });

    it('describes, lists and deletes groups; a group with members cannot be deleted', async () => {
      const commit = await client.commit({ groupId: 'offline', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }] });
      expect(commit.topics[0].partitions[0].errorCode).toBe(0);
      const joined = await client.join({ groupId: 'live', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols }, 3);
      expect(joined.errorCode).toBe(0);
      const list = await client.call(ApiKey.ListGroups, 4, kafka.writeListGroupsRequest, kafka.readListGroupsResponse, { statesFilter: [] });
      expect(list.groups.map((g) => [g.groupId, g.groupState]).sort()).toEqual([
        ['live', 'CompletingRebalance'],
        ['offline', 'Empty'],
      ]);
      const described = await client.call(ApiKey.DescribeGroups, 3, kafka.writeDescribeGroupsRequest, kafka.readDescribeGroupsResponse, { groups: ['live', 'offline', 'nobody'] });
      expect(described.groups.map((g) => [g.groupId, g.groupState, g.members.length])).toEqual([
        ['live', 'CompletingRebalance', 1],
        ['offline', 'Empty', 0],
        ['nobody', 'Dead', 0],
      ]);
      const deleted = await client.call(ApiKey.DeleteGroups, 1, kafka.writeDeleteGroupsRequest, kafka.readDeleteGroupsResponse, { groupsNames: ['offline', 'live', 'nobody'] });
      expect(deleted.results.map((r) => [r.groupId, r.errorCode])).toEqual([
        ['offline', 0],
        ['live', KafkaErrorCode.NON_EMPTY_GROUP],
        ['nobody', KafkaErrorCode.GROUP_ID_NOT_FOUND],
      ]);
      expect((await client.fetch('offline', null)).topics).toEqual([]);
    });

    it('writes concurrent commits together, in arrival order: the last commit of a partition wins', async () => {
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store.commit(`g${i % 7}`, 7, 'consumer', -1, [
            { topic: 't', partition: i % 3, offset: i, leaderEpoch: -1, metadata: `m${i}` },
            { topic: 'u', partition: 0, offset: 1000 + i, leaderEpoch: 2, metadata: null },
          ]),
        ),
      );
      for (let g = 0; g < 7; g++) {
        const { offsets } = await store.offsets(`g${g}`);
        const last = (pred: (i: number) => boolean) => Math.max(...Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 7 === g && pred(i)));
        for (const o of offsets.filter((x) => x.topic === 't')) expect(o.offset).toBe(last((i) => i % 3 === o.partition));
        expect(offsets.find((x) => x.topic === 'u')?.offset).toBe(1000 + last(() => true));
      }
    });

    it('commits 12,000 partitions at once, fetches them by 6,000 topic names and expires 5,000 groups at once', async () => {
      const topics = Array.from({ length: 6000 }, (_, i) => ({
        name: `topic-${i}`,
        partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, committedOffset: i, committedMetadata: null })),
      }));
      const commit = await client.commit({ groupId: 'wide', generationIdOrMemberEpoch: -1, memberId: '', topics });
      expect(commit.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)).filter((c) => c !== KafkaErrorCode.NONE)).toEqual([]);
      const expected = topics.map((t, i) => [t.name, [i, i]]);
      const named = await client.fetch('wide', topics.map((t) => ({ name: t.name, partitionIndexes: [0, 1] })));
      expect(named.topics?.map((t) => [t.name, t.partitions?.map((p) => p.committedOffset)])).toEqual(expected);
      const all = await client.fetch('wide', null);
      expect(all.topics?.map((t) => [t.name, t.partitions?.map((p) => p.committedOffset)]).sort()).toEqual(expected.sort());

      const groups = Array.from({ length: 5000 }, (_, i) => `g-${i}`);
      await Promise.all(groups.map((g, i) => store.commit(g, 7, 'consumer', -1, [{ topic: 't', partition: 0, offset: i, leaderEpoch: -1, metadata: null }])));
      expect((await store.expire(groups, Date.now() + 1)).sort()).toEqual([...groups].sort());
      expect((await store.groups([7])).map((g) => g.groupId)).toEqual(['wide']);
    }, 60_000);

    it('expires the offsets of groups without members after the retention time', async () => {
      await client.commit({ groupId: 'old', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }] });
      expect(await store.expire(['old'], Date.now() - 60_000)).toEqual([]);
      expect(await store.expire(['old'], Date.now() + 1)).toEqual(['old']);
      expect((await client.fetch('old', [{ name: 't', partitionIndexes: [0] }])).topics?.[0].partitions?.[0].committedOffset).toBe(-1);
    });
  });
}
