// The consumer-group APIs: FindCoordinator names this gateway; every other group request goes to the group
// coordinator that owns the group's shard (GroupVerbs.kafka), as Kafka bytes, and its answer comes back the same way.
// Requests about several groups are split per group and the answers merged; ListGroups asks every shard.
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { groupShard, shardOwner } from '@sluice/contracts';
import type { GroupCall } from '../../cluster/group-client.js';
import { defineApi, type RequestInfo } from '../kafka-apis.js';
import type { KafkaContext } from '../kafka-context.js';

const EMPTY = Buffer.alloc(0);
/** How long a join may wait beyond the rebalance timeout the member gave (the first rebalance's delay, the network). */
const JOIN_MARGIN_MS = 10_000;
/** A sync waits for the leader's assignment: at most a rebalance; Kafka clients allow their max.poll.interval. */
const SYNC_WAIT_MS = 300_000;

type Forward<Req, Res> = Omit<GroupCall<Req, Res>, 'version' | 'clientId' | 'clientHost'>;

/** Sends one client request to its shard's coordinator; a missing coordinator or a refusal becomes that API's error. */
function forward<Req, Res>(ctx: KafkaContext, info: RequestInfo, shard: number, req: Req, f: Forward<Req, Res>): Promise<Res> {
  return ctx.groups.call(shard, req, { ...f, version: info.version, clientId: info.clientId ?? '', clientHost: info.connection.remote });
}

export const findCoordinatorApi = defineApi<kafka.FindCoordinatorRequest, kafka.FindCoordinatorResponse>({
  key: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 6,
  read: kafka.readFindCoordinatorRequest,
  write: kafka.writeFindCoordinatorResponse,
  handle: async (req, info, ctx) => {
    const self = ctx.self();
    const coordinators = ctx.metadata.view.nodes('group-coordinator', 'alive').map((n) => n.id);
    const answer = (key: string) => {
      if ((req.keyType ?? 0) !== 0) return { key, nodeId: -1, host: '', port: -1, errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: 'transactions are not supported' };
      if (shardOwner(groupShard(key), coordinators) === undefined) return { key, nodeId: -1, host: '', port: -1, errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'no group coordinator is running' };
      // The gateway is the coordinator as clients see it; it forwards to the coordinator that owns the shard.
      return { key, nodeId: self.nodeId, host: self.host, port: self.port, errorCode: KafkaErrorCode.NONE, errorMessage: null };
    };
    if (info.version >= 4) return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map(answer) };
    const a = answer(req.key ?? '');
    return { throttleTimeMs: 0, errorCode: a.errorCode, errorMessage: a.errorMessage, nodeId: a.nodeId, host: a.host, port: a.port };
  },
});

export const joinGroupApi = defineApi<kafka.JoinGroupRequest, kafka.JoinGroupResponse>({
  key: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  read: kafka.readJoinGroupRequest,
  write: kafka.writeJoinGroupResponse,
  handle: (req, info, ctx) =>
    forward(ctx, info, groupShard(req.groupId), req, {
      apiKey: ApiKey.JoinGroup,
      write: kafka.writeJoinGroupRequest,
      read: kafka.readJoinGroupResponse,
      timeoutMs: Math.max(req.rebalanceTimeoutMs ?? 0, req.sessionTimeoutMs) + JOIN_MARGIN_MS,
      failed: (errorCode) => ({
        throttleTimeMs: 0,
        errorCode,
        generationId: -1,
        protocolType: info.version >= 7 ? null : '',
        protocolName: info.version >= 7 ? null : '',
        leader: '',
        memberId: req.memberId,
        members: [],
      }),
    }),
});

export const syncGroupApi = defineApi<kafka.SyncGroupRequest, kafka.SyncGroupResponse>({
  key: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  read: kafka.readSyncGroupRequest,
  write: kafka.writeSyncGroupResponse,
  handle: (req, info, ctx) =>
    forward(ctx, info, groupShard(req.groupId), req, {
      apiKey: ApiKey.SyncGroup,
      write: kafka.writeSyncGroupRequest,
      read: kafka.readSyncGroupResponse,
      timeoutMs: SYNC_WAIT_MS,
      failed: (errorCode) => ({ throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY }),
    }),
});

export const heartbeatApi = defineApi<kafka.HeartbeatRequest, kafka.HeartbeatResponse>({
  key: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  read: kafka.readHeartbeatRequest,
  write: kafka.writeHeartbeatResponse,
  handle: (req, info, ctx) =>
    forward(ctx, info, groupShard(req.groupId), req, {
      apiKey: ApiKey.Heartbeat,
      write: kafka.writeHeartbeatRequest,
      read: kafka.readHeartbeatResponse,
      failed: (errorCode) => ({ throttleTimeMs: 0, errorCode }),
    }),
});

export const leaveGroupApi = defineApi<kafka.LeaveGroupRequest, kafka.LeaveGroupResponse>({
  key: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  read: kafka.readLeaveGroupRequest,
  write: kafka.writeLeaveGroupResponse,
  handle: (req, info, ctx) =>
    forward(ctx, info, groupShard(req.groupId), req, {
      apiKey: ApiKey.LeaveGroup,
      write: kafka.writeLeaveGroupRequest,
      read: kafka.readLeaveGroupResponse,
      failed: (errorCode) => ({
        throttleTimeMs: 0,
        errorCode,
        members: (req.members ?? []).map((m) => ({ memberId: m.memberId ?? '', groupInstanceId: m.groupInstanceId ?? null, errorCode })),
      }),
    }),
});

