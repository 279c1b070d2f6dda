// Topic administration and partition information.
import type { FastifyPluginAsync } from 'fastify';
import { KafkaErrorCode } from '@sluice/protocol';
import type { PartitionInfo, PartitionReplicasResult, TopicInfo, TopicResult } from '@sluice/contracts';
import { HttpError } from './http-error.js';
import { errorResponses, partitionParams, partitionSchema, topicParams, topicSchema } from './schemas.js';

export function describeTopic(topic: TopicInfo) {
  return {
    name: topic.name,
    id: topic.id,
    configs: topic.configs,
    partitions: topic.partitions.map((p) => describePartition(p)),
  };
}

function describePartition(p: PartitionInfo, state?: PartitionReplicasResult) {
  return {
    partition: p.partition,
    leader: p.leader,
    leader_epoch: p.leaderEpoch,
    replicas: p.replicas.map((broker) => {
      const seen = state?.replicas.find((r) => r.broker === broker);
      return {
        broker,
        leader: broker === p.leader,
        in_sync: p.isr.includes(broker),
        // Set while a reassignment moves the partition: replicas it adds and replicas it will drop.
        ...(p.addingReplicas?.includes(broker) && { adding: true }),
        ...(p.removingReplicas?.includes(broker) && { removing: true }),
        // As the leader knows it: where the replica's log ends, the records it lacks, since when it is behind.
        ...(seen && { log_end_offset: seen.logEndOffset, lag: seen.lagRecords, caught_up_ms_ago: seen.caughtUpMsAgo }),
      };
    }),
    ...(state && { beginning_offset: state.logStartOffset, end_offset: state.highWatermark, log_end_offset: state.logEndOffset, size_bytes: state.sizeBytes }),
  };
}

function check(result: TopicResult): void {
  if (result.errorCode !== KafkaErrorCode.NONE) throw HttpError.fromKafka(result.errorCode, result.errorMessage ?? 'request failed');
}

