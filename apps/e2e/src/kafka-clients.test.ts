// Real Kafka clients against the Kafka listener, unchanged: kcat (librdkafka), KafkaJS and @platformatic/kafka.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Admin as PlatformaticAdmin, Producer as PlatformaticProducer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '@sluice/protocol';
import { waitFor } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';
import { kcatOk } from './kcat.js';

let sluice: EmbeddedSluice;
let http: Http;

beforeAll(async () => {
  sluice = await startEmbedded({ SLUICE_AUTO_CREATE_TOPICS: 'true' });
  http = new Http(sluice.httpUrl);
});

afterAll(async () => {
  await sluice?.stop();
});

const kcat = async (args: string[], input?: string): Promise<string> => (await kcatOk(sluice.kafkaBootstrap, args, input)).out;

/** The compression codec of every batch stored for a partition (from the segment files on disk). */
async function storedCodecs(topic: string, partition: number): Promise<number[]> {
  const brokerDir = join(sluice.dir.path, 'broker-1');
  const dir = join(brokerDir, (await readdir(brokerDir)).find((d) => d === `${topic}-${partition}`) ?? '');
  const codecs: number[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log')).sort()) {
    const bytes = await readFile(join(dir, name));
    for (let at = 0; at < bytes.length; at += bytes.readInt32BE(at + 8) + 12) codecs.push(bytes.readInt16BE(at + 21) & 7);
  }
  return codecs;
}

describe('kcat (librdkafka)', () => {
  it('lists the gateway as the cluster’s broker', async () => {
    await http.createTopic('kcat-meta', 3);
    const meta = JSON.parse(await kcat(['-L', '-J', '-t', 'kcat-meta'])) as { brokers: Array<{ id: number; name: string }>; topics: Array<{ topic: string; partitions: unknown[] }> };
    expect(meta.brokers).toHaveLength(1);
    expect(meta.brokers[0].name).toBe(sluice.kafkaBootstrap);
    expect(meta.topics[0]).toMatchObject({ topic: 'kcat-meta' });
    expect(meta.topics[0].partitions).toHaveLength(3);
  });

  it('produces with each codec, with keys and headers, and consumes them back', async () => {
    // Created first and probed until its leader answers: a produce that reaches a partition before its leader serves
    // it is retried by the gateway, and a retried request may land after a later one of the same client (see the
    // gateway README), which would upset the order this test checks.
    await http.createTopic('kcat-codecs', 1);
    await waitFor(async () => (await kcat(['-Q', '-t', 'kcat-codecs:0:-1'])).includes('offset 0'), { timeoutMs: 20_000, what: 'the partition leader' });
    const codecs = ['none', 'gzip', 'snappy', 'zstd'];
    for (const codec of codecs) {
      const lines = Array.from({ length: 40 }, (_, i) => `key-${i}:${codec}-${i}-${'compressible '.repeat(20)}`).join('\n');
      await kcat(['-P', '-t', 'kcat-codecs', '-p', '0', '-K', ':', '-z', codec, '-H', `codec=${codec}`], lines + '\n');
    }
    const out = await kcat(['-C', '-t', 'kcat-codecs', '-p', '0', '-o', 'beginning', '-e', '-f', '%o|%k|%h|%s\\n']);
    const records = out.trim().split('\n').map((l) => l.split('|'));
    expect(records).toHaveLength(160);
    records.forEach(([offset, key, headers, value], i) => {
      const codec = codecs[Math.floor(i / 40)];
      expect(Number(offset)).toBe(i);
      expect(key).toBe(`key-${i % 40}`);
      expect(headers).toBe(`codec=${codec}`);
      expect(value.startsWith(`${codec}-${i % 40}-`)).toBe(true);
    });
    // The batches were stored as librdkafka compressed them.
    expect(new Set(await storedCodecs('kcat-codecs', 0))).toEqual(new Set([0, 1, 2, 4]));
  });

  it('stores batches in the topic’s compression.type, whatever codec the producer used (the leader recompresses)', async () => {
    await http.json('POST', '/topics', { name: 'kcat-zstd', partitions: 1, configs: { 'compression.type': 'zstd' } });
    await waitFor(async () => (await kcat(['-Q', '-t', 'kcat-zstd:0:-1'])).includes('offset 0'), { timeoutMs: 20_000, what: 'the partition leader' });
    for (const codec of ['none', 'gzip', 'snappy']) {
      await kcat(['-P', '-t', 'kcat-zstd', '-p', '0', '-z', codec], Array.from({ length: 10 }, (_, i) => `${codec}-${i}`).join('\n') + '\n');
    }
    const out = await kcat(['-C', '-t', 'kcat-zstd', '-p', '0', '-o', 'beginning', '-e', '-f', '%o:%s\\n']);
    expect(out.trim().split('\n')).toEqual(['none', 'gzip', 'snappy'].flatMap((codec, c) => Array.from({ length: 10 }, (_, i) => `${c * 10 + i}:${codec}-${i}`)));
    expect(new Set(await storedCodecs('kcat-zstd', 0))).toEqual(new Set([4]));
  });

  it('consumes one partition from an offset, and from a timestamp', async () => {
    await http.createTopic('kcat-offsets', 2);
    const start = Date.now();
    await kcat(['-P', '-t', 'kcat-offsets', '-p', '1'], Array.from({ length: 10 }, (_, i) => `v${i}`).join('\n') + '\n');
    const fromSix = await kcat(['-C', '-t', 'kcat-offsets', '-p', '1', '-o', '6', '-e', '-f', '%o:%s\\n']);
    expect(fromSix.trim().split('\n')).toEqual(['6:v6', '7:v7', '8:v8', '9:v9']);
    const tail = await kcat(['-C', '-t', 'kcat-offsets', '-p', '1', '-o', '-2', '-e', '-f', '%s\\n']);
    expect(tail.trim().split('\n')).toEqual(['v8', 'v9']);
    const byTime = await kcat(['-C', '-t', 'kcat-offsets', '-p', '1', '-o', `s@${start - 1000}`, '-e', '-f', '%s\\n']);
    expect(byTime.trim().split('\n')).toHaveLength(10);
    const empty = await kcat(['-C', '-t', 'kcat-offsets', '-p', '0', '-e', '-f', '%s\\n']);
    expect(empty).toBe('');
  });

  it('auto-creates a topic on Metadata when SLUICE_AUTO_CREATE_TOPICS is on', async () => {
    await kcat(['-P', '-t', 'kcat-auto'], 'created on demand\n');
    const out = await kcat(['-C', '-t', 'kcat-auto', '-e', '-f', '%s\\n']);
    expect(out.trim()).toBe('created on demand');
  });
});

