// The partition log: an ordered list of segments on disk holding RecordBatch v2 bytes exactly as produced, with
// offsets stamped by the leader (Kafka's UnifiedLog and LocalLog in one). See README.md for its guarantees.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatchField, decodeRecords, forEachBatch, kafkaError, LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE, recompressBatches, SluiceError, stampBatches, validateBatches, type BatchesSummary, type CompressionType } from '@sluice/protocol';
import { defaultFilePool, FileRetiredError, type FilePool } from './file-pool.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { producerBatchAt, ProducerState, type ProducerBatch } from './producer-state.js';
import { compactSegments, finishInterruptedSwaps, removeSwappedOut, swapFiles, type CompactionResult } from './log-compaction.js';
import { CLEAN_MARKER, loadIndexes, openSegments, readCheckpoint, rebuildEpochs, replayProducerState, writeCheckpoint, type CheckpointName } from './log-loader.js';
import { BatchCursor, LogSegment, scanBatches, segmentFileName, type BatchInfo } from './segment.js';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  flushMessages: number;
  flushMs: number;
  maxBatchBytes: number;
  cleanupPolicy: CleanupPolicy;
  deleteRetentionMs: number;
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: a segment holding a record younger than this is not compacted (nor any after it). */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a dirty segment whose records are all older than this is compacted whatever the dirty ratio. */
  maxCompactionLagMs: number;
  /** How long a producer id's state is kept after its last batch (Kafka's producer.id.expiration.ms). */
  producerIdExpirationMs: number;
  /** compression.type: the codec batches are stored in; producer keeps the producer's. */
  compressionType: 'producer' | CompressionType;
  /** message.timestamp.type: CreateTime keeps the producer's timestamps, LogAppendTime stamps the append time. */
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  /** message.timestamp.before.max.ms / after.max.ms: how far behind / ahead of now a CreateTime timestamp may be. */
  messageTimestampBeforeMaxMs: number;
  messageTimestampAfterMaxMs: number;
}

export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: Number.MAX_SAFE_INTEGER,
  maxBatchBytes: 1024 * 1024 + 12,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 3600 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  producerIdExpirationMs: 24 * 3600 * 1000,
  compressionType: 'producer',
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  // Kafka 4's default: a timestamp more than an hour ahead is refused.
  messageTimestampAfterMaxMs: 3600 * 1000,
};

export interface LogOptions {
  /** The pool of open files this log shares with others (a process-wide default otherwise). */
  files?: FilePool;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  maxTimestamp: number;
}

export interface ReadResult {
  bytes: Buffer;
}


