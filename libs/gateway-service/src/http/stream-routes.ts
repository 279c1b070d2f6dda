// Server-Sent Events: records pushed as they arrive, for explicit partitions of a topic or for an HTTP consumer
// instance. Every event's id carries the position of every partition of the stream after that record
// ("0:42,1:17": partition:next offset), so a client that reconnects with Last-Event-ID resumes exactly where it
// stopped, without gaps or repeats. A client that reads slowly gets backpressure: the gateway stops fetching while
// the socket's buffer is full, and never queues records for it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsync } from 'fastify';
import { decodeRecords, forEachBatch, KafkaErrorCode } from '@sluice/protocol';
import { OffsetSpec } from '@sluice/contracts';
import { recordFormats, recordOut, type RecordFormat } from '../record-format.js';
import { HttpError } from './http-error.js';
import { openEventStream, writeEvent } from './event-stream.js';
import { errorResponses, topicParams } from './schemas.js';

const POLL_WAIT_MS = 1000;
/** Pause before fetching again when every partition answered with an error and no records. */
const ERROR_BACKOFF_MS = 250;

/** Parses "0:42,1:17" into partition → offset. */
export function parsePositions(text: string): Map<number, number> | null {
  const out = new Map<number, number>();
  for (const part of text.split(',')) {
    const [p, o] = part.split(':').map(Number);
    if (!Number.isInteger(p) || !Number.isInteger(o) || p < 0 || o < 0) return null;
    out.set(p, o);
  }
  return out.size > 0 ? out : null;
}

const formatPositions = (positions: Map<number, number>): string => [...positions].map(([p, o]) => `${p}:${o}`).join(',');

export const streamRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;
  app.get<{ Params: { topic: string }; Querystring: { partitions?: string; offset?: string; format?: RecordFormat } }>(
    '/topics/:topic/stream',
    {
      schema: {
        summary: 'Server-Sent Events of the records of a topic (all or some partitions), resumable with Last-Event-ID',
        params: topicParams,
        querystring: {
          type: 'object',
          properties: {
            partitions: { type: 'string', pattern: '^[0-9]+(,[0-9]+)*$' },
            offset: { type: 'string', pattern: '^(earliest|latest|[0-9]+)$' },
            format: { type: 'string', enum: [...recordFormats] },
          },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const topic = ctx.topic(request.params.topic);
      const q = request.query;
      const partitions = q.partitions ? q.partitions.split(',').map(Number) : topic.partitions.map((p) => p.partition);
      for (const p of partitions) if (!topic.partitions[p]) throw HttpError.partitionNotFound(topic.name, p);
      const format = q.format ?? 'json';
      const lastEventId = request.headers['last-event-id'];
      const resumed = typeof lastEventId === 'string' ? parsePositions(lastEventId) : null;
      if (typeof lastEventId === 'string' && !resumed) throw HttpError.badRequest('Last-Event-ID must look like "0:42,1:17" (partition:offset)');
      const deadline = () => Date.now() + ctx.config.requestTimeoutMs;
      const positions = new Map<number, number>();
      for (const p of partitions) {
        const from = resumed?.get(p);
        if (from !== undefined) positions.set(p, from);
        else if (q.offset !== undefined && q.offset !== 'earliest' && q.offset !== 'latest') positions.set(p, Number(q.offset));
        else {
          const r = await ctx.partitions.listOffsets(topic.id, p, q.offset === 'earliest' ? OffsetSpec.earliest : OffsetSpec.latest, deadline());
          if (r.errorCode !== KafkaErrorCode.NONE) throw HttpError.fromKafka(r.errorCode, r.errorMessage ?? 'list offsets failed');
          positions.set(p, r.offset);
        }
      }
      reply.hijack();
      const res = reply.raw;
      const stream = openEventStream(res, ctx.metrics);
      await writeEvent(res, `retry: 1000\n: positions ${formatPositions(positions)}\n\n`);
      try {
        while (stream.isOpen()) {
          // One bus request per leading broker; each partition's records are written as its answer arrives, one
          // partition at a time (so each event id is the position vector right after that record).
          const answers = await ctx.fetcher.fetch(
            partitions.map((p) => ({ topicId: topic.id, partition: p, fetchOffset: positions.get(p) ?? 0, maxBytes: 1024 * 1024 })),
            { maxWaitMs: POLL_WAIT_MS, minBytes: 1, maxBytes: 4 * 1024 * 1024, isolationLevel: 0, deadline: deadline() },
          );
          // Answers that come back at once with errors and no records (a partition offline, its leader moving) must not
          // make this loop spin: it would never give the event loop back, and the whole gateway would stop answering.
          if (answers.every((a) => !a.records?.length) && answers.some((a) => a.meta.errorCode !== KafkaErrorCode.NONE)) {
            if (!ctx.metadata.view.topicByName(topic.name) || answers.some((a) => a.meta.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) {
              throw HttpError.fromKafka(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic.name} was deleted`);
            }
            await sleep(ERROR_BACKOFF_MS);
            continue;
          }
          for (let i = 0; i < answers.length && stream.isOpen(); i++) {
            const p = partitions[i];
            const r = answers[i];
            if (r.meta.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
              // The position fell off the log (retention): continue at the log start, as auto.offset.reset=earliest does.
              positions.set(p, r.meta.logStartOffset);
              continue;
            }
            if (r.meta.errorCode !== KafkaErrorCode.NONE || !r.records) continue;
            const body = r.records;
            const from = positions.get(p) ?? 0;
            const events: string[] = [];
            forEachBatch(body, (_h, s, e) => {
              for (const record of decodeRecords(body.subarray(s, e))) {
                if (record.offset < from) continue;
                positions.set(p, record.offset + 1);
                events.push(`id: ${formatPositions(positions)}\nevent: record\ndata: ${JSON.stringify(recordOut(format, topic.name, p, record))}\n\n`);
              }
            });
            for (const event of events) {
              if (!stream.isOpen()) break;
              await writeEvent(res, event);
            }
          }
        }
      } catch (err) {
        ctx.logger.warn({ err, topic: topic.name }, 'record stream ended');
        if (stream.isOpen()) res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
      } finally {
        stream.close();
      }
    },
  );
};
