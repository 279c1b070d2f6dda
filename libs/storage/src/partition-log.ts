// The partition log: an ordered list of segments on disk holding RecordBatch v2 bytes exactly as produced,
// with offsets stamped by the leader. A simple, correct first engine (Kafka's UnifiedLog in spirit).
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BatchField,
  crc32c,
  kafkaError,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  SluiceError,
  stampBatches,
  validateBatches,
  type BatchesSummary,
} from '@sluice/protocol';

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  flushMessages: number;
  flushMs: number;
  maxBatchBytes: number;
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
};

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  maxTimestamp: number;
}

interface PendingAppend {
  bytes: Buffer;
  /** What validation learnt of the batches, so the write path does not walk them again. */
  summary: BatchesSummary;
  leaderEpoch: number;
  follower: boolean;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** Most bytes one writev carries. */
const MAX_WRITE_GROUP_BYTES = 8 * 1024 * 1024;

export interface ReadResult {
  bytes: Buffer;
}

const SCAN_CHUNK = 1024 * 1024;

function segmentName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** One segment file with a sparse in-memory offset index (offset → file position) and its largest timestamp. */
class LogSegment {
  readonly indexOffsets: number[] = [];
  readonly indexPositions: number[] = [];
  size = 0;
  maxTimestamp = -1;
  /** Offset after the last batch in this segment. */
  nextOffset: number;
  private bytesSinceIndex = Number.MAX_SAFE_INTEGER;
  handle: FileHandle | undefined;
  readonly createdAt = Date.now();

  constructor(
    readonly path: string,
    readonly baseOffset: number,
  ) {
    this.nextOffset = baseOffset;
  }