export const offsetCommitApi = defineApi<kafka.OffsetCommitRequest, kafka.OffsetCommitResponse>({
  key: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 2,
  maxVersion: 9,
  read: kafka.readOffsetCommitRequest,
  write: kafka.writeOffsetCommitResponse,
  handle: (req, info, ctx) =>
    forward(ctx, info, groupShard(req.groupId), req, {
      apiKey: ApiKey.OffsetCommit,
      write: kafka.writeOffsetCommitRequest,
      read: kafka.readOffsetCommitResponse,
      failed: (errorCode) => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
      }),
    }),
});

export const offsetFetchApi = defineApi<kafka.OffsetFetchRequest, kafka.OffsetFetchResponse>({
  key: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 1,
  maxVersion: 9,
  read: kafka.readOffsetFetchRequest,
  write: kafka.writeOffsetFetchResponse,
  handle: async (req, info, ctx) => {
    const f = {
      apiKey: ApiKey.OffsetFetch,
      write: kafka.writeOffsetFetchRequest,
      read: kafka.readOffsetFetchResponse,
    };
    if (info.version < 8) {
      return forward(ctx, info, groupShard(req.groupId ?? ''), req, { ...f, failed: (errorCode) => ({ throttleTimeMs: 0, topics: [], errorCode }) });
    }
    // From v8 one request may name several groups: one request per group, answers merged in request order.
    const groups = await Promise.all(
      (req.groups ?? []).map(async (g) => {
        const one = await forward(ctx, info, groupShard(g.groupId ?? ''), { ...req, groups: [g] }, {
          ...f,
          failed: (errorCode) => ({ throttleTimeMs: 0, groups: [{ groupId: g.groupId ?? '', topics: [], errorCode }] }),
        });
        return one.groups?.[0] ?? { groupId: g.groupId ?? '', topics: [], errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR };
      }),
    );
    return { throttleTimeMs: 0, groups };
  },
});

export const describeGroupsApi = defineApi<kafka.DescribeGroupsRequest, kafka.DescribeGroupsResponse>({
  key: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  read: kafka.readDescribeGroupsRequest,
  write: kafka.writeDescribeGroupsResponse,
  handle: async (req, info, ctx) => {
    const groups = await Promise.all(
      req.groups.map(async (groupId) => {
        const failed = (errorCode: number): kafka.DescribeGroupsResponse => ({
          throttleTimeMs: 0,
          groups: [{ errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 }],
        });
        const one = await forward(ctx, info, groupShard(groupId), { ...req, groups: [groupId] }, {
          apiKey: ApiKey.DescribeGroups,
          write: kafka.writeDescribeGroupsRequest,
          read: kafka.readDescribeGroupsResponse,
          failed,
        });
        return one.groups[0] ?? failed(KafkaErrorCode.UNKNOWN_SERVER_ERROR).groups[0];
      }),
    );
    return { throttleTimeMs: 0, groups };
  },
});

export const listGroupsApi = defineApi<kafka.ListGroupsRequest, kafka.ListGroupsResponse>({
  key: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  read: kafka.readListGroupsRequest,
  write: kafka.writeListGroupsResponse,
  handle: async (req, info, ctx) => {
    const answers = await ctx.groups.everyShard(req, {
      apiKey: ApiKey.ListGroups,
      version: info.version,
      write: kafka.writeListGroupsRequest,
      read: kafka.readListGroupsResponse,
      failed: (errorCode) => ({ throttleTimeMs: 0, errorCode, groups: [] }),
      clientId: info.clientId ?? '',
      clientHost: info.connection.remote,
    });
    const failed = answers.find((a) => a.errorCode !== KafkaErrorCode.NONE);
    return { throttleTimeMs: 0, errorCode: failed?.errorCode ?? KafkaErrorCode.NONE, groups: answers.flatMap((a) => a.groups) };
  },
});

export const deleteGroupsApi = defineApi<kafka.DeleteGroupsRequest, kafka.DeleteGroupsResponse>({
  key: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  read: kafka.readDeleteGroupsRequest,
  write: kafka.writeDeleteGroupsResponse,
  handle: async (req, info, ctx) => {
    const results = await Promise.all(
      req.groupsNames.map(async (groupId) => {
        const one = await forward(ctx, info, groupShard(groupId), { groupsNames: [groupId] }, {
          apiKey: ApiKey.DeleteGroups,
          write: kafka.writeDeleteGroupsRequest,
          read: kafka.readDeleteGroupsResponse,
          failed: (errorCode) => ({ throttleTimeMs: 0, results: [{ groupId, errorCode }] }),
        });
        return one.results[0] ?? { groupId, errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR };
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});

export const offsetDeleteApi = defineApi<kafka.OffsetDeleteRequest, kafka.OffsetDeleteResponse>({
  key: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  read: kafka.readOffsetDeleteRequest,
  write: kafka.writeOffsetDeleteResponse,
  handle: (req, info, ctx) =>
    forward(ctx, info, groupShard(req.groupId), req, {
      apiKey: ApiKey.OffsetDelete,
      write: kafka.writeOffsetDeleteRequest,
      read: kafka.readOffsetDeleteResponse,
      failed: (errorCode) => ({ errorCode, throttleTimeMs: 0, topics: [] }),
    }),
});
