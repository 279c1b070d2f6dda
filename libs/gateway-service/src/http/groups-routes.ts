// Consumer-group administration over HTTP: list and describe groups, consumer lag per partition, resetting the
// committed offsets of an inactive group, and deleting a group. Everything goes to the group coordinators as Kafka
// requests (GroupClient), so the HTTP API and Kafka admin tools see the same groups.
import type { FastifyPluginAsync } from 'fastify';
import { ApiKey, kafka, KafkaErrorCode, Reader } from '@sluice/protocol';
import { groupShard, OffsetSpec, type TopicInfo } from '@sluice/contracts';
import { HttpError } from './http-error.js';
import { errorResponses, groupSchema, groupSummarySchema, lagSchema, resetResultSchema } from './schemas.js';

const groupParams = { type: 'object', properties: { group: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['group'] } as const;

interface ResetBody {
  topic: string;
  to: 'earliest' | 'latest' | 'timestamp' | 'offset' | 'shift';
  timestamp?: number;
  offset?: number;
  shift_by?: number;
  partitions?: number[];
  dry_run?: boolean;
}

function check(errorCode: number, what: string): void {
  if (errorCode !== KafkaErrorCode.NONE) throw HttpError.fromKafka(errorCode, what);
}

/** The topic-partitions of a consumer-protocol assignment (empty when it is not one). */
function decodeAssignment(bytes: Buffer): Array<{ topic: string; partition: number }> {
  if (bytes.length < 2) return [];
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    const a = kafka.readConsumerProtocolAssignment(r, Math.min(version, 3));
    return a.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
  } catch {
    return [];
  }
}

