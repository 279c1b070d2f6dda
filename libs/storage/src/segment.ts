// One segment of a partition log: a file of whole RecordBatch v2 batches named by its base offset, with its sparse
// offset and time indexes, and a cursor that walks batch headers through a read window.
import { readFile, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { BatchField, crc32c, LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE } from '@sluice/protocol';
import { writeFileAtomically } from './atomic-file.js';
import { OffsetIndex, TimeIndex } from './indexes.js';
import type { PooledFile } from './file-pool.js';

export function segmentFileName(baseOffset: number, suffix = '.log'): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

export class LogSegment implements PooledFile {
  size = 0;
  /** Offset after the last batch. */
  nextOffset: number;
  maxTimestamp = -1;
  private maxTimestampOffset: number;
  /** Null until loaded (closed segments load their indexes on first use). */
  offsetIndex: OffsetIndex | null = null;
  timeIndex: TimeIndex | null = null;
  private bytesSinceIndex = Number.MAX_SAFE_INTEGER;
  readonly createdAt = Date.now();

  constructor(
    readonly path: string,
    readonly baseOffset: number,
  ) {
    this.nextOffset = baseOffset;
    this.maxTimestampOffset = baseOffset;
  }

  get indexPath(): string {
    return this.path.replace(/\.log$/, '.index');
  }
  get timeIndexPath(): string {
    return this.path.replace(/\.log$/, '.timeindex');
  }

  /** Starts empty indexes (a new segment, or one about to be rebuilt by scanning). */
  resetIndexes(): void {
    this.offsetIndex = new OffsetIndex(this.baseOffset);
    this.timeIndex = new TimeIndex(this.baseOffset);
    this.bytesSinceIndex = Number.MAX_SAFE_INTEGER;
    this.size = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.maxTimestampOffset = this.baseOffset;
  }

  /** Records a batch written at `position`, adding index entries every `interval` bytes. */
  track(b: BatchInfo, interval: number): void {
    if (b.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = b.maxTimestamp;
      this.maxTimestampOffset = b.baseOffset;
    }
    if (this.bytesSinceIndex >= interval) {
      this.offsetIndex?.append(b.baseOffset, b.position);
      this.timeIndex?.maybeAppend(this.maxTimestamp, this.maxTimestampOffset);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += b.size;
    this.size = b.position + b.size;
    this.nextOffset = b.lastOffset + 1;
  }

  /** Writes both index files (each atomically), with a last time-index entry for the segment's largest timestamp. */
  async writeIndexes(): Promise<void> {
    if (!this.offsetIndex || !this.timeIndex) return;
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.maxTimestampOffset);
    await writeFileAtomically(this.indexPath, this.offsetIndex.toBuffer());
    await writeFileAtomically(this.timeIndexPath, this.timeIndex.toBuffer());
  }

  /** Loads the index files; false when either is missing or fails its checks. */
  async readIndexes(): Promise<boolean> {
    const [offsets, times] = await Promise.all([readFile(this.indexPath).catch(() => null), readFile(this.timeIndexPath).catch(() => null)]);
    if (!offsets || !times) return false;
    const offsetIndex = OffsetIndex.fromBuffer(offsets, this.baseOffset, this.size);
    const timeIndex = TimeIndex.fromBuffer(times, this.baseOffset);
    if (!offsetIndex || !timeIndex || (this.size > 0 && offsetIndex.length === 0)) return false;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.maxTimestamp = timeIndex.lastTimestamp;
    // Tracking resumes (after a clean shutdown) with the batch of the last entry, which is indexed already.
    this.bytesSinceIndex = 0;
    return true;
  }

  async removeIndexFiles(): Promise<void> {
    await Promise.all([rm(this.indexPath, { force: true }), rm(this.timeIndexPath, { force: true })]);
  }

  /** Removes the segment's files. */
  async removeFiles(): Promise<void> {
    await Promise.all([rm(this.path, { force: true }), this.removeIndexFiles()]);
  }
}

export interface BatchInfo {
  baseOffset: number;
  lastOffset: number;
  position: number;
  size: number;
  maxTimestamp: number;
  leaderEpoch: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Walks the batches of a segment file from a position, reading through a window of `windowSize` bytes (one read
 * covers many batches). Stops at the limit or at the first batch whose header is not sane (`torn` is then set).
 */
export class BatchCursor {
  private window = EMPTY;
  private windowStart = 0;
  torn = false;

  constructor(
    private readonly handle: FileHandle,
    public position: number,
    private limit: number,
    private readonly windowSize: number,
  ) {}

  async next(): Promise<BatchInfo | null> {
    if (this.position + RECORD_BATCH_HEADER_SIZE > this.limit || !(await this.ensure(this.position, RECORD_BATCH_HEADER_SIZE))) {
      this.torn = this.position < this.limit;
      return null;
    }
    const w = this.window;
    const at = this.position - this.windowStart;
    const batchLength = w.readInt32BE(at + BatchField.batchLength);
    const size = batchLength + LOG_OVERHEAD;
    const lastOffsetDelta = w.readInt32BE(at + BatchField.lastOffsetDelta);
    if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD || this.position + size > this.limit || w.readInt8(at + BatchField.magic) !== 2 || lastOffsetDelta < 0) {
      this.torn = true;
      return null;
    }
    const baseOffset = Number(w.readBigInt64BE(at + BatchField.baseOffset));
    return {
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      position: this.position,
      size,
      maxTimestamp: Number(w.readBigInt64BE(at + BatchField.maxTimestamp)),
      leaderEpoch: w.readInt32BE(at + BatchField.partitionLeaderEpoch),
    };
  }

  /** The whole batch (a view of the window); null if the file ended early (it was truncated meanwhile). */
  async bytes(b: BatchInfo): Promise<Buffer | null> {
    if (!(await this.ensure(b.position, b.size))) return null;
    const at = b.position - this.windowStart;
    return this.window.subarray(at, at + b.size);
  }

  advance(b: BatchInfo): void {
    this.position = b.position + b.size;
  }

  private async ensure(position: number, length: number): Promise<boolean> {
    if (position >= this.windowStart && position + length <= this.windowStart + this.window.length) return true;
    const len = Math.min(this.limit - position, Math.max(length, this.windowSize));
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await this.handle.read(buf, 0, len, position);
    this.window = bytesRead < len ? buf.subarray(0, bytesRead) : buf;
    this.windowStart = position;
    if (bytesRead < len) this.limit = position + bytesRead;
    return bytesRead >= length;
  }
}

const SCAN_WINDOW = 1024 * 1024;

/**
 * Visits the batches of a segment file from `from` to `limit`; with `crc` (or `withBytes`) each visit also gets the
 * batch's bytes, and with `crc` a batch failing its CRC-32C ends the scan as torn. `visit` returning false stops.
 * Returns where the scan ended and whether it ended at a bad batch.
 */
export async function scanBatches(
  handle: FileHandle,
  from: number,
  limit: number,
  options: { crc?: boolean; withBytes?: boolean },
  visit: (b: BatchInfo, bytes: Buffer | null) => boolean | void | Promise<boolean | void>,
): Promise<{ end: number; torn: boolean }> {
  const cursor = new BatchCursor(handle, from, limit, SCAN_WINDOW);
  for (;;) {
    const b = await cursor.next();
    if (!b) return { end: cursor.position, torn: cursor.torn };
    let bytes: Buffer | null = null;
    if (options.crc || options.withBytes) {
      bytes = await cursor.bytes(b);
      if (!bytes) return { end: cursor.position, torn: true };
      if (options.crc && crc32c(bytes.subarray(BatchField.attributes)) !== bytes.readUInt32BE(BatchField.crc)) return { end: cursor.position, torn: true };
    }
    const verdict = visit(b, bytes);
    if ((verdict instanceof Promise ? await verdict : verdict) === false) return { end: cursor.position, torn: false };
    cursor.advance(b);
  }
}