interface PendingAppend {
  bytes: Buffer;
  /** What validation learnt of the batches, so the write path does not walk them again. */
  summary: BatchesSummary;
  leaderEpoch: number;
  follower: boolean;
  /** The append time stamped into the batches (LogAppendTime), -1 otherwise. */
  logAppendTimeMs: number;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** Most bytes one writev carries. */
const MAX_WRITE_GROUP_BYTES = 8 * 1024 * 1024;

function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid].baseOffset <= offset) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** Appends `bytes` to the last chunk when they follow it in memory (the same read window), else as a new chunk. */
function pushChunk(chunks: Buffer[], bytes: Buffer): void {
  const last = chunks[chunks.length - 1];
  if (last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
    chunks[chunks.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
  } else chunks.push(bytes);
}

export class PartitionLog {
  /** Replaced, never mutated, so a read holding the previous list stays consistent. */
  private segments: LogSegment[] = [];
  private config: LogConfig;
  private readonly files: FilePool;
  private epochs!: LeaderEpochCache;
  private tail: Promise<unknown> = Promise.resolve();
  private hw = 0;
  /** The value in the `highwatermark` checkpoint file (as read at open, or last written). */
  private checkpointedHw = 0;
  private startOffset = 0;
  private firstDirtyOffset = 0;
  private unflushed = 0;
  private readonly pending: PendingAppend[] = [];
  private draining = false;
  private cleaning = false;
  private lastFlush = Date.now();
  private closed = false;
  /**
   * Whether anything changed since a clean open: an unchanged log closes by writing its clean marker alone (a broker
   * with thousands of idle partitions used to rewrite and sync every one of them at each shutdown).
   */
  private dirty = false;
  /** Idempotent producers' sequence numbers (see producer-state.ts). */
  private readonly producers = new ProducerState();

  private constructor(
    readonly dir: string,
    config: Partial<LogConfig>,
    options: LogOptions,
  ) {
    this.config = { ...defaultLogConfig, ...config };
    this.files = options.files ?? defaultFilePool;
  }

  static async open(dir: string, config: Partial<LogConfig> = {}, options: LogOptions = {}): Promise<PartitionLog> {
    const log = new PartitionLog(dir, config, options);
    await log.load();
    return log;
  }

  updateConfig(config: Partial<LogConfig>): void {
    this.config = { ...this.config, ...config };
  }

  get logStartOffset(): number {
    return this.startOffset;
  }
  get logEndOffset(): number {
    return this.active.nextOffset;
  }
  get highWatermark(): number {
    return this.hw;
  }
  get size(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  /**
   * Moves the high watermark (clamped to the log's bounds). It is the replica's business, not the log's: the leader
   * sets it as its in-sync replicas acknowledge (see broker-service), and it is kept in memory; `checkpointHighWatermark`
   * (run periodically by the broker), `flush` and `close` write it to the `highwatermark` checkpoint.
   */
  setHighWatermark(offset: number): void {
    this.hw = Math.max(this.startOffset, Math.min(offset, this.logEndOffset));
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  // ---- opening and recovery ----

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await finishInterruptedSwaps(this.dir);
    const { segments, clean } = await openSegments(this.dir, this.files, this.config.indexIntervalBytes);
    this.segments = segments;
    if (segments.length === 0) await this.roll(0);
    this.startOffset = Math.min(Math.max(this.segments[0].baseOffset, await readCheckpoint(this.dir, 'log-start-offset')), this.logEndOffset);
    // The checkpoint lags behind the high watermark (it is written periodically): records above it are on disk but
    // not yet known to be committed, until the leader decides (a leader that is its own ISR moves it to the log end).
    this.checkpointedHw = await readCheckpoint(this.dir, 'highwatermark');
    this.setHighWatermark(this.checkpointedHw);
    this.firstDirtyOffset = Math.max(this.startOffset, await readCheckpoint(this.dir, 'cleaner-offset-checkpoint'));
    const { cache, found } = await LeaderEpochCache.load(this.dir);
    this.epochs = cache;
    if (!found && this.logEndOffset > this.startOffset) await rebuildEpochs(this.segments, this.files, this.epochs, this.startOffset);
    await this.epochs.truncateFromEnd(this.logEndOffset);
    await this.loadProducerState();
    this.dirty = !clean && this.logEndOffset > 0;
  }

  /** Producer state as of the log end: see replayProducerState. */
  private loadProducerState(): Promise<void> {
    return replayProducerState(this.dir, this.segments, this.files, this.producers, this.logEndOffset);
  }

  private loadIndexes(segment: LogSegment): Promise<void> {
    return loadIndexes(segment, this.files, this.config.indexIntervalBytes);
  }

  private writeCheckpoint(name: CheckpointName, value: number): Promise<void> {
    return writeCheckpoint(this.dir, name, value);
  }

  private async writeHighWatermarkCheckpoint(): Promise<void> {
    await this.writeCheckpoint('highwatermark', this.hw);
    this.checkpointedHw = this.hw;
  }

  // ---- appending ----

  private async roll(baseOffset: number): Promise<void> {
    this.dirty = true;
    const previous = this.segments[this.segments.length - 1] as LogSegment | undefined;
    if (previous) {
      await this.files.use(previous, (handle) => handle.datasync());
      await previous.writeIndexes();
      await this.producers.writeSnapshot(this.dir, baseOffset);
    }
    this.segments = [...this.segments, await this.createSegment(baseOffset)];
  }

  /** An empty segment file at `baseOffset`, without index files. */
  private async createSegment(baseOffset: number): Promise<LogSegment> {
    const segment = new LogSegment(join(this.dir, segmentFileName(baseOffset)), baseOffset);
    await writeFile(segment.path, '');
    await segment.removeIndexFiles();
    segment.resetIndexes();
    return segment;
  }

  /** Serialises operations that change the log, in call order. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * Appends a producer's batches: checked as Kafka's leader checks them (every record decodes, counts, codecs,
   * timestamps; a compacted topic needs keys; see validateBatches), so nothing is stored that a reader cannot read.
   * A refusal is a BatchRejection, naming the records at fault where there are some.
   */
  append(bytes: Buffer, leaderEpoch: number): Promise<AppendResult> {
    const c = this.config;
    const now = Date.now();
    const logAppendTime = c.messageTimestampType === 'LogAppendTime';
    const summary = validateBatches(bytes, {
      maxBatchBytes: c.maxBatchBytes,
      checkRecords: true,
      requireKeys: c.cleanupPolicy !== 'delete',
      timestampBeforeMaxMs: c.messageTimestampBeforeMaxMs,
      timestampAfterMaxMs: c.messageTimestampAfterMaxMs,
      logAppendTime,
      now,
    });
    if (summary instanceof SluiceError) return Promise.reject(summary);
    if (c.compressionType !== 'producer') {
      // compression.type: the leader stores the batches in the topic's codec (followers copy them as they are).
      let stored: Buffer;
      try {
        stored = recompressBatches(bytes, c.compressionType);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return this.enqueue({ bytes: stored, summary: { ...summary, bytes: stored.length }, leaderEpoch, follower: false, logAppendTimeMs: logAppendTime ? now : -1 });
    }
    return this.enqueue({ bytes, summary, leaderEpoch, follower: false, logAppendTimeMs: logAppendTime ? now : -1 });
  }

  /** Appends batches that already carry their offsets and leader epochs (a follower copying its leader). */
  appendAsFollower(bytes: Buffer): Promise<AppendResult> {
    const summary = validateBatches(bytes);
    if (summary instanceof SluiceError) return Promise.reject(summary);
    return this.enqueue({ bytes, summary, leaderEpoch: -1, follower: true, logAppendTimeMs: -1 });
  }

  private enqueue(item: Omit<PendingAppend, 'resolve' | 'reject'>): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ...item, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * The append pipeline: every append waiting when the previous write finishes goes out in one writev, and, when
   * the flush policy asks for it, one fdatasync covers them all (a group commit).
   */
  private async drain(): Promise<void> {
    this.draining = true;
    while (this.pending.length > 0) {
      let size = 0;
      let count = 0;
      while (count < this.pending.length && (count === 0 || size + this.pending[count].bytes.length <= MAX_WRITE_GROUP_BYTES)) {
        size += this.pending[count].bytes.length;
        count++;
      }
      const group = this.pending.splice(0, count);
      await this.exclusive(() => this.writeGroup(group)).catch((err: unknown) => {
        // Producer sequences of batches that were not written do not count.
        this.producers.discardStaged();
        for (const item of group) item.reject(err);
      });
    }
    this.draining = false;
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    if (this.closed) throw kafkaError('KAFKA_STORAGE_ERROR', 'the log is closed');
    const buffers: Buffer[] = [];
    let segment = this.active;
    let position = segment.size;
    // The log end offset counting what this group has stamped but not written yet.
    let nextOffset = segment.nextOffset;
    const done: Array<{ item: PendingAppend; result: AppendResult }> = [];
    const writeBuffers = async (): Promise<void> => {
      if (buffers.length === 0) return;
      this.dirty = true;
      const at = segment.size;
      await this.files.use(segment, (handle) => handle.writev(buffers, at));
      for (const b of buffers) this.track(segment, b);
      buffers.length = 0;
      this.producers.commitStaged();
    };
    for (const item of group) {
      const baseOffset = item.follower ? Number(item.bytes.readBigInt64BE(BatchField.baseOffset)) : nextOffset;
      if (baseOffset !== nextOffset) {
        item.reject(kafkaError('OFFSET_OUT_OF_RANGE', `batch starts at ${baseOffset}, log ends at ${nextOffset}`));
        continue;
      }
      // A follower's chunk may hold many batches (of many producers): each is recorded below, as it is written.
      const idempotent = item.follower ? { producer: null } : this.checkProducer(item);
      if (idempotent.error) {
        item.reject(idempotent.error);
        continue;
      }
      if (idempotent.duplicate) {
        done.push({ item, result: idempotent.duplicate });
        continue;
      }
      const tooBig = position > 0 && position + item.bytes.length > this.config.segmentBytes;
      const tooOld = position > 0 && Date.now() - segment.createdAt > this.config.segmentMs;
      // Index entries hold offsets relative to the segment's base in 32 bits.
      const offsetsFull = position > 0 && baseOffset + item.summary.offsetCount - segment.baseOffset > 0x7fffffff;
      if (tooBig || tooOld || offsetsFull) {
        await writeBuffers();
        await this.roll(baseOffset);
        segment = this.active;
        position = 0;
      }
      if (item.follower) {
        await this.assignFollowerEpochs(item.bytes);
        forEachBatch(item.bytes, (h, start) => {
          const producer = producerBatchAt(item.bytes, start);
          if (producer) this.producers.stage(producer, h.baseOffset, h.baseOffset + h.lastOffsetDelta);
        });
      } else {
        if (item.leaderEpoch > this.epochs.latestEpoch) await this.epochs.assign(item.leaderEpoch, baseOffset);
        stampBatches(item.bytes, baseOffset, item.leaderEpoch);
      }
      nextOffset = baseOffset + item.summary.offsetCount;
      if (idempotent.producer) this.producers.stage(idempotent.producer, baseOffset, nextOffset - 1);
      buffers.push(item.bytes);
      position += item.bytes.length;
      done.push({ item, result: { baseOffset, lastOffset: nextOffset - 1, logAppendTimeMs: item.logAppendTimeMs, maxTimestamp: item.summary.maxTimestamp } });
    }
    await writeBuffers();
    for (const { result } of done) this.unflushed += result.lastOffset - result.baseOffset + 1;
    if (this.unflushed >= this.config.flushMessages || Date.now() - this.lastFlush >= this.config.flushMs) {
      await this.files.use(segment, (handle) => handle.datasync());
      this.unflushed = 0;
      this.lastFlush = Date.now();
    }
    for (const { item, result } of done) item.resolve(result);
  }

  /** An idempotent producer's batch: append it, answer it as a retry of one already written, or refuse it. */
  private checkProducer(item: PendingAppend): { producer: ProducerBatch | null; duplicate?: AppendResult; error?: SluiceError } {
    const producer = producerBatchAt(item.bytes);
    if (!producer) return { producer: null };
    if (item.summary.batches > 1) return { producer, error: kafkaError('INVALID_RECORD', 'an idempotent produce request carries one batch per partition') };
    const verdict = this.producers.check(producer);
    if (verdict.kind === 'refused') return { producer, error: verdict.error };
    if (verdict.kind === 'duplicate') {
      return { producer, duplicate: { baseOffset: verdict.firstOffset, lastOffset: verdict.lastOffset, logAppendTimeMs: -1, maxTimestamp: item.summary.maxTimestamp } };
    }
    return { producer };
  }

  private async assignFollowerEpochs(bytes: Buffer): Promise<void> {
    const starts: Array<{ epoch: number; offset: number }> = [];
    forEachBatch(bytes, (h) => {
      if (h.partitionLeaderEpoch > (starts.at(-1)?.epoch ?? this.epochs.latestEpoch)) starts.push({ epoch: h.partitionLeaderEpoch, offset: h.baseOffset });
    });
    for (const s of starts) await this.epochs.assign(s.epoch, s.offset);
  }

  /** Indexes the batches of a buffer just written at the end of `segment`. */
  private track(segment: LogSegment, bytes: Buffer): void {
    let at = 0;
    const start = segment.size;
    while (at < bytes.length) {
      const size = bytes.readInt32BE(at + BatchField.batchLength) + LOG_OVERHEAD;
      const baseOffset = Number(bytes.readBigInt64BE(at + BatchField.baseOffset));
      segment.track(
        {
          baseOffset,
          lastOffset: baseOffset + bytes.readInt32BE(at + BatchField.lastOffsetDelta),
          position: start + at,
          size,
          maxTimestamp: Number(bytes.readBigInt64BE(at + BatchField.maxTimestamp)),
          leaderEpoch: bytes.readInt32BE(at + BatchField.partitionLeaderEpoch),
        },
        this.config.indexIntervalBytes,
      );
      at += size;
    }
  }

  // ---- reading ----

  /**
   * Whole batches from the one containing `fromOffset`, up to `maxBytes` (at least one batch) and never a batch at or
   * beyond `upTo`. One read per segment touched: the index gives the position, and the batches come from that read.
   */
  read(fromOffset: number, maxBytes: number, upTo: number = this.logEndOffset): Promise<ReadResult> {
    return this.retryingRetired(() => this.readOnce(fromOffset, maxBytes, upTo));
  }

  /**
   * Runs a read-only operation again when a segment went away under it (retention, compaction, truncation), after the
   * change that retired it has finished, so the second try sees the new segment list.
   */
  private async retryingRetired<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (!(err instanceof FileRetiredError) || attempt >= 5) throw err;
        await this.tail;
      }
    }
  }

  private async readOnce(fromOffset: number, maxBytes: number, upTo: number): Promise<ReadResult> {
    if (fromOffset < this.startOffset || fromOffset > this.logEndOffset) {
      throw kafkaError('OFFSET_OUT_OF_RANGE', `offset ${fromOffset} is outside ${this.startOffset}..${this.logEndOffset}`);
    }
    const segments = this.segments;
    const chunks: Buffer[] = [];
    let total = 0;
    const first = segmentIndexFor(segments, fromOffset);
    for (let i = first; i < segments.length; i++) {
      const segment = segments[i];
      if (segment.baseOffset >= upTo) break;
      const limit = segment.size;
      if (limit === 0) continue;
      await this.loadIndexes(segment);
      const start = i === first ? (segment.offsetIndex?.floorPosition(fromOffset) ?? 0) : 0;
      // One read covers the budget, the batches between the index entry and the offset, and the header that ends it.
      const window = Math.max(maxBytes - total, 0) + (i === first ? this.config.indexIntervalBytes : 0) + RECORD_BATCH_HEADER_SIZE;
      const finished = await this.files.use(segment, async (handle) => {
        const cursor = new BatchCursor(handle, start, limit, window);
        for (;;) {
          const b = await cursor.next();
          if (!b) {
            if (cursor.torn) throw kafkaError('KAFKA_STORAGE_ERROR', `${segment.path} has a bad batch at byte ${cursor.position}`);
            return false;
          }
          if (b.baseOffset >= upTo) return true;
          if (b.lastOffset < fromOffset) {
            cursor.advance(b);
            continue;
          }
          if (total > 0 && total + b.size > maxBytes) return true;
          const bytes = await cursor.bytes(b);
          if (!bytes) return true;
          pushChunk(chunks, bytes);
          total += b.size;
          cursor.advance(b);
          if (total >= maxBytes) return true;
        }
      });
      if (finished) break;
    }
    return { bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total) };
  }

  /**
   * ListOffsets by time: the first record at or after the log start whose timestamp is ≥ `timestamp`, found through
   * the segments' largest timestamps, then the time and offset indexes, then the records of one batch.
   */
  offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.retryingRetired(() => this.offsetForTimestampOnce(timestamp));
  }

  private async offsetForTimestampOnce(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    const segments = this.segments;
    for (const segment of segments) {
      if (segment.size === 0 || segment.nextOffset <= this.startOffset) continue;
      await this.loadIndexes(segment);
      if (segment.maxTimestamp < timestamp) continue;
      const from = Math.max(segment.timeIndex?.scanStart(timestamp) ?? segment.baseOffset, this.startOffset);
      const position = segment.offsetIndex?.floorPosition(from) ?? 0;
      let found: { offset: number; timestamp: number } | null = null;
      await this.files.use(segment, (handle) =>
        scanBatches(handle, position, segment.size, { withBytes: true }, (b, bytes) => {
          if (b.lastOffset < this.startOffset || b.maxTimestamp < timestamp || !bytes) return;
          found = this.firstRecordAtOrAfter(bytes, b, timestamp);
          if (found) return false;
        }),
      );
      if (found) return found;
    }
    return null;
  }

  private firstRecordAtOrAfter(bytes: Buffer, b: BatchInfo, timestamp: number): { offset: number; timestamp: number } | null {
    try {
      const record = decodeRecords(bytes).find((r) => r.offset >= this.startOffset && r.timestamp >= timestamp);
      return record ? { offset: record.offset, timestamp: record.timestamp } : null;
    } catch {
      // A codec this process cannot read: answer at batch precision.
      return { offset: Math.max(b.baseOffset, this.startOffset), timestamp: b.maxTimestamp };
    }
  }

  /** ListOffsets MAX_TIMESTAMP (KIP-734): the record with the largest timestamp, the first such if several. */
  async offsetForMaxTimestamp(): Promise<{ offset: number; timestamp: number } | null> {
    let max = -1;
    for (const segment of this.segments) {
      if (segment.size === 0 || segment.nextOffset <= this.startOffset) continue;
      await this.loadIndexes(segment);
      if (segment.maxTimestamp > max) max = segment.maxTimestamp;
    }
    return max < 0 ? null : this.offsetForTimestamp(max);
  }

  /** For a follower's divergence check (OffsetsForLeaderEpoch): the end offset of `epoch` in this log. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /**
   * Records that `epoch` begins at the log end (a replica becoming leader for that epoch), as Kafka's leader does at its
   * election, so followers asking where an epoch ends get the answer before the first append of the new epoch.
   */
  beginLeaderEpoch(epoch: number): Promise<void> {
    return this.exclusive(async () => {
      if (epoch > this.epochs.latestEpoch) await this.epochs.assign(epoch, this.logEndOffset);
    });
  }

  // ---- changing the log's bounds ----

  /**
   * Empties the log and starts it at `offset` (Kafka's truncateFullyAndStartAt): a follower whose leader's log starts
   * beyond this log's end, or a replica rebuilt from nothing.
   */
  resetTo(offset: number): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) return Promise.reject(kafkaError('INVALID_REQUEST', `cannot start the log at offset ${offset}`));
    return this.exclusive(async () => {
      this.dirty = true;
      await this.truncateFullyAndStartAt(offset);
      this.firstDirtyOffset = offset;
      await this.writeCheckpoint('log-start-offset', this.startOffset);
      await this.writeCheckpoint('cleaner-offset-checkpoint', this.firstDirtyOffset);
      await this.writeHighWatermarkCheckpoint();
    });
  }

  /** Removes the segments from the list's point of view and deletes their files once no read uses them. */
  private async dropSegments(dropped: readonly LogSegment[]): Promise<void> {
    this.dirty = true;
    for (const s of dropped) {
      await this.files.retire(s);
      await s.removeFiles();
    }
  }

  /**
   * Removes every batch holding an offset at or above `offset` (a follower matching its leader's log), as Kafka's
   * UnifiedLog.truncateTo does: below the first segment the log is emptied and starts again at `offset`; otherwise the
   * batch holding `offset` and everything after it go, and the log start offset, if it was above the new log end,
   * comes down to it (Kafka: min(target, log start)). The leader-epoch cache and the producer state follow, and the
   * checkpoints are rewritten before the next append can land, so a crash cannot bring back bounds from before.
   */
  truncateTo(offset: number): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) return Promise.reject(kafkaError('INVALID_REQUEST', `cannot truncate to offset ${offset}`));
    return this.exclusive(async () => {
      if (offset >= this.logEndOffset) {
        // Nothing to remove, but an epoch this replica began at its log end (a brief leadership without records)
        // must go: the leader's history has no such epoch, and keeping it would name it again in every fetch.
        await this.epochs.truncateFromEnd(offset);
        return;
      }
      this.dirty = true;
      if (offset < this.segments[0].baseOffset) await this.truncateFullyAndStartAt(offset);
      else await this.truncateSegmentsTo(offset);
      this.startOffset = Math.min(this.startOffset, this.logEndOffset);
      this.firstDirtyOffset = Math.min(this.firstDirtyOffset, this.logEndOffset);
      this.setHighWatermark(this.hw);
      await this.writeCheckpoint('log-start-offset', this.startOffset);
      await this.writeCheckpoint('cleaner-offset-checkpoint', this.firstDirtyOffset);
      await this.writeHighWatermarkCheckpoint();
      await this.epochs.truncateFromEnd(this.logEndOffset);
      await this.loadProducerState();
    });
  }

  private async truncateSegmentsTo(offset: number): Promise<void> {
    let segments = this.segments;
    const dropped: LogSegment[] = [];
    while (segments.length > 1 && segments[segments.length - 1].baseOffset >= offset) {
      dropped.push(segments[segments.length - 1]);
      segments = segments.slice(0, -1);
    }
    const last = segments[segments.length - 1];
    const rebuilt = new LogSegment(last.path, last.baseOffset);
    rebuilt.resetIndexes();
    const scan = await this.files.use(last, (handle) =>
      scanBatches(handle, 0, last.size, {}, (b) => {
        // As in Kafka, the batch holding `offset` goes whole.
        if (b.lastOffset >= offset) return false;
        rebuilt.track(b, this.config.indexIntervalBytes);
      }),
    );
    await this.files.retire(last);
    await this.files.use(rebuilt, (handle) => handle.truncate(scan.end));
    await last.removeIndexFiles();
    this.segments = [...segments.slice(0, -1), rebuilt];
    await this.dropSegments(dropped);
  }

  /** Kafka's truncateFullyAndStartAt: every segment goes, the log starts empty at `offset`, producers and epochs are forgotten. */
  private async truncateFullyAndStartAt(offset: number): Promise<void> {
    // The new segment comes first, so the list is never empty for a read running beside this. A segment already at
    // that base (a reset to the first segment's base) is retired, then its file emptied in place.
    const dropped = this.segments;
    const sameBase = dropped.find((s) => s.baseOffset === offset);
    if (sameBase) await this.files.retire(sameBase);
    const fresh = await this.createSegment(offset);
    this.segments = [fresh];
    await this.dropSegments(dropped.filter((s) => s !== sameBase));
    await this.producers.deleteSnapshots(this.dir);
    await this.epochs.clear();
    this.startOffset = offset;
    this.hw = offset;
  }

  /** Delete-records: moves the log start offset forward; whole segments below it go. */
  deleteRecordsBefore(offset: number): Promise<void> {
    return this.exclusive(async () => {
      if (offset <= this.startOffset) return;
      await this.advanceStart(Math.min(offset, this.logEndOffset));
    });
  }

  private async advanceStart(offset: number): Promise<void> {
    this.dirty = true;
    this.startOffset = offset;
    let first = 0;
    while (first + 1 < this.segments.length && this.segments[first + 1].baseOffset <= offset) first++;
    const dropped = this.segments.slice(0, first);
    this.segments = this.segments.slice(first);
    await this.dropSegments(dropped);
    this.setHighWatermark(this.hw);
    this.firstDirtyOffset = Math.max(this.firstDirtyOffset, offset);
    await this.writeCheckpoint('log-start-offset', this.startOffset);
    await this.epochs.truncateFromStart(this.startOffset);
  }

  /**
   * With cleanup.policy delete (or compact,delete): deletes closed segments past retention.ms (by their largest
   * timestamp) and the oldest ones while the log is larger than retention.bytes. Returns how many went.
   */
  applyRetention(nowMs: number): Promise<number> {
    return this.exclusive(async () => {
      if (!this.config.cleanupPolicy.includes('delete')) return 0;
      let count = 0;
      let total = this.size;
      while (count + 1 < this.segments.length) {
        const oldest = this.segments[count];
        await this.loadIndexes(oldest);
        const expired = this.config.retentionMs >= 0 && oldest.maxTimestamp >= 0 && nowMs - oldest.maxTimestamp > this.config.retentionMs;
        const oversize = this.config.retentionBytes >= 0 && total - oldest.size >= this.config.retentionBytes;
        if (!expired && !oversize) break;
        total -= oldest.size;
        count++;
      }
      if (count > 0) await this.advanceStart(Math.max(this.startOffset, this.segments[count].baseOffset));
      this.producers.expire(nowMs, this.config.producerIdExpirationMs);
      return count;
    });
  }

  // ---- compaction ----

  /** The share of the closed segments' bytes not yet compacted. */
  get dirtyRatio(): number {
    return this.dirtyRatioOf(this.segments.slice(0, -1));
  }

  private dirtyRatioOf(segments: readonly LogSegment[]): number {
    let clean = 0;
    let dirty = 0;
    for (const s of segments) {
      if (s.nextOffset > this.firstDirtyOffset) dirty += s.size;
      else clean += s.size;
    }
    return dirty + clean === 0 ? 0 : dirty / (dirty + clean);
  }

  /**
   * The closed segments compaction may rewrite (Kafka's cleanable range): those before the first one holding a record
   * younger than min.compaction.lag.ms, by their largest timestamp (indexes loaded for segments not read since open).
   */
  private async cleanableSegments(nowMs: number): Promise<LogSegment[]> {
    const closed = this.segments.slice(0, -1);
    if (this.config.minCompactionLagMs <= 0) return closed;
    const horizon = nowMs - this.config.minCompactionLagMs;
    const out: LogSegment[] = [];
    for (const s of closed) {
      if (s.maxTimestamp < 0 && s.size > 0) await this.loadIndexes(s);
      if (s.maxTimestamp > horizon) break;
      out.push(s);
    }
    return out;
  }

  /** Whether a dirty cleanable segment has waited past max.compaction.lag.ms (all its records are older). */
  private overdue(segments: readonly LogSegment[], nowMs: number): boolean {
    const firstDirty = segments.find((s) => s.nextOffset > this.firstDirtyOffset);
    return firstDirty !== undefined && firstDirty.maxTimestamp >= 0 && nowMs - firstDirty.maxTimestamp > this.config.maxCompactionLagMs;
  }

  /**
   * With cleanup.policy compact: when the dirty ratio reaches min.cleanable.dirty.ratio (or `force`), rewrites the
   * closed segments keeping the latest record of each key. Runs beside appends and reads: the rewrite reads closed
   * segments only and swaps its result in under the log's lock. Null when there was nothing to do.
   */
  async compact(nowMs: number, force = false): Promise<CompactionResult | null> {
    if (!this.config.cleanupPolicy.includes('compact') || this.cleaning || this.closed) return null;
    this.cleaning = true;
    try {
      const closedSegments = await this.cleanableSegments(nowMs);
      if (closedSegments.length === 0) return null;
      const ratio = this.dirtyRatioOf(closedSegments);
      if (ratio === 0 || (!force && ratio < this.config.minCleanableDirtyRatio && !this.overdue(closedSegments, nowMs))) return null;
      // The cleaned part ends where the cleanable range does (the active segment, or the first too young segment).
      const dirtyEnd = closedSegments[closedSegments.length - 1].nextOffset;
      const result = await compactSegments(
        {
          files: this.files,
          closedSegments,
          firstDirtyOffset: this.firstDirtyOffset,
          logStartOffset: this.startOffset,
          segmentBytes: this.config.segmentBytes,
          deleteRetentionMs: this.config.deleteRetentionMs,
          indexIntervalBytes: this.config.indexIntervalBytes,
          swapIn: (group, cleaned, tempPath) => this.exclusive(() => this.swapIn(group, cleaned, tempPath)),
        },
        nowMs,
      );
      this.firstDirtyOffset = Math.max(this.firstDirtyOffset, dirtyEnd);
      await this.writeCheckpoint('cleaner-offset-checkpoint', this.firstDirtyOffset);
      return result;
    } finally {
      this.cleaning = false;
    }
  }

  /** A cleaned segment in place of `group` (see swapFiles), unless the log changed meanwhile. */
  private async swapIn(group: readonly LogSegment[], cleaned: LogSegment, tempPath: string): Promise<boolean> {
    const at = this.segments.indexOf(group[0]);
    if (this.closed || at < 0 || group.some((s, i) => this.segments[at + i] !== s)) {
      await rm(tempPath, { force: true });
      return false;
    }
    this.dirty = true;
    await swapFiles(group, cleaned, tempPath, this.files);
    this.segments = [...this.segments.slice(0, at), cleaned, ...this.segments.slice(at + group.length)];
    await removeSwappedOut(group);
    return true;
  }

  // ---- flushing and closing ----

  flush(): Promise<void> {
    return this.exclusive(async () => {
      await this.files.use(this.active, (handle) => handle.datasync());
      this.unflushed = 0;
      this.lastFlush = Date.now();
      await this.writeHighWatermarkCheckpoint();
    });
  }

  /**
   * Writes the high watermark to its checkpoint when it moved since the last one. The broker calls this for every
   * partition periodically, as Kafka's replica manager does (replica.high.watermark.checkpoint.interval.ms).
   */
  checkpointHighWatermark(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed || this.hw === this.checkpointedHw) return;
      await this.writeHighWatermarkCheckpoint();
    });
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      if (this.dirty) {
        await this.files.use(this.active, (handle) => handle.datasync());
        await this.active.writeIndexes();
        await this.producers.writeSnapshot(this.dir, this.logEndOffset);
      }
      for (const s of this.segments) await this.files.close(s);
      if (this.dirty || this.hw !== this.checkpointedHw) await this.writeHighWatermarkCheckpoint();
      if (this.dirty) await this.writeCheckpoint('log-start-offset', this.startOffset);
      await writeFile(join(this.dir, CLEAN_MARKER), '');
    });
  }

  async delete(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
