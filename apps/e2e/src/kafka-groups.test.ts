// Consumer groups through real Kafka clients: kcat -G (static membership too), a KafkaJS group of three members
// sharing six partitions (each record to exactly one member, a member leaving, offsets resumed by a new member),
// @platformatic/kafka, group administration, and offset commits Sluice must refuse or keep exactly (raw frames).
import { Consumer as PlatformaticConsumer, MessagesStreamModes, Producer as PlatformaticProducer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '@sluice/protocol';
import { waitFor } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';
import { WireClient } from './kafka-wire.js';
import { kcatOk, spawnKcat, type KcatProcess } from './kcat.js';

let sluice: EmbeddedSluice;
let http: Http;

beforeAll(async () => {
  sluice = await startEmbedded({ SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS: '300' });
  http = new Http(sluice.httpUrl);
});

afterAll(async () => {
  await sluice?.stop();
});

const kcat = (args: string[], input?: string) => kcatOk(sluice.kafkaBootstrap, args, input);

const kafka = () => new Kafka({ clientId: 'e2e-groups', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ key: `key-${from + i}`, value: `record-${from + i}` })) });
  await producer.disconnect();
}

describe('kcat consumer groups (-G)', () => {
  it('consumes every partition once, commits, and a second run of the group reads only what is new', async () => {
    await http.createTopic('kcat-group', 3);
    await kcat(['-P', '-t', 'kcat-group', '-K', ':'], Array.from({ length: 30 }, (_, i) => `k${i}:first-${i}`).join('\n') + '\n');
    const consume = () => kcat(['-G', 'kcat-readers', 'kcat-group', '-e', '-X', 'auto.offset.reset=earliest', '-f', '%s\\n']);
    const first = await consume();
    expect(first.out.trim().split('\n').sort()).toEqual(Array.from({ length: 30 }, (_, i) => `first-${i}`).sort());
    expect(first.err).toContain('assigned: kcat-group [0], kcat-group [1], kcat-group [2]');
    await kcat(['-P', '-t', 'kcat-group', '-K', ':'], Array.from({ length: 5 }, (_, i) => `k${i}:second-${i}`).join('\n') + '\n');
    const second = await consume();
    expect(second.out.trim().split('\n').sort()).toEqual(Array.from({ length: 5 }, (_, i) => `second-${i}`).sort());
  });
});

describe('kcat static membership (group.instance.id)', () => {
  it('a second consumer with the same group.instance.id fences the first, which stops instead of taking its place back', async () => {
    await http.createTopic('kcat-static', 2);
    await kcat(['-P', '-t', 'kcat-static', '-K', ':'], 'a:1\nb:2\nc:3\n');
    const args = ['-G', 'kcat-static-group', 'kcat-static', '-X', 'group.instance.id=worker-1', '-X', 'auto.offset.reset=earliest', '-f', '%s\\n'];
    const assigned = 'assigned: kcat-static [0], kcat-static [1]';
    const first = spawnKcat(sluice.kafkaBootstrap, args);
    let second: KcatProcess | undefined;
    try {
      await waitFor(() => first.err.includes(assigned), { timeoutMs: 30_000, what: 'the first consumer assigned both partitions' });
      const started = spawnKcat(sluice.kafkaBootstrap, args);
      second = started;
      await waitFor(() => started.err.includes(assigned), { timeoutMs: 30_000, what: 'the second consumer assigned both partitions' });
      // FENCED_INSTANCE_ID is fatal to librdkafka: the replaced consumer ends. (UNKNOWN_MEMBER_ID made it rejoin and
      // displace the second one, and the two took the group from each other for as long as they ran.)
      await waitFor(() => first.code !== undefined, { timeoutMs: 30_000, what: 'the first consumer to stop, fenced' });
      expect(first.err).toContain('fenced by other consumer with same group.instance.id');
      const memberId = /rebalanced \(memberid ([^)]+)\): assigned/.exec(started.err)?.[1];
      const group = await waitFor(
        async () => {
          const g = await http.json<{ state: string; members: Array<{ member_id: string; group_instance_id: string | null }> }>('GET', '/consumer-groups/kcat-static-group');
          return g.body.state === 'Stable' && g.body;
        },
        { timeoutMs: 20_000, what: 'a stable group' },
      );
      expect(group.members).toEqual([expect.objectContaining({ member_id: memberId, group_instance_id: 'worker-1' })]);
      expect(started.code).toBeUndefined();
    } finally {
      await Promise.all([first.stop(), second?.stop()]);
    }
  });
});