describe('KafkaJS', () => {
  const kafka = () => new Kafka({ clientId: 'e2e', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });

  it('administers topics: create, list, describe configs, alter, delete', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })).toBe(true);
      expect(await admin.listTopics()).toContain('kjs-admin');
      const meta = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
      expect(meta.topics[0].partitions).toHaveLength(4);
      const described = await admin.describeConfigs({ resources: [{ type: 2, name: 'kjs-admin' }], includeSynonyms: false });
      const entries = described.resources[0].configEntries;
      expect(entries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('3600000');
      expect(entries.find((e) => e.configName === 'cleanup.policy')).toMatchObject({ configValue: 'delete', isDefault: true });
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'kjs-admin', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
      expect((await http.json<{ configs: Record<string, string> }>('GET', '/topics/kjs-admin')).body.configs).toEqual({ 'cleanup.policy': 'compact' });
      // Creating it again is an error the client reports.
      await expect(admin.createTopics({ topics: [{ topic: 'kjs-admin' }], validateOnly: false })).resolves.toBe(false);
      await admin.deleteTopics({ topics: ['kjs-admin'] });
      expect(await admin.listTopics()).not.toContain('kjs-admin');

      // Every config Kafka defines for topics is accepted, as tools set them (applied or stored), and described back.
      const kafkaConfigs = {
        'file.delete.delay.ms': '30000',
        'max.compaction.lag.ms': '9223372036854775807',
        'message.format.version': '3.0-IV1',
        'min.compaction.lag.ms': '1000',
        'segment.index.bytes': '1048576',
        preallocate: 'true',
        'message.timestamp.type': 'LogAppendTime',
      };
      const configEntries = Object.entries(kafkaConfigs).map(([name, value]) => ({ name, value }));
      expect(await admin.createTopics({ topics: [{ topic: 'kjs-all-configs', numPartitions: 1, configEntries }] })).toBe(true);
      const all = (await admin.describeConfigs({ resources: [{ type: 2, name: 'kjs-all-configs' }], includeSynonyms: false })).resources[0].configEntries;
      for (const [name, value] of Object.entries(kafkaConfigs)) expect(all.find((e) => e.configName === name), name).toMatchObject({ configValue: value, isDefault: false });
      expect(all.find((e) => e.configName === 'segment.jitter.ms')).toMatchObject({ configValue: '0', isDefault: true });

      // message.timestamp.type=LogAppendTime: the leader stamps the append time; consumers see it, not the producer's.
      const before = Date.now();
      const producer = kafka().producer();
      await producer.connect();
      const [sent] = await producer.send({ topic: 'kjs-all-configs', messages: [{ value: 'stamped', timestamp: '1000000000000' }] });
      await producer.disconnect();
      expect(Number(sent.logAppendTime)).toBeGreaterThanOrEqual(before);
      const { out } = await kcatOk(sluice.kafkaBootstrap, ['-C', '-t', 'kjs-all-configs', '-o', 'beginning', '-e', '-f', '%T %s\\n']);
      const [timestamp, value] = out.trim().split(' ');
      expect(value).toBe('stamped');
      expect(Number(timestamp)).toBe(Number(sent.logAppendTime));
      const refused = await admin.createTopics({ topics: [{ topic: 'kjs-bad-config', configEntries: [{ name: 'segment.index.bytes', value: 'lots' }] }] }).catch((err: { errors?: Array<{ type: string; message: string }> }) => err.errors);
      expect(refused).toEqual([expect.objectContaining({ type: 'INVALID_CONFIG', topic: 'kjs-bad-config' })]);
    } finally {
      await admin.disconnect();
    }
  });

  it('produces keyed records to the partitions Kafka’s partitioner picks, and lists offsets', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kjs-keys', numPartitions: 6 }] });
    const producer = kafka().producer();
    await producer.connect();
    const keys = Array.from({ length: 60 }, (_, i) => `customer-${i}`);
    const results = await producer.send({ topic: 'kjs-keys', acks: -1, messages: keys.map((key) => ({ key, value: `order for ${key}`, headers: { source: 'kafkajs' } })) });
    expect(results.every((r) => r.errorCode === 0)).toBe(true);
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets('kjs-keys');
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(60);
    for (let p = 0; p < 6; p++) {
      const records = await http.readAll('kjs-keys', p);
      for (const r of records) {
        expect(partitionForKey(Buffer.from(r.key as string), 6)).toBe(p);
        expect(r.headers[0]).toEqual({ key: 'source', value: 'kafkajs' });
      }
    }
    const byTime = await admin.fetchTopicOffsetsByTimestamp('kjs-keys', Date.now() + 60_000);
    expect(byTime.every((o) => Number(o.offset) === Number(offsets.find((x) => x.partition === o.partition)?.high))).toBe(true);
    await admin.disconnect();
  });
});

