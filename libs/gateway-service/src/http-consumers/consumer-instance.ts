// One HTTP consumer instance (Confluent REST Proxy v2): a member of a consumer group that the gateway keeps in the
// group on the client's behalf — it joins with the classic protocol, computes the assignment with a server-side
// assignor when it is the leader, heartbeats in the background and rejoins when the group rebalances — and a set of
// fetch positions the client moves by polling, committing and seeking.
import { ApiKey, decodeRecords, forEachBatch, kafka, KafkaErrorCode, kafkaError, kafkaErrorOf, Reader, SluiceError, Writer } from '@sluice/protocol';
import { groupShard, OffsetSpec, type TopicInfo } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import { unknownPartition, type GatewayCluster } from '../cluster/gateway-cluster.js';
import { recordOut, type HttpRecordOut, type RecordFormat } from '../record-format.js';
import { assignors, type MemberSubscription, type TopicPartition } from './assignors.js';

export interface ConsumerInstanceOptions {
  group: string;
  name: string;
  format: RecordFormat;
  autoOffsetReset: 'earliest' | 'latest';
  autoCommit: boolean;
  /** Assignors offered when joining, most preferred first (names from `assignors`). */
  assignors: string[];
  sessionTimeoutMs: number;
  cluster: GatewayCluster;
  logger: Logger;
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

const notAssigned = (tp: TopicPartition): SluiceError =>
  new SluiceError('PARTITION_NOT_ASSIGNED', `${tp.topic}-${tp.partition} is not assigned to this consumer instance`, { kafkaCode: KafkaErrorCode.INVALID_REQUEST });
const HEARTBEAT_MS = 1000;
const REJOIN_ERRORS: ReadonlySet<number> = new Set([KafkaErrorCode.REBALANCE_IN_PROGRESS, KafkaErrorCode.ILLEGAL_GENERATION, KafkaErrorCode.UNKNOWN_MEMBER_ID]);

/** ConsumerProtocolSubscription v2: the topics, and what the member owns in which generation (for sticky). */
function subscriptionBytes(topics: string[], owned: TopicPartition[], generation: number): Buffer {
  const w = new Writer(64);
  w.int16(2);
  kafka.writeConsumerProtocolSubscription(w, 2, { topics, userData: null, ownedPartitions: groupByTopic(owned), generationId: generation });
  return w.toBuffer();
}

function groupByTopic(tps: TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

function assignmentBytes(tps: TopicPartition[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  kafka.writeConsumerProtocolAssignment(w, 0, { assignedPartitions: groupByTopic(tps), userData: null });
  return w.toBuffer();
}

function readSubscription(memberId: string, bytes: Buffer): MemberSubscription {
  const r = new Reader(bytes);
  const version = r.int16();
  const s = kafka.readConsumerProtocolSubscription(r, Math.min(version, 3));
  const owned = (s.ownedPartitions ?? []).flatMap((t) => (t.partitions ?? []).map((partition) => ({ topic: t.topic ?? '', partition })));
  return { memberId, topics: s.topics, owned, generation: s.generationId ?? -1 };
}

function readAssignment(bytes: Buffer): TopicPartition[] {
  if (bytes.length < 2) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  return kafka.readConsumerProtocolAssignment(r, Math.min(version, 3)).assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

export class ConsumerInstance {
  lastUsed = Date.now();
  /** The instance's event stream, if one is running: a new one replaces it (one reader of the positions at a time). */
  stream: { stop: () => void; done: Promise<void> } | undefined;
  subscription: string[] = [];
  /** Partitions assigned by hand (POST .../assignments); null while the instance follows a subscription. */
  manual: TopicPartition[] | null = null;
  assignment: TopicPartition[] = [];
  private memberId = '';
  private generation = -1;
  private needsJoin = false;
  private joining: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly positions = new Map<string, number>();
  /** Partition counts of the subscribed topics when the group last assigned: a change makes the instance rejoin. */
  private assignedCounts = '';
  private closed = false;

  constructor(readonly o: ConsumerInstanceOptions) {}

  private get shard(): number {
    return groupShard(this.o.group);
  }

  /** The partitions this instance reads now. */
  get partitions(): TopicPartition[] {
    return this.manual ?? this.assignment;
  }

  async subscribe(topics: string[]): Promise<void> {
    for (const t of topics) this.o.cluster.topic(t);
    this.manual = null;
    this.subscription = [...new Set(topics)].sort();
    this.needsJoin = true;
    await this.ensureMember();
  }

  async unsubscribe(): Promise<void> {
    this.subscription = [];
    this.assignment = [];
    await this.leave();
  }

  async assign(tps: TopicPartition[]): Promise<void> {
    for (const tp of tps) {
      if (!this.o.cluster.topic(tp.topic).partitions[tp.partition]) throw unknownPartition(tp.topic, tp.partition);
    }
    if (this.subscription.length > 0) await this.unsubscribe();
    this.manual = tps;
    await this.initPositions(tps);
  }

  /** Joins (or rejoins) the group when the subscription asks for it; concurrent callers share one join. */
  async ensureMember(): Promise<void> {
    if (this.manual || this.subscription.length === 0 || !this.needsJoin || this.closed) return;
    this.joining ??= this.join().finally(() => (this.joining = null));
    await this.joining;
  }

  private async join(): Promise<void> {
    const { groups } = this.o.cluster;
    for (let attempt = 0; attempt < 20 && !this.closed; attempt++) {
      const metadata = subscriptionBytes(this.subscription, this.assignment, this.generation);
      const joined = await groups.call(
        this.shard,
        {
          groupId: this.o.group,
          sessionTimeoutMs: this.o.sessionTimeoutMs,
          rebalanceTimeoutMs: this.o.sessionTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: this.o.assignors.map((name) => ({ name, metadata })),
        },
        {
          apiKey: ApiKey.JoinGroup,
          version: 5,
          write: kafka.writeJoinGroupRequest,
          read: kafka.readJoinGroupResponse,
          failed: (errorCode) => ({ errorCode, generationId: -1, protocolName: '', leader: '', memberId: this.memberId, members: [] }),
          timeoutMs: this.o.sessionTimeoutMs + 15_000,
          clientId: `rest-${this.o.name}`,
        },
      );
      if (joined.errorCode === KafkaErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId;
        continue;
      }
      if (joined.errorCode === KafkaErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (joined.errorCode === KafkaErrorCode.REBALANCE_IN_PROGRESS || joined.errorCode === KafkaErrorCode.COORDINATOR_NOT_AVAILABLE || joined.errorCode === KafkaErrorCode.NOT_COORDINATOR) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (joined.errorCode !== KafkaErrorCode.NONE) throw kafkaErrorOf(joined.errorCode, `joining group ${this.o.group} failed`);
      this.memberId = joined.memberId;
      this.generation = joined.generationId ?? -1;
      const assignments =
        joined.leader === this.memberId
          ? [...this.computeAssignment(joined.protocolName ?? 'range', joined.members)].map(([memberId, tps]) => ({ memberId, assignment: assignmentBytes(tps) }))
          : [];
      const synced = await groups.call(
        this.shard,
        { groupId: this.o.group, generationId: this.generation, memberId: this.memberId, groupInstanceId: null, assignments },
        {
          apiKey: ApiKey.SyncGroup,
          version: 3,
          write: kafka.writeSyncGroupRequest,
          read: kafka.readSyncGroupResponse,
          failed: (errorCode) => ({ errorCode, assignment: Buffer.alloc(0) }),
          timeoutMs: this.o.sessionTimeoutMs + 15_000,
        },
      );
      if (REJOIN_ERRORS.has(synced.errorCode)) continue;
      if (synced.errorCode !== KafkaErrorCode.NONE) throw kafkaErrorOf(synced.errorCode, `joining group ${this.o.group} failed`);
      this.assignment = readAssignment(synced.assignment);
      // Positions of partitions that went elsewhere are forgotten: if one comes back, it starts from the offset
      // committed by whoever read it meanwhile, not from where this instance left it.
      const kept = new Set(this.assignment.map(key));
      for (const k of [...this.positions.keys()]) if (!kept.has(k)) this.positions.delete(k);
      this.assignedCounts = this.partitionCounts();
      this.needsJoin = false;
      await this.initPositions(this.assignment);
      this.startHeartbeat();
      return;
    }
  }

  private computeAssignment(protocol: string, members: kafka.JoinGroupResponseMember[]): Map<string, TopicPartition[]> {
    const assignor = assignors[protocol] ?? assignors.range;
    return assignor(
      members.map((m) => readSubscription(m.memberId, m.metadata)),
      (topic) => this.o.cluster.metadata.view.topicByName(topic)?.partitions.length ?? 0,
    );
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** The partition counts of the subscribed topics, as one comparable string. */
  private partitionCounts(): string {
    return this.subscription.map((t) => `${t}:${this.o.cluster.metadata.view.topicByName(t)?.partitions.length ?? 0}`).join(',');
  }

  private async beat(): Promise<void> {
    if (this.closed || this.needsJoin || this.joining) return;
    // A subscribed topic gained partitions: rejoin so that the group assigns them (Kafka's leader does the same).
    if (this.partitionCounts() !== this.assignedCounts) {
      this.needsJoin = true;
      void this.ensureMember().catch((err: unknown) => this.o.logger.warn({ err, group: this.o.group }, 'HTTP consumer could not rejoin'));
      return;
    }
    const res = await this.o.cluster.groups.call(
      this.shard,
      { groupId: this.o.group, generationId: this.generation, memberId: this.memberId, groupInstanceId: null },
      { apiKey: ApiKey.Heartbeat, version: 3, write: kafka.writeHeartbeatRequest, read: kafka.readHeartbeatResponse, failed: (errorCode) => ({ errorCode }) },
    );
    if (REJOIN_ERRORS.has(res.errorCode) || res.errorCode === KafkaErrorCode.NOT_COORDINATOR) {
      if (res.errorCode === KafkaErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      this.needsJoin = true;
      // Rejoin now, not at the next poll: the rest of the group waits for every member.
      void this.ensureMember().catch((err: unknown) => this.o.logger.warn({ err, group: this.o.group }, 'HTTP consumer could not rejoin'));
    }
  }

  /** Positions of new partitions: the committed offset, else auto.offset.reset. */
  private async initPositions(tps: TopicPartition[]): Promise<void> {
    const missing = tps.filter((tp) => !this.positions.has(key(tp)));
    const committed = await this.committed(missing);
    await Promise.all(
      missing.map(async (tp) => {
        const c = committed.find((x) => x.topic === tp.topic && x.partition === tp.partition);
        this.positions.set(key(tp), c && c.offset >= 0 ? c.offset : await this.offsetAt(tp, this.o.autoOffsetReset === 'earliest' ? OffsetSpec.earliest : OffsetSpec.latest));
      }),
    );
  }

  private topic(name: string): TopicInfo {
    return this.o.cluster.topic(name);
  }

  private async offsetAt(tp: TopicPartition, spec: number): Promise<number> {
    const r = await this.o.cluster.partitions.listOffsets(this.topic(tp.topic).id, tp.partition, spec, this.o.cluster.deadline());
    if (r.errorCode !== KafkaErrorCode.NONE) throw kafkaErrorOf(r.errorCode, r.errorMessage ?? 'list offsets failed');
    return r.offset;
  }

  /** Records from the assigned partitions, waiting up to `timeoutMs` when there are none. */
  async poll(timeoutMs: number, maxBytes: number, autoCommit = this.o.autoCommit): Promise<HttpRecordOut[]> {
    this.lastUsed = Date.now();
    await this.ensureMember();
    const tps = this.partitions;
    if (tps.length === 0) {
      await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 1000)));
      return [];
    }
    const perPartition = Math.max(1024, Math.floor(maxBytes / tps.length));
    // One fetch across the leading brokers: a first pass without waiting, then (if nothing came) a long poll answered
    // by the first partition with records; the brokers still waiting are told to stop.
    const offsets = tps.map((tp) => this.positions.get(key(tp)) ?? 0);
    const answers = await this.o.cluster.fetcher.fetch(
      tps.map((tp, i) => ({ topicId: this.topic(tp.topic).id, partition: tp.partition, fetchOffset: offsets[i], maxBytes: perPartition })),
      { maxWaitMs: Math.min(timeoutMs, 30_000), minBytes: 1, maxBytes, isolationLevel: 0, deadline: this.o.cluster.deadline() },
    );
    const records: HttpRecordOut[] = [];
    for (let i = 0; i < tps.length; i++) {
      const tp = tps[i];
      const { meta, records: body } = answers[i];
      if (meta.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
        this.positions.set(key(tp), await this.offsetAt(tp, this.o.autoOffsetReset === 'earliest' ? OffsetSpec.earliest : OffsetSpec.latest));
      } else if (meta.errorCode === KafkaErrorCode.NONE && body) {
        const from = records.length;
        forEachBatch(body, (_h, start, end) => {
          for (const r of decodeRecords(body.subarray(start, end))) if (r.offset >= offsets[i]) records.push(recordOut(this.o.format, tp.topic, tp.partition, r));
        });
        if (records.length > from) this.positions.set(key(tp), records[records.length - 1].offset + 1);
      }
    }
    if (autoCommit && records.length > 0) await this.commit();
    // Partitions that answered at once with an error (offline, leadership moving) are not a reason to answer at once:
    // a stream polling in a loop would spin without ever giving the event loop back.
    if (records.length === 0 && answers.some((a) => a.meta.errorCode !== KafkaErrorCode.NONE)) await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 250)));
    this.lastUsed = Date.now();
    return records;
  }

  /** Commits the given offsets, or every position reached by polling. */
  async commit(offsets?: Array<TopicPartition & { offset: number }>): Promise<void> {
    const list = offsets ?? this.partitions.map((tp) => ({ ...tp, offset: this.positions.get(key(tp)) ?? 0 }));
    if (list.length === 0) return;
    // An instance commits only for partitions it reads: another member's offsets are that member's to commit.
    const assigned = new Set(this.partitions.map(key));
    for (const o of list) {
      if (!assigned.has(key(o))) throw notAssigned(o);
    }
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: number; committedMetadata: string | null }>>();
    for (const o of list) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: null }]);
    const inGroup = !this.manual;
    const res = await this.o.cluster.groups.call(
      this.shard,
      { groupId: this.o.group, generationIdOrMemberEpoch: inGroup ? this.generation : -1, memberId: inGroup ? this.memberId : '', groupInstanceId: null, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) },
      {
        apiKey: ApiKey.OffsetCommit,
        version: 8,
        write: kafka.writeOffsetCommitRequest,
        read: kafka.readOffsetCommitResponse,
        failed: (errorCode) => ({ topics: [{ name: '', partitions: [{ partitionIndex: -1, errorCode }] }] }),
      },
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (REJOIN_ERRORS.has(p.errorCode)) {
          this.needsJoin = true;
          throw kafkaError('REBALANCE_IN_PROGRESS', 'the group rebalanced; poll again to get the new assignment, then commit');
        }
        if (p.errorCode !== KafkaErrorCode.NONE) throw kafkaErrorOf(p.errorCode, `committing offsets of ${this.o.group} failed`);
      }
    }
  }

  async committed(tps: TopicPartition[]): Promise<Array<TopicPartition & { offset: number; metadata: string }>> {
    if (tps.length === 0) return [];
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const res = await this.o.cluster.groups.call(
      this.shard,
      { groupId: this.o.group, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })), requireStable: false },
      { apiKey: ApiKey.OffsetFetch, version: 7, write: kafka.writeOffsetFetchRequest, read: kafka.readOffsetFetchResponse, failed: (errorCode) => ({ topics: [], errorCode }) },
    );
    if ((res.errorCode ?? 0) !== KafkaErrorCode.NONE) throw kafkaErrorOf(res.errorCode ?? 0, `reading the offsets of ${this.o.group} failed`);
    return (res.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => ({ topic: t.name ?? '', partition: p.partitionIndex ?? 0, offset: p.committedOffset ?? -1, metadata: p.metadata ?? '' })));
  }

  /** Moves positions: to given offsets, or to the beginning or end of partitions. */
  async seek(offsets: Array<TopicPartition & { offset?: number }>, to?: 'beginning' | 'end'): Promise<void> {
    const assigned = new Set(this.partitions.map(key));
    for (const o of offsets) {
      if (!assigned.has(key(o))) throw notAssigned(o);
    }
    for (const o of offsets) {
      const offset = to === 'beginning' ? await this.offsetAt(o, OffsetSpec.earliest) : to === 'end' ? await this.offsetAt(o, OffsetSpec.latest) : (o.offset ?? 0);
      this.positions.set(key(o), offset);
    }
  }

  private async leave(): Promise<void> {
    clearInterval(this.heartbeat);
    if (this.memberId === '') return;
    const memberId = this.memberId;
    this.memberId = '';
    this.generation = -1;
    await this.o.cluster.groups.call(
      this.shard,
      { groupId: this.o.group, members: [{ memberId, groupInstanceId: null }] },
      { apiKey: ApiKey.LeaveGroup, version: 3, write: kafka.writeLeaveGroupRequest, read: kafka.readLeaveGroupResponse, failed: (errorCode) => ({ errorCode, members: [] }) },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.leave();
  }
}
