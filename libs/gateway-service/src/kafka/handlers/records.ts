// Produce, Fetch, ListOffsets, DeleteRecords and OffsetForLeaderEpoch: every partition of a request goes to its leader
// over the bus at the same time.
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { IsolationLevel, type TopicInfo } from '@sluice/contracts';
import { defineApi, errorCodeOf, errorMessageOf } from '../kafka-apis.js';
import type { KafkaContext } from '../kafka-context.js';
import type { ProducePart } from '../../cluster/partition-client.js';

const EMPTY = Buffer.alloc(0);

function findPartition(ctx: KafkaContext, name: string | undefined, id: string | undefined, partition: number): { topic?: TopicInfo; error: number } {
  const topic = id && id !== '00000000-0000-0000-0000-000000000000' ? ctx.metadata.view.topicById(id) : name ? ctx.metadata.view.topicByName(name) : undefined;
  if (!topic) return { error: id && !name ? KafkaErrorCode.UNKNOWN_TOPIC_ID : KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  if (!topic.partitions[partition]) return { topic, error: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  return { topic, error: KafkaErrorCode.NONE };
}

/**
 * Answers every partition of a per-partition request at once: `call` asks the partition's leader; an unknown topic or
 * partition, or a failed call, is answered for that partition alone by `failed`.
 */
async function eachPartition<T, P, R>(
  ctx: KafkaContext,
  topics: readonly T[],
  nameOf: (t: T) => string,
  partitionsOf: (t: T) => readonly P[],
  indexOf: (p: P) => number,
  call: (topic: TopicInfo, p: P) => Promise<R>,
  failed: (p: P, errorCode: number) => R,
): Promise<R[][]> {
  return Promise.all(
    topics.map((t) =>
      Promise.all(
        partitionsOf(t).map(async (p) => {
          const { topic, error } = findPartition(ctx, nameOf(t), undefined, indexOf(p));
          if (!topic || error !== KafkaErrorCode.NONE) return failed(p, error);
          try {
            return await call(topic, p);
          } catch (err) {
            return failed(p, errorCodeOf(err));
          }
        }),
      ),
    ),
  );
}

export const produceApi = defineApi<kafka.ProduceRequest, kafka.ProduceResponse>({
  key: ApiKey.Produce,
  name: 'Produce',
  // From 0: librdkafka up to 2.11 enables compression only when Produce is advertised from v0. Versions 0-2 carry
  // message formats v0/v1, which the leader refuses per partition (UNSUPPORTED_FOR_MESSAGE_FORMAT).
  minVersion: 0,
  maxVersion: 11,
  read: kafka.readProduceRequest,
  write: kafka.writeProduceResponse,
  handle: async (req, _info, ctx) => {
    const acks = req.acks;
    const deadline = Date.now() + ctx.config.requestTimeoutMs;
    const refuse =
      acks !== 0 && acks !== 1 && acks !== -1
        ? { errorCode: KafkaErrorCode.INVALID_REQUIRED_ACKS, message: `acks must be 0, 1 or -1, not ${acks}` }
        : req.transactionalId
          ? { errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: 'transactions are not supported' }
          : null;
    // Every partition's answer, filled in place; the ones to write are collected and sent in one go, one bus message
    // per leading broker.
    const parts: ProducePart[] = [];
    const waiting: kafka.ProduceResponsePartitionProduceResponse[] = [];
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p): kafka.ProduceResponsePartitionProduceResponse => {
        const base = { index: p.index, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorCode: KafkaErrorCode.NONE as number, errorMessage: null as string | null };
        if (refuse) return { ...base, errorCode: refuse.errorCode, errorMessage: refuse.message };
        const { topic, error } = findPartition(ctx, t.name, undefined, p.index);
        if (!topic || error !== KafkaErrorCode.NONE) return { ...base, errorCode: error, errorMessage: `unknown partition ${t.name}-${p.index}` };
        if (!p.records || p.records.length === 0) return { ...base, errorCode: KafkaErrorCode.CORRUPT_MESSAGE, errorMessage: 'no records' };
        parts.push({ topicId: topic.id, partition: p.index, batches: p.records });
        waiting.push(base);
        return base;
      }),
    }));
    if (acks === 0) {
      ctx.partitions.produceNoAck(parts);
      return null;
    }
    const settled = await ctx.partitions.produceMany(parts, acks as 1 | -1, deadline);
    settled.forEach((outcome, i) => {
      const response = waiting[i];
      if (outcome.status === 'fulfilled') {
        const r = outcome.value;
        Object.assign(response, { errorCode: r.errorCode, errorMessage: r.errorMessage, baseOffset: r.baseOffset, logAppendTimeMs: r.logAppendTimeMs, logStartOffset: r.logStartOffset });
        if (r.recordErrors) response.recordErrors = r.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message }));
      } else {
        Object.assign(response, { errorCode: errorCodeOf(outcome.reason), errorMessage: errorMessageOf(outcome.reason) });
      }
    });
    return { responses, throttleTimeMs: 0 };
  },
});

