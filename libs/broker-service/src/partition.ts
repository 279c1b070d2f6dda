// One partition replica on this broker, as Kafka's Partition: its log, its role (leader, follower, or neither), the
// leader epoch, the in-sync replicas and the high watermark, and the requests parked on it — produces with acks=all
// waiting for the high watermark to pass their batches, consumer fetches waiting for it to move, followers' fetches
// waiting for new data. As leader it tracks each follower's log end and when it last caught up, keeps the high
// watermark at the smallest log end over the in-sync replicas, and asks the controller to shrink or expand the ISR.
// As follower it takes the leader's batches unchanged and truncates where its history diverges. Requests that carry
// another leader epoch are fenced. Record batches stay bytes from request to disk to reply.
import { BatchRejection, KafkaErrorCode, recordsFrom, SluiceError } from '@sluice/protocol';
import {
  OffsetSpec,
  type PartitionDeleteRecordsResult,
  type PartitionEpochEndResult,
  type PartitionFetchResult,
  type PartitionInfo,
  type PartitionOffsetResult,
  type PartitionReplicasResult,
  type ReplicaState,
  type PartitionProduceResult,
  type PartitionReplicaFetchResult,
} from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { PartitionLog } from '@sluice/storage';
import type { BrokerMetrics, TopicTraffic } from './broker-metrics.js';

const EMPTY = Buffer.alloc(0);

export type PartitionRole = 'leader' | 'follower' | 'none';

export interface PartitionOptions {
  topicId: string;
  topicName: string;
  brokerId: number;
  info: PartitionInfo;
  log: PartitionLog;
  logger: Logger;
  metrics: BrokerMetrics;
  /** The topic's min.insync.replicas, read when an acks=all write arrives (the config may change). */
  minInsyncReplicas: () => number;
  /** A follower not caught up for this long leaves the ISR (Kafka's replica.lag.time.max.ms). */
  replicaLagTimeMaxMs: number;
  /**
   * Asks the controller for a new ISR (AlterPartition, checked against the leader and partition epochs). Resolves with
   * the partition as the controller now has it, or undefined when it was refused (the metadata will say why).
   */
  alterIsr: (partition: Partition, newIsr: number[]) => Promise<PartitionInfo | undefined>;
  /**
   * Whether a broker may join the ISR as this broker's metadata has it: alive, not fenced, not shutting down (KIP-841).
   * A caught-up follower that may not is not proposed, rather than refused by the controller at every fetch.
   */
  isrEligible?: (brokerId: number) => boolean;
}

/** What the leader knows of one follower (Kafka's Replica state). */
interface FollowerState {
  /** Its log end offset as its last fetch said, -1 before the first fetch under this leadership. */
  logEndOffset: number;
  /** When it last had everything the leader had (or was in the ISR when this broker took over). */
  lastCaughtUpTime: number;
  /** The leader's log end at the follower's previous fetch, and when that was. */
  lastFetchLeaderLogEndOffset: number;
  lastFetchTime: number;
}

/** A follower's fetch of this partition, as the leader answers it. */
export interface FollowerRead {
  meta: PartitionReplicaFetchResult;
  bytes: Buffer;
}

/** A produce with acks=all waiting for the high watermark to pass `endOffset`. */
interface ParkedProduce {
  endOffset: number;
  done: (errorCode: number, message: string | null) => void;
}

/** What a fetch reads of one partition: its state and the whole batches from the fetch offset, within the limit. */
export interface PartitionRead {
  meta: PartitionFetchResult;
  bytes: Buffer;
}

