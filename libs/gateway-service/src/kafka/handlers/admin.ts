// Topic administration over the Kafka protocol: CreateTopics, DeleteTopics, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs, each forwarded to the controller (ControllerClient) and answered per topic.
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { topicConfigSpecs, type TopicResult } from '@sluice/contracts';
import { defineApi, errorCodeOf, errorMessageOf } from '../kafka-apis.js';
import type { KafkaContext } from '../kafka-context.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const CONFIG_SOURCE_DYNAMIC_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

/**
 * Every topic config with Kafka's default, for DescribeConfigs (from the one table in @sluice/protocol). A broker
 * started with other SLUICE_LOG_* defaults applies those, which this answer does not show yet.
 */
const topicConfigDefaults: Record<string, string> = Object.fromEntries(topicConfigSpecs.map((s) => [s.name, s.default]));

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
    const manual = req.topics.filter((t) => t.assignments !== null && t.assignments.length > 0);
    const wanted = req.topics.filter((t) => !manual.includes(t));
    const answers = await guarded(
      () => ctx.controller.createPartitions(wanted.map((t) => ({ name: t.name, count: t.count })), req.validateOnly),
      (errorCode, errorMessage): TopicResult[] => wanted.map((t) => ({ name: t.name, errorCode, errorMessage })),
    );
    const results = req.topics.map((t) => {
      if (manual.includes(t)) return { name: t.name, errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'manual replica assignment is not supported' };
      return { name: t.name, ...result(answers[wanted.indexOf(t)]) };
    });
    return { throttleTimeMs: 0, results };
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
            if (t.assignments.length > 0) {
              return { name: t.name, errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'manual replica assignment is not supported', configs: null };
            }
            const configs = Object.fromEntries(t.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value as string]));
            const [r] = await ctx.controller.createTopics([{ name: t.name, partitions: t.numPartitions, replicationFactor: t.replicationFactor, configs }], req.validateOnly);
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
      if (res.resourceType === RESOURCE_BROKER) return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null, configs: [] };
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

/** Applies a topic config change for AlterConfigs-style requests; broker resources are refused. */
async function alterTopic(ctx: KafkaContext, resourceType: number, name: string, change: (current: Record<string, string>) => Record<string, string | null>, validateOnly: boolean) {
  const base = { resourceType, resourceName: name };
  if (resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: 'only topic configs can be altered' };
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
        ),
      ),
    ),
  }),
});
