// One partition replica on this broker, as Kafka's Partition: its log, its role (leader, follower, or neither), the
// leader epoch, the in-sync replicas and the high watermark, and the requests parked on it — produces with acks=all
// waiting for the high watermark to pass their batches, and fetches waiting for new data. Requests that carry another
// leader epoch are fenced. Record batches stay bytes from request to disk to reply.
import { BatchRejection, KafkaErrorCode, SluiceError } from '@sluice/protocol';
import {
  OffsetSpec,
  type PartitionDeleteRecordsResult,
  type PartitionEpochEndResult,
  type PartitionFetchResult,
  type PartitionInfo,
  type PartitionOffsetResult,
  type PartitionProduceResult,
} from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { PartitionLog } from '@sluice/storage';
import type { BrokerMetrics } from './broker-metrics.js';

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
  /** Fetches parked until new data is readable (or their wait ends); woken all at once. */
  private readonly dataWaiters = new Set<() => void>();
  /** acks=all produces in offset order, completed as the high watermark passes them. */
  private parkedProduces: ParkedProduce[] = [];
  readonly log: PartitionLog;
  readonly logger: Logger;

  constructor(private readonly options: PartitionOptions) {
    this.info = options.info;
    this.log = options.log;
    this.logger = options.logger;
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

  /**
   * The controller's view of this partition changed: becomes leader, stops leading, or learns a new epoch or ISR.
   * Returns the role change, if any, for the caller to log.
   */
  applyInfo(info: PartitionInfo): PartitionRole | undefined {
    const previous = this.currentRole;
    this.info = info;
    const next: PartitionRole = info.leader === this.options.brokerId ? 'leader' : info.replicas.includes(this.options.brokerId) ? 'follower' : 'none';
    this.currentRole = next;
    if (next === 'leader') {
      // Taking over: what the log recovered may lie above its high-watermark checkpoint (after a crash, everything
      // since the last checkpoint); as in Kafka, a leader whose ISR is itself alone commits all of it at once.
      this.maybeIncrementHighWatermark();
    } else if (previous === 'leader') {
      this.failParkedProduces(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.options.brokerId} is no longer the leader`);
      this.wakeFetches();
    }
    if (next === 'leader' && previous === 'leader') this.checkParkedAgainstIsr();
    return next === previous ? undefined : next;
  }

  /** Stops serving: parked requests answer at once. */
  close(): void {
    this.currentRole = 'none';
    this.failParkedProduces(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, 'the broker is stopping');
    this.wakeFetches();
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
    let appended;
    try {
      appended = await log.append(bytes, this.info.leaderEpoch);
    } catch (err) {
      if (err instanceof BatchRejection) return fail(err.kafkaCode, err.message, [...err.recordErrors]);
      if (err instanceof SluiceError && err.kafkaCode !== -1) return fail(err.kafkaCode, err.message);
      this.logger.error({ err }, 'append failed');
      return fail(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'the broker could not write to its log');
    }
    this.options.metrics.recordsIn.inc(appended.lastOffset - appended.baseOffset + 1);
    this.options.metrics.bytesIn.inc(bytes.length);
    this.maybeIncrementHighWatermark();
    const done: PartitionProduceResult = {
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      baseOffset: appended.baseOffset,
      logAppendTimeMs: appended.logAppendTimeMs,
      logStartOffset: log.logStartOffset,
    };
    if (acks !== -1 || log.highWatermark > appended.lastOffset) return done;
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
   * The high watermark is the smallest log end over the in-sync replicas. Replication is not built yet, so the ISR
   * is the leader alone and the high watermark is the leader's log end; the seam for followers' positions is here.
   */
  private maybeIncrementHighWatermark(): void {
    if (this.currentRole !== 'leader') return;
    const before = this.log.highWatermark;
    this.log.setHighWatermark(this.log.logEndOffset);
    if (this.log.highWatermark === before) return;
    this.completeParkedProduces();
    this.wakeFetches();
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

  /** Counts bytes handed to a fetcher. */
  countOut(bytes: Buffer): void {
    if (bytes.length > 0) this.options.metrics.bytesOut.inc(bytes.length);
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

/** Resolves when any of the partitions has new data, `signal` fires, or after `ms` (one timer per wait, not per record). */
export function untilNewData(partitions: ReadonlyArray<Partition | undefined>, ms: number, cancelled?: { onCancel(wake: () => void): () => void }): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const cancel of cancels) cancel?.();
      stopListening?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const cancels = partitions.map((p) => p?.onNewData(done));
    const stopListening = cancelled?.onCancel(done);
  });
}