interface FetchItem {
  topicName?: string;
  topicId?: string;
  topic?: TopicInfo;
  request: kafka.FetchRequestFetchPartition;
  result: kafka.FetchResponsePartitionData;
}

export const fetchApi = defineApi<kafka.FetchRequest, kafka.FetchResponse>({
  key: ApiKey.Fetch,
  name: 'Fetch',
  // From 4: older versions need message formats v0/v1, which this log does not keep.
  minVersion: 4,
  maxVersion: 17,
  read: kafka.readFetchRequest,
  write: kafka.writeFetchResponse,
  handle: async (req, info, ctx) => {
    const isolationLevel = req.isolationLevel === IsolationLevel.readCommitted ? 1 : 0;
    const deadline = Date.now() + ctx.config.requestTimeoutMs;
    const items: FetchItem[] = [];
    const byTopic: Array<{ topic?: string; topicId?: string; items: FetchItem[] }> = [];
    for (const t of req.topics) {
      const group = { topic: t.topic, topicId: t.topicId, items: [] as FetchItem[] };
      for (const p of t.partitions) {
        const { topic, error } = findPartition(ctx, info.version >= 13 ? undefined : t.topic, info.version >= 13 ? t.topicId : undefined, p.partition);
        const item: FetchItem = {
          topicName: t.topic,
          topicId: t.topicId,
          topic: error === KafkaErrorCode.NONE ? topic : undefined,
          request: p,
          result: { partitionIndex: p.partition, errorCode: error, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, preferredReadReplica: -1, records: EMPTY },
        };
        group.items.push(item);
        items.push(item);
      }
      byTopic.push(group);
    }
    // One fetch across the leading brokers (first pass, long poll, KIP-74 limits): see FetchMerger.
    const live = items.filter((i) => i.topic);
    const answers = await ctx.fetcher.fetch(
      live.map((i) => ({ topicId: (i.topic as TopicInfo).id, partition: i.request.partition, fetchOffset: i.request.fetchOffset, maxBytes: i.request.partitionMaxBytes })),
      { maxWaitMs: items.some((i) => !i.topic) ? 0 : req.maxWaitMs, minBytes: req.minBytes, maxBytes: req.maxBytes ?? 0x7fffffff, isolationLevel, deadline },
    );
    live.forEach((item, n) => {
      const { meta, records } = answers[n];
      item.result = {
        partitionIndex: item.request.partition,
        errorCode: meta.errorCode,
        highWatermark: meta.highWatermark,
        lastStableOffset: meta.lastStableOffset,
        logStartOffset: meta.logStartOffset,
        abortedTransactions: isolationLevel === 1 ? [] : null,
        preferredReadReplica: -1,
        records: records ?? EMPTY,
      };
    });
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      // No fetch sessions (KIP-227): every response is a full one, which clients accept.
      sessionId: 0,
      responses: byTopic.map((g) => ({ topic: g.topic, topicId: g.topicId, partitions: g.items.map((i) => i.result) })),
    };
  },
});

