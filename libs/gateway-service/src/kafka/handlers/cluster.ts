// ApiVersions, Metadata, DescribeCluster and InitProducerId: the cluster as Kafka clients see it (the gateways are its
// brokers; see kafka-context.ts).
import { ApiKey, kafka, KafkaErrorCode, topicNameProblem } from '@sluice/protocol';
import { type TopicInfo } from '@sluice/contracts';
import { advertisedVersions, defineApi, errorCodeOf, type ApiRegistry } from '../kafka-apis.js';
import { gatewayFor, kafkaBrokers } from '../kafka-context.js';

/** "Operations not requested" in Kafka's authorized-operations fields. */
const OPERATIONS_UNKNOWN = -2147483648;

/** Kafka's ACL operation codes (AclOperation), as bit positions of the authorized-operations bitfields. */
const AclOperation = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;

const bits = (ops: number[]): number => ops.reduce((acc, op) => acc | (1 << op), 0);

/**
 * Without ACLs every principal may do everything: the operations Kafka defines for each resource type, all allowed,
 * returned when a request asks for them (include_*_authorized_operations), as Kafka encodes them.
 */
export const AUTHORIZED_TOPIC_OPERATIONS = bits([
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.CREATE,
  AclOperation.DELETE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
]);
export const AUTHORIZED_CLUSTER_OPERATIONS = bits([
  AclOperation.CREATE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
]);
export const AUTHORIZED_GROUP_OPERATIONS = bits([AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE]);

const authorized = (asked: boolean | undefined, operations: number): number => (asked ? operations : OPERATIONS_UNKNOWN);

export function apiVersionsApi(registry: () => ApiRegistry) {
  return defineApi<kafka.ApiVersionsRequest, kafka.ApiVersionsResponse>({
    key: ApiKey.ApiVersions,
    name: 'ApiVersions',
    minVersion: 0,
    maxVersion: 4,
    read: kafka.readApiVersionsRequest,
    write: kafka.writeApiVersionsResponse,
    handle: async () => ({
      errorCode: KafkaErrorCode.NONE,
      apiKeys: advertisedVersions(registry()),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    }),
  });
}

/**
 * A topic as Kafka clients see it. Clients connect only to gateways, so a gateway is named leader of each partition
 * (the one they send it to); the replica and ISR lists are the real brokers' ids, of their real size and state, so
 * `kcat -L`, kafka-topics --describe and admin clients show the replication factor and an under-replicated partition
 * (brokers' ids are not in the Metadata broker list, which holds only the gateways: clients never connect to them).
 */
function describeTopic(topic: TopicInfo, brokers: ReturnType<typeof kafkaBrokers>, brokerAlive: (id: number) => boolean, operations: number): kafka.MetadataResponseTopic {
  return {
    errorCode: KafkaErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: false,
    partitions: topic.partitions.map((p) => {
      const online = p.leader >= 0;
      const leader = online ? gatewayFor(brokers, topic, p.partition).nodeId : -1;
      return {
        errorCode: online ? KafkaErrorCode.NONE : KafkaErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: p.partition,
        leaderId: leader,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: p.replicas.filter((id) => !brokerAlive(id)),
      };
    }),
    topicAuthorizedOperations: operations,
  };
}

export const metadataApi = defineApi<kafka.MetadataRequest, kafka.MetadataResponse>({
  key: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  read: kafka.readMetadataRequest,
  write: kafka.writeMetadataResponse,
  handle: async (req, info, ctx) => {
    const view = ctx.metadata.view;
    const all = req.topics === null || (info.version === 0 && req.topics.length === 0);
    const topics: kafka.MetadataResponseTopic[] = [];
    const brokers = kafkaBrokers(ctx);
    const alive = (id: number) => view.image.nodes[id]?.state === 'alive';
    const topicOperations = authorized(req.includeTopicAuthorizedOperations, AUTHORIZED_TOPIC_OPERATIONS);
    if (all) {
      for (const topic of view.topics()) topics.push(describeTopic(topic, brokers, alive, topicOperations));
    } else {
      const requested = req.topics ?? [];
      // Auto-creation (auto.create.topics.enable): off unless configured; before v4 a request cannot refuse it.
      const mayCreate = ctx.config.autoCreateTopics && (info.version < 4 || req.allowAutoTopicCreation !== false);
      const missing = requested.filter((t) => t.name !== null && !view.topicByName(t.name) && topicNameProblem(t.name) === undefined).map((t) => t.name as string);
      const created = new Map<string, number>();
      if (mayCreate && missing.length > 0) {
        try {
          const results = await ctx.controller.createTopics(missing.map((name) => ({ name, partitions: -1, replicationFactor: -1 })));
          for (const r of results) if (r.errorCode !== KafkaErrorCode.NONE && r.errorCode !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) created.set(r.name, r.errorCode);
        } catch (err) {
          ctx.logger.warn({ err, topics: missing }, 'auto-creating topics failed');
          for (const name of missing) created.set(name, errorCodeOf(err));
        }
      }
      for (const t of requested) {
        const topic = t.name !== null ? view.topicByName(t.name) : t.topicId ? view.topicById(t.topicId) : undefined;
        if (topic) topics.push(describeTopic(topic, brokers, alive, topicOperations));
        else {
          const invalid = t.name !== null && topicNameProblem(t.name) !== undefined;
          const errorCode = invalid ? KafkaErrorCode.INVALID_TOPIC_EXCEPTION : (created.get(t.name ?? '') ?? (t.name === null ? KafkaErrorCode.UNKNOWN_TOPIC_ID : KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          topics.push({ errorCode, name: t.name, topicId: t.topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_UNKNOWN });
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: view.image.clusterId,
      controllerId: brokers[0].nodeId,
      topics,
      clusterAuthorizedOperations: authorized(req.includeClusterAuthorizedOperations, AUTHORIZED_CLUSTER_OPERATIONS),
    };
  },
});

export const describeClusterApi = defineApi<kafka.DescribeClusterRequest, kafka.DescribeClusterResponse>({
  key: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  read: kafka.readDescribeClusterRequest,
  write: kafka.writeDescribeClusterResponse,
  handle: async (req, _info, ctx) => {
    const brokers = kafkaBrokers(ctx);
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      endpointType: req.endpointType ?? 1,
      clusterId: ctx.metadata.view.image.clusterId,
      controllerId: brokers[0].nodeId,
      brokers: brokers.map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterAuthorizedOperations: authorized(req.includeClusterAuthorizedOperations, AUTHORIZED_CLUSTER_OPERATIONS),
    };
  },
});

/**
 * Producer ids for idempotent producers, from blocks the controller hands out (cluster/producer-ids.ts). Leaders
 * check each id's sequence numbers (libs/storage producer-state.ts): retries are written once, in order. Without a
 * controller to allocate a block the client is told to retry (COORDINATOR_NOT_AVAILABLE).
 */
export const initProducerIdApi = defineApi<kafka.InitProducerIdRequest, kafka.InitProducerIdResponse>({
  key: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  read: kafka.readInitProducerIdRequest,
  write: kafka.writeInitProducerIdResponse,
  handle: async (req, _info, ctx) => {
    if (req.transactionalId !== null) {
      return { throttleTimeMs: 0, errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    }
    try {
      return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, producerId: await ctx.producerIds.take(), producerEpoch: 0 };
    } catch (err) {
      ctx.logger.warn({ err }, 'no producer id block from the controller');
      return { throttleTimeMs: 0, errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
  },
});