export const topicsRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;
  const timeoutMs = ctx.config.requestTimeoutMs;
  /** The partition's offsets and replicas as its leader sees them (one request to the leader broker). */
  const stateOf = async (topic: TopicInfo, p: number) => {
    const r = await ctx.partitions.describeReplicas(topic.id, p, Date.now() + timeoutMs);
    if (r.errorCode !== KafkaErrorCode.NONE) throw HttpError.fromKafka(r.errorCode, r.errorMessage ?? 'describing the partition failed');
    return r;
  };

  app.get('/topics', { schema: { summary: 'Topic names', response: { 200: { type: 'array', items: { type: 'string' } } } } }, async () =>
    ctx.metadata.view.topics().map((t) => t.name),
  );

  app.post<{ Body: { name: string; partitions?: number; replication_factor?: number; configs?: Record<string, string> } }>(
    '/topics',
    {
      schema: {
        summary: 'Create a topic',
        body: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            partitions: { type: 'integer' },
            replication_factor: { type: 'integer' },
            configs: { type: 'object', additionalProperties: { type: 'string' } },
          },
          required: ['name'],
        },
        response: { 201: topicSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const [result] = await ctx.controller.createTopics([
        { name: b.name, partitions: b.partitions ?? -1, replicationFactor: b.replication_factor ?? -1, configs: b.configs ?? {} },
      ]);
      check(result);
      const created = ctx.metadata.view.topicByName(b.name) ?? result.topic;
      if (!created) throw new HttpError(500, 50001, 'INTERNAL_ERROR', 'the controller did not return the topic');
      return reply.status(201).send(describeTopic(created));
    },
  );

  app.get<{ Params: { topic: string } }>(
    '/topics/:topic',
    { schema: { summary: 'Describe a topic', params: topicParams, response: { 200: topicSchema, ...errorResponses } } },
    async (request) => describeTopic(ctx.topic(request.params.topic)),
  );

  app.delete<{ Params: { topic: string } }>(
    '/topics/:topic',
    { schema: { summary: 'Delete a topic', params: topicParams, response: { ...errorResponses } } },
    async (request, reply) => {
      ctx.topic(request.params.topic);
      const [result] = await ctx.controller.deleteTopics([request.params.topic]);
      check(result);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { topic: string }; Body: { partitions: number } }>(
    '/topics/:topic/partitions',
    {
      schema: {
        summary: 'Add partitions: grow the topic to `partitions` partitions (keys may map to other partitions afterwards)',
        params: topicParams,
        body: { type: 'object', properties: { partitions: { type: 'integer' } }, required: ['partitions'] },
        response: { 200: topicSchema, ...errorResponses },
      },
    },
    async (request) => {
      ctx.topic(request.params.topic);
      const [result] = await ctx.controller.createPartitions([{ name: request.params.topic, count: request.body.partitions }]);
      check(result);
      return describeTopic(ctx.topic(request.params.topic));
    },
  );

  app.put<{ Params: { topic: string }; Body: { configs: Record<string, string | null> } }>(
    '/topics/:topic/configs',
    {
      schema: {
        summary: 'Set or remove topic configs (null removes an override)',
        params: topicParams,
        body: {
          type: 'object',
          properties: { configs: { type: 'object', additionalProperties: { type: ['string', 'null'] } } },
          required: ['configs'],
        },
        response: { 200: topicSchema, ...errorResponses },
      },
    },
    async (request) => {
      ctx.topic(request.params.topic);
      check(await ctx.controller.alterTopicConfigs(request.params.topic, request.body.configs));
      return describeTopic(ctx.topic(request.params.topic));
    },
  );

  app.get<{ Params: { topic: string } }>(
    '/topics/:topic/partitions',
    {
      schema: {
        summary: 'Partitions with their leaders, earliest/latest offsets, and each replica’s position and lag as the leader sees it',
        params: topicParams,
        response: { 200: { type: 'array', items: partitionSchema }, ...errorResponses },
      },
    },
    async (request) => {
      const topic = ctx.topic(request.params.topic);
      // Each partition answers on its own: an offline one reports its error and never holds back the others.
      return Promise.all(
        topic.partitions.map(async (p) => {
          try {
            return describePartition(p, await stateOf(topic, p.partition));
          } catch (err) {
            const e = HttpError.from(err);
            return { ...describePartition(p), error_code: e.code, error: e.message };
          }
        }),
      );
    },
  );

  app.get<{ Params: { topic: string; partition: number } }>(
    '/topics/:topic/partitions/:partition',
    { schema: { summary: 'One partition', params: partitionParams, response: { 200: partitionSchema, ...errorResponses } } },
    async (request) => {
      const { topic, info } = ctx.partition(request.params.topic, request.params.partition);
      return describePartition(info, await stateOf(topic, info.partition));
    },
  );

  app.get<{ Params: { topic: string; partition: number }; Querystring: { timestamp?: number } }>(
    '/topics/:topic/partitions/:partition/offsets',
    {
      schema: {
        summary: 'Earliest and latest offsets of a partition; with `timestamp` (ms), also the first offset whose timestamp is at or after it (null: none)',
        params: partitionParams,
        querystring: { type: 'object', properties: { timestamp: { type: 'integer', minimum: 0 } } },
        response: {
          200: {
            type: 'object',
            properties: { beginning_offset: { type: 'integer' }, end_offset: { type: 'integer' }, timestamp_offset: { type: ['integer', 'null'] } },
            required: ['beginning_offset', 'end_offset'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { topic, info } = ctx.partition(request.params.topic, request.params.partition);
      const state = await stateOf(topic, info.partition);
      const range = { beginning_offset: state.logStartOffset, end_offset: state.highWatermark };
      const { timestamp } = request.query;
      if (timestamp === undefined) return range;
      const r = await ctx.partitions.listOffsets(topic.id, info.partition, timestamp, Date.now() + timeoutMs);
      if (r.errorCode !== KafkaErrorCode.NONE) throw HttpError.fromKafka(r.errorCode, r.errorMessage ?? 'list offsets failed');
      return { ...range, timestamp_offset: r.offset >= 0 ? r.offset : null };
    },
  );

  app.delete<{ Params: { topic: string; partition: number }; Querystring: { before: string } }>(
    '/topics/:topic/partitions/:partition/records',
    {
      schema: {
        summary: 'Delete records: the partition then begins at offset `before` (`latest`: its end); as Kafka’s DeleteRecords',
        params: partitionParams,
        querystring: { type: 'object', properties: { before: { type: 'string', pattern: '^([0-9]{1,16}|latest)$' } }, required: ['before'] },
        response: { 200: { type: 'object', properties: { beginning_offset: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (request) => {
      const { topic, info } = ctx.partition(request.params.topic, request.params.partition);
      const offset = request.query.before === 'latest' ? -1 : Number(request.query.before);
      const r = await ctx.partitions.deleteRecords(topic.id, info.partition, offset, Date.now() + ctx.config.requestTimeoutMs);
      if (r.errorCode !== KafkaErrorCode.NONE) throw HttpError.fromKafka(r.errorCode, r.errorMessage ?? 'deleting records failed');
      return { beginning_offset: r.lowWatermark };
    },
  );

  app.get(
    '/brokers',
    {
      schema: {
        summary: 'Ids of the live brokers',
        response: { 200: { type: 'object', properties: { brokers: { type: 'array', items: { type: 'integer' } } } } },
      },
    },
    async () => ({ brokers: ctx.metadata.view.liveBrokers().map((b) => b.id) }),
  );
};
