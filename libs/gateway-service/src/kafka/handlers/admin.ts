// Topic administration over the Kafka protocol: CreateTopics, DeleteTopics, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs, each forwarded to the controller (ControllerClient) and answered per topic.
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { BrokerVerbs, topicConfigSpecs, type TopicResult } from '@sluice/contracts';
import { defineApi, errorCodeOf, errorMessageOf } from '../kafka-apis.js';
import { gatewayFor, kafkaBrokers, type KafkaContext } from '../kafka-context.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const CONFIG_SOURCE_DYNAMIC_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

/**
 * Every topic config with Kafka's default, for DescribeConfigs (from the one table in @sluice/protocol). A broker
 * started with other SLUICE_LOG_* defaults applies those, which this answer does not show yet.
 */
const topicConfigDefaults: Record<string, string> = Object.fromEntries(topicConfigSpecs.map((s) => [s.name, s.default]));

const CONFIG_SOURCE_STATIC_BROKER = 4;

/** Kafka's broker-level names of the topic configs' defaults (the topic config they set for topics without one). */
const brokerSynonyms: Record<string, string> = {
  'cleanup.policy': 'log.cleanup.policy',
  'compression.type': 'compression.type',
  'delete.retention.ms': 'log.cleaner.delete.retention.ms',
  'flush.messages': 'log.flush.interval.messages',
  'flush.ms': 'log.flush.interval.ms',
  'index.interval.bytes': 'log.index.interval.bytes',
  'max.compaction.lag.ms': 'log.cleaner.max.compaction.lag.ms',
  'max.message.bytes': 'message.max.bytes',
  'message.timestamp.after.max.ms': 'log.message.timestamp.after.max.ms',
  'message.timestamp.before.max.ms': 'log.message.timestamp.before.max.ms',
  'message.timestamp.type': 'log.message.timestamp.type',
  'min.cleanable.dirty.ratio': 'log.cleaner.min.cleanable.ratio',
  'min.compaction.lag.ms': 'log.cleaner.min.compaction.lag.ms',
  'min.insync.replicas': 'min.insync.replicas',
  'retention.bytes': 'log.retention.bytes',
  'retention.ms': 'log.retention.ms',
  'segment.bytes': 'log.segment.bytes',
  'segment.ms': 'log.roll.ms',
  'unclean.leader.election.enable': 'unclean.leader.election.enable',
};

interface BrokerConfigEntry {
  value: string;
  source: number;
}

/**
 * The broker configs a Kafka client sees for this gateway (resource type BROKER), all read-only: its own settings
 * (static, from its environment) and the topic defaults under their broker-level names, as Kafka defines them (a
 * broker started with other SLUICE_LOG_* values applies those to topics without an override).
 */
function brokerConfigs(ctx: KafkaContext): Map<string, BrokerConfigEntry> {
  const self = ctx.self();
  const configs = new Map<string, BrokerConfigEntry>();
  for (const spec of topicConfigSpecs) {
    const name = brokerSynonyms[spec.name];
    if (name) configs.set(name, { value: spec.default, source: CONFIG_SOURCE_DEFAULT });
  }
  const protocol = ctx.sasl.enabled ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
  const settings: Record<string, string> = {
    'broker.id': String(self.nodeId),
    'node.id': String(self.nodeId),
    'advertised.listeners': `${protocol}://${self.host}:${self.port}`,
    'auto.create.topics.enable': String(ctx.config.autoCreateTopics),
    'connections.max.idle.ms': String(ctx.config.kafkaConnectionsMaxIdleMs),
    'connections.max.reauth.ms': String(ctx.config.kafkaConnectionsMaxReauthMs),
    'sasl.enabled.mechanisms': [...ctx.sasl.mechanisms].join(','),
    'socket.request.max.bytes': String(ctx.config.kafkaMaxRequestBytes),
    'queued.max.request.bytes': String(ctx.config.kafkaMaxQueuedRequestBytes),
    'request.timeout.ms': String(ctx.config.requestTimeoutMs),
  };
  if (self.rack !== null) settings['broker.rack'] = self.rack;
  for (const [name, value] of Object.entries(settings)) configs.set(name, { value, source: CONFIG_SOURCE_STATIC_BROKER });
  return configs;
}

/** Why a BROKER resource name does not name this gateway ('' is the cluster-wide default, as Kafka allows). */
function brokerResourceProblem(ctx: KafkaContext, name: string): string | undefined {
  return name === '' || name === String(ctx.self().nodeId) ? undefined : `broker ${name} is not this broker (${ctx.self().nodeId}): send the request to it`;
}