export class Partition {
  private info: PartitionInfo;
  private currentRole: PartitionRole = 'none';
  /** Consumer fetches parked until new data is readable (the high watermark moves), or the role changes. */
  private readonly dataWaiters = new Set<() => void>();
  /** Followers' fetches parked until new data is appended, or the role changes. */
  private readonly appendWaiters = new Set<() => void>();
  /** As leader: the other replicas' positions. */
  private readonly followers = new Map<number, FollowerState>();
  /** As leader: the ISR asked of the controller and not answered yet (Kafka's pending ISR state). */
  private pendingIsr: number[] | undefined;
  /** As leader: the log end when this leadership began; a follower joins the ISR only once past it. */
  private leaderEpochStartOffset = 0;
  /** acks=all produces in offset order, completed as the high watermark passes them. */
  private parkedProduces: ParkedProduce[] = [];
  readonly log: PartitionLog;
  readonly logger: Logger;
  /** This topic's traffic counters, looked up once. */
  private readonly traffic: TopicTraffic;

  constructor(private readonly options: PartitionOptions) {
    this.info = options.info;
    this.log = options.log;
    this.logger = options.logger;
    this.traffic = options.metrics.topic(options.topicName);
  }

  get topicId(): string {
    return this.options.topicId;
  }
  get topicName(): string {
    return this.options.topicName;
  }
  get partition(): number {
    return this.info.partition;
  }
  get role(): PartitionRole {
    return this.currentRole;
  }
  get leaderEpoch(): number {
    return this.info.leaderEpoch;
  }
  get partitionEpoch(): number {
    return this.info.partitionEpoch;
  }

  get leaderId(): number {
    return this.info.leader;
  }
  get isr(): readonly number[] {
    return this.info.isr;
  }
  get replicas(): readonly number[] {
    return this.info.replicas;
  }