  /** Records a batch that starts at `position`. */
  track(baseOffset: number, lastOffset: number, position: number, size: number, maxTimestamp: number, interval: number): void {
    if (this.bytesSinceIndex >= interval) {
      this.indexOffsets.push(baseOffset);
      this.indexPositions.push(position);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
    this.size = position + size;
    this.nextOffset = lastOffset + 1;
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
  }

  /** File position of the last indexed batch at or before `offset`. */
  floorPosition(offset: number): number {
    let lo = 0;
    let hi = this.indexOffsets.length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.indexOffsets[mid] <= offset) {
        best = this.indexPositions[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  async fileHandle(): Promise<FileHandle> {
    this.handle ??= await open(this.path, 'a+');
    return this.handle;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

interface ScannedBatch {
  baseOffset: number;
  lastOffset: number;
  position: number;
  size: number;
  maxTimestamp: number;
}

/** Reads the batch headers of a segment from `from`, calling `visit`; stops at a torn or (with checkCrc) corrupt batch. */
async function scanSegment(handle: FileHandle, fileSize: number, from: number, checkCrc: boolean, visit: (b: ScannedBatch) => boolean | void): Promise<number> {
  let position = from;
  let chunk = Buffer.alloc(0);
  let chunkStart = 0;
  while (position + RECORD_BATCH_HEADER_SIZE <= fileSize) {
    if (position + RECORD_BATCH_HEADER_SIZE > chunkStart + chunk.length) {
      const len = Math.min(SCAN_CHUNK, fileSize - position);
      chunk = Buffer.allocUnsafe(len);
      await handle.read(chunk, 0, len, position);
      chunkStart = position;
    }
    const at = position - chunkStart;
    const batchLength = chunk.readInt32BE(at + BatchField.batchLength);
    const size = batchLength + LOG_OVERHEAD;
    if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD || position + size > fileSize || chunk.readInt8(at + BatchField.magic) !== 2) break;
    if (checkCrc) {
      const whole = Buffer.allocUnsafe(size);
      await handle.read(whole, 0, size, position);
      if (crc32c(whole.subarray(BatchField.attributes)) !== whole.readUInt32BE(BatchField.crc)) break;
    }
    const baseOffset = Number(chunk.readBigInt64BE(at + BatchField.baseOffset));
    const lastOffset = baseOffset + chunk.readInt32BE(at + BatchField.lastOffsetDelta);
    const maxTimestamp = Number(chunk.readBigInt64BE(at + BatchField.maxTimestamp));
    if (visit({ baseOffset, lastOffset, position, size, maxTimestamp }) === false) return position;
    position += size;
  }
  return position;
}

export class PartitionLog {
  private segments: LogSegment[] = [];
  private config: LogConfig;
  private tail: Promise<unknown> = Promise.resolve();
  private hw = 0;
  private startOffset = 0;
  private unflushed = 0;
  private readonly pending: PendingAppend[] = [];
  private draining = false;
  private lastFlush = Date.now();
  private closed = false;

  private constructor(
    readonly dir: string,
    config: Partial<LogConfig>,
  ) {
    this.config = { ...defaultLogConfig, ...config };
  }

  static async open(dir: string, config: Partial<LogConfig> = {}): Promise<PartitionLog> {
    const log = new PartitionLog(dir, config);
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

  setHighWatermark(offset: number): void {
    this.hw = Math.max(this.startOffset, Math.min(offset, this.logEndOffset));
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    const clean = await stat(join(this.dir, '.clean-shutdown')).then(() => true, () => false);
    await unlink(join(this.dir, '.clean-shutdown')).catch(() => undefined);
    for (let i = 0; i < names.length; i++) {
      const segment = new LogSegment(join(this.dir, names[i]), Number(names[i].slice(0, 20)));
      const handle = await open(segment.path, 'r+');
      const { size } = await handle.stat();
      const isLast = i === names.length - 1;
      const end = await scanSegment(handle, size, 0, isLast && !clean, (b) =>
        segment.track(b.baseOffset, b.lastOffset, b.position, b.size, b.maxTimestamp, this.config.indexIntervalBytes),
      );
      if (end < size) await handle.truncate(end);
      await handle.close();
      this.segments.push(segment);
    }
    if (this.segments.length === 0) await this.roll(0);
    this.startOffset = Math.max(this.segments[0].baseOffset, await this.readCheckpoint('log-start-offset'));
    this.startOffset = Math.min(this.startOffset, this.logEndOffset);
    this.setHighWatermark(await this.readCheckpoint('highwatermark'));
  }

  private async readCheckpoint(name: string): Promise<number> {
    const text = await readFile(join(this.dir, name), 'utf8').catch(() => '0');
    const n = Number(text.trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  private async writeCheckpoint(name: string, value: number): Promise<void> {
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, `${value}\n`);
    await rename(`${path}.tmp`, path);
  }

  private async roll(baseOffset: number): Promise<void> {
    const previous = this.segments[this.segments.length - 1];
    if (previous) {
      await previous.handle?.datasync();
      await previous.close();
    }
    const segment = new LogSegment(join(this.dir, segmentName(baseOffset)), baseOffset);
    await (await segment.fileHandle()).sync();
    this.segments.push(segment);
  }

  /** Serialises operations that change the log, in call order. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  append(bytes: Buffer, leaderEpoch: number): Promise<AppendResult> {
    const summary = validateBatches(bytes, this.config.maxBatchBytes);
    if (summary instanceof SluiceError) return Promise.reject(summary);
    return this.enqueue({ bytes, summary, leaderEpoch, follower: false });
  }

  /** Appends batches that already carry their offsets (a follower copying its leader). */
  appendAsFollower(bytes: Buffer): Promise<AppendResult> {
    const summary = validateBatches(bytes, Number.MAX_SAFE_INTEGER);
    if (summary instanceof SluiceError) return Promise.reject(summary);
    return this.enqueue({ bytes, summary, leaderEpoch: -1, follower: true });
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
    const flushBuffers = async (): Promise<void> => {
      if (buffers.length === 0) return;
      const handle = await segment.fileHandle();
      await handle.writev(buffers, segment.size);
      for (const b of buffers) this.track(segment, b);
      buffers.length = 0;
    };
    for (const item of group) {
      const baseOffset = item.follower ? Number(item.bytes.readBigInt64BE(BatchField.baseOffset)) : nextOffset;
      if (baseOffset !== nextOffset) {
        item.reject(kafkaError('OFFSET_OUT_OF_RANGE', `batch starts at ${baseOffset}, log ends at ${nextOffset}`));
        continue;
      }
      const tooBig = position > 0 && position + item.bytes.length > this.config.segmentBytes;
      const tooOld = position > 0 && Date.now() - segment.createdAt > this.config.segmentMs;
      if (tooBig || tooOld) {
        await flushBuffers();
        await this.roll(baseOffset);
        segment = this.active;
        position = 0;
      }
      if (!item.follower) stampBatches(item.bytes, baseOffset, item.leaderEpoch);
      nextOffset = baseOffset + item.summary.offsetCount;
      buffers.push(item.bytes);
      position += item.bytes.length;
      done.push({ item, result: { baseOffset, lastOffset: nextOffset - 1, logAppendTimeMs: -1, maxTimestamp: item.summary.maxTimestamp } });
    }
    await flushBuffers();
    for (const { result } of done) this.unflushed += result.lastOffset - result.baseOffset + 1;
    if (this.unflushed >= this.config.flushMessages || Date.now() - this.lastFlush >= this.config.flushMs) {
      await segment.handle?.datasync();
      this.unflushed = 0;
      this.lastFlush = Date.now();
    }
    for (const { item, result } of done) item.resolve(result);
  }

  /** Indexes the batches of a buffer just written at the end of `segment`. */
  private track(segment: LogSegment, bytes: Buffer): void {
    let at = 0;
    const start = segment.size;
    while (at < bytes.length) {
      const size = bytes.readInt32BE(at + BatchField.batchLength) + LOG_OVERHEAD;
      const base = Number(bytes.readBigInt64BE(at + BatchField.baseOffset));
      const last = base + bytes.readInt32BE(at + BatchField.lastOffsetDelta);
      const ts = Number(bytes.readBigInt64BE(at + BatchField.maxTimestamp));
      segment.track(base, last, start + at, size, ts, this.config.indexIntervalBytes);
      at += size;
    }
  }

  private segmentFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid].baseOffset <= offset) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  async read(fromOffset: number, maxBytes: number, upTo: number = this.logEndOffset): Promise<ReadResult> {
    if (fromOffset < this.startOffset || fromOffset > this.logEndOffset) {
      throw kafkaError('OFFSET_OUT_OF_RANGE', `offset ${fromOffset} is outside ${this.startOffset}..${this.logEndOffset}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (let i = this.segmentFor(fromOffset); i < this.segments.length && total < maxBytes; i++) {
      const segment = this.segments[i];
      if (segment.size === 0) continue;
      const handle = segment.handle ?? (await open(segment.path, 'r'));
      try {
        let start = -1;
        let end = -1;
        const size = segment.size;
        await scanSegment(handle, size, i === this.segmentFor(fromOffset) ? segment.floorPosition(fromOffset) : 0, false, (b) => {
          if (b.baseOffset >= upTo) return false;
          if (b.lastOffset < fromOffset) return;
          if (start < 0) start = b.position;
          if (total + (b.position + b.size - start) > maxBytes && (total > 0 || end > start)) return false;
          end = b.position + b.size;
        });
        if (start >= 0 && end > start) {
          const buf = Buffer.allocUnsafe(end - start);
          await handle.read(buf, 0, buf.length, start);
          chunks.push(buf);
          total += buf.length;
        }
        if (end < 0 || end < size) break;
      } finally {
        if (handle !== segment.handle) await handle.close();
      }
    }
    return { bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total) };
  }

  async offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    for (const segment of this.segments) {
      if (segment.size === 0 || segment.maxTimestamp < timestamp) continue;
      const handle = segment.handle ?? (await open(segment.path, 'r'));
      let found: { offset: number; timestamp: number } | null = null;
      try {
        await scanSegment(handle, segment.size, 0, false, (b) => {
          if (b.maxTimestamp >= timestamp && b.lastOffset >= this.startOffset) {
            found = { offset: Math.max(b.baseOffset, this.startOffset), timestamp: b.maxTimestamp };
            return false;
          }
        });
      } finally {
        if (handle !== segment.handle) await handle.close();
      }
      if (found) return found;
    }
    return null;
  }

  truncateTo(offset: number): Promise<void> {
    return this.exclusive(async () => {
      if (offset >= this.logEndOffset) return;
      while (this.segments.length > 1 && this.active.baseOffset >= offset) {
        const s = this.segments.pop();
        if (!s) break;
        await s.close();
        await rm(s.path, { force: true });
      }
      const segment = this.active;
      const handle = await segment.fileHandle();
      const rebuilt = new LogSegment(segment.path, segment.baseOffset);
      rebuilt.handle = handle;
      const end = await scanSegment(handle, segment.size, 0, false, (b) => {
        if (b.baseOffset >= offset) return false;
        rebuilt.track(b.baseOffset, b.lastOffset, b.position, b.size, b.maxTimestamp, this.config.indexIntervalBytes);
      });
      await handle.truncate(end);
      this.segments[this.segments.length - 1] = rebuilt;
      this.startOffset = Math.min(this.startOffset, this.logEndOffset);
      this.setHighWatermark(this.hw);
    });
  }

  deleteRecordsBefore(offset: number): Promise<void> {
    return this.exclusive(async () => {
      if (offset <= this.startOffset) return;
      this.startOffset = Math.min(offset, this.logEndOffset);
      while (this.segments.length > 1 && this.segments[1].baseOffset <= this.startOffset) {
        const s = this.segments.shift();
        if (!s) break;
        await s.close();
        await rm(s.path, { force: true });
      }
      this.setHighWatermark(this.hw);
      await this.writeCheckpoint('log-start-offset', this.startOffset);
    });
  }

  /** Deletes closed segments past retention.ms (by their largest timestamp) or beyond retention.bytes. */
  applyRetention(nowMs: number): Promise<number> {
    return this.exclusive(async () => {
      let deleted = 0;
      let total = this.size;
      while (this.segments.length > 1) {
        const oldest = this.segments[0];
        const expired = this.config.retentionMs >= 0 && oldest.maxTimestamp >= 0 && nowMs - oldest.maxTimestamp > this.config.retentionMs;
        const oversize = this.config.retentionBytes >= 0 && total - oldest.size >= this.config.retentionBytes;
        if (!expired && !oversize) break;
        this.segments.shift();
        total -= oldest.size;
        await oldest.close();
        await rm(oldest.path, { force: true });
        deleted++;
      }
      if (deleted > 0) {
        this.startOffset = Math.max(this.startOffset, this.segments[0].baseOffset);
        this.setHighWatermark(this.hw);
        await this.writeCheckpoint('log-start-offset', this.startOffset);
      }
      return deleted;
    });
  }

  flush(): Promise<void> {
    return this.exclusive(async () => {
      await this.active.handle?.datasync();
      this.unflushed = 0;
      this.lastFlush = Date.now();
      await this.writeCheckpoint('highwatermark', this.hw);
    });
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.active.handle?.datasync();
      for (const s of this.segments) await s.close();
      await this.writeCheckpoint('highwatermark', this.hw);
      await this.writeCheckpoint('log-start-offset', this.startOffset);
      await writeFile(join(this.dir, '.clean-shutdown'), '');
    });
  }

  async delete(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