function describeBroker(ctx: KafkaContext, res: kafka.DescribeConfigsRequestDescribeConfigsResource): kafka.DescribeConfigsResponseDescribeConfigsResult {
  const base = { resourceType: res.resourceType, resourceName: res.resourceName };
  const problem = brokerResourceProblem(ctx, res.resourceName);
  if (problem) return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: problem, configs: [] };
  const configs = [...brokerConfigs(ctx)]
    .filter(([name]) => !res.configurationKeys || res.configurationKeys.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, c]) => ({ name, value: c.value, readOnly: true, isDefault: c.source === CONFIG_SOURCE_DEFAULT, configSource: c.source, isSensitive: false, synonyms: [] }));
  return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null, configs };
}

/** Alterations of broker configs: every broker config Sluice serves is read-only, refused as Kafka refuses those. */
function alterBroker(ctx: KafkaContext, resourceType: number, name: string, changed: string[]) {
  const base = { resourceType, resourceName: name };
  const problem = brokerResourceProblem(ctx, name);
  if (problem) return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: problem };
  if (changed.length === 0) return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null };
  const known = brokerConfigs(ctx);
  const unknown = changed.filter((c) => !known.has(c));
  if (unknown.length > 0) return { ...base, errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: `unknown broker configs: ${unknown.join(', ')}` };
  return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `Cannot update these configs dynamically: ${changed.join(', ')} (read-only in Sluice: set through the environment)` };
}

function result(r: TopicResult | undefined): { errorCode: number; errorMessage: string | null } {
  return r ? { errorCode: r.errorCode, errorMessage: r.errorMessage } : { errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'no answer for this topic' };
}

async function guarded<T>(work: () => Promise<T>, failed: (errorCode: number, message: string) => T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    return failed(errorCodeOf(err), errorMessageOf(err));
  }
}

export const createPartitionsApi = defineApi<kafka.CreatePartitionsRequest, kafka.CreatePartitionsResponse>({
  key: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  read: kafka.readCreatePartitionsRequest,
  write: kafka.writeCreatePartitionsResponse,
  handle: async (req, _info, ctx) => {
    // A manual assignment lists the replicas of each new partition (the controller validates it).
    const wanted = req.topics.map((t) => ({ name: t.name, count: t.count, ...(t.assignments?.length ? { assignments: t.assignments.map((a) => a.brokerIds) } : {}) }));
    const answers = await guarded(
      () => ctx.controller.createPartitions(wanted, req.validateOnly),
      (errorCode, errorMessage): TopicResult[] => wanted.map((t) => ({ name: t.name, errorCode, errorMessage })),
    );
    return { throttleTimeMs: 0, results: req.topics.map((t, i) => ({ name: t.name, ...result(answers[i]) })) };
  },
});

export const createTopicsApi = defineApi<kafka.CreateTopicsRequest, kafka.CreateTopicsResponse>({
  key: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 2,
  maxVersion: 7,
  read: kafka.readCreateTopicsRequest,
  write: kafka.writeCreateTopicsResponse,
  handle: async (req, _info, ctx) => {
    const topics = await Promise.all(
      req.topics.map((t) =>
        guarded(
          async (): Promise<kafka.CreateTopicsResponseCreatableTopicResult> => {
            // A manual assignment names each partition's replicas; its partitions must be 0, 1, ... (any order).
            const byIndex = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
            if (byIndex.some((a, i) => a.partitionIndex !== i)) {
              return { name: t.name, errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'the assigned partitions must be numbered 0, 1, ... without gaps or repeats', configs: null };
            }
            const assignments = byIndex.length > 0 ? { assignments: byIndex.map((a) => a.brokerIds) } : {};
            const configs = Object.fromEntries(t.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value as string]));
            const [r] = await ctx.controller.createTopics([{ name: t.name, partitions: t.numPartitions, replicationFactor: t.replicationFactor, configs, ...assignments }], req.validateOnly);
            const created = r?.topic ?? ctx.metadata.view.topicByName(t.name);
            return {
              name: t.name,
              ...result(r),
              topicId: created?.id,
              numPartitions: created?.partitions.length ?? -1,
              replicationFactor: created?.partitions[0]?.replicas.length ?? -1,
              configs: created ? Object.entries(created.configs).map(([name, value]) => ({ name, value, readOnly: false, configSource: CONFIG_SOURCE_DYNAMIC_TOPIC, isSensitive: false })) : null,
            };
          },
          (errorCode, errorMessage) => ({ name: t.name, errorCode, errorMessage, configs: null }),
        ),
      ),
    );
    return { throttleTimeMs: 0, topics };
  },
});

