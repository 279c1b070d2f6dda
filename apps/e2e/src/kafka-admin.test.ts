// Kafka admin APIs that admin tools (kafka-consumer-groups, Kafka UI, AKHQ, Redpanda Console, librdkafka's admin
// client) rely on, through real clients where they can express the request (KafkaJS, @platformatic/kafka) and raw
// frames from libs/protocol otherwise (issue 15, item 7).
import { Admin as PlatformaticAdmin, Consumer as PlatformaticConsumer, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';
import { WireClient } from './kafka-wire.js';

let sluice: EmbeddedSluice;
let http: Http;

beforeAll(async () => {
  sluice = await startEmbedded();
  http = new Http(sluice.httpUrl);
});

afterAll(async () => {
  await sluice?.stop();
});

const kafkajs = () => new Kafka({ clientId: 'e2e-admin', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });

async function fill(topic: string, partitions: number, count: number): Promise<void> {
  await http.createTopic(topic, partitions);
  for (let p = 0; p < partitions; p++) {
    await http.json('POST', `/topics/${topic}/partitions/${p}`, { format: 'string', records: Array.from({ length: count }, (_, i) => ({ value: `p${p}-${i}` })) });
  }
}

/** Kafka's ACL operation bits: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
const ops = (...bits: number[]) => bits.reduce((acc, b) => acc | (1 << b), 0);

describe('Kafka admin APIs', () => {
  it('answers DeleteRecords with timeout_ms=0 with what the leader did, not REQUEST_TIMED_OUT', async () => {
    await fill('trim0', 1, 10);
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    try {
      const request: kafka.DeleteRecordsRequest = { topics: [{ name: 'trim0', partitions: [{ partitionIndex: 0, offset: 4 }] }], timeoutMs: 0 };
      const { body } = await client.request(ApiKey.DeleteRecords, 2, (w) => kafka.writeDeleteRecordsRequest(w, 2, request), kafka.readDeleteRecordsResponse);
      expect(body.topics[0].partitions[0]).toMatchObject({ partitionIndex: 0, errorCode: KafkaErrorCode.NONE, lowWatermark: 4 });
    } finally {
      client.close();
    }
    expect((await http.json<{ beginning_offset: number }>('GET', '/topics/trim0/partitions/0/offsets')).body.beginning_offset).toBe(4);
  });

  it('returns authorized operations (all allowed) when Metadata and DescribeCluster ask for them, and only then', async () => {
    await http.createTopic('authz', 1);
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    try {
      const metadata = (include: boolean) =>
        client.request(ApiKey.Metadata, 10, (w) => kafka.writeMetadataRequest(w, 10, { topics: [{ name: 'authz', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: include, includeTopicAuthorizedOperations: include }), kafka.readMetadataResponse);
      const asked = (await metadata(true)).body;
      expect(asked.topics[0].topicAuthorizedOperations).toBe(ops(3, 4, 5, 6, 7, 8, 10, 11));
      expect(asked.clusterAuthorizedOperations).toBe(ops(5, 7, 8, 9, 10, 11, 12));
      const notAsked = (await metadata(false)).body;
      expect(notAsked.topics[0].topicAuthorizedOperations).toBe(-2147483648);
      const cluster = (include: boolean) => client.request(ApiKey.DescribeCluster, 1, (w) => kafka.writeDescribeClusterRequest(w, 1, { includeClusterAuthorizedOperations: include, endpointType: 1 }), kafka.readDescribeClusterResponse);
      expect((await cluster(true)).body.clusterAuthorizedOperations).toBe(ops(5, 7, 8, 9, 10, 11, 12));
      expect((await cluster(false)).body.clusterAuthorizedOperations).toBe(-2147483648);
    } finally {
      client.close();
    }
  });

  it('deletes a group’s committed offsets of a topic (OffsetDelete), refusing while an active member consumes it', async () => {
    await fill('od-a', 2, 5);
    await fill('od-b', 1, 5);
    const wire = await WireClient.connect(sluice.kafkaBootstrap);
    const admin = new PlatformaticAdmin({ clientId: 'e2e-od', bootstrapBrokers: [sluice.kafkaBootstrap] });
    const consumer = new PlatformaticConsumer({ groupId: 'od-group', clientId: 'od-c', bootstrapBrokers: [sluice.kafkaBootstrap], deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500 });
    try {
      expect(await wire.commitOffsets('od-group', 'od-a', [{ partition: 0, offset: 3 }, { partition: 1, offset: 2 }])).toEqual([[0, 0], [1, 0]]);
      expect(await wire.commitOffsets('od-group', 'od-b', [{ partition: 0, offset: 1 }])).toEqual([[0, 0]]);
      // A member subscribed to od-b: its offsets stay; od-a's (no longer consumed) go.
      const stream = await consumer.consume({ topics: ['od-b'], mode: MessagesStreamModes.COMMITTED, maxWaitTime: 200, autocommit: false });
      for await (const message of stream) {
        void message;
        break;
      }
      const refused = admin.deleteConsumerGroupOffsets({ groupId: 'od-group', topics: [{ name: 'od-b', partitionIndexes: [0] }] });
      await expect(refused).rejects.toThrow();
      const request: kafka.OffsetDeleteRequest = { groupId: 'od-group', topics: [{ name: 'od-b', partitions: [{ partitionIndex: 0 }] }, { name: 'od-a', partitions: [{ partitionIndex: 0 }] }] };
      const { body } = await wire.request(ApiKey.OffsetDelete, 0, (w) => kafka.writeOffsetDeleteRequest(w, 0, request), kafka.readOffsetDeleteResponse);
      expect(body.errorCode).toBe(KafkaErrorCode.NONE);
      expect(body.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)])).toEqual([
        ['od-b', [KafkaErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
        ['od-a', [KafkaErrorCode.NONE]],
      ]);
      expect((await wire.fetchOffsets('od-group', 'od-a', [0, 1])).partitions.map((p) => p[1])).toEqual([-1, 2]);
      await stream.close();
      await consumer.close(true);
      // Once the group is empty the consumer's topic can go too, through the real client.
      await admin.deleteConsumerGroupOffsets({ groupId: 'od-group', topics: [{ name: 'od-b', partitionIndexes: [0] }] });
      expect((await wire.fetchOffsets('od-group', 'od-b', [0])).partitions.map((p) => p[1])).toEqual([-1]);
      const unknown = await wire.request(ApiKey.OffsetDelete, 0, (w) => kafka.writeOffsetDeleteRequest(w, 0, { groupId: 'no-such-group', topics: [] }), kafka.readOffsetDeleteResponse);
      expect(unknown.body.errorCode).toBe(KafkaErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      if (!consumer.closed) await consumer.close(true);
      await admin.close();
      wire.close();
    }
  });

  it('describes log dirs: one per broker, with each partition’s size from the broker’s logs', async () => {
    await fill('sizes', 2, 20);
    await http.json('POST', '/topics/sizes/partitions/1', { format: 'string', records: Array.from({ length: 20 }, (_, i) => ({ value: `more-${i}` })) });
    const admin = new PlatformaticAdmin({ clientId: 'e2e-logdirs', bootstrapBrokers: [sluice.kafkaBootstrap] });
    try {
      const described = await admin.describeLogDirs({ topics: [{ name: 'sizes', partitions: [0, 1] }] });
      const dirs = described.flatMap((b) => b.results);
      expect(dirs).toHaveLength(1);
      expect(dirs[0].logDir).toContain(sluice.dir.path);
      const sizes = Object.fromEntries(dirs[0].topics.flatMap((t) => t.partitions.map((p) => [`${t.name}-${p.partitionIndex}`, Number(p.partitionSize)])));
      // Only the partitions asked about (other topics exist on the broker).
      expect(Object.keys(sizes).sort()).toEqual(['sizes-0', 'sizes-1']);
      expect(sizes['sizes-0']).toBeGreaterThan(20 * 5);
      expect(sizes['sizes-1']).toBeGreaterThan(sizes['sizes-0']);
    } finally {
      await admin.close();
    }
  });

  it('creates topics and partitions on replicas assigned by hand (KafkaJS), refusing unknown brokers and duplicates', async () => {
    const admin = kafkajs().admin();
    await admin.connect();
    try {
      await http.createTopic('placed-probe', 1);
      const probe = await admin.fetchTopicMetadata({ topics: ['placed-probe'] });
      const broker = probe.topics[0].partitions[0].replicas[0];
      await admin.createTopics({ topics: [{ topic: 'placed', replicaAssignment: [{ partition: 1, replicas: [broker] }, { partition: 0, replicas: [broker] }] }] });
      const placed = await admin.fetchTopicMetadata({ topics: ['placed'] });
      expect(placed.topics[0].partitions.map((p) => [p.partitionId, p.replicas]).sort()).toEqual([[0, [broker]], [1, [broker]]]);
      const refused = (replicas: number[]) => admin.createTopics({ topics: [{ topic: `placed-bad-${replicas.join('-')}`, replicaAssignment: [{ partition: 0, replicas }] }] });
      await expect(refused([broker + 1000])).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_REPLICA_ASSIGNMENT' })] });
      await expect(refused([broker, broker])).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_REPLICA_ASSIGNMENT' })] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'placed', count: 3, assignments: [[broker]] }] });
      const grown = await admin.fetchTopicMetadata({ topics: ['placed'] });
      expect(grown.topics[0].partitions.find((p) => p.partitionId === 2)?.replicas).toEqual([broker]);
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'placed', count: 4, assignments: [[broker + 1000]] }] })).rejects.toMatchObject({ type: 'INVALID_REPLICA_ASSIGNMENT' });
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'placed', count: 5, assignments: [[broker]] }] })).rejects.toMatchObject({ type: 'INVALID_REPLICA_ASSIGNMENT' });
    } finally {
      await admin.disconnect();
    }
    const records = await http.json('POST', '/topics/placed/partitions/2', { format: 'string', records: [{ value: 'on a placed partition' }] });
    expect(records.status).toBe(200);
  });

  it('serves broker configs read-only (DescribeConfigs) and refuses altering them as Kafka does', async () => {
    const admin = kafkajs().admin();
    await admin.connect();
    try {
      const { brokers } = await admin.describeCluster();
      const brokerId = String(brokers[0].nodeId);
      const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: brokerId }] });
      expect(resources[0].errorCode).toBe(0);
      const byName = new Map(resources[0].configEntries.map((c) => [c.configName, c]));
      expect(byName.get('broker.id')).toMatchObject({ configValue: brokerId, readOnly: true });
      expect(byName.get('log.retention.ms')).toMatchObject({ configValue: '604800000', readOnly: true, isDefault: true });
      expect(byName.get('connections.max.reauth.ms')).toMatchObject({ configValue: '0', readOnly: true });
      expect(byName.get('auto.create.topics.enable')).toMatchObject({ configValue: 'false' });
      await expect(admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: brokerId, configEntries: [{ name: 'log.retention.ms', value: '1000' }] }] })).rejects.toMatchObject({ type: 'INVALID_REQUEST' });
    } finally {
      await admin.disconnect();
    }
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    try {
      const request: kafka.IncrementalAlterConfigsRequest = { resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'message.max.bytes', configOperation: 0, value: '10' }] }], validateOnly: false };
      const { body } = await client.request(ApiKey.IncrementalAlterConfigs, 1, (w) => kafka.writeIncrementalAlterConfigsRequest(w, 1, request), kafka.readIncrementalAlterConfigsResponse);
      expect(body.responses[0].errorCode).toBe(KafkaErrorCode.INVALID_REQUEST);
    } finally {
      client.close();
    }
  });
});