  /**
   * The controller's view of this partition changed: becomes leader, follower or neither, or learns a new epoch or
   * ISR. Returns the role change, if any, for the caller to log.
   */
  async applyInfo(info: PartitionInfo): Promise<PartitionRole | undefined> {
    const previous = this.currentRole;
    const previousEpoch = this.info.leaderEpoch;
    // A controller answer to this leader's own ISR change may be newer than the delta that brings it: never go back.
    if (info.leaderEpoch === this.info.leaderEpoch && info.partitionEpoch < this.info.partitionEpoch) return undefined;
    this.info = info;
    const brokerId = this.options.brokerId;
    const next: PartitionRole = info.leader === brokerId ? 'leader' : info.replicas.includes(brokerId) ? 'follower' : 'none';
    this.currentRole = next;
    if (next === 'leader' && (previous !== 'leader' || info.leaderEpoch !== previousEpoch)) {
      await this.log.beginLeaderEpoch(info.leaderEpoch);
      this.becomeLeader();
    } else if (next !== 'leader' && previous === 'leader') {
      this.followers.clear();
      this.pendingIsr = undefined;
      this.failParkedProduces(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${brokerId} is no longer the leader`);
      this.wakeFetches();
      this.wakeFollowerFetches();
    } else if (next === 'leader') {
      // Still leading: the ISR may have changed (through this leader's request or a broker's fencing), or the replicas
      // (a reassignment: new ones are tracked from their first fetch, removed ones forgotten).
      for (const id of this.followers.keys()) if (!info.replicas.includes(id)) this.followers.delete(id);
      if (this.pendingIsr && sameMembers(this.pendingIsr, info.isr)) this.pendingIsr = undefined;
      this.checkParkedAgainstIsr();
      this.maybeIncrementHighWatermark();
    }
    return next === previous ? undefined : next;
  }

  /**
   * Taking over as leader (Kafka's makeLeader): the followers' positions start unknown, those in the ISR counted as
   * caught up now (so they are not dropped before their first fetch), and the high watermark moves only as the ISR
   * reports — at once when the ISR is this leader alone, which commits everything its log recovered (after a crash,
   * what lies above the high-watermark checkpoint).
   */
  private becomeLeader(): void {
    const now = Date.now();
    this.followers.clear();
    this.pendingIsr = undefined;
    this.leaderEpochStartOffset = this.log.logEndOffset;
    for (const id of this.info.replicas) {
      if (id === this.options.brokerId) continue;
      this.followers.set(id, { logEndOffset: -1, lastCaughtUpTime: this.info.isr.includes(id) ? now : 0, lastFetchLeaderLogEndOffset: -1, lastFetchTime: 0 });
    }
    this.maybeIncrementHighWatermark();
  }

  /** Stops serving: parked requests answer at once. */
  close(): void {
    this.currentRole = 'none';
    this.failParkedProduces(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, 'the broker is stopping');
    this.wakeFetches();
    this.wakeFollowerFetches();
  }

  /** Why a request carrying `leaderEpoch` cannot be served here as the leader, or undefined. */
  private leaderProblem(leaderEpoch: number): { errorCode: number; message: string } | undefined {
    if (this.currentRole !== 'leader') {
      return { errorCode: KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, message: `broker ${this.options.brokerId} does not lead ${this.options.topicName}-${this.info.partition}` };
    }
    if (leaderEpoch === -1 || leaderEpoch === undefined || leaderEpoch === this.info.leaderEpoch) return undefined;
    return {
      errorCode: leaderEpoch < this.info.leaderEpoch ? KafkaErrorCode.FENCED_LEADER_EPOCH : KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
      message: `leader epoch ${leaderEpoch} does not match ${this.info.leaderEpoch}`,
    };
  }

  // ---- produce ----

  /**
   * Appends a producer's batches. The append is handed to the log synchronously, before the first await, so requests
   * reach the log in the order they arrive. acks=all answers once the high watermark passes the batches.
   */
  async produce(acks: 0 | 1 | -1, leaderEpoch: number, bytes: Buffer, timeoutMs: number): Promise<PartitionProduceResult> {
    const log = this.log;
    const fail = (errorCode: number, errorMessage: string, recordErrors?: PartitionProduceResult['recordErrors']): PartitionProduceResult => ({
      errorCode,
      errorMessage,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: log.logStartOffset,
      ...(recordErrors && recordErrors.length > 0 ? { recordErrors } : {}),
    });
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return fail(problem.errorCode, problem.message);
    if (bytes.length === 0) return fail(KafkaErrorCode.CORRUPT_MESSAGE, 'produce request without record batches');
    if (acks === -1 && this.info.isr.length < this.options.minInsyncReplicas()) {
      return fail(KafkaErrorCode.NOT_ENOUGH_REPLICAS, `in-sync replicas ${this.info.isr.length} below min.insync.replicas ${this.options.minInsyncReplicas()}`);
    }
    const epoch = this.info.leaderEpoch;
    let appended;
    try {
      appended = await log.append(bytes, epoch);
    } catch (err) {
      if (err instanceof BatchRejection) return fail(err.kafkaCode, err.message, [...err.recordErrors]);
      if (err instanceof SluiceError && err.kafkaCode !== -1) return fail(err.kafkaCode, err.message);
      this.logger.error({ err }, 'append failed');
      return fail(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'the broker could not write to its log');
    }
    this.traffic.recordsIn.inc(appended.lastOffset - appended.baseOffset + 1);
    this.traffic.bytesIn.inc(bytes.length);
    this.wakeFollowerFetches();
    this.maybeIncrementHighWatermark();
    const done: PartitionProduceResult = {
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      baseOffset: appended.baseOffset,
      logAppendTimeMs: appended.logAppendTimeMs,
      logStartOffset: log.logStartOffset,
    };
    if (acks !== -1) return done;
    // Leadership moved while the batch was written: as a follower this log follows another history, and its high
    // watermark passing these offsets would say nothing about this batch (Kafka answers NOT_LEADER_OR_FOLLOWER too).
    if (this.currentRole !== 'leader' || this.info.leaderEpoch !== epoch) {
      return fail(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.options.brokerId} stopped leading ${this.options.topicName}-${this.info.partition} while writing`);
    }
    if (log.highWatermark > appended.lastOffset) return done;
    const outcome = await this.waitForHighWatermark(appended.lastOffset + 1, timeoutMs);
    return outcome.errorCode === KafkaErrorCode.NONE ? done : fail(outcome.errorCode, outcome.message ?? 'not replicated');
  }

