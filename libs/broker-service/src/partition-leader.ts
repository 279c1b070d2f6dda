// The leader replica of one partition as an actor: produce (a mailbox: appends strictly ordered), fetch with long
// polling and list-offsets (concurrent: reads need no ordering). Record batches stay bytes from request to disk to reply.
import { reply, type Actor, type Bus, type Envelope, type Reply } from '@sluice/bus';
import {
  KafkaErrorCode,
  OffsetSpec,
  PartitionVerb,
  SluiceError,
  type FetchReply,
  type FetchRequest,
  type DeleteRecordsReply,
  type DeleteRecordsRequest,
  type ListOffsetsReply,
  type ListOffsetsRequest,
  type OffsetForLeaderEpochReply,
  type OffsetForLeaderEpochRequest,
  type PartitionInfo,
  type ProduceReply,
  type ProduceRequest,
  type Subjects,
} from '@sluice/protocol';
import type { PartitionLog } from '@sluice/storage';
import type { Logger } from '@sluice/runtime';
import type { BrokerMetrics } from './broker-metrics.js';

const EMPTY = Buffer.alloc(0);

export interface PartitionLeaderOptions {
  bus: Bus;
  subjects: Subjects;
  topicId: string;
  topicName: string;
  partition: PartitionInfo;
  log: PartitionLog;
  logger: Logger;
  metrics: BrokerMetrics;
  maxFetchBytes: number;
  minInsyncReplicas: () => number;
}

interface ParkedFetch {
  wake: () => void;
}

/** Resolves at the next append to any of the leaders, or after `ms` (one timer per wait, not per record). */
export function untilAppend(leaders: ReadonlyArray<PartitionLeader | undefined>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const cancel of cancels) cancel?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const cancels = leaders.map((leader) => leader?.onAppend(done));
  });
}

export class PartitionLeader {
  private info: PartitionInfo;
  private readonly actors: Actor[];
  private readonly parked = new Set<ParkedFetch>();
  private readonly log: PartitionLog;

  constructor(private readonly options: PartitionLeaderOptions) {
    this.info = options.partition;
    this.log = options.log;
    // The ISR is the leader alone (no replication yet), so everything in its log is committed: also what a crash left
    // beyond the high-watermark checkpoint, which is only written at flush and close.
    this.log.setHighWatermark(this.log.logEndOffset);
    const { bus, subjects, topicId } = options;
    const p = options.partition.partition;
    const queue = 'leader';
    this.actors = [
      // Produce requests overlap: each is handed to the log synchronously on arrival (so in arrival order), and the
      // log's append pipeline writes all that are waiting in one writev (and one fsync when configured).
      bus.serve<ProduceRequest, ProduceReply>(
        subjects.partition(topicId, p, PartitionVerb.produce),
        async (req) => reply(await this.produce(req.meta, req.body)),
        { queue, mode: 'concurrent' },
      ),
      bus.serve<FetchRequest, FetchReply>(subjects.partition(topicId, p, PartitionVerb.fetch), (req) => this.fetch(req), {
        queue,
        mode: 'concurrent',
      }),
      bus.serve<ListOffsetsRequest, ListOffsetsReply>(subjects.partition(topicId, p, PartitionVerb.listOffsets), (req) => this.listOffsets(req), {
        queue,
        mode: 'concurrent',
      }),
      bus.serve<DeleteRecordsRequest, DeleteRecordsReply>(subjects.partition(topicId, p, PartitionVerb.deleteRecords), async (req) => reply(await this.deleteRecords(req.meta)), {
        queue,
        mode: 'concurrent',
      }),
      bus.serve<OffsetForLeaderEpochRequest, OffsetForLeaderEpochReply>(
        subjects.partition(topicId, p, PartitionVerb.offsetForLeaderEpoch),
        (req) => reply(this.offsetForLeaderEpoch(req.meta)),
        { queue, mode: 'concurrent' },
      ),
    ];
  }

  get leaderEpoch(): number {
    return this.info.leaderEpoch;
  }

  /** A new leader epoch or ISR from the controller while this broker stays leader. */
  update(info: PartitionInfo): void {
    this.info = info;
  }