describe('idempotent producers', () => {
  it('work with librdkafka (enable.idempotence) and KafkaJS (idempotent: true): every record once, in order', async () => {
    await http.json('POST', '/topics', { name: 'idempotent', partitions: 2 });
    const lines = Array.from({ length: 300 }, (_, i) => `r${i}`);
    await kcat(['-P', '-t', 'idempotent', '-p', '0', '-X', 'enable.idempotence=true', '-X', 'linger.ms=5', '-X', 'batch.num.messages=25'], lines.join('\n') + '\n');
    expect((await http.readAll('idempotent', 0)).map((r) => r.value)).toEqual(lines);

    const client = new Kafka({ clientId: 'e2e-idempotent', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 5; i++) {
      const results = await producer.send({ topic: 'idempotent', acks: -1, messages: Array.from({ length: 20 }, (_, k) => ({ partition: 1, value: `k${i * 20 + k}` })) });
      expect(results[0].errorCode).toBe(0);
    }
    await producer.disconnect();
    expect((await http.readAll('idempotent', 1)).map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => `k${i}`));
  });
});

describe('deleting records', () => {
  it('moves the log start with KafkaJS deleteTopicRecords and over HTTP; readers start there', async () => {
    await http.json('POST', '/topics', { name: 'trim', partitions: 2 });
    for (const p of [0, 1]) await http.json('POST', `/topics/trim/partitions/${p}`, { format: 'string', records: Array.from({ length: 10 }, (_, i) => ({ value: `p${p}-${i}` })) });
    const client = new Kafka({ clientId: 'e2e-trim', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = client.admin();
    await admin.connect();
    try {
      // KafkaJS needs the topic's metadata before it can find the partition leaders to ask.
      await admin.fetchTopicMetadata({ topics: ['trim'] });
      await admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '6' }] });
      const offsets = await admin.fetchTopicOffsets('trim');
      expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '6', high: '10' });
      expect(offsets.find((o) => o.partition === 1)).toMatchObject({ low: '0', high: '10' });
      const out = await kcat(['-C', '-t', 'trim', '-p', '0', '-o', 'beginning', '-e', '-f', '%o:%s\\n']);
      expect(out.trim().split('\n')).toEqual([6, 7, 8, 9].map((i) => `${i}:p0-${i}`));
      await expect(admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 1, offset: '50' }] })).rejects.toThrow();
    } finally {
      await admin.disconnect();
    }
    const all = await http.json<{ beginning_offset: number }>('DELETE', '/topics/trim/partitions/1/records?before=latest');
    expect(all.status).toBe(200);
    expect(all.body.beginning_offset).toBe(10);
    expect((await http.json('DELETE', '/topics/trim/partitions/1/records?before=11')).status).toBe(416);
    expect((await http.json('DELETE', '/topics/trim/partitions/1/records?before=soon')).status).toBe(400);
    expect((await http.json('DELETE', '/topics/trim/partitions/7/records?before=1')).status).toBe(404);
    expect((await http.json<{ beginning_offset: number }>('GET', '/topics/trim/partitions/1/offsets')).body.beginning_offset).toBe(10);
  });
});

