// One shard of consumer groups: the Kafka group APIs for the groups that hash onto it. Group state changes are
// synchronous (ConsumerGroup), so requests may be served concurrently (joins park until their rebalance completes);
// durable writes go through one queue per shard and a request is answered only after its write is committed.
import { ApiKey, kafka, KafkaErrorCode, Reader, Writer } from '@sluice/protocol';
import { type GroupApiRequest } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import { ConsumerGroup, GroupState, type GroupConfig } from './consumer-group.js';
import { isStorableOffset, type CommittedOffset, type OffsetStore } from './offset-store.js';

export interface ShardContext {
  store: OffsetStore;
  groupConfig: GroupConfig;
  /** Whether a topic exists (commits to unknown topics are refused). */
  topicExists(name: string): boolean;
  offsetMetadataMaxBytes: number;
  logger: Logger;
  /** A group started a rebalance (entered PreparingRebalance). */
  onRebalance?(groupId: string): void;
}

const EMPTY = Buffer.alloc(0);

/** A consumer-protocol assignment with no partitions: what a member the leader left out receives (never 0 bytes). */
export function emptyConsumerAssignment(): Buffer {
  const w = new Writer(16);
  w.int16(0);
  kafka.writeConsumerProtocolAssignment(w, 0, { assignedPartitions: [], userData: null });
  return w.toBuffer();
}

function encode<T>(write: (w: Writer, v: number, o: T) => void, version: number, value: T): Buffer {
  const w = new Writer(256);
  write(w, version, value);
  return w.toBuffer();
}