export const deleteTopicsApi = defineApi<kafka.DeleteTopicsRequest, kafka.DeleteTopicsResponse>({
  key: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 1,
  maxVersion: 6,
  read: kafka.readDeleteTopicsRequest,
  write: kafka.writeDeleteTopicsResponse,
  handle: async (req, _info, ctx) => {
    // Before v6 topics come by name; from v6 by name or id.
    const wanted = req.topicNames?.length ? req.topicNames.map((name) => ({ name, topicId: undefined as string | undefined })) : (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId }));
    const responses = await Promise.all(
      wanted.map((t) =>
        guarded(
          async (): Promise<kafka.DeleteTopicsResponseDeletableTopicResult> => {
            const topic = t.name ? ctx.metadata.view.topicByName(t.name) : t.topicId ? ctx.metadata.view.topicById(t.topicId) : undefined;
            if (!topic) {
              return { name: t.name, topicId: t.topicId, errorCode: t.name ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : KafkaErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'no such topic' };
            }
            const [r] = await ctx.controller.deleteTopics([topic.name]);
            return { name: topic.name, topicId: topic.id, ...result(r) };
          },
          (errorCode, errorMessage) => ({ name: t.name, topicId: t.topicId, errorCode, errorMessage }),
        ),
      ),
    );
    return { throttleTimeMs: 0, responses };
  },
});