export const listOffsetsApi = defineApi<kafka.ListOffsetsRequest, kafka.ListOffsetsResponse>({
  key: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 10,
  read: kafka.readListOffsetsRequest,
  write: kafka.writeListOffsetsResponse,
  handle: async (req, _info, ctx) => {
    const deadline = Date.now() + ctx.config.requestTimeoutMs;
    const base = (p: kafka.ListOffsetsRequestListOffsetsPartition) => ({ partitionIndex: p.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: -1 });
    const answers = await eachPartition(
      ctx,
      req.topics,
      (t) => t.name,
      (t) => t.partitions,
      (p) => p.partitionIndex,
      async (topic, p): Promise<kafka.ListOffsetsResponseListOffsetsPartitionResponse> => {
        const reply = await ctx.partitions.listOffsets(topic.id, p.partitionIndex, p.timestamp, deadline);
        return { ...base(p), errorCode: reply.errorCode, timestamp: reply.timestamp, offset: reply.offset, leaderEpoch: reply.leaderEpoch };
      },
      (p, errorCode) => ({ ...base(p), errorCode }),
    );
    const topics = req.topics.map((t, i) => ({ name: t.name, partitions: answers[i] }));
    return { throttleTimeMs: 0, topics };
  },
});

export const deleteRecordsApi = defineApi<kafka.DeleteRecordsRequest, kafka.DeleteRecordsResponse>({
  key: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  read: kafka.readDeleteRecordsRequest,
  write: kafka.writeDeleteRecordsResponse,
  handle: async (req, _info, ctx) => {
    // The leader moves its log start at once and followers follow it on their next fetch: there is nothing to wait
    // for, so timeout_ms (0 included, as kafka-delete-records and librdkafka send) does not bound the deletion itself,
    // and the answer says what the leader did rather than REQUEST_TIMED_OUT.
    const deadline = Date.now() + ctx.config.requestTimeoutMs;
    const answers = await eachPartition(
      ctx,
      req.topics,
      (t) => t.name,
      (t) => t.partitions,
      (p) => p.partitionIndex,
      async (topic, p): Promise<kafka.DeleteRecordsResponseDeleteRecordsPartitionResult> => {
        const reply = await ctx.partitions.deleteRecords(topic.id, p.partitionIndex, Number(p.offset), deadline);
        return { partitionIndex: p.partitionIndex, lowWatermark: reply.lowWatermark, errorCode: reply.errorCode };
      },
      (p, errorCode) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode }),
    );
    const topics = req.topics.map((t, i) => ({ name: t.name, partitions: answers[i] }));
    return { throttleTimeMs: 0, topics };
  },
});

export const offsetForLeaderEpochApi = defineApi<kafka.OffsetForLeaderEpochRequest, kafka.OffsetForLeaderEpochResponse>({
  key: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  read: kafka.readOffsetForLeaderEpochRequest,
  write: kafka.writeOffsetForLeaderEpochResponse,
  handle: async (req, _info, ctx) => {
    const deadline = Date.now() + ctx.config.requestTimeoutMs;
    const answers = await eachPartition(
      ctx,
      req.topics,
      (t) => t.topic,
      (t) => t.partitions,
      (p) => p.partition,
      async (topic, p): Promise<kafka.OffsetForLeaderEpochResponseEpochEndOffset> => {
        const reply = await ctx.partitions.offsetForLeaderEpoch(topic.id, p.partition, p.leaderEpoch, p.currentLeaderEpoch ?? -1, deadline);
        return { partition: p.partition, errorCode: reply.errorCode, leaderEpoch: reply.epoch, endOffset: reply.endOffset };
      },
      (p, errorCode) => ({ partition: p.partition, errorCode, leaderEpoch: -1, endOffset: -1 }),
    );
    const topics = req.topics.map((t, i) => ({ topic: t.topic, partitions: answers[i] }));
    return { throttleTimeMs: 0, topics };
  },
});