export class GroupShard {
  private readonly groups = new Map<string, ConsumerGroup>();
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly shard: number,
    private readonly ctx: ShardContext,
  ) {}

  /** Serves one forwarded Kafka request: `body` is its body at `req.apiVersion`; returns the response body. */
  async handle(req: GroupApiRequest, body: Buffer): Promise<Buffer> {
    const r = new Reader(body);
    const v = req.apiVersion;
    switch (req.apiKey) {
      case ApiKey.JoinGroup:
        return encode(kafka.writeJoinGroupResponse, v, await this.join(kafka.readJoinGroupRequest(r, v), v, req));
      case ApiKey.SyncGroup:
        return encode(kafka.writeSyncGroupResponse, v, await this.sync(kafka.readSyncGroupRequest(r, v), v));
      case ApiKey.Heartbeat:
        return encode(kafka.writeHeartbeatResponse, v, this.heartbeat(kafka.readHeartbeatRequest(r, v)));
      case ApiKey.LeaveGroup:
        return encode(kafka.writeLeaveGroupResponse, v, this.leave(kafka.readLeaveGroupRequest(r, v), v));
      case ApiKey.OffsetCommit:
        return encode(kafka.writeOffsetCommitResponse, v, await this.commit(kafka.readOffsetCommitRequest(r, v)));
      case ApiKey.OffsetFetch:
        return encode(kafka.writeOffsetFetchResponse, v, await this.fetchOffsets(kafka.readOffsetFetchRequest(r, v), v));
      case ApiKey.DescribeGroups:
        return encode(kafka.writeDescribeGroupsResponse, v, await this.describe(kafka.readDescribeGroupsRequest(r, v)));
      case ApiKey.ListGroups:
        return encode(kafka.writeListGroupsResponse, v, await this.list(kafka.readListGroupsRequest(r, v)));
      case ApiKey.DeleteGroups:
        return encode(kafka.writeDeleteGroupsResponse, v, await this.deleteGroups(kafka.readDeleteGroupsRequest(r, v)));
      case ApiKey.OffsetDelete:
        return encode(kafka.writeOffsetDeleteResponse, v, await this.deleteOffsets(kafka.readOffsetDeleteRequest(r, v)));
      default:
        throw new Error(`API key ${req.apiKey} is not a group API`);
    }
  }

  /** The shard moved away or the coordinator stops: parked requests are answered with NOT_COORDINATOR. */
  shutdown(): void {
    this.closed = true;
    for (const g of this.groups.values()) g.shutdown(KafkaErrorCode.NOT_COORDINATOR);
    this.groups.clear();
  }

  /** Counts the groups in memory by state into `states`; returns their members. */
  countGroups(states: Map<string, number>): number {
    let members = 0;
    for (const g of this.groups.values()) {
      states.set(g.state, (states.get(g.state) ?? 0) + 1);
      members += g.size;
    }
    return members;
  }

  /** Ids of groups with members (their offsets do not expire). */
  activeGroups(): Set<string> {
    return new Set([...this.groups.values()].filter((g) => g.size > 0).map((g) => g.groupId));
  }

  private durable<T>(write: () => Promise<T>): Promise<T> {
    const next = this.writes.then(write, write);
    this.writes = next.catch(() => undefined);
    return next;
  }

  private group(groupId: string, create: boolean): ConsumerGroup | undefined {
    let group = this.groups.get(groupId);
    if (!group && create && !this.closed) {
      group = new ConsumerGroup(groupId, this.ctx.groupConfig, {
        onMemberRemoved: (g, memberId, reason) => this.ctx.logger.info({ group: g.groupId, memberId, reason }, 'member left the group'),
        onTransition: (g, from, to) => {
          this.ctx.logger.debug({ group: g.groupId, from, to, generation: g.generationId }, 'group state');
          if (to === GroupState.preparingRebalance) this.ctx.onRebalance?.(g.groupId);
        },
      });
      this.groups.set(groupId, group);
    }
    return group;
  }

  // ---- membership ----

  private async join(q: kafka.JoinGroupRequest, v: number, meta: GroupApiRequest): Promise<kafka.JoinGroupResponse> {
    const fail = (errorCode: number, memberId = q.memberId): kafka.JoinGroupResponse => ({
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: v >= 7 ? null : '',
      protocolName: v >= 7 ? null : '',
      leader: '',
      memberId,
      members: [],
    });
    if (!q.groupId) return fail(KafkaErrorCode.INVALID_GROUP_ID);
    const group = this.group(q.groupId, q.memberId === '');
    if (!group) return fail(this.closed ? KafkaErrorCode.NOT_COORDINATOR : KafkaErrorCode.UNKNOWN_MEMBER_ID);
    const result = await group.join({
      memberId: q.memberId,
      groupInstanceId: q.groupInstanceId ?? null,
      clientId: meta.clientId,
      clientHost: meta.clientHost,
      sessionTimeoutMs: q.sessionTimeoutMs,
      // JoinGroup v0 has no rebalance timeout: the session timeout serves as both.
      rebalanceTimeoutMs: v >= 1 ? (q.rebalanceTimeoutMs ?? q.sessionTimeoutMs) : q.sessionTimeoutMs,
      protocolType: q.protocolType,
      protocols: q.protocols,
      requireKnownMemberId: v >= 4,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType ?? (v >= 7 ? null : ''),
      protocolName: result.protocolName ?? (v >= 7 ? null : ''),
      leader: result.leader,
      skipAssignment: false,
      memberId: result.memberId,
      members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    };
  }

  private async sync(q: kafka.SyncGroupRequest, v: number): Promise<kafka.SyncGroupResponse> {
    const group = this.group(q.groupId, false);
    if (!group) return { throttleTimeMs: 0, errorCode: this.closed ? KafkaErrorCode.NOT_COORDINATOR : KafkaErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY };
    const result = await group.sync(
      {
        memberId: q.memberId,
        groupInstanceId: q.groupInstanceId ?? null,
        generationId: q.generationId,
        protocolType: q.protocolType ?? null,
        protocolName: q.protocolName ?? null,
        assignments: q.assignments,
      },
      (g) => this.durable(() => this.ctx.store.saveGroup(g.groupId, this.shard, g.protocolType ?? '', g.generationId)),
    );
    let assignment = result.assignment;
    if (result.errorCode === KafkaErrorCode.NONE && assignment.length === 0 && group.protocolType === 'consumer') assignment = emptyConsumerAssignment();
    return { throttleTimeMs: 0, errorCode: result.errorCode, protocolType: v >= 5 ? result.protocolType : null, protocolName: v >= 5 ? result.protocolName : null, assignment };
  }

  private heartbeat(q: kafka.HeartbeatRequest): kafka.HeartbeatResponse {
    const group = this.group(q.groupId, false);
    if (!group) return { throttleTimeMs: 0, errorCode: this.closed ? KafkaErrorCode.NOT_COORDINATOR : KafkaErrorCode.UNKNOWN_MEMBER_ID };
    return { throttleTimeMs: 0, errorCode: group.heartbeat(q.memberId, q.groupInstanceId ?? null, q.generationId) };
  }

  private leave(q: kafka.LeaveGroupRequest, v: number): kafka.LeaveGroupResponse {
    const group = this.group(q.groupId, false);
    const leaving = v >= 3 ? (q.members ?? []) : [{ memberId: q.memberId ?? '', groupInstanceId: null }];
    const members = leaving.map((m) => ({
      memberId: m.memberId ?? '',
      groupInstanceId: m.groupInstanceId ?? null,
      errorCode: group ? group.leave(m.memberId ?? '', m.groupInstanceId ?? null) : KafkaErrorCode.UNKNOWN_MEMBER_ID,
    }));
    // Before v3 the one member's error is the response's; from v3 errors are per member.
    const errorCode = v >= 3 ? (group ? KafkaErrorCode.NONE : KafkaErrorCode.UNKNOWN_MEMBER_ID) : members[0].errorCode;
    return { throttleTimeMs: 0, errorCode, members };
  }

  // ---- offsets ----

  private commitError(group: ConsumerGroup | undefined, memberId: string, groupInstanceId: string | null, generation: number): number {
    if (this.closed) return KafkaErrorCode.NOT_COORDINATOR;
    if (!group || group.size === 0) {
      // Commits outside a generation (a consumer with manual assignment): only while no member is active.
      return generation < 0 ? KafkaErrorCode.NONE : KafkaErrorCode.ILLEGAL_GENERATION;
    }
    // The member first, as Kafka checks it: a replaced static member is fenced whatever the group is doing.
    const memberError = group.validateMember(memberId, groupInstanceId);
    if (memberError !== KafkaErrorCode.NONE) return memberError;
    if (group.state === GroupState.completingRebalance) return KafkaErrorCode.REBALANCE_IN_PROGRESS;
    if (generation !== group.generationId) return KafkaErrorCode.ILLEGAL_GENERATION;
    return KafkaErrorCode.NONE;
  }

  private async commit(q: kafka.OffsetCommitRequest): Promise<kafka.OffsetCommitResponse> {
    const group = this.group(q.groupId, false);
    const generation = q.generationIdOrMemberEpoch ?? -1;
    const groupError = q.groupId ? this.commitError(group, q.memberId ?? '', q.groupInstanceId ?? null, generation) : KafkaErrorCode.INVALID_GROUP_ID;
    const accepted: CommittedOffset[] = [];
    const topics = q.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode = groupError;
        if (errorCode === KafkaErrorCode.NONE && !this.ctx.topicExists(t.name)) errorCode = KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (errorCode === KafkaErrorCode.NONE && !isStorableOffset(p.committedOffset)) {
          // Beyond 2^53 an offset cannot be kept exactly (and no partition reaches it): refused as clients expect a bad
          // commit to be, a permanent error for this partition (librdkafka and the Java client raise it to the app).
          errorCode = KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE;
        } else if (errorCode === KafkaErrorCode.NONE && Buffer.byteLength(p.committedMetadata ?? '') > this.ctx.offsetMetadataMaxBytes) {
          errorCode = KafkaErrorCode.OFFSET_METADATA_TOO_LARGE;
        }
        if (errorCode === KafkaErrorCode.NONE) {
          accepted.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata });
        }
        return { partitionIndex: p.partitionIndex, errorCode };
      }),
    }));
    if (accepted.length > 0) {
      try {
        // The store writes commits in arrival order and groups concurrent ones into one transaction.
        await this.ctx.store.commit(q.groupId, this.shard, group?.protocolType ?? 'consumer', group?.generationId ?? -1, accepted);
      } catch (err) {
        this.ctx.logger.error({ err, group: q.groupId }, 'offset commit failed');
        for (const t of topics) for (const p of t.partitions) if (p.errorCode === KafkaErrorCode.NONE) p.errorCode = KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return { throttleTimeMs: 0, topics };
  }

  private async committed(groupId: string, topics: Array<{ name?: string; partitionIndexes?: number[] }> | null) {
    const { offsets: stored, unreadable } = await this.ctx.store.offsets(groupId, topics?.map((t) => t.name ?? ''));
    // Left by an older version that accepted any offset: answered as no committed offset (the consumer falls back to
    // its auto.offset.reset, and its next commit replaces the row) so that the group's other partitions stay readable.
    for (const u of unreadable) this.ctx.logger.warn({ group: groupId, topic: u.topic, partition: u.partition, offset: u.stored }, 'stored committed offset is out of range; answered as none');
    const byKey = new Map(stored.map((o) => [`${o.topic}\u0000${o.partition}`, o]));
    let wanted = topics;
    if (!wanted) {
      const byTopic = new Map<string, number[]>();
      for (const o of stored) {
        const partitions = byTopic.get(o.topic);
        if (partitions) partitions.push(o.partition);
        else byTopic.set(o.topic, [o.partition]);
      }
      wanted = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    }
    return wanted.map((t) => ({
      name: t.name ?? '',
      partitions: (t.partitionIndexes ?? []).map((partitionIndex) => {
        const o = byKey.get(`${t.name}\u0000${partitionIndex}`);
        return { partitionIndex, committedOffset: o?.offset ?? -1, committedLeaderEpoch: o?.leaderEpoch ?? -1, metadata: o?.metadata ?? '', errorCode: KafkaErrorCode.NONE };
      }),
    }));
  }

  private async fetchOffsets(q: kafka.OffsetFetchRequest, v: number): Promise<kafka.OffsetFetchResponse> {
    if (v >= 8) {
      const groups = await Promise.all(
        (q.groups ?? []).map(async (g) => ({ groupId: g.groupId ?? '', topics: await this.committed(g.groupId ?? '', g.topics ?? null), errorCode: KafkaErrorCode.NONE })),
      );
      return { throttleTimeMs: 0, groups };
    }
    return { throttleTimeMs: 0, topics: await this.committed(q.groupId ?? '', q.topics ?? null), errorCode: KafkaErrorCode.NONE };
  }

  // ---- administration ----

  private async describe(q: kafka.DescribeGroupsRequest): Promise<kafka.DescribeGroupsResponse> {
    const groups = await Promise.all(
      q.groups.map(async (groupId): Promise<kafka.DescribeGroupsResponseDescribedGroup> => {
        const live = this.groups.get(groupId);
        if (live && live.state !== GroupState.empty) {
          const d = live.describe();
          return {
            errorCode: KafkaErrorCode.NONE,
            groupId,
            groupState: d.state,
            protocolType: d.protocolType,
            protocolData: d.protocolName,
            members: d.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: m.metadata,
              memberAssignment: m.assignment,
            })),
            authorizedOperations: -2147483648,
          };
        }
        const stored = await this.ctx.store.group(groupId);
        return {
          errorCode: KafkaErrorCode.NONE,
          groupId,
          groupState: stored || live ? GroupState.empty : GroupState.dead,
          protocolType: stored?.protocolType ?? live?.protocolType ?? '',
          protocolData: '',
          members: [],
          authorizedOperations: -2147483648,
        };
      }),
    );
    return { throttleTimeMs: 0, groups };
  }

  private async list(q: kafka.ListGroupsRequest): Promise<kafka.ListGroupsResponse> {
    const listed = new Map<string, kafka.ListGroupsResponseListedGroup>();
    for (const stored of await this.ctx.store.groups([this.shard])) {
      listed.set(stored.groupId, { groupId: stored.groupId, protocolType: stored.protocolType, groupState: GroupState.empty, groupType: 'classic' });
    }
    for (const g of this.groups.values()) {
      if (g.state === GroupState.dead || (g.state === GroupState.empty && !listed.has(g.groupId))) continue;
      listed.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
    }
    const states = q.statesFilter?.length ? new Set(q.statesFilter.map((s) => s.toLowerCase())) : null;
    const types = q.typesFilter?.length ? new Set(q.typesFilter.map((s) => s.toLowerCase())) : null;
    const groups = [...listed.values()].filter((g) => (!states || states.has((g.groupState ?? '').toLowerCase())) && (!types || types.has('classic')));
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, groups };
  }

  /**
   * OffsetDelete (kafka-consumer-groups --delete-offsets): removes the group's committed offsets of the named
   * partitions, except those of topics an active member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC on each of their
   * partitions); a group with members whose subscriptions cannot be read is refused whole (NON_EMPTY_GROUP).
   */
  private async deleteOffsets(q: kafka.OffsetDeleteRequest): Promise<kafka.OffsetDeleteResponse> {
    const refuse = (errorCode: number): kafka.OffsetDeleteResponse => ({ errorCode, throttleTimeMs: 0, topics: [] });
    if (!q.groupId) return refuse(KafkaErrorCode.INVALID_GROUP_ID);
    if (this.closed) return refuse(KafkaErrorCode.NOT_COORDINATOR);
    const live = this.groups.get(q.groupId);
    if (!live && !(await this.ctx.store.group(q.groupId))) return refuse(KafkaErrorCode.GROUP_ID_NOT_FOUND);
    const subscribed = live ? live.subscribedTopics() : new Set<string>();
    if (subscribed === null) return refuse(KafkaErrorCode.NON_EMPTY_GROUP);
    const topics = await this.durable(() =>
      Promise.all(
        q.topics.map(async (t) => {
          const partitions = t.partitions.map((p) => p.partitionIndex);
          if (subscribed.has(t.name)) return { name: t.name, partitions: partitions.map((partitionIndex) => ({ partitionIndex, errorCode: KafkaErrorCode.GROUP_SUBSCRIBED_TO_TOPIC })) };
          await this.ctx.store.deleteOffsets(q.groupId, t.name, partitions);
          return { name: t.name, partitions: partitions.map((partitionIndex) => ({ partitionIndex, errorCode: KafkaErrorCode.NONE })) };
        }),
      ),
    );
    return { errorCode: KafkaErrorCode.NONE, throttleTimeMs: 0, topics };
  }

  private async deleteGroups(q: kafka.DeleteGroupsRequest): Promise<kafka.DeleteGroupsResponse> {
    const results = await Promise.all(
      q.groupsNames.map(async (groupId) => {
        const live = this.groups.get(groupId);
        if (live && live.size > 0) return { groupId, errorCode: KafkaErrorCode.NON_EMPTY_GROUP };
        const existed = await this.durable(() => this.ctx.store.deleteGroup(groupId));
        if (live) {
          live.shutdown(KafkaErrorCode.GROUP_ID_NOT_FOUND);
          this.groups.delete(groupId);
        }
        return { groupId, errorCode: existed || live ? KafkaErrorCode.NONE : KafkaErrorCode.GROUP_ID_NOT_FOUND };
      }),
    );
    return { throttleTimeMs: 0, results };
  }
}