describe('adding partitions', () => {
  const kafka = () => new Kafka({ clientId: 'e2e', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });

  it('grows a topic with KafkaJS createPartitions; records reach the new partitions and librdkafka reads them', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-grow', numPartitions: 2 }] });
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 1 }] })).rejects.toThrow(/Number of partitions is invalid/);
      await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 5 }] });
      const meta = await admin.fetchTopicMetadata({ topics: ['kjs-grow'] });
      expect(meta.topics[0].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3, 4]);
      const producer = kafka().producer();
      await producer.connect();
      await producer.send({ topic: 'kjs-grow', acks: -1, messages: [0, 1, 2, 3, 4].map((p) => ({ partition: p, value: `to-${p}` })) });
      // Keyed records now spread over all five partitions, as Kafka's partitioner places them.
      const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
      await producer.send({ topic: 'kjs-grow', acks: -1, messages: keys.map((key) => ({ key, value: key })) });
      await producer.disconnect();
      for (const p of [2, 4]) expect((await kcat(['-C', '-t', 'kjs-grow', '-p', String(p), '-o', 'beginning', '-c', '1', '-f', '%s'])).trim()).toBe(`to-${p}`);
      for (let p = 0; p < 5; p++) {
        const keyed = (await http.readAll('kjs-grow', p)).filter((r) => r.key !== null).map((r) => r.key as string);
        expect(keyed.sort()).toEqual(keys.filter((k) => partitionForKey(Buffer.from(k), 5) === p).sort());
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('grows a topic over HTTP, with a clear error for a smaller count or an unknown topic', async () => {
    await http.json('POST', '/topics', { name: 'http-grow', partitions: 1 });
    const grown = await http.json<{ partitions: unknown[] }>('POST', '/topics/http-grow/partitions', { partitions: 3 });
    expect(grown.status).toBe(200);
    expect(grown.body.partitions).toHaveLength(3);
    const smaller = await http.json<{ error_code: number; message: string }>('POST', '/topics/http-grow/partitions', { partitions: 2 });
    expect(smaller.status).toBe(422);
    expect(smaller.body.message).toMatch(/currently has 3 partitions/);
    expect((await http.json('POST', '/topics/missing/partitions', { partitions: 2 })).status).toBe(404);
    expect((await http.json('POST', '/topics/http-grow/partitions', { partitions: 'many' })).status).toBe(400);
    await http.json('POST', '/topics/http-grow/partitions/2', { records: [{ value: 'on the new partition' }] });
    expect((await http.readAll('http-grow', 2)).map((r) => JSON.parse(r.value as string) as unknown)).toEqual(['on the new partition']);
  });
});

describe('@platformatic/kafka', () => {
  it('creates a topic and produces records that readers see', async () => {
    const admin = new PlatformaticAdmin({ clientId: 'e2e-admin', bootstrapBrokers: [sluice.kafkaBootstrap] });
    await admin.createTopics({ topics: ['plt-topic'], partitions: 2, replicas: 1 });
    await admin.close();
    const producer = new PlatformaticProducer({ clientId: 'e2e-producer', bootstrapBrokers: [sluice.kafkaBootstrap], serializers: stringSerializers });
    await producer.send({ messages: Array.from({ length: 20 }, (_, i) => ({ topic: 'plt-topic', key: `k${i}`, value: `v${i}`, partition: i % 2 })) });
    await producer.close();
    const values = [...(await http.readAll('plt-topic', 0)), ...(await http.readAll('plt-topic', 1))].map((r) => r.value);
    expect(values.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
  });
});
