// A group shard serving Kafka group requests (as the gateway forwards them) over a real database: SQLite and
// PostgreSQL. Offsets survive a new shard and store (a coordinator restart, or the shard moving).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey, kafka, KafkaErrorCode, Reader, Writer, type GroupApiRequest } from '@sluice/protocol';
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
        const offsets = await store.offsets(`g${g}`);
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