export const describeConfigsApi = defineApi<kafka.DescribeConfigsRequest, kafka.DescribeConfigsResponse>({
  key: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  minVersion: 1,
  maxVersion: 4,
  read: kafka.readDescribeConfigsRequest,
  write: kafka.writeDescribeConfigsResponse,
  handle: async (req, _info, ctx) => ({
    throttleTimeMs: 0,
    results: req.resources.map((res): kafka.DescribeConfigsResponseDescribeConfigsResult => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      if (res.resourceType === RESOURCE_BROKER) return describeBroker(ctx, res);
      if (res.resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `resource type ${res.resourceType} is not supported`, configs: [] };
      const topic = ctx.metadata.view.topicByName(res.resourceName);
      if (!topic) return { ...base, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic ${res.resourceName}`, configs: [] };
      const names = new Set([...Object.keys(topicConfigDefaults), ...Object.keys(topic.configs)]);
      const configs = [...names]
        .filter((name) => !res.configurationKeys || res.configurationKeys.includes(name))
        .sort()
        .map((name) => {
          const overridden = name in topic.configs;
          return {
            name,
            value: overridden ? topic.configs[name] : (topicConfigDefaults[name] ?? null),
            readOnly: false,
            isDefault: !overridden,
            configSource: overridden ? CONFIG_SOURCE_DYNAMIC_TOPIC : CONFIG_SOURCE_DEFAULT,
            isSensitive: false,
            synonyms: [],
          };
        });
      return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null, configs };
    }),
  }),
});

/** Applies a topic config change for AlterConfigs-style requests; broker resources are read-only (alterBroker). */
async function alterTopic(ctx: KafkaContext, resourceType: number, name: string, change: (current: Record<string, string>) => Record<string, string | null>, validateOnly: boolean, changed: string[]) {
  const base = { resourceType, resourceName: name };
  if (resourceType === RESOURCE_BROKER) return alterBroker(ctx, resourceType, name, changed);
  if (resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `resource type ${resourceType} cannot be altered` };
  const topic = ctx.metadata.view.topicByName(name);
  if (!topic) return { ...base, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic ${name}` };
  return guarded(
    async () => ({ ...base, ...result(await ctx.controller.alterTopicConfigs(name, change(topic.configs), validateOnly)) }),
    (errorCode, errorMessage) => ({ ...base, errorCode, errorMessage }),
  );
}

export const alterConfigsApi = defineApi<kafka.AlterConfigsRequest, kafka.AlterConfigsResponse>({
  key: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  read: kafka.readAlterConfigsRequest,
  write: kafka.writeAlterConfigsResponse,
  handle: async (req, _info, ctx) => ({
    throttleTimeMs: 0,
    // AlterConfigs replaces the whole set: overrides it does not name go back to their defaults.
    responses: await Promise.all(
      req.resources.map((res) =>
        alterTopic(
          ctx,
          res.resourceType,
          res.resourceName,
          (current) => ({ ...Object.fromEntries(Object.keys(current).map((k) => [k, null])), ...Object.fromEntries(res.configs.map((c) => [c.name, c.value])) }),
          req.validateOnly,
          res.configs.map((c) => c.name),
        ),
      ),
    ),
  }),
});

const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

export const incrementalAlterConfigsApi = defineApi<kafka.IncrementalAlterConfigsRequest, kafka.IncrementalAlterConfigsResponse>({
  key: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  read: kafka.readIncrementalAlterConfigsRequest,
  write: kafka.writeIncrementalAlterConfigsResponse,
  handle: async (req, _info, ctx) => ({
    throttleTimeMs: 0,
    responses: await Promise.all(
      req.resources.map((res) =>
        alterTopic(
          ctx,
          res.resourceType,
          res.resourceName,
          (current) => {
            const out: Record<string, string | null> = {};
            for (const c of res.configs) {
              const list = (current[c.name] ?? topicConfigDefaults[c.name] ?? '').split(',').filter((x) => x.length > 0);
              const items = (c.value ?? '').split(',').filter((x) => x.length > 0);
              if (c.configOperation === OP_SET) out[c.name] = c.value;
              else if (c.configOperation === OP_DELETE) out[c.name] = null;
              else if (c.configOperation === OP_APPEND) out[c.name] = [...list, ...items.filter((i) => !list.includes(i))].join(',');
              else if (c.configOperation === OP_SUBTRACT) out[c.name] = list.filter((i) => !items.includes(i)).join(',') || null;
            }
            return out;
          },
          req.validateOnly,
          res.configs.map((c) => c.name),
        ),
      ),
    ),
  }),
});

/**
 * DescribeLogDirs (topic sizes in Kafka UI, AKHQ, Redpanda Console): one log dir per live broker, the directory of
 * its partition logs, with each replica's size on disk. Clients see the gateways as brokers and sum what each
 * answers, so a gateway reports the replicas of the partitions it is named leader of in Metadata: summed over the
 * gateways, every replica counts once. A broker that does not answer in time is reported with KAFKA_STORAGE_ERROR.
 */
export const describeLogDirsApi = defineApi<kafka.DescribeLogDirsRequest, kafka.DescribeLogDirsResponse>({
  key: ApiKey.DescribeLogDirs,
  name: 'DescribeLogDirs',
  minVersion: 1,
  maxVersion: 4,
  read: kafka.readDescribeLogDirsRequest,
  write: kafka.writeDescribeLogDirsResponse,
  handle: async (req, _info, ctx) => {
    const view = ctx.metadata.view;
    const self = ctx.self().nodeId;
    const gateways = kafkaBrokers(ctx);
    // The partitions asked about (all when topics is null) that this gateway leads as clients see it.
    const wanted = new Map<string, { name: string; partitions: Set<number> }>();
    const topics = req.topics === null ? view.topics().map((t) => ({ topic: t, partitions: t.partitions.map((p) => p.partition) })) : req.topics.flatMap((t) => {
      const topic = view.topicByName(t.topic);
      return topic ? [{ topic, partitions: t.partitions }] : [];
    });
    for (const { topic, partitions } of topics) {
      const mine = partitions.filter((p) => p < topic.partitions.length && gatewayFor(gateways, topic, p).nodeId === self);
      if (mine.length > 0) wanted.set(topic.id, { name: topic.name, partitions: new Set(mine) });
    }
    const brokers = view.nodes('broker', 'alive').map((n) => n.id).sort((a, b) => a - b);
    const results = await Promise.all(
      brokers.map(async (broker): Promise<kafka.DescribeLogDirsResponseDescribeLogDirsResult> => {
        try {
          const { meta } = await ctx.bus.ask(ctx.subjects.at(BrokerVerbs.logDirs, broker), { topicIds: [...wanted.keys()] }, { timeoutMs: ctx.config.requestTimeoutMs });
          const byTopic = new Map<string, kafka.DescribeLogDirsResponseDescribeLogDirsPartition[]>();
          for (const p of meta.partitions) {
            const topic = wanted.get(p.topicId);
            if (!topic?.partitions.has(p.partition)) continue;
            const list = byTopic.get(topic.name) ?? [];
            list.push({ partitionIndex: p.partition, partitionSize: p.size, offsetLag: p.offsetLag, isFutureKey: false });
            byTopic.set(topic.name, list);
          }
          return {
            errorCode: KafkaErrorCode.NONE,
            logDir: `broker-${broker}:${meta.logDir}`,
            topics: [...byTopic].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })),
            totalBytes: -1,
            usableBytes: -1,
          };
        } catch (err) {
          ctx.logger.warn({ err, broker }, 'DescribeLogDirs: broker did not answer');
          return { errorCode: KafkaErrorCode.KAFKA_STORAGE_ERROR, logDir: `broker-${broker}`, topics: [], totalBytes: -1, usableBytes: -1 };
        }
      }),
    );
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, results };
  },
});