export const groupsRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;
  const describe = async (group: string) => {
    const res = await ctx.groups.call(groupShard(group), { groups: [group], includeAuthorizedOperations: false }, {
      apiKey: ApiKey.DescribeGroups,
      version: 5,
      write: kafka.writeDescribeGroupsRequest,
      read: kafka.readDescribeGroupsResponse,
      failed: (errorCode) => ({ throttleTimeMs: 0, groups: [{ errorCode, groupId: group, groupState: '', protocolType: '', protocolData: '', members: [] }] }),
    });
    const g = res.groups[0];
    check(g.errorCode, `describing group ${group} failed`);
    if (g.groupState === 'Dead') throw new HttpError(404, 40403, 'GROUP_ID_NOT_FOUND', `consumer group "${group}" does not exist`);
    return g;
  };

  const committed = async (group: string) => {
    const res = await ctx.groups.call(groupShard(group), { groupId: group, topics: null, requireStable: false }, {
      apiKey: ApiKey.OffsetFetch,
      version: 7,
      write: kafka.writeOffsetFetchRequest,
      read: kafka.readOffsetFetchResponse,
      failed: (errorCode) => ({ throttleTimeMs: 0, topics: [], errorCode }),
    });
    check(res.errorCode ?? 0, `reading the offsets of ${group} failed`);
    return (res.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => ({ topic: t.name ?? '', partition: p.partitionIndex ?? 0, offset: p.committedOffset ?? -1 })));
  };

  const offsetAt = async (topic: TopicInfo, partition: number, timestamp: number): Promise<number> => {
    const r = await ctx.partitions.listOffsets(topic.id, partition, timestamp, Date.now() + ctx.config.requestTimeoutMs);
    check(r.errorCode, r.errorMessage ?? 'list offsets failed');
    return r.offset;
  };

  app.get('/consumer-groups', { schema: { summary: 'Consumer groups with their state', response: { 200: { type: 'array', items: groupSummarySchema }, ...errorResponses } } }, async () => {
    const answers = await ctx.groups.everyShard(
      {},
      {
        apiKey: ApiKey.ListGroups,
        version: 4,
        write: kafka.writeListGroupsRequest,
        read: kafka.readListGroupsResponse,
        failed: (errorCode) => ({ throttleTimeMs: 0, errorCode, groups: [] }),
      },
    );
    for (const a of answers) check(a.errorCode, 'listing groups failed');
    return answers.flatMap((a) => a.groups).map((g) => ({ group_id: g.groupId, state: g.groupState ?? '', protocol_type: g.protocolType })).sort((a, b) => a.group_id.localeCompare(b.group_id));
  });

  app.get<{ Params: { group: string } }>('/consumer-groups/:group', { schema: { summary: 'A consumer group: state, members and their partitions', params: groupParams, response: { 200: groupSchema, ...errorResponses } } }, async (request) => {
    const g = await describe(request.params.group);
    return {
      group_id: g.groupId,
      state: g.groupState,
      protocol_type: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({
        member_id: m.memberId,
        group_instance_id: m.groupInstanceId ?? null,
        client_id: m.clientId,
        client_host: m.clientHost,
        assignments: g.protocolType === 'consumer' ? decodeAssignment(m.memberAssignment) : [],
      })),
    };
  });

  app.get<{ Params: { group: string } }>('/consumer-groups/:group/lag', { schema: { summary: 'Committed offset, log end offset and lag per partition', params: groupParams, response: { 200: { type: 'array', items: lagSchema }, ...errorResponses } } }, async (request) => {
    await describe(request.params.group);
    const offsets = await committed(request.params.group);
    return Promise.all(
      offsets.map(async (o) => {
        const topic = ctx.metadata.view.topicByName(o.topic);
        const end = topic ? await offsetAt(topic, o.partition, OffsetSpec.latest) : -1;
        return { topic: o.topic, partition: o.partition, committed_offset: o.offset, log_end_offset: end, lag: end >= 0 && o.offset >= 0 ? Math.max(0, end - o.offset) : null };
      }),
    );
  });

  app.post<{ Params: { group: string }; Body: ResetBody }>(
    '/consumer-groups/:group/offsets',
    {
      schema: {
        summary:
          'Reset the committed offsets of an inactive group: to the earliest or latest offset, a timestamp, an offset, or shifted from the committed one by `shift_by` (kept within the partition); `dry_run` only computes them',
        params: groupParams,
        body: {
          type: 'object',
          properties: {
            topic: { type: 'string' },
            to: { type: 'string', enum: ['earliest', 'latest', 'timestamp', 'offset', 'shift'] },
            timestamp: { type: 'integer', minimum: 0 },
            // Beyond 2^53 an offset is no longer exact as a JS number; the coordinator would refuse the commit.
            offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            shift_by: { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
            partitions: { type: 'array', items: { type: 'integer', minimum: 0 } },
            dry_run: { type: 'boolean' },
          },
          required: ['topic', 'to'],
          additionalProperties: false,
        },
        response: { 200: resetResultSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { group } = request.params;
      const b = request.body;
      if (b.to === 'timestamp' && b.timestamp === undefined) throw HttpError.badRequest('"to": "timestamp" needs "timestamp"');
      if (b.to === 'offset' && b.offset === undefined) throw HttpError.badRequest('"to": "offset" needs "offset"');
      if (b.to === 'shift' && b.shift_by === undefined) throw HttpError.badRequest('"to": "shift" needs "shift_by"');
      const topic = ctx.topic(b.topic);
      const partitions = b.partitions ?? topic.partitions.map((p) => p.partition);
      for (const p of partitions) if (!topic.partitions[p]) throw HttpError.partitionNotFound(b.topic, p);
      const previous = new Map((await committed(group)).filter((o) => o.topic === b.topic && o.offset >= 0).map((o) => [o.partition, o.offset]));
      const computed = await Promise.all(
        partitions.map(async (partition) => {
          if (b.to === 'offset') return { partition, offset: b.offset as number };
          if (b.to === 'shift') {
            // As Kafka's reset tool: shifted from the committed offset, kept between the partition's first and end offsets.
            const from = previous.get(partition);
            if (from === undefined) throw HttpError.badRequest(`partition ${partition} of "${b.topic}" has no committed offset in group "${group}" to shift from`);
            const [earliest, latest] = await Promise.all([offsetAt(topic, partition, OffsetSpec.earliest), offsetAt(topic, partition, OffsetSpec.latest)]);
            return { partition, offset: Math.min(latest, Math.max(earliest, from + (b.shift_by as number))) };
          }
          const spec = b.to === 'earliest' ? OffsetSpec.earliest : b.to === 'latest' ? OffsetSpec.latest : (b.timestamp as number);
          let offset = await offsetAt(topic, partition, spec);
          // No record at or after the timestamp: the end of the partition, as Kafka's reset tool does.
          if (offset < 0) offset = await offsetAt(topic, partition, OffsetSpec.latest);
          return { partition, offset };
        }),
      );
      const offsets = computed.map((o) => ({ ...o, previous_offset: previous.get(o.partition) ?? null }));
      if (b.dry_run) {
        // Says whether the reset would be refused, as the real one would, without committing anything.
        const g = await describe(group).catch((err: unknown) => (err instanceof HttpError && err.status === 404 ? undefined : Promise.reject(err)));
        if (g && g.members.length > 0) throw new HttpError(409, 40903, 'GROUP_NOT_EMPTY', `consumer group "${group}" has active members; stop them before resetting its offsets`);
        return { group_id: group, topic: b.topic, dry_run: true, offsets };
      }
      // A commit outside any generation: the coordinator accepts it only while the group has no members.
      const res = await ctx.groups.call(
        groupShard(group),
        { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: b.topic, partitions: offsets.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null })) }] },
        {
          apiKey: ApiKey.OffsetCommit,
          version: 8,
          write: kafka.writeOffsetCommitRequest,
          read: kafka.readOffsetCommitResponse,
          failed: (errorCode) => ({ throttleTimeMs: 0, topics: [{ name: b.topic, partitions: offsets.map((o) => ({ partitionIndex: o.partition, errorCode })) }] }),
        },
      );
      for (const p of res.topics[0]?.partitions ?? []) {
        if (p.errorCode === KafkaErrorCode.ILLEGAL_GENERATION || p.errorCode === KafkaErrorCode.UNKNOWN_MEMBER_ID || p.errorCode === KafkaErrorCode.REBALANCE_IN_PROGRESS) {
          throw new HttpError(409, 40903, 'GROUP_NOT_EMPTY', `consumer group "${group}" has active members; stop them before resetting its offsets`);
        }
        check(p.errorCode, `committing offsets for ${group} failed`);
      }
      return { group_id: group, topic: b.topic, dry_run: false, offsets };
    },
  );

  app.delete<{ Params: { group: string }; Querystring: { topic: string; partitions?: string } }>(
    '/consumer-groups/:group/offsets',
    {
      schema: {
        summary: 'Delete a group’s committed offsets of a topic (all its partitions, or `partitions=0,2`), as Kafka’s OffsetDelete (kafka-consumer-groups --delete-offsets); refused while a member of the group consumes the topic',
        params: groupParams,
        querystring: {
          type: 'object',
          properties: { topic: { type: 'string', minLength: 1, maxLength: 249 }, partitions: { type: 'string', pattern: '^[0-9]{1,9}(,[0-9]{1,9})*$' } },
          required: ['topic'],
        },
        response: {
          200: { type: 'object', properties: { group_id: { type: 'string' }, topic: { type: 'string' }, partitions: { type: 'array', items: { type: 'integer' } } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { group } = request.params;
      const topic = ctx.topic(request.query.topic);
      const partitions = request.query.partitions === undefined ? topic.partitions.map((p) => p.partition) : request.query.partitions.split(',').map(Number);
      for (const p of partitions) if (!topic.partitions[p]) throw HttpError.partitionNotFound(topic.name, p);
      const res = await ctx.groups.call(
        groupShard(group),
        { groupId: group, topics: [{ name: topic.name, partitions: partitions.map((partitionIndex) => ({ partitionIndex })) }] },
        {
          apiKey: ApiKey.OffsetDelete,
          version: 0,
          write: kafka.writeOffsetDeleteRequest,
          read: kafka.readOffsetDeleteResponse,
          failed: (errorCode) => ({ errorCode, throttleTimeMs: 0, topics: [] }),
        },
      );
      check(res.errorCode, `deleting the offsets of ${group} failed`);
      for (const p of res.topics[0]?.partitions ?? []) check(p.errorCode, `deleting the offsets of ${group} on ${topic.name}-${p.partitionIndex} failed`);
      return { group_id: group, topic: topic.name, partitions };
    },
  );

  app.delete<{ Params: { group: string } }>('/consumer-groups/:group', { schema: { summary: 'Delete an inactive group and its committed offsets', params: groupParams, response: errorResponses } }, async (request, reply) => {
    const { group } = request.params;
    const res = await ctx.groups.call(groupShard(group), { groupsNames: [group] }, {
      apiKey: ApiKey.DeleteGroups,
      version: 2,
      write: kafka.writeDeleteGroupsRequest,
      read: kafka.readDeleteGroupsResponse,
      failed: (errorCode) => ({ throttleTimeMs: 0, results: [{ groupId: group, errorCode }] }),
    });
    check(res.results[0]?.errorCode ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR, `deleting ${group} failed`);
    return reply.status(204).send();
  });
};
