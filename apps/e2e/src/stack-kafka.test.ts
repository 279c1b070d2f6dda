// Kafka clients against the multi-process stack (gateway → NATS → broker processes), with two group coordinators
// sharing PostgreSQL: one is killed with SIGKILL while a group is active, and the other takes over its shards.
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus, NatsTransport } from '@sluice/bus';
import { ApiKey, buildRecordBatch, decodeRecords, forEachBatch, kafka as wire, KafkaErrorCode, Reader, readResponseHeader } from '@sluice/protocol';
import { BrokerVerbs, groupShard, shardOwner, Subjects } from '@sluice/contracts';
import { createPostgresDatabase, startNatsServer, startStack, waitFor, type NatsServer, type PostgresDatabase, type RunningStack } from '@sluice/testing';
import { kcatOk } from './kcat.js';
import { WireClient } from './kafka-wire.js';
import { Http } from './http-client.js';

let nats: NatsServer;
let groupsDb: PostgresDatabase;
let stack: RunningStack;

beforeAll(async () => {
  nats = await startNatsServer();
  groupsDb = await createPostgresDatabase();
  stack = await startStack({
    natsUrl: nats.url,
    brokers: 2,
    coordinators: 2,
    gateways: 2,
    groupsDatabaseUrl: groupsDb.url,
    sessionTimeoutMs: 3000,
    heartbeatIntervalMs: 500,
    env: { SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS: '300' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await groupsDb?.drop();
  await nats?.stop();
});

const kcat = async (args: string[], input?: string): Promise<string> => (await kcatOk(stack.kafkaBootstrap, args, input)).out;

const kafka = () => new Kafka({ clientId: 'stack-e2e', brokers: [stack.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });

/** Waits until a group has consumed `count` records and committed offsets adding up to `count`. */
async function consumedAndCommitted(admin: Admin, group: string, topic: string, received: string[], count: number): Promise<void> {
  await waitFor(async () => received.length >= count, { timeoutMs: 60_000, what: `the first ${count} records consumed` });
  await waitFor(async () => (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions.reduce((n, p) => n + Number(p.offset), 0) === count, {
    timeoutMs: 20_000,
    what: `the first ${count} offsets committed`,
  });
}

async function readiness(url: string): Promise<{ nodeId: number }> {
  return (await (await fetch(url)).json()) as { nodeId: number };
}

describe('Kafka clients on the multi-process stack', () => {
  it('produces and consumes through the gateway, NATS and the broker processes', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'stack-kcat', numPartitions: 4 }] });
    await admin.disconnect();
    await kcat(['-P', '-t', 'stack-kcat', '-K', ':', '-z', 'zstd'], Array.from({ length: 200 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n');
    const out = await kcat(['-C', '-t', 'stack-kcat', '-o', 'beginning', '-e', '-f', '%k=%s\\n']);
    expect(out.trim().split('\n').sort()).toEqual(Array.from({ length: 200 }, (_, i) => `k${i}=v${i}`).sort());
  });

  it('sends one produce request for partitions of both brokers: each batch lands in its own partition, in request order', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    type PartitionView = { partition: number; leader: number; end_offset: number };
    const partitions = async () => (await (await fetch(`${stack.httpUrl}/topics/spread/partitions`)).json()) as PartitionView[];
    await waitFor(async () => (await partitions()).every((p) => p.leader >= 0), { what: 'leaders for every partition' });
    const leaders = new Set((await partitions()).map((p) => p.leader));
    expect(leaders.size).toBe(2);

    const client = await WireClient.connect(stack.kafkaBootstrap);
    const batch = (round: number, partition: number) => buildRecordBatch([0, 1, 2].map((i) => ({ value: Buffer.from(`r${round}-p${partition}-${i}`) })));
    const produce = (round: number, acks: number) =>
      client.frame(ApiKey.Produce, 9, (w) =>
        wire.writeProduceRequest(w, 9, { acks, timeoutMs: 10_000, topicData: [{ name: 'spread', partitionData: [0, 1, 2, 3].map((p) => ({ index: p, records: batch(round, p) })) }] }),
      );
    // Five requests pipelined, then one with acks=0 (no response), then one more.
    const responses = Array.from({ length: 5 }, () => client.next());
    client.socket.write(Buffer.concat([0, 1, 2, 3, 4].map((round) => produce(round, 1))));
    const answers = await Promise.all(responses);
    client.socket.write(produce(5, 0));
    const last = client.next();
    client.socket.write(produce(6, -1));
    answers.push(await last);
    answers.forEach((frame, n) => {
      const r = new Reader(frame);
      readResponseHeader(r, 1);
      const body = wire.readProduceResponse(r, 9);
      for (const p of body.responses[0].partitionResponses) {
        expect(p.errorCode).toBe(KafkaErrorCode.NONE);
        expect(p.baseOffset).toBe((n === 5 ? 6 : n) * 3);
      }
    });

    // One fetch across both brokers: every partition's batches come back, each under its own partition.
    const fetchAll = (offset: number, maxWaitMs: number, minBytes: number) =>
      client.request(
        ApiKey.Fetch,
        12,
        (w) =>
          wire.writeFetchRequest(w, 12, {
            replicaId: -1,
            maxWaitMs,
            minBytes,
            maxBytes: 1 << 20,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [{ topic: 'spread', partitions: [0, 1, 2, 3].map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 16 })) }],
            forgottenTopicsData: [],
            rackId: '',
          }),
        wire.readFetchResponse,
      );
    const all = await fetchAll(0, 100, 1);
    for (const p of all.body.responses[0].partitions) {
      expect(p.errorCode).toBe(KafkaErrorCode.NONE);
      const values: string[] = [];
      forEachBatch(p.records ?? Buffer.alloc(0), (_h, start, end) => values.push(...decodeRecords((p.records as Buffer).subarray(start, end)).map((r) => r.value?.toString() ?? '')));
      expect(values).toEqual([0, 1, 2, 3, 4, 5, 6].flatMap((round) => [0, 1, 2].map((i) => `r${round}-p${p.partitionIndex}-${i}`)));
    }
    // A long poll at the end of every partition answers as soon as one partition gets a record.
    const started = Date.now();
    const polled = fetchAll(21, 10_000, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await fetch(`${stack.httpUrl}/topics/spread/partitions/3`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ value: 'late' }] }) })).status).toBe(200);
    const woke = (await polled).body.responses[0].partitions;
    expect(Date.now() - started).toBeLessThan(8000);
    expect(woke.filter((p) => (p.records?.length ?? 0) > 0).map((p) => p.partitionIndex)).toEqual([3]);
    client.close();
    // Every partition holds its own batches, round after round (and partition 3 the record that ended the long poll).
    for (const p of [0, 1, 2, 3]) {
      const out = await kcat(['-C', '-t', 'spread', '-p', String(p), '-o', 'beginning', '-e', '-f', '%s\\n']);
      const late = p === 3 ? ['"late"'] : [];
      expect(out.trim().split('\n')).toEqual([...[0, 1, 2, 3, 4, 5, 6].flatMap((round) => [0, 1, 2].map((i) => `r${round}-p${p}-${i}`)), ...late]);
    }

    // A broker asked to write a partition it does not lead says so (the gateway then follows leadership).
    const bus = new Bus(await NatsTransport.connect({ servers: nats.url }));
    try {
      const view = await partitions();
      const notLed = view.find((p) => p.leader !== view[0].leader) as PartitionView;
      const topicId = ((await (await fetch(`${stack.httpUrl}/topics/spread`)).json()) as { id: string }).id;
      const reply = await bus.ask(
        new Subjects(stack.clusterId).at(BrokerVerbs.produce, view[0].leader),
        { acks: 1, timeoutMs: 5000, partitions: [{ topicId, partition: notLed.partition, leaderEpoch: -1, bytes: 10 }] },
        { timeoutMs: 5000, body: Buffer.alloc(10) },
      );
      expect(reply.meta.partitions[0].errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      await bus.close();
    }
  });

  it('answers a fetch whose partitions together hold more than a NATS message, a bounded share at a time', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'big-fetch', numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    const client = await WireClient.connect(stack.kafkaBootstrap);
    const value = Buffer.alloc(100 * 1024, 7);
    for (let round = 0; round < 4; round++) {
      const res = await client.request(
        ApiKey.Produce,
        9,
        (w) => wire.writeProduceRequest(w, 9, { acks: 1, timeoutMs: 10_000, topicData: [{ name: 'big-fetch', partitionData: [0, 1, 2, 3, 4, 5].map((p) => ({ index: p, records: buildRecordBatch(Array.from({ length: 9 }, () => ({ value }))) })) }] }),
        wire.readProduceResponse,
      );
      expect(res.body.responses[0].partitionResponses.every((p) => p.errorCode === KafkaErrorCode.NONE)).toBe(true);
    }
    // 6 partitions × 3.6 MB on two brokers (three each, 10.8 MB, more than NATS's 8 MiB): a client allowing 4 MiB per partition and 64 MiB in all gets what one bus message holds,
    // and drains everything by fetching again.
    const next = [0, 0, 0, 0, 0, 0];
    let fetches = 0;
    while (next.some((o) => o < 36)) {
      const res = await client.request(
        ApiKey.Fetch,
        12,
        (w) =>
          wire.writeFetchRequest(w, 12, {
            replicaId: -1,
            maxWaitMs: 100,
            minBytes: 1,
            maxBytes: 64 * 1024 * 1024,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [{ topic: 'big-fetch', partitions: [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: next[p], lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 4 * 1024 * 1024 })) }],
            forgottenTopicsData: [],
            rackId: '',
          }),
        wire.readFetchResponse,
      );
      const parts = res.body.responses[0].partitions;
      expect(parts.map((p) => p.errorCode)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(parts.reduce((n, p) => n + (p.records?.length ?? 0), 0)).toBeLessThanOrEqual(8 * 1024 * 1024);
      for (const p of parts) forEachBatch(p.records ?? Buffer.alloc(0), (h) => (next[p.partitionIndex] = h.baseOffset + h.lastOffsetDelta + 1));
      expect(++fetches).toBeLessThan(40);
    }
    expect(next).toEqual([36, 36, 36, 36, 36, 36]);
    client.close();
  });

  it('HTTP consumers: three share six partitions, a deleted one’s partitions move, committed records are not read again', async () => {
    const http = new Http(stack.httpUrl);
    await http.createTopic('stack-rest', 6);
    const group = 'stack-rest-group';
    const base = (n: string) => `/consumers/${group}/instances/${n}`;
    const names = ['h1', 'h2', 'h3'];
    for (const name of names) expect((await http.json('POST', `/consumers/${group}`, { name, format: 'string', 'auto.offset.reset': 'earliest' })).status).toBe(200);
    await Promise.all(names.map((n) => http.json('POST', `${base(n)}/subscription`, { topics: ['stack-rest'] })));
    const assigned = async (n: string) => (await http.json<{ partitions: Array<{ partition: number }> }>('GET', `${base(n)}/assignments`)).body.partitions.map((p) => p.partition);
    const covers = async (members: string[]) => {
      const lists = await Promise.all(members.map(assigned));
      return lists.every((l) => l.length > 0) && new Set(lists.flat()).size === 6 && lists.flat().length === 6;
    };
    await waitFor(() => covers(names), { timeoutMs: 30_000, what: 'three HTTP members covering six partitions' });
    const produce = async (from: number, n: number) =>
      expect((await http.json('POST', '/topics/stack-rest', { format: 'string', records: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })) })).status).toBe(200);
    const seen: string[] = [];
    const poll = async (members: string[]) => {
      for (const n of members) seen.push(...(await http.json<Array<{ value: string }>>('GET', `${base(n)}/records?timeout=200`)).body.map((r) => r.value));
    };
    await produce(0, 90);
    await waitFor(async () => (await poll(names), seen.length >= 90), { timeoutMs: 30_000, what: '90 records polled' });
    // Auto commit: each poll that returned records committed them; one more poll each makes sure of the last ones.
    await poll(names);
    expect(new Set(seen).size).toBe(90);
    expect(seen).toHaveLength(90);

    expect((await http.json('DELETE', base('h3'))).status).toBe(204);
    await waitFor(() => covers(['h1', 'h2']), { timeoutMs: 30_000, what: 'the two remaining members covering six partitions' });
    await produce(90, 60);
    await waitFor(async () => (await poll(['h1', 'h2']), seen.length >= 150), { timeoutMs: 30_000, what: '60 more records polled' });
    expect(seen.slice(90).every((v) => Number(v.slice(1)) >= 90)).toBe(true);
    expect(new Set(seen).size).toBe(150);
    for (const n of ['h1', 'h2']) expect((await http.json('DELETE', base(n))).status).toBe(204);
  });

  it('commits on PostgreSQL: metadata kept byte for byte, an offset beyond 2^53 refused, the group still readable', async () => {
    const http = new Http(stack.httpUrl);
    await http.createTopic('stack-offsets', 2);
    const metadata = 'Hello\u0000world! é€😀';
    const client = await WireClient.connect(stack.kafkaBootstrap);
    try {
      expect(await client.commitOffsets('stack-poison', 'stack-offsets', [{ partition: 0, offset: 2 ** 62 }, { partition: 1, offset: 0, metadata }])).toEqual([
        [0, KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE],
        [1, KafkaErrorCode.NONE],
      ]);
      expect(await client.fetchOffsets('stack-poison', 'stack-offsets', [0, 1])).toEqual({ errorCode: 0, partitions: [[0, -1, '', 0], [1, 0, metadata, 0]] });
    } finally {
      client.close();
    }
    const lag = await http.json<Array<{ partition: number; committed_offset: number }>>('GET', '/consumer-groups/stack-poison/lag');
    expect([lag.status, lag.body.map((p) => [p.partition, p.committed_offset])]).toEqual([200, [[1, 0]]]);
  });

  it('keeps a group going when its coordinator is killed: another takes the shard, committed offsets intact', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 4 }] });
    const producer = kafka().producer();
    await producer.connect();
    const send = (from: number, n: number) => producer.send({ topic: 'failover', acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `r${from + i}` })) });

    const received: string[] = [];
    const members: Consumer[] = [];
    for (let i = 0; i < 2; i++) {
      const consumer = kafka().consumer({ groupId: 'survivors', sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'failover', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value?.toString() ?? '') });
      members.push(consumer);
    }
    try {
      await send(0, 100);
      await consumedAndCommitted(admin, 'survivors', 'failover', received, 100);

      // Kill the coordinator that owns the group's shard.
      const ids = await Promise.all(stack.coordinators.map(async (c) => (await readiness(await adminUrl(c))).nodeId));
      const owner = shardOwner(groupShard('survivors'), ids);
      const victim = stack.coordinators[ids.indexOf(owner as number)];
      victim.kill('SIGKILL');

      await send(100, 100);
      await waitFor(async () => new Set(received).size >= 200, { timeoutMs: 60_000, what: 'records after the failover consumed' });
      // Nothing committed before the kill was consumed again.
      expect(received.filter((v) => Number(v.slice(1)) < 100)).toHaveLength(100);
      expect(new Set(received).size).toBe(200);
    } finally {
      for (const m of members) await m.disconnect().catch(() => undefined);
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});

