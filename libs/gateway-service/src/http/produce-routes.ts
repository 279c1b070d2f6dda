// Produce over HTTP: records become one RecordBatch v2 per partition (split at maxBatchBytes), sent to every
// partition's leader at once (one bus message per leading broker), each partition's batches in order.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { buildRecordBatch, KafkaErrorCode, SluiceError, isRetriableKafkaError, type RecordInput } from '@sluice/protocol';
import { type TopicInfo } from '@sluice/contracts';
import { choosePartition, StickyPartitioner } from '../partitioner.js';
import { formatFromMediaType, toBytes, toHeaders, type RecordFormat } from '../record-format.js';
import { HttpError } from './http-error.js';
import { errorResponses, partitionParams, produceBodySchema, produceResponseSchema, topicParams } from './schemas.js';

interface HttpRecordIn {
  key?: unknown;
  value?: unknown;
  partition?: number;
  timestamp?: number;
  headers?: unknown;
}

interface ProduceBody {
  format?: RecordFormat;
  records: HttpRecordIn[];
}

interface Offset {
  partition: number;
  offset: number | null;
  error_code: number | null;
  error: string | null;
}

const acksQuery = {
  type: 'object',
  properties: { acks: { type: 'string', enum: ['all', '-1', '1', '0'] } },
} as const;

function parseAcks(raw: string | undefined): 0 | 1 | -1 {
  if (raw === '0') return 0;
  if (raw === '1') return 1;
  return -1;
}

/** Rough record size for batching decisions (key, value, headers, per-record overhead). */
function recordSize(r: RecordInput): number {
  let size = 20 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers ?? []) size += h.key.length + (h.value?.length ?? 0) + 4;
  return size;
}

export const produceRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;
  const sticky = new StickyPartitioner();

  const produce = async (request: FastifyRequest, topic: TopicInfo, body: ProduceBody, fixedPartition: number | undefined, acksRaw?: string) => {
    const format = body.format ?? formatFromMediaType(request.headers['content-type']) ?? 'json';
    const acks = parseAcks(acksRaw);
    const n = topic.partitions.length;
    const byPartition = new Map<number, Array<{ index: number; record: RecordInput }>>();
    body.records.forEach((r, index) => {
      const what = `record ${index}`;
      const record: RecordInput = {
        key: toBytes(format, r.key, `${what} key`),
        value: toBytes(format, r.value, `${what} value`),
        headers: toHeaders(format, r.headers, what),
        timestamp: r.timestamp,
      };
      const explicit = fixedPartition ?? r.partition;
      if (explicit !== undefined && explicit >= n) throw HttpError.partitionNotFound(topic.name, explicit);
      const partition = choosePartition(sticky, topic.name, n, explicit, record.key ?? null, recordSize(record));
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      list.push({ index, record });
    });

    const offsets: Offset[] = new Array(body.records.length);
    const deadline = Date.now() + ctx.config.requestTimeoutMs;
    let batchBytes = 0;
    // Each partition's records in batches of at most maxBatchBytes, sent in order: round r sends every partition's
    // r-th batch at once, one bus message per leading broker; a partition whose batch failed sends no more.
    const lanes = [...byPartition].map(([partition, entries]) => {
      const batches: Array<typeof entries> = [];
      let current: typeof entries = [];
      let size = 0;
      for (const e of entries) {
        const s = recordSize(e.record);
        if (current.length > 0 && size + s > ctx.config.maxBatchBytes) {
          batches.push(current);
          current = [];
          size = 0;
        }
        current.push(e);
        size += s;
      }
      if (current.length > 0) batches.push(current);
      return { partition, batches, failed: undefined as { code: number; message: string } | undefined };
    });
    const fail = (lane: (typeof lanes)[number], group: (typeof lanes)[number]['batches'][number], failure: { code: number; message: string }): void => {
      lane.failed ??= failure;
      for (const e of group) offsets[e.index] = { partition: lane.partition, offset: null, error_code: retriableCode(failure.code), error: failure.message };
    };
    for (let round = 0; ; round++) {
      const sending = lanes.filter((lane) => round < lane.batches.length && !lane.failed);
      if (sending.length === 0) break;
      const built = sending.map((lane) => {
        const bytes = buildRecordBatch(lane.batches[round].map((e) => e.record));
        batchBytes += bytes.length;
        return { lane, group: lane.batches[round], part: { topicId: topic.id, partition: lane.partition, batches: bytes } };
      });
      if (acks === 0) {
        ctx.partitions.produceNoAck(built.map((b) => b.part));
        for (const { lane, group } of built) for (const e of group) offsets[e.index] = { partition: lane.partition, offset: null, error_code: null, error: null };
        continue;
      }
      const settled = await ctx.partitions.produceMany(
        built.map((b) => b.part),
        acks,
        deadline,
      );
      settled.forEach((outcome, i) => {
        const { lane, group } = built[i];
        if (outcome.status === 'rejected') {
          const err: unknown = outcome.reason;
          if (!(err instanceof SluiceError)) request.log.error({ err }, 'produce failed');
          fail(lane, group, err instanceof SluiceError ? { code: err.kafkaCode, message: err.message } : { code: -1, message: 'internal error' });
        } else if (outcome.value.errorCode !== KafkaErrorCode.NONE) {
          fail(lane, group, { code: outcome.value.errorCode, message: outcome.value.errorMessage ?? 'produce failed' });
        } else {
          group.forEach((e, k) => (offsets[e.index] = { partition: lane.partition, offset: outcome.value.baseOffset + k, error_code: null, error: null }));
        }
      });
    }
    // Batches after a partition's failed one were not sent: they carry its error.
    for (const lane of lanes) {
      if (!lane.failed) continue;
      for (const group of lane.batches) for (const e of group) if (!offsets[e.index]) fail(lane, group, lane.failed);
    }
    const failures = lanes.flatMap((lane) => (lane.failed ? [lane.failed] : []));
    const traffic = ctx.metrics.httpTopic(topic.name);
    traffic.recordsIn.inc(body.records.length);
    traffic.bytesIn.inc(batchBytes);
    // Every record failed the same way: answer with that error's status instead of 200 with per-record errors.
    if (failures.length > 0 && offsets.every((o) => o.error_code !== null)) throw HttpError.fromKafka(failures[0].code, failures[0].message);
    return { offsets, key_schema_id: null, value_schema_id: null };
  };

  app.post<{ Params: { topic: string }; Body: ProduceBody; Querystring: { acks?: string } }>(
    '/topics/:topic',
    {
      schema: {
        summary: 'Produce records (partition by key, or sticky without a key)',
        params: topicParams,
        querystring: acksQuery,
        body: produceBodySchema,
        response: { 200: produceResponseSchema, ...errorResponses },
      },
    },
    async (request) => produce(request, ctx.topic(request.params.topic), request.body, undefined, request.query.acks),
  );

  app.post<{ Params: { topic: string; partition: number }; Body: ProduceBody; Querystring: { acks?: string } }>(
    '/topics/:topic/partitions/:partition',
    {
      schema: {
        summary: 'Produce records to one partition',
        params: partitionParams,
        querystring: acksQuery,
        body: produceBodySchema,
        response: { 200: produceResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { topic } = ctx.partition(request.params.topic, request.params.partition);
      return produce(request, topic, request.body, request.params.partition, request.query.acks);
    },
  );
};

/** REST Proxy v2 per-record error codes: 1 retriable, 2 not. */
function retriableCode(kafkaCode: number): number {
  return isRetriableKafkaError(kafkaCode) ? 1 : 2;
}
