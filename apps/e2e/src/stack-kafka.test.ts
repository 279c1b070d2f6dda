// Kafka clients against the multi-process stack (gateway → NATS → broker processes), with two group coordinators
// sharing PostgreSQL: one is killed with SIGKILL while a group is active, and the other takes over its shards.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus, NatsTransport } from '@sluice/bus';
import { ApiKey, BrokerVerb, buildRecordBatch, groupShard, kafka as wire, KafkaErrorCode, Reader, readResponseHeader, shardOwner, Subjects, type BrokerProduceReply } from '@sluice/protocol';
import { createPostgresDatabase, startNatsServer, startStack, waitFor, type NatsServer, type PostgresDatabase, type RunningStack } from '@sluice/testing';
import { kcatOk } from './kcat.js';
import { WireClient } from './kafka-wire.js';

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
    client.close();
    // Every partition holds its own batches, round after round.
    for (const p of [0, 1, 2, 3]) {
      const out = await kcat(['-C', '-t', 'spread', '-p', String(p), '-o', 'beginning', '-e', '-f', '%s\\n']);
      expect(out.trim().split('\n')).toEqual([0, 1, 2, 3, 4, 5, 6].flatMap((round) => [0, 1, 2].map((i) => `r${round}-p${p}-${i}`)));
    }

    // A broker asked to write a partition it does not lead says so (the gateway then follows leadership).
    const bus = new Bus(await NatsTransport.connect({ servers: nats.url }));
    try {
      const view = await partitions();
      const notLed = view.find((p) => p.leader !== view[0].leader) as PartitionView;
      const topicId = ((await (await fetch(`${stack.httpUrl}/topics/spread`)).json()) as { id: string }).id;
      const reply = await bus.ask<BrokerProduceReply>(
        new Subjects(stack.clusterId).broker(view[0].leader, BrokerVerb.produce),
        { acks: 1, timeoutMs: 5000, partitions: [{ topicId, partition: notLed.partition, leaderEpoch: -1, bytes: 10 }] },
        { timeoutMs: 5000, body: Buffer.alloc(10) },
      );
      expect(reply.meta.partitions[0].errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      await bus.close();
    }
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
      await waitFor(async () => received.length >= 100, { timeoutMs: 60_000, what: 'the first 100 records consumed' });
      await waitFor(async () => (await admin.fetchOffsets({ groupId: 'survivors', topics: ['failover'] }))[0].partitions.reduce((n, p) => n + Number(p.offset), 0) === 100, {
        timeoutMs: 20_000,
        what: 'the first 100 offsets committed',
      });

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

async function adminUrl(p: RunningStack['coordinator']): Promise<string> {
  const line = await p.waitForMessage('group-coordinator started', {}, 5000);
  return `http://127.0.0.1:${String(line.json?.adminPort)}/readyz`;
}