  private epochError(requestEpoch: number): number {
    if (requestEpoch === -1 || requestEpoch === undefined || requestEpoch === this.info.leaderEpoch) return KafkaErrorCode.NONE;
    return requestEpoch < this.info.leaderEpoch ? KafkaErrorCode.FENCED_LEADER_EPOCH : KafkaErrorCode.UNKNOWN_LEADER_EPOCH;
  }

  /**
   * Appends the record batches of one produce request. The append is handed to the log synchronously, before the
   * first await, so requests reach the log in the order they arrive (one partition's or a whole broker's request).
   */
  async produce(meta: ProduceRequest, body: Buffer | undefined): Promise<ProduceReply> {
    const log = this.log;
    const fail = (errorCode: number, errorMessage: string): ProduceReply => ({
      errorCode,
      errorMessage,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: log.logStartOffset,
    });
    const epochError = this.epochError(meta.leaderEpoch);
    if (epochError !== KafkaErrorCode.NONE) return fail(epochError, `leader epoch ${meta.leaderEpoch} does not match ${this.info.leaderEpoch}`);
    if (!body || body.length === 0) return fail(KafkaErrorCode.CORRUPT_MESSAGE, 'produce request without record batches');
    if (meta.acks === -1 && this.info.isr.length < this.options.minInsyncReplicas()) {
      return fail(
        KafkaErrorCode.NOT_ENOUGH_REPLICAS,
        `in-sync replicas ${this.info.isr.length} below min.insync.replicas ${this.options.minInsyncReplicas()}`,
      );
    }
    let appended;
    try {
      appended = await log.append(body, this.info.leaderEpoch);
    } catch (err) {
      if (err instanceof SluiceError && err.kafkaCode !== -1) return fail(err.kafkaCode, err.message);
      this.options.logger.error({ err, topic: this.options.topicName, partition: this.info.partition }, 'append failed');
      return fail(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'the broker could not write to its log');
    }
    // Replication is not built yet: the ISR is the leader alone, so the high watermark follows the log end at once.
    log.setHighWatermark(log.logEndOffset);
    this.options.metrics.recordsIn.inc(appended.lastOffset - appended.baseOffset + 1);
    this.options.metrics.bytesIn.inc(body.length);
    this.wakeFetches();
    return {
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      baseOffset: appended.baseOffset,
      logAppendTimeMs: appended.logAppendTimeMs,
      logStartOffset: log.logStartOffset,
    };
  }

  private wakeFetches(): void {
    if (this.parked.size === 0) return;
    for (const p of this.parked) p.wake();
    this.parked.clear();
  }

  private async fetch(req: Envelope<FetchRequest>): Promise<Reply<FetchReply>> {
    const r = req.meta;
    const deadline = Date.now() + Math.max(0, Math.min(r.maxWaitMs | 0, 60_000));
    for (;;) {
      const { meta, bytes } = await this.read(r);
      const wait = deadline - Date.now();
      if (meta.errorCode !== KafkaErrorCode.NONE || bytes.length >= Math.max(1, r.minBytes) || wait <= 0) {
        this.countOut(bytes);
        return reply(meta, bytes.length > 0 ? bytes : undefined);
      }
      await untilAppend([this], wait);
    }
  }

  /** One read for a fetch, without waiting: the partition's offsets and the whole batches from `fetchOffset` on. */
  async read(r: Omit<FetchRequest, 'minBytes' | 'maxWaitMs'>): Promise<{ meta: FetchReply; bytes: Buffer }> {
    const log = this.log;
    const state = (errorCode: number, errorMessage: string | null): FetchReply => ({
      errorCode,
      errorMessage,
      highWatermark: log.highWatermark,
      lastStableOffset: log.highWatermark,
      logStartOffset: log.logStartOffset,
    });
    const epochError = this.epochError(r.leaderEpoch);
    if (epochError !== KafkaErrorCode.NONE) return { meta: state(epochError, `leader epoch ${r.leaderEpoch} does not match ${this.info.leaderEpoch}`), bytes: EMPTY };
    if (!Number.isSafeInteger(r.fetchOffset) || r.fetchOffset < log.logStartOffset || r.fetchOffset > log.logEndOffset) {
      return { meta: state(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `offset ${r.fetchOffset} is outside ${log.logStartOffset}..${log.logEndOffset}`), bytes: EMPTY };
    }
    const maxBytes = Math.min(Math.max(r.maxBytes | 0, 1), this.options.maxFetchBytes);
    const bytes = r.fetchOffset < log.highWatermark ? (await log.read(r.fetchOffset, maxBytes, log.highWatermark)).bytes : EMPTY;
    return { meta: state(KafkaErrorCode.NONE, null), bytes };
  }