  /** Parks an acks=all produce until the high watermark reaches `endOffset` (one timer per parked request, none per record). */
  private waitForHighWatermark(endOffset: number, timeoutMs: number): Promise<{ errorCode: number; message: string | null }> {
    return new Promise((resolve) => {
      const entry: ParkedProduce = {
        endOffset,
        done: (errorCode, message) => {
          clearTimeout(timer);
          resolve({ errorCode, message });
        },
      };
      const timer = setTimeout(() => {
        this.parkedProduces = this.parkedProduces.filter((p) => p !== entry);
        resolve({ errorCode: KafkaErrorCode.REQUEST_TIMED_OUT, message: `not replicated to the in-sync replicas within ${timeoutMs} ms` });
      }, Math.max(1, timeoutMs));
      // Appends happen in offset order, so pushing keeps the list sorted.
      this.parkedProduces.push(entry);
    });
  }

  /**
   * The high watermark is the smallest log end over the in-sync replicas — over the ISR as it may be once a pending
   * change is accepted too (Kafka's maximal ISR), so a follower being added counts and one being removed still does
   * until the controller agrees. It never moves back. Completes the acks=all produces it passes and wakes consumers.
   */
  private maybeIncrementHighWatermark(): void {
    if (this.currentRole !== 'leader') return;
    let hw = this.log.logEndOffset;
    for (const id of this.maximalIsr()) {
      if (id === this.options.brokerId) continue;
      hw = Math.min(hw, this.followers.get(id)?.logEndOffset ?? -1);
    }
    if (hw <= this.log.highWatermark) return;
    this.log.setHighWatermark(hw);
    this.completeParkedProduces();
    this.wakeFetches();
  }

  private maximalIsr(): readonly number[] {
    if (!this.pendingIsr) return this.info.isr;
    return [...new Set([...this.info.isr, ...this.pendingIsr])];
  }

  private completeParkedProduces(): void {
    const hw = this.log.highWatermark;
    let n = 0;
    while (n < this.parkedProduces.length && this.parkedProduces[n].endOffset <= hw) this.parkedProduces[n++].done(KafkaErrorCode.NONE, null);
    if (n > 0) this.parkedProduces = this.parkedProduces.slice(n);
  }

  /** While writes wait for the ISR, the ISR shrank below min.insync.replicas: they fail as Kafka's do. */
  private checkParkedAgainstIsr(): void {
    if (this.parkedProduces.length === 0) return;
    const min = this.options.minInsyncReplicas();
    if (this.info.isr.length >= min) return;
    this.failParkedProduces(KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, `in-sync replicas ${this.info.isr.length} fell below min.insync.replicas ${min}`);
  }

  private failParkedProduces(errorCode: number, message: string): void {
    const parked = this.parkedProduces;
    this.parkedProduces = [];
    for (const p of parked) p.done(errorCode, message);
  }

  // ---- followers (as leader) ----

  /**
   * A follower's fetch (Kafka's fetch from a replica): its position updates the leader's view (and may expand the ISR
   * and move the high watermark), then it gets batches up to the log end. When its history diverges from this log's
   * (the last epoch it has ends earlier here, or is not here), it is told where to truncate instead of getting data.
   */
  async readForFollower(replicaId: number, fetchOffset: number, lastFetchedEpoch: number, leaderEpoch: number, maxBytes: number): Promise<FollowerRead> {
    const log = this.log;
    const state = (errorCode: number, errorMessage: string | null, divergingEpoch?: { epoch: number; endOffset: number }): PartitionReplicaFetchResult => ({
      errorCode,
      errorMessage,
      highWatermark: log.highWatermark,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      ...(divergingEpoch ? { divergingEpoch } : {}),
    });
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return { meta: state(problem.errorCode, problem.message), bytes: EMPTY };
    if (replicaId === this.options.brokerId || !this.info.replicas.includes(replicaId)) {
      return { meta: state(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${replicaId} is not a follower of ${this.options.topicName}-${this.info.partition}`), bytes: EMPTY };
    }
    if (lastFetchedEpoch >= 0) {
      const end = log.endOffsetForEpoch(lastFetchedEpoch);
      if (end.epoch !== lastFetchedEpoch || end.endOffset < fetchOffset) return { meta: state(KafkaErrorCode.NONE, null, end), bytes: EMPTY };
    }
    if (!Number.isSafeInteger(fetchOffset) || fetchOffset < log.logStartOffset || fetchOffset > log.logEndOffset) {
      return { meta: state(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset} is outside ${log.logStartOffset}..${log.logEndOffset}`), bytes: EMPTY };
    }
    this.updateFollower(replicaId, fetchOffset, Date.now());
    const bytes = fetchOffset < log.logEndOffset ? (await log.read(fetchOffset, Math.max(1, maxBytes))).bytes : EMPTY;
    return { meta: state(KafkaErrorCode.NONE, null), bytes };
  }

