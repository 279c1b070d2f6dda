// Reading records of a partition from an offset, with a long poll.
import type { FastifyPluginAsync } from 'fastify';
import { decodeRecords, forEachBatch, KafkaErrorCode } from '@sluice/protocol';
import { formatFromMediaType, recordFormats, recordOut, type HttpRecordOut, type RecordFormat } from '../record-format.js';
import { HttpError } from './http-error.js';
import { errorResponses, partitionParams, recordOutSchema } from './schemas.js';

const MAX_FETCH_BYTES = 8 * 1024 * 1024;
const MAX_WAIT_MS = 30_000;

interface RecordsQuery {
  offset: number;
  max_bytes?: number;
  timeout?: number;
  count?: number;
  format?: RecordFormat;
}

export const recordsRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;
  const schema = {
    summary: 'Records of a partition from an offset (whole batches are fetched; records before the offset are skipped)',
    params: partitionParams,
    querystring: {
      type: 'object',
      properties: {
        offset: { type: 'integer', minimum: 0 },
        max_bytes: { type: 'integer', minimum: 1, maximum: MAX_FETCH_BYTES },
        timeout: { type: 'integer', minimum: 0, maximum: MAX_WAIT_MS },
        count: { type: 'integer', minimum: 1, maximum: 100_000 },
        format: { type: 'string', enum: [...recordFormats] },
      },
      required: ['offset'],
    },
    response: { 200: { type: 'array', items: recordOutSchema }, ...errorResponses },
  } as const;

  const handler = async (request: { params: { topic: string; partition: number }; query: RecordsQuery; headers: Record<string, unknown> }) => {
    const { topic, info } = ctx.partition(request.params.topic, request.params.partition);
    const q = request.query;
    const format = q.format ?? formatFromMediaType(String(request.headers.accept ?? '')) ?? 'json';
    const maxWaitMs = q.timeout ?? 0;
    const maxBytes = q.max_bytes ?? 1024 * 1024;
    const [res] = await ctx.fetcher.fetch([{ topicId: topic.id, partition: info.partition, fetchOffset: q.offset, maxBytes }], {
      maxWaitMs,
      minBytes: 1,
      maxBytes,
      isolationLevel: 0,
      deadline: ctx.deadline(),
    });
    if (res.meta.errorCode !== KafkaErrorCode.NONE) {
      if (res.meta.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
        throw new HttpError(
          416,
          41601,
          'OFFSET_OUT_OF_RANGE',
          `offset ${q.offset} is outside the partition's offsets ${res.meta.logStartOffset}..${res.meta.highWatermark}`,
        );
      }
      throw HttpError.fromKafka(res.meta.errorCode, res.meta.errorMessage ?? 'fetch failed');
    }
    const traffic = ctx.metrics.httpTopic(topic.name);
    const out: HttpRecordOut[] = [];
    const limit = q.count ?? Number.MAX_SAFE_INTEGER;
    if (res.records) {
      const body = res.records;
      forEachBatch(body, (_h, start, end) => {
        if (out.length >= limit) return;
        for (const r of decodeRecords(body.subarray(start, end))) {
          if (r.offset < q.offset || out.length >= limit) continue;
          out.push(recordOut(format, topic.name, info.partition, r));
        }
      });
      traffic.bytesOut.inc(body.length);
    }
    traffic.recordsOut.inc(out.length);
    return out;
  };

  app.get<{ Params: { topic: string; partition: number }; Querystring: RecordsQuery }>('/topics/:topic/partitions/:partition/records', { schema }, handler);
  app.get<{ Params: { topic: string; partition: number }; Querystring: RecordsQuery }>(
    '/topics/:topic/partitions/:partition/messages',
    { schema: { ...schema, hide: true } },
    handler,
  );
};