describe('committed offsets over the Kafka wire and HTTP', () => {
  it('refuses an offset beyond 2^53 per partition (INVALID_COMMIT_OFFSET_SIZE): the group stays readable over Kafka and HTTP', async () => {
    await http.createTopic('wire-offsets', 2);
    await produce('wire-offsets', 0, 10);
    const metadata = 'Hello\u0000world! é€😀';
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    try {
      const commit = await client.commitOffsets('wire-poison', 'wire-offsets', [
        { partition: 0, offset: 2 ** 62 },
        { partition: 1, offset: 1, metadata },
      ]);
      expect(commit).toEqual([
        [0, KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE],
        [1, KafkaErrorCode.NONE],
      ]);
      // Metadata comes back byte for byte, NUL and multi-byte UTF-8 included.
      expect(await client.fetchOffsets('wire-poison', 'wire-offsets', [0, 1])).toEqual({
        errorCode: KafkaErrorCode.NONE,
        partitions: [
          [0, -1, '', 0],
          [1, 1, metadata, 0],
        ],
      });
    } finally {
      client.close();
    }

    const lag = await http.json<Array<{ partition: number; committed_offset: number; log_end_offset: number; lag: number }>>('GET', '/consumer-groups/wire-poison/lag');
    expect(lag.status).toBe(200);
    const end = await http.endOffset('wire-offsets', 1);
    expect(lag.body).toEqual([{ topic: 'wire-offsets', partition: 1, committed_offset: 1, log_end_offset: end, lag: end - 1 }]);
    expect((await http.json<{ state: string }>('GET', '/consumer-groups/wire-poison')).body.state).toBe('Empty');

    // The HTTP API refuses such offsets itself, with a 400.
    expect((await http.json('POST', '/consumer-groups/wire-poison/offsets', { topic: 'wire-offsets', to: 'offset', offset: 2 ** 62 })).status).toBe(400);
    expect((await http.json('POST', '/consumers/wire-http', { name: 'one', format: 'string' })).status).toBe(200);
    const instance = '/consumers/wire-http/instances/one';
    expect((await http.json('POST', `${instance}/assignments`, { partitions: [{ topic: 'wire-offsets', partition: 0 }] })).status).toBe(204);
    const refused = await http.json<{ code: string }>('POST', `${instance}/offsets`, { offsets: [{ topic: 'wire-offsets', partition: 0, offset: 2 ** 62 }] });
    expect([refused.status, refused.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect((await http.json('POST', `${instance}/positions`, { offsets: [{ topic: 'wire-offsets', partition: 0, offset: 2 ** 62 }] })).status).toBe(400);
    expect((await http.json('POST', `${instance}/offsets`, { offsets: [{ topic: 'wire-offsets', partition: 0, offset: 4 }] })).status).toBe(204);
    const committed = await http.json<{ offsets: Array<{ offset: number }> }>('GET', `${instance}/offsets?partitions=wire-offsets:0`);
    expect(committed.body.offsets.map((o) => o.offset)).toEqual([4]);
    expect((await http.json('DELETE', instance)).status).toBe(204);
  });
});

describe('KafkaJS consumer group', () => {
  it('shares six partitions among three members, rebalances when one leaves, and resumes from committed offsets', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kjs-group', numPartitions: 6 }] });

    const received = new Map<string, string[]>();
    /** Every record in the order it arrived, whoever got it. */
    const ordered: string[] = [];
    const assignments = new Map<string, number[]>();
    const members: Consumer[] = [];
    const start = async (name: string): Promise<Consumer> => {
      const consumer = kafka().consumer({ groupId: 'kjs-workers', sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
      received.set(name, []);
      consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.set(name, e.payload.memberAssignment['kjs-group'] ?? []));
      await consumer.connect();
      await consumer.subscribe({ topic: 'kjs-group', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.get(name)?.push(message.value?.toString() ?? '');
          ordered.push(message.value?.toString() ?? '');
        },
      });
      members.push(consumer);
      return consumer;
    };
    const all = () => ordered;
    const stableWith = async (names: string[]) =>
      waitFor(
        async () => {
          const d = await admin.describeGroups(['kjs-workers']);
          const covered = names.flatMap((n) => assignments.get(n) ?? []).sort((a, b) => a - b);
          return d.groups[0].state === 'Stable' && d.groups[0].members.length === names.length && covered.join() === '0,1,2,3,4,5';
        },
        { timeoutMs: 60_000, what: `a stable group of ${names.join(', ')}` },
      );

    try {
      const [a] = [await start('a'), await start('b'), await start('c')];
      await stableWith(['a', 'b', 'c']);
      // Disjoint assignments that cover every partition.
      expect(['a', 'b', 'c'].map((n) => assignments.get(n)?.length)).toEqual([2, 2, 2]);
      await produce('kjs-group', 0, 300);
      await waitFor(async () => all().length >= 300, { timeoutMs: 30_000, what: '300 records consumed' });
      expect(new Set(all()).size).toBe(300);
      expect(all()).toHaveLength(300);
      for (const name of ['a', 'b', 'c']) expect(received.get(name)?.length).toBeGreaterThan(0);
      // Each member commits what it consumed.
      await waitFor(async () => (await admin.fetchOffsets({ groupId: 'kjs-workers', topics: ['kjs-group'] }))[0].partitions.reduce((n, p) => n + Number(p.offset), 0) === 300, {
        timeoutMs: 20_000,
        what: 'every consumed offset committed',
      });

      // One member leaves: the other two take over its partitions.
      await a.disconnect();
      members.splice(members.indexOf(a), 1);
      await stableWith(['b', 'c']);
      const before = all().length;
      await produce('kjs-group', 300, 120);
      await waitFor(async () => all().length >= before + 120, { timeoutMs: 30_000, what: 'records after the leave consumed' });
      const after = all().slice(before);
      expect(new Set(after).size).toBe(120);
      expect(after.filter((v) => Number(v.slice('record-'.length)) < 300)).toEqual([]);

      // Everyone stops; a new member of the same group starts from the committed offsets, not from the beginning.
      for (const m of members.splice(0)) await m.disconnect();
      const committed = await admin.fetchOffsets({ groupId: 'kjs-workers', topics: ['kjs-group'] });
      expect(committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(420);
      await produce('kjs-group', 420, 30);
      await start('d');
      await waitFor(async () => (received.get('d')?.length ?? 0) >= 30, { timeoutMs: 30_000, what: 'the new member to consume' });
      await new Promise((r) => setTimeout(r, 500));
      expect(received.get('d')?.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `record-${420 + i}`).sort());
    } finally {
      for (const m of members) await m.disconnect().catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('lists, describes, resets and deletes groups', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-admin-groups', numPartitions: 2 }] });
      await produce('kjs-admin-groups', 0, 10);
      // Offsets set by an admin on an empty group (a commit outside any generation), then read back.
      await admin.setOffsets({ groupId: 'kjs-manual', topic: 'kjs-admin-groups', partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '1' }] });
      const offsets = await admin.fetchOffsets({ groupId: 'kjs-manual', topics: ['kjs-admin-groups'] });
      expect(offsets[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
        [0, '3'],
        [1, '1'],
      ]);
      const listed = await admin.listGroups();
      expect(listed.groups.map((g) => g.groupId)).toContain('kjs-manual');
      const described = await admin.describeGroups(['kjs-manual', 'never-existed']);
      expect(described.groups.map((g) => [g.groupId, g.state])).toEqual([
        ['kjs-manual', 'Empty'],
        ['never-existed', 'Dead'],
      ]);
      await admin.resetOffsets({ groupId: 'kjs-manual', topic: 'kjs-admin-groups', earliest: true });
      // KafkaJS commits Kafka's EARLIEST sentinel (-2) and resolves it through ListOffsets when asked to.
      const reset = await admin.fetchOffsets({ groupId: 'kjs-manual', topics: ['kjs-admin-groups'], resolveOffsets: true });
      expect(reset[0].partitions.every((p) => p.offset === '0')).toBe(true);
      await admin.deleteGroups(['kjs-manual']);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('kjs-manual');
      const once = new Kafka({ clientId: 'e2e-once', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      await once.connect();
      await expect(once.deleteGroups(['kjs-manual'])).rejects.toMatchObject({ groups: [{ groupId: 'kjs-manual', errorCode: 69 }] });
      await once.disconnect();
    } finally {
      await admin.disconnect();
    }
  });
});

describe('consumer groups over HTTP', () => {
  it('shows groups, members and lag, resets the offsets of an inactive group, and deletes it', async () => {
    await http.createTopic('lagging', 2);
    await produce('lagging', 0, 20);
    const consumer = kafka().consumer({ groupId: 'laggers', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    let consumed = 0;
    await consumer.connect();
    await consumer.subscribe({ topic: 'lagging', fromBeginning: true });
    await consumer.run({ eachMessage: async () => void consumed++ });
    await waitFor(async () => consumed >= 20, { timeoutMs: 30_000, what: '20 records consumed' });
    await waitFor(async () => (await http.json<{ state: string }>('GET', '/consumer-groups/laggers')).body.state === 'Stable', { timeoutMs: 20_000, what: 'a stable group' });
    const live = await http.json<{ state: string; members: Array<{ assignments: Array<{ topic: string; partition: number }> }> }>('GET', '/consumer-groups/laggers');
    expect(live.body.members).toHaveLength(1);
    expect(live.body.members[0].assignments.map((a) => `${a.topic}/${a.partition}`).sort()).toEqual(['lagging/0', 'lagging/1']);
    // An active group's offsets cannot be reset.
    const refused = await http.json<{ code: string }>('POST', '/consumer-groups/laggers/offsets', { topic: 'lagging', to: 'earliest' });
    expect(refused.status).toBe(409);
    await consumer.disconnect();

    await produce('lagging', 20, 5);
    const lag = await http.json<Array<{ partition: number; committed_offset: number; log_end_offset: number; lag: number }>>('GET', '/consumer-groups/laggers/lag');
    expect(lag.status).toBe(200);
    expect(lag.body.reduce((n, p) => n + p.committed_offset, 0)).toBe(20);
    expect(lag.body.reduce((n, p) => n + p.lag, 0)).toBe(5);

    const reset = await http.json<{ offsets: Array<{ partition: number; offset: number }> }>('POST', '/consumer-groups/laggers/offsets', { topic: 'lagging', to: 'earliest' });
    expect(reset.status).toBe(200);
    expect(reset.body.offsets.map((o) => o.offset)).toEqual([0, 0]);
    expect((await http.json<Array<{ lag: number }>>('GET', '/consumer-groups/laggers/lag')).body.reduce((n, p) => n + p.lag, 0)).toBe(25);
    await http.json('POST', '/consumer-groups/laggers/offsets', { topic: 'lagging', to: 'offset', offset: 3, partitions: [1] });
    await http.json('POST', '/consumer-groups/laggers/offsets', { topic: 'lagging', to: 'timestamp', timestamp: Date.now() + 3_600_000, partitions: [0] });
    const moved = await http.json<Array<{ partition: number; committed_offset: number; log_end_offset: number }>>('GET', '/consumer-groups/laggers/lag');
    const byPartition = new Map(moved.body.map((p) => [p.partition, p]));
    expect(byPartition.get(1)?.committed_offset).toBe(3);
    expect(byPartition.get(0)?.committed_offset).toBe(byPartition.get(0)?.log_end_offset);
    expect((await http.json('POST', '/consumer-groups/laggers/offsets', { topic: 'lagging', to: 'offset' })).status).toBe(400);
    expect((await http.json('POST', '/consumer-groups/laggers/offsets', { topic: 'nope', to: 'latest' })).status).toBe(404);

    const listed = await http.json<Array<{ group_id: string; state: string }>>('GET', '/consumer-groups');
    expect(listed.body.find((g) => g.group_id === 'laggers')?.state).toBe('Empty');
    expect((await http.json('DELETE', '/consumer-groups/laggers')).status).toBe(204);
    expect((await http.json('GET', '/consumer-groups/laggers')).status).toBe(404);
    expect((await http.json('DELETE', '/consumer-groups/laggers')).status).toBe(404);
  });
});

describe('@platformatic/kafka consumer', () => {
  it('consumes in a group what it produced', async () => {
    await http.createTopic('plt-group', 2);
    const producer = new PlatformaticProducer({ clientId: 'plt-p', bootstrapBrokers: [sluice.kafkaBootstrap], serializers: stringSerializers });
    await producer.send({ messages: Array.from({ length: 12 }, (_, i) => ({ topic: 'plt-group', key: `k${i}`, value: `v${i}` })) });
    await producer.close();
    const consumer = new PlatformaticConsumer({ groupId: 'plt-readers', clientId: 'plt-c', bootstrapBrokers: [sluice.kafkaBootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500 });
    const stream = await consumer.consume({ topics: ['plt-group'], mode: MessagesStreamModes.EARLIEST, maxWaitTime: 200 });
    const values: string[] = [];
    for await (const message of stream) {
      values.push(message.value);
      if (values.length === 12) break;
    }
    await stream.close();
    await consumer.close(true);
    expect(values.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `v${i}`).sort());
  });
});