  /** Counts bytes handed to a fetcher. */
  countOut(bytes: Buffer): void {
    if (bytes.length > 0) this.options.metrics.bytesOut.inc(bytes.length);
  }

  /** Calls `wake` at the next append (or when the leader stops); returns a function that cancels it. */
  onAppend(wake: () => void): () => void {
    const entry: ParkedFetch = { wake };
    this.parked.add(entry);
    return () => this.parked.delete(entry);
  }

  /** DeleteRecords: the log start moves up to the offset (the high watermark for -1); whole segments below it go. */
  private async deleteRecords(req: DeleteRecordsRequest): Promise<DeleteRecordsReply> {
    const log = this.log;
    const answer = (errorCode: number, errorMessage: string | null): DeleteRecordsReply => ({ errorCode, errorMessage, lowWatermark: log.logStartOffset });
    const epochError = this.epochError(req.leaderEpoch);
    if (epochError !== KafkaErrorCode.NONE) return answer(epochError, `leader epoch ${req.leaderEpoch} does not match ${this.info.leaderEpoch}`);
    const offset = req.offset === -1 ? log.highWatermark : req.offset;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > log.highWatermark) {
      return answer(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `offset ${req.offset} is not between 0 and the high watermark ${log.highWatermark}`);
    }
    await log.deleteRecordsBefore(offset);
    this.options.logger.info({ topic: this.options.topicName, partition: this.info.partition, logStartOffset: log.logStartOffset }, 'records deleted');
    return answer(KafkaErrorCode.NONE, null);
  }

  private offsetForLeaderEpoch(req: OffsetForLeaderEpochRequest): OffsetForLeaderEpochReply {
    const epochError = this.epochError(req.leaderEpoch);
    if (epochError !== KafkaErrorCode.NONE) return { errorCode: epochError, errorMessage: `leader epoch ${req.leaderEpoch} does not match ${this.info.leaderEpoch}`, epoch: -1, endOffset: -1 };
    const found = this.log.endOffsetForEpoch(req.epoch);
    return { errorCode: KafkaErrorCode.NONE, errorMessage: null, epoch: found.epoch, endOffset: found.endOffset };
  }

  private async listOffsets(req: Envelope<ListOffsetsRequest>): Promise<Reply<ListOffsetsReply>> {
    const log = this.log;
    const base = {
      errorCode: KafkaErrorCode.NONE as number,
      errorMessage: null as string | null,
      leaderEpoch: this.info.leaderEpoch,
      logStartOffset: log.logStartOffset,
      highWatermark: log.highWatermark,
    };
    const epochError = this.epochError(req.meta.leaderEpoch);
    if (epochError !== KafkaErrorCode.NONE) return reply({ ...base, errorCode: epochError, offset: -1, timestamp: -1 });
    const ts = req.meta.timestamp;
    if (ts === OffsetSpec.latest) return reply({ ...base, offset: log.highWatermark, timestamp: -1 });
    if (ts === OffsetSpec.earliest) return reply({ ...base, offset: log.logStartOffset, timestamp: -1 });
    if (ts === OffsetSpec.maxTimestamp) {
      const found = await log.offsetForMaxTimestamp();
      return reply({ ...base, offset: found?.offset ?? -1, timestamp: found?.timestamp ?? -1 });
    }
    if (!Number.isSafeInteger(ts) || ts < 0) {
      return reply({ ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `invalid timestamp ${ts}`, offset: -1, timestamp: -1 });
    }
    const found = await log.offsetForTimestamp(ts);
    const visible = found && found.offset < log.highWatermark ? found : undefined;
    return reply({ ...base, offset: visible?.offset ?? -1, timestamp: visible?.timestamp ?? -1 });
  }

  /** Stops serving; requests already accepted finish, parked fetches answer with what they have. */
  async stop(): Promise<void> {
    this.wakeFetches();
    await Promise.all(this.actors.map((a) => a.stop()));
  }
}
