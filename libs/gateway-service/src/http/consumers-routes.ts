// HTTP consumer instances, compatible with Confluent REST Proxy v2: create an instance in a group, subscribe or assign
// partitions, poll records, commit and read offsets, seek, delete. An instance lives on the gateway that created it:
// clients use the base_uri it returns (behind a load balancer, route by that URL); idle instances are deleted.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { KafkaErrorCode } from '@sluice/protocol';
import { ConsumerInstance } from '../http-consumers/consumer-instance.js';
import { parseAssignmentStrategy, type TopicPartition } from '../http-consumers/assignors.js';

/** Assignors an instance offers unless its creation names others: sticky moves the fewest partitions on a rebalance. */
const DEFAULT_ASSIGNORS = 'sticky,range,roundrobin';
import { formatFromMediaType, recordFormats, type RecordFormat } from '../record-format.js';
import { HttpError } from './http-error.js';
import { errorResponses } from './schemas.js';
import { openEventStream, writeEvent } from './event-stream.js';

const instanceParams = {
  type: 'object',
  properties: { group: { type: 'string', minLength: 1, maxLength: 255 }, name: { type: 'string', minLength: 1, maxLength: 255 } },
  required: ['group', 'name'],
} as const;
const partitionList = { type: 'array', items: { type: 'object', properties: { topic: { type: 'string' }, partition: { type: 'integer', minimum: 0 } }, required: ['topic', 'partition'] } } as const;
// Offsets are JS numbers: beyond 2^53 one is no longer exact, and the group coordinator refuses to commit it.
const offsetList = {
  type: 'array',
  items: {
    type: 'object',
    properties: { topic: { type: 'string' }, partition: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
    required: ['topic', 'partition', 'offset'],
  },
} as const;

interface Params {
  group: string;
  name: string;
}

export const consumersRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;
  const instances = new Map<string, ConsumerInstance>();
  const id = (group: string, name: string) => `${group}\u0000${name}`;
  const find = (p: Params): ConsumerInstance => {
    const instance = instances.get(id(p.group, p.name));
    if (!instance) throw new HttpError(404, 40403, 'CONSUMER_INSTANCE_NOT_FOUND', `consumer instance "${p.name}" of group "${p.group}" does not exist`);
    instance.lastUsed = Date.now();
    return instance;
  };
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, instance] of instances) {
      if (now - instance.lastUsed < ctx.config.httpConsumerIdleMs) continue;
      instances.delete(k);
      ctx.logger.info({ group: instance.o.group, instance: instance.o.name }, 'deleted an idle HTTP consumer instance');
      void instance.close().catch(() => undefined);
    }
  }, Math.min(10_000, ctx.config.httpConsumerIdleMs / 2));
  sweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.all([...instances.values()].map((i) => i.close().catch(() => undefined)));
    instances.clear();
  });

  app.post<{ Params: { group: string }; Body: { name?: string; format?: string; 'auto.offset.reset'?: string; 'auto.commit.enable'?: string | boolean; 'partition.assignment.strategy'?: string } }>(
    '/consumers/:group',
    {
      schema: {
        summary: 'Create a consumer instance in a group (REST Proxy v2)',
        params: { type: 'object', properties: { group: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['group'] },
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._-]+$' },
            format: { type: 'string', enum: [...recordFormats] },
            'auto.offset.reset': { type: 'string', enum: ['earliest', 'latest', 'smallest', 'largest'] },
            'auto.commit.enable': { type: ['string', 'boolean'], enum: ['true', 'false', true, false] },
            'partition.assignment.strategy': { type: 'string', maxLength: 1024 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const { group } = request.params;
      const b = request.body ?? {};
      const name = b.name ?? `rest-consumer-${randomUUID()}`;
      if (instances.has(id(group, name))) throw new HttpError(409, 40902, 'CONSUMER_ALREADY_EXISTS', `consumer instance "${name}" already exists in group "${group}"`);
      const strategy = parseAssignmentStrategy(b['partition.assignment.strategy'] ?? DEFAULT_ASSIGNORS);
      if (strategy.unknown.length > 0 || strategy.names.length === 0) {
        throw HttpError.fromKafka(
          KafkaErrorCode.INVALID_CONFIG,
          `partition.assignment.strategy: unknown assignor ${strategy.unknown.map((u) => `"${u}"`).join(', ') || '(none given)'}; use sticky, range or roundrobin`,
        );
      }
      const reset = b['auto.offset.reset'] === 'earliest' || b['auto.offset.reset'] === 'smallest' ? 'earliest' : 'latest';
      instances.set(
        id(group, name),
        new ConsumerInstance({
          group,
          name,
          format: (b.format as RecordFormat | undefined) ?? 'binary',
          autoOffsetReset: reset,
          autoCommit: String(b['auto.commit.enable'] ?? 'true') === 'true',
          assignors: strategy.names,
          sessionTimeoutMs: ctx.config.httpConsumerSessionTimeoutMs,
          cluster: ctx,
          logger: ctx.logger,
        }),
      );
      const host = request.headers.host ?? `${ctx.config.advertisedHost}:${ctx.config.httpPort}`;
      return { instance_id: name, base_uri: `${request.protocol}://${host}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(name)}` };
    },
  );

  app.delete<{ Params: Params }>('/consumers/:group/instances/:name', { schema: { summary: 'Delete a consumer instance (it leaves its group)', params: instanceParams, response: errorResponses } }, async (request, reply) => {
    const instance = find(request.params);
    instances.delete(id(request.params.group, request.params.name));
    await instance.close();
    return reply.status(204).send();
  });

  app.post<{ Params: Params; Body: { topics?: string[]; topic_pattern?: string } }>(
    '/consumers/:group/instances/:name/subscription',
    {
      schema: {
        summary: 'Subscribe to topics (or a pattern); the group assigns partitions',
        params: instanceParams,
        body: { type: 'object', properties: { topics: { type: 'array', items: { type: 'string' }, minItems: 1 }, topic_pattern: { type: 'string', minLength: 1 } } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const instance = find(request.params);
      const b = request.body;
      let topics = b.topics;
      if (!topics && b.topic_pattern) {
        let pattern: RegExp;
        try {
          pattern = new RegExp(`^(?:${b.topic_pattern})$`);
        } catch {
          throw HttpError.badRequest(`topic_pattern "${b.topic_pattern}" is not a valid regular expression`);
        }
        topics = ctx.metadata.view.topics().map((t) => t.name).filter((n) => pattern.test(n));
      }
      if (!topics || topics.length === 0) throw HttpError.badRequest('give "topics" or a "topic_pattern" that matches topics');
      await instance.subscribe(topics);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Params }>('/consumers/:group/instances/:name/subscription', { schema: { summary: 'Subscribed topics', params: instanceParams, response: errorResponses } }, async (request) => ({
    topics: find(request.params).subscription,
  }));

  app.delete<{ Params: Params }>('/consumers/:group/instances/:name/subscription', { schema: { summary: 'Unsubscribe', params: instanceParams, response: errorResponses } }, async (request, reply) => {
    await find(request.params).unsubscribe();
    return reply.status(204).send();
  });

  app.post<{ Params: Params; Body: { partitions: TopicPartition[] } }>(
    '/consumers/:group/instances/:name/assignments',
    { schema: { summary: 'Assign partitions by hand (no group rebalancing)', params: instanceParams, body: { type: 'object', properties: { partitions: partitionList }, required: ['partitions'] }, response: errorResponses } },
    async (request, reply) => {
      await find(request.params).assign(request.body.partitions);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Params }>('/consumers/:group/instances/:name/assignments', { schema: { summary: 'Partitions this instance reads', params: instanceParams, response: errorResponses } }, async (request) => {
    const instance = find(request.params);
    await instance.ensureMember();
    return { partitions: instance.partitions };
  });

  app.get<{ Params: Params; Querystring: { timeout?: number; max_bytes?: number } }>(
    '/consumers/:group/instances/:name/records',
    {
      schema: {
        summary: 'Records from the assigned partitions (long poll up to timeout ms)',
        params: instanceParams,
        querystring: { type: 'object', properties: { timeout: { type: 'integer', minimum: 0, maximum: 30_000 }, max_bytes: { type: 'integer', minimum: 1024, maximum: 8 * 1024 * 1024 } } },
        response: errorResponses,
      },
    },
    async (request) => {
      const instance = find(request.params);
      const format = formatFromMediaType(String(request.headers.accept ?? ''));
      if (format && format !== instance.o.format) throw new HttpError(406, 40601, 'FORMAT_MISMATCH', `the instance was created with format ${instance.o.format}, not ${format}`);
      return instance.poll(request.query.timeout ?? 1000, request.query.max_bytes ?? 1024 * 1024);
    },
  );

  app.post<{ Params: Params; Body: { offsets?: Array<TopicPartition & { offset: number }> } | undefined }>(
    '/consumers/:group/instances/:name/offsets',
    { schema: { summary: 'Commit offsets: the given ones, or everything polled so far', params: instanceParams, body: { type: ['object', 'null'], properties: { offsets: offsetList } }, response: errorResponses } },
    async (request, reply) => {
      await find(request.params).commit(request.body?.offsets);
      return reply.status(204).send();
    },
  );

  // REST Proxy v2 sends the partitions as a JSON body on GET; `?partitions=topic:0,topic:1` works too, and without
  // either the instance's own partitions are reported.
  app.get<{ Params: Params; Querystring: { partitions?: string } }>(
    '/consumers/:group/instances/:name/offsets',
    { schema: { summary: 'Committed offsets of partitions', params: instanceParams, querystring: { type: 'object', properties: { partitions: { type: 'string' } } }, response: errorResponses } },
    async (request) => {
      const instance = find(request.params);
      const body = request.body as { partitions?: unknown } | undefined;
      let partitions: TopicPartition[] = instance.partitions;
      if (body && Array.isArray(body.partitions)) {
        partitions = body.partitions.map((p: unknown) => {
          const tp = p as { topic?: unknown; partition?: unknown };
          if (typeof tp.topic !== 'string' || !Number.isInteger(tp.partition) || (tp.partition as number) < 0) throw HttpError.badRequest('partitions must be [{"topic": string, "partition": integer}]');
          return { topic: tp.topic, partition: tp.partition as number };
        });
      } else if (request.query.partitions) {
        partitions = request.query.partitions.split(',').map((item) => {
          const at = item.lastIndexOf(':');
          const partition = Number(item.slice(at + 1));
          if (at <= 0 || !Number.isInteger(partition) || partition < 0) throw HttpError.badRequest(`"${item}" is not topic:partition`);
          return { topic: item.slice(0, at), partition };
        });
      }
      return { offsets: await instance.committed(partitions) };
    },
  );

  app.post<{ Params: Params; Body: { offsets: Array<TopicPartition & { offset: number }> } }>(
    '/consumers/:group/instances/:name/positions',
    { schema: { summary: 'Seek to offsets', params: instanceParams, body: { type: 'object', properties: { offsets: offsetList }, required: ['offsets'] }, response: errorResponses } },
    async (request, reply) => {
      await find(request.params).seek(request.body.offsets);
      return reply.status(204).send();
    },
  );

  // Server-Sent Events of an instance: it polls on the client's behalf and pushes each record; with auto commit on,
  // the records written to the socket are committed after each batch (only those, if the client left mid-batch), so
  // a client that reconnects continues after the last record it was sent.
  // Event ids are topic/partition:next-offset; Last-Event-ID moves that partition's position when it is assigned.
  app.get<{ Params: Params }>('/consumers/:group/instances/:name/stream', { schema: { summary: 'Server-Sent Events of the instance’s records', params: instanceParams, response: errorResponses } }, async (request, reply) => {
    const instance = find(request.params);
    const last = request.headers['last-event-id'];
    if (typeof last === 'string') {
      const m = /^(.+)\/(\d+):(\d+)$/.exec(last);
      if (!m || !Number.isSafeInteger(Number(m[3]))) throw HttpError.badRequest('Last-Event-ID must look like "topic/partition:offset"');
      await instance.ensureMember();
      const tp = { topic: m[1], partition: Number(m[2]) };
      if (instance.partitions.some((p) => p.topic === tp.topic && p.partition === tp.partition)) await instance.seek([{ ...tp, offset: Number(m[3]) }]);
    }
    // One stream per instance: a reconnecting client replaces the stream it left, once that one has put back what it
    // polled but could not send.
    if (instance.stream) {
      instance.stream.stop();
      await instance.stream.done;
    }
    reply.hijack();
    const res = reply.raw;
    const stream = openEventStream(res, ctx.metrics);
    let stopped = false;
    let finished: () => void = () => undefined;
    instance.stream = { stop: () => (stopped = true), done: new Promise<void>((resolve) => (finished = resolve)) };
    const mine = instance.stream;
    try {
      await writeEvent(res, 'retry: 1000\n\n');
      while (stream.isOpen() && !stopped) {
        const written = new Map<string, { topic: string; partition: number; offset: number }>();
        const unsent = new Map<string, { topic: string; partition: number; offset: number }>();
        for (const r of await instance.poll(1000, 1024 * 1024, false)) {
          const tp = `${r.topic}/${r.partition}`;
          if (!stream.isOpen()) {
            // The client left: records polled but not sent are read again by the next poll or stream.
            if (!unsent.has(tp)) unsent.set(tp, { topic: r.topic, partition: r.partition, offset: r.offset });
            continue;
          }
          await writeEvent(res, `id: ${tp}:${r.offset + 1}\nevent: record\ndata: ${JSON.stringify(r)}\n\n`);
          if (stream.isOpen()) written.set(tp, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
          else if (!unsent.has(tp)) unsent.set(tp, { topic: r.topic, partition: r.partition, offset: r.offset });
        }
        if (unsent.size > 0) await instance.seek([...unsent.values()]).catch(() => undefined);
        if (instance.o.autoCommit && written.size > 0) await instance.commit([...written.values()]);
      }
    } catch (err) {
      if (stream.isOpen()) res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
    } finally {
      stream.close();
      if (instance.stream === mine) instance.stream = undefined;
      finished();
    }
  });

  for (const to of ['beginning', 'end'] as const) {
    app.post<{ Params: Params; Body: { partitions: TopicPartition[] } }>(
      `/consumers/:group/instances/:name/positions/${to}`,
      { schema: { summary: `Seek to the ${to} of partitions`, params: instanceParams, body: { type: 'object', properties: { partitions: partitionList }, required: ['partitions'] }, response: errorResponses } },
      async (request, reply) => {
        await find(request.params).seek(request.body.partitions, to);
        return reply.status(204).send();
      },
    );
  }
};