describe('Kafka clients when a gateway dies', () => {
  it('move to another gateway: the group keeps consuming and no committed record is read again', async () => {
    const [first, second] = stack.gateways;
    const client = new Kafka({
      clientId: 'gateway-failover',
      brokers: [second.kafkaBootstrap, first.kafkaBootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'gw-failover', numPartitions: 4 }], waitForLeaders: true });
    // Both gateways appear as brokers, and partitions are spread over them.
    const leaders = (await admin.fetchTopicMetadata({ topics: ['gw-failover'] })).topics[0].partitions.map((p) => p.leader);
    expect(new Set(leaders).size).toBe(2);
    const producer = client.producer();
    await producer.connect();
    const send = (from: number, n: number) => producer.send({ topic: 'gw-failover', acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `r${from + i}` })) });
    const received: string[] = [];
    const consumer = client.consumer({ groupId: 'gw-failover-group', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'gw-failover', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value?.toString() ?? '') });
    try {
      await send(0, 40);
      await consumedAndCommitted(admin, 'gw-failover-group', 'gw-failover', received, 40);

      second.process.kill('SIGKILL');
      // librdkafka produces across the failover: KafkaJS's producer may resolve a send without the partitions whose
      // broker connection broke (tulios/kafkajs#1303), which is the client's bug, not a lost write.
      const lines = Array.from({ length: 40 }, (_, i) => `k${40 + i}:r${40 + i}`).join('\n') + '\n';
      await kcatOk(`${second.kafkaBootstrap},${first.kafkaBootstrap}`, ['-P', '-t', 'gw-failover', '-K', ':', '-X', 'message.timeout.ms=60000'], lines);
      await waitFor(async () => new Set(received).size >= 80, { timeoutMs: 90_000, what: 'records produced after the gateway died consumed' });
      expect(received.filter((v) => Number(v.slice(1)) < 40)).toHaveLength(40);
      // Once the controller has fenced the dead gateway, the survivor is the only broker clients are told about.
      await waitFor(async () => new Set((await admin.fetchTopicMetadata({ topics: ['gw-failover'] })).topics[0].partitions.map((p) => p.leader)).size === 1, {
        timeoutMs: 20_000,
        what: 'metadata without the dead gateway',
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  });
});

async function adminUrl(p: RunningStack['coordinator']): Promise<string> {
  const line = await p.waitForMessage('group-coordinator started', {}, 5000);
  return `http://127.0.0.1:${String(line.json?.adminPort)}/readyz`;
}