  /** Calls `wake` when new data is appended (or the role changes); returns a canceller. For followers' fetches. */
  onAppend(wake: () => void): () => void {
    this.appendWaiters.add(wake);
    return () => this.appendWaiters.delete(wake);
  }

  private wakeFollowerFetches(): void {
    if (this.appendWaiters.size === 0) return;
    const waiters = [...this.appendWaiters];
    this.appendWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** Kafka's updateFollowerFetchState: the follower's log end, and whether it has caught up. */
  private updateFollower(id: number, logEndOffset: number, now: number): void {
    let f = this.followers.get(id);
    if (!f) this.followers.set(id, (f = { logEndOffset: -1, lastCaughtUpTime: 0, lastFetchLeaderLogEndOffset: -1, lastFetchTime: 0 }));
    const leaderEnd = this.log.logEndOffset;
    if (logEndOffset >= leaderEnd) f.lastCaughtUpTime = Math.max(f.lastCaughtUpTime, now);
    else if (logEndOffset >= f.lastFetchLeaderLogEndOffset) f.lastCaughtUpTime = Math.max(f.lastCaughtUpTime, f.lastFetchTime);
    f.logEndOffset = logEndOffset;
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    f.lastFetchTime = now;
    this.maybeExpandIsr(id, f);
    this.maybeIncrementHighWatermark();
  }

  /** A follower out of the ISR joins it once it has everything up to the high watermark and this leader's epoch start. */
  private maybeExpandIsr(id: number, f: FollowerState): void {
    if (this.pendingIsr || this.info.isr.includes(id)) return;
    if (f.logEndOffset < this.log.highWatermark || f.logEndOffset < this.leaderEpochStartOffset) return;
    if (this.options.isrEligible && !this.options.isrEligible(id)) return;
    this.proposeIsr([...this.info.isr, id]);
  }

  /** Followers in the ISR that have not caught up within replica.lag.time.max.ms leave it. Called periodically. */
  maybeShrinkIsr(now: number): void {
    if (this.currentRole !== 'leader' || this.pendingIsr) return;
    const lagging = this.info.isr.filter((id) => {
      if (id === this.options.brokerId) return false;
      const f = this.followers.get(id);
      return !f || now - f.lastCaughtUpTime > this.options.replicaLagTimeMaxMs;
    });
    if (lagging.length === 0) return;
    this.logger.warn({ lagging, isr: this.info.isr, lagTimeMaxMs: this.options.replicaLagTimeMaxMs }, 'followers fell behind; shrinking the ISR');
    this.proposeIsr(this.info.isr.filter((id) => !lagging.includes(id)));
  }

  /** Sends an ISR change to the controller; the leader counts on an addition only once it is accepted. */
  private proposeIsr(newIsr: number[]): void {
    this.pendingIsr = newIsr;
    const epoch = this.info.leaderEpoch;
    void this.options
      .alterIsr(this, newIsr)
      .then(async (accepted) => {
        if (this.info.leaderEpoch !== epoch || this.pendingIsr !== newIsr) return;
        if (!accepted) {
          this.pendingIsr = undefined;
          return;
        }
        const before = this.info.isr.length;
        await this.applyInfo(accepted);
        if (accepted.isr.length !== before) this.options.metrics.isrChanges.inc({ change: accepted.isr.length < before ? 'shrink' : 'expand' });
      })
      .catch((err: unknown) => {
        this.logger.warn({ err, newIsr }, 'ISR change failed');
        if (this.pendingIsr === newIsr) this.pendingIsr = undefined;
      });
  }

  /** As leader: whether the ISR is short of the replicas or of min.insync.replicas, and the most a follower lags. */
  replicationState(): { underReplicated: boolean; underMinIsr: boolean; maxFollowerLag: number } | undefined {
    if (this.currentRole !== 'leader') return undefined;
    const end = this.log.logEndOffset;
    let maxFollowerLag = 0;
    for (const f of this.followers.values()) maxFollowerLag = Math.max(maxFollowerLag, f.logEndOffset < 0 ? end : end - f.logEndOffset);
    return {
      underReplicated: this.info.isr.length < this.info.replicas.length,
      underMinIsr: this.info.isr.length < this.options.minInsyncReplicas(),
      maxFollowerLag,
    };
  }

  /** As leader: each follower's log end and lag behind the log end (for operators). */
  followerPositions(): Array<{ broker: number; logEndOffset: number; lag: number; lastCaughtUpTime: number }> {
    const end = this.log.logEndOffset;
    return [...this.followers].map(([broker, f]) => ({ broker, logEndOffset: f.logEndOffset, lag: f.logEndOffset < 0 ? -1 : end - f.logEndOffset, lastCaughtUpTime: f.lastCaughtUpTime }));
  }

  // ---- following (as follower) ----

  /** What a follower asks of its leader for this partition: its log end, the epoch of its last batch, its leader epoch. */
  followerFetchState(): { fetchOffset: number; lastFetchedEpoch: number; leaderEpoch: number } {
    return { fetchOffset: this.log.logEndOffset, lastFetchedEpoch: this.log.latestEpoch, leaderEpoch: this.info.leaderEpoch };
  }

  /** Whether a fetch sent while following at `leaderEpoch` may still change this replica. */
  followsAt(leaderEpoch: number): boolean {
    return this.currentRole === 'follower' && this.info.leaderEpoch === leaderEpoch;
  }

  /**
   * The leader's batches for a fetch sent at `fetchOffset`, appended unchanged (offsets, epochs, producer ids,
   * timestamps); then its bounds. If this log moved since the fetch was sent (an append from the time this broker led
   * landed after it), the batches are dropped: the next fetch states the new position, and the leader says where the
   * histories part.
   */
  async appendFromLeader(bytes: Buffer, leader: PartitionReplicaFetchResult, fetchOffset: number): Promise<void> {
    if (this.log.logEndOffset !== fetchOffset) {
      this.logger.debug({ fetchOffset, logEndOffset: this.log.logEndOffset }, 'the log moved while fetching from the leader; fetching again');
      return;
    }
    if (bytes.length > 0) await this.log.appendAsFollower(bytes);
    await this.followLeaderBounds(leader);
  }

  /** The leader's high watermark (as far as this log reaches) and log start (retention and delete-records). */
  async followLeaderBounds(leader: PartitionReplicaFetchResult): Promise<void> {
    this.log.setHighWatermark(Math.min(leader.highWatermark, this.log.logEndOffset));
    if (leader.logStartOffset > this.log.logStartOffset) await this.log.deleteRecordsBefore(Math.min(leader.logStartOffset, this.log.logEndOffset));
  }

  /**
   * This log's history diverges from the leader's: truncate to where they agree — the end of `epoch` on the leader, or
   * here if it ends earlier here (Kafka's truncation with the diverging epoch).
   */
  async truncateToDivergence(diverging: { epoch: number; endOffset: number }): Promise<boolean> {
    // An epoch the leader does not have at all: nothing above the high watermark is known to agree.
    const local = this.log.endOffsetForEpoch(diverging.epoch);
    const target = diverging.epoch < 0 || diverging.endOffset < 0 ? this.log.highWatermark : Math.min(diverging.endOffset, local.endOffset);
    const before = { logEndOffset: this.log.logEndOffset, latestEpoch: this.log.latestEpoch };
    this.logger.info({ truncateTo: target, ...before, epoch: diverging.epoch }, 'truncating to the leader’s history');
    await this.log.truncateTo(Math.max(0, target));
    const moved = this.log.logEndOffset !== before.logEndOffset || this.log.latestEpoch !== before.latestEpoch;
    if (!moved) this.logger.warn({ diverging, ...before }, 'truncating to the leader’s history changed nothing; backing off');
    return moved;
  }

  /** The leader's log starts beyond this one's end (or this one is ahead of the leader's end): start over from it. */
  async resetToLeader(leader: PartitionReplicaFetchResult, fetchOffset: number): Promise<void> {
    if (fetchOffset < leader.logStartOffset) {
      this.logger.info({ logStartOffset: leader.logStartOffset }, 'the leader’s log starts past this replica’s end; starting over from it');
      await this.log.resetTo(leader.logStartOffset);
    } else if (fetchOffset > leader.logEndOffset) {
      await this.log.truncateTo(leader.logEndOffset);
    }
  }

  // ---- fetch ----

  /** One read for a fetch, without waiting: the partition's offsets and the whole batches from `fetchOffset` on. */
  async read(fetchOffset: number, maxBytes: number, leaderEpoch: number): Promise<PartitionRead> {
    const log = this.log;
    const state = (errorCode: number, errorMessage: string | null): PartitionFetchResult => ({
      errorCode,
      errorMessage,
      highWatermark: log.highWatermark,
      lastStableOffset: log.highWatermark,
      logStartOffset: log.logStartOffset,
    });
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return { meta: state(problem.errorCode, problem.message), bytes: EMPTY };
    if (!Number.isSafeInteger(fetchOffset) || fetchOffset < log.logStartOffset || fetchOffset > log.logEndOffset) {
      return { meta: state(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset} is outside ${log.logStartOffset}..${log.logEndOffset}`), bytes: EMPTY };
    }
    const bytes = fetchOffset < log.highWatermark ? (await log.read(fetchOffset, Math.max(1, maxBytes), log.highWatermark)).bytes : EMPTY;
    return { meta: state(KafkaErrorCode.NONE, null), bytes };
  }

  /** Counts the bytes and records a consumer fetch from `fetchOffset` hands out (per batch, from the batch headers). */
  countOut(bytes: Buffer, fetchOffset: number): void {
    if (bytes.length === 0) return;
    this.traffic.bytesOut.inc(bytes.length);
    this.traffic.recordsOut.inc(recordsFrom(bytes, fetchOffset));
  }

  /** Calls `wake` when new data becomes readable (the high watermark moves) or the role changes; returns a canceller. */
  onNewData(wake: () => void): () => void {
    this.dataWaiters.add(wake);
    return () => this.dataWaiters.delete(wake);
  }

  private wakeFetches(): void {
    if (this.dataWaiters.size === 0) return;
    const waiters = [...this.dataWaiters];
    this.dataWaiters.clear();
    for (const wake of waiters) wake();
  }

  // ---- offsets ----

  async listOffsets(timestamp: number, leaderEpoch: number): Promise<PartitionOffsetResult> {
    const log = this.log;
    const base = { errorCode: KafkaErrorCode.NONE as number, errorMessage: null as string | null, leaderEpoch: this.info.leaderEpoch, logStartOffset: log.logStartOffset, highWatermark: log.highWatermark };
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return { ...base, errorCode: problem.errorCode, errorMessage: problem.message, offset: -1, timestamp: -1 };
    if (timestamp === OffsetSpec.latest) return { ...base, offset: log.highWatermark, timestamp: -1 };
    if (timestamp === OffsetSpec.earliest) return { ...base, offset: log.logStartOffset, timestamp: -1 };
    if (timestamp === OffsetSpec.maxTimestamp) {
      const found = await log.offsetForMaxTimestamp();
      return { ...base, offset: found?.offset ?? -1, timestamp: found?.timestamp ?? -1 };
    }
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `invalid timestamp ${timestamp}`, offset: -1, timestamp: -1 };
    }
    const found = await log.offsetForTimestamp(timestamp);
    const visible = found && found.offset < log.highWatermark ? found : undefined;
    return { ...base, offset: visible?.offset ?? -1, timestamp: visible?.timestamp ?? -1 };
  }

  /** Offsets, and where each replica is as this leader knows it (the leader itself: its own log end). */
  describeReplicas(leaderEpoch: number, now = Date.now()): PartitionReplicasResult {
    const log = this.log;
    const base = { logStartOffset: log.logStartOffset, highWatermark: log.highWatermark, logEndOffset: log.logEndOffset, sizeBytes: log.size };
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return { ...base, errorCode: problem.errorCode, errorMessage: problem.message, replicas: [] };
    const replicas = this.info.replicas.map((broker): ReplicaState => {
      if (broker === this.options.brokerId) return { broker, logEndOffset: log.logEndOffset, lagRecords: 0, caughtUpMsAgo: 0 };
      const f = this.followers.get(broker);
      const known = f !== undefined && f.logEndOffset >= 0;
      return {
        broker,
        logEndOffset: known ? f.logEndOffset : -1,
        lagRecords: known ? Math.max(0, log.logEndOffset - f.logEndOffset) : -1,
        caughtUpMsAgo: f && f.lastCaughtUpTime > 0 ? Math.max(0, now - f.lastCaughtUpTime) : -1,
      };
    });
    return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null, replicas };
  }

  /** DeleteRecords: the log start moves up to the offset (the high watermark for -1); whole segments below it go. */
  async deleteRecords(offset: number, leaderEpoch: number): Promise<PartitionDeleteRecordsResult> {
    const log = this.log;
    const answer = (errorCode: number, errorMessage: string | null): PartitionDeleteRecordsResult => ({ errorCode, errorMessage, lowWatermark: log.logStartOffset });
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return answer(problem.errorCode, problem.message);
    const target = offset === -1 ? log.highWatermark : offset;
    if (!Number.isSafeInteger(target) || target < 0 || target > log.highWatermark) {
      return answer(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is not between 0 and the high watermark ${log.highWatermark}`);
    }
    await log.deleteRecordsBefore(target);
    this.logger.info({ logStartOffset: log.logStartOffset }, 'records deleted');
    return answer(KafkaErrorCode.NONE, null);
  }

  offsetForLeaderEpoch(epoch: number, leaderEpoch: number): PartitionEpochEndResult {
    const problem = this.leaderProblem(leaderEpoch);
    if (problem) return { errorCode: problem.errorCode, errorMessage: problem.message, epoch: -1, endOffset: -1 };
    const found = this.log.endOffsetForEpoch(epoch);
    return { errorCode: KafkaErrorCode.NONE, errorMessage: null, epoch: found.epoch, endOffset: found.endOffset };
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

type Subscribe = (partition: Partition, wake: () => void) => () => void;

/** Resolves when `subscribe` wakes for any of the partitions, `cancelled` fires, or after `ms` (one timer per wait, none per record). */
function untilWoken(partitions: ReadonlyArray<Partition | undefined>, ms: number, subscribe: Subscribe, cancelled?: { onCancel(wake: () => void): () => void }): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const cancel of cancels) cancel?.();
      stopListening?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const cancels = partitions.map((p) => p && subscribe(p, done));
    const stopListening = cancelled?.onCancel(done);
  });
}

/** A consumer fetch's wait: until new data is readable in any of the partitions (their high watermark moves). */
export function untilNewData(partitions: ReadonlyArray<Partition | undefined>, ms: number, cancelled?: { onCancel(wake: () => void): () => void }): Promise<void> {
  return untilWoken(partitions, ms, (p, wake) => p.onNewData(wake), cancelled);
}

/** A follower's fetch's wait: until new data is appended to any of the partitions. */
export function untilAppended(partitions: ReadonlyArray<Partition | undefined>, ms: number): Promise<void> {
  return untilWoken(partitions, ms, (p, wake) => p.onAppend(wake));
}
