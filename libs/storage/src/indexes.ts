// The sparse indexes of a segment, in Kafka's on-disk layout: the offset index holds (relative offset int32,
// position int32) pairs, the time index (timestamp int64, relative offset int32). Entries are added every
// index.interval.bytes of log; lookups are binary searches. Kept in growable typed arrays; written to
// `<base>.index` / `<base>.timeindex` when a segment closes, checked on load and rebuilt when they fail the check.

const OFFSET_ENTRY = 8;
const TIME_ENTRY = 12;

function grow<T extends Int32Array | Float64Array>(array: T, make: (n: number) => T): T {
  const bigger = make(Math.max(16, array.length * 2));
  bigger.set(array);
  return bigger;
}

/** Binary search: the last i < length for which `below(i)` holds (it holds for a prefix), or -1. */
function lastWhere(length: number, below: (i: number) => boolean): number {
  let lo = 0;
  let hi = length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (below(mid)) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** How many of the entries (relative offsets, ascending) are below `offset`: the length truncation keeps. */
function countBelow(relOffsets: Int32Array, length: number, rel: number): number {
  return lastWhere(length, (i) => relOffsets[i] < rel) + 1;
}

export class OffsetIndex {
  private relOffsets = new Int32Array(0);
  private positions = new Int32Array(0);
  length = 0;

  constructor(readonly baseOffset: number) {}

  append(offset: number, position: number): void {
    if (this.length > 0 && offset - this.baseOffset <= this.relOffsets[this.length - 1]) return;
    if (this.length === this.relOffsets.length) {
      this.relOffsets = grow(this.relOffsets, (n) => new Int32Array(n));
      this.positions = grow(this.positions, (n) => new Int32Array(n));
    }
    this.relOffsets[this.length] = offset - this.baseOffset;
    this.positions[this.length] = position;
    this.length++;
  }

  /** File position of the last entry at or before `offset` (0 when none). */
  floorPosition(offset: number): number {
    const rel = offset - this.baseOffset;
    const at = lastWhere(this.length, (i) => this.relOffsets[i] <= rel);
    return at < 0 ? 0 : this.positions[at];
  }

  /** Drops the entries at or after `offset`. */
  truncateTo(offset: number): void {
    this.length = countBelow(this.relOffsets, this.length, offset - this.baseOffset);
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length * OFFSET_ENTRY);
    for (let i = 0; i < this.length; i++) {
      out.writeInt32BE(this.relOffsets[i], i * OFFSET_ENTRY);
      out.writeInt32BE(this.positions[i], i * OFFSET_ENTRY + 4);
    }
    return out;
  }

  /** Reads an index file; null when it fails Kafka's sanity checks against the segment's size. */
  static fromBuffer(bytes: Buffer, baseOffset: number, segmentSize: number): OffsetIndex | null {
    if (bytes.length % OFFSET_ENTRY !== 0) return null;
    const index = new OffsetIndex(baseOffset);
    let lastRel = -1;
    let lastPos = -1;
    for (let at = 0; at < bytes.length; at += OFFSET_ENTRY) {
      const rel = bytes.readInt32BE(at);
      const pos = bytes.readInt32BE(at + 4);
      if (rel <= lastRel || pos <= lastPos || pos >= segmentSize) return null;
      index.append(baseOffset + rel, pos);
      lastRel = rel;
      lastPos = pos;
    }
    return index;
  }
}

export class TimeIndex {
  private timestamps = new Float64Array(0);
  private relOffsets = new Int32Array(0);
  length = 0;

  constructor(readonly baseOffset: number) {}

  get lastTimestamp(): number {
    return this.length === 0 ? -1 : this.timestamps[this.length - 1];
  }

  /** Adds an entry when `timestamp` is above the last one (the index holds the running maximum). */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    if (this.length === this.timestamps.length) {
      this.timestamps = grow(this.timestamps, (n) => new Float64Array(n));
      this.relOffsets = grow(this.relOffsets, (n) => new Int32Array(n));
    }
    this.timestamps[this.length] = timestamp;
    this.relOffsets[this.length] = offset - this.baseOffset;
    this.length++;
  }

  /**
   * An offset from which to scan for the first record with a timestamp ≥ `timestamp`: that of the last entry whose
   * running maximum is still below it (every record up to that entry's batch is older), or the segment's base.
   */
  scanStart(timestamp: number): number {
    const at = lastWhere(this.length, (i) => this.timestamps[i] < timestamp);
    return at < 0 ? this.baseOffset : this.baseOffset + this.relOffsets[at];
  }

  truncateTo(offset: number): void {
    this.length = countBelow(this.relOffsets, this.length, offset - this.baseOffset);
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length * TIME_ENTRY);
    for (let i = 0; i < this.length; i++) {
      out.writeBigInt64BE(BigInt(this.timestamps[i]), i * TIME_ENTRY);
      out.writeInt32BE(this.relOffsets[i], i * TIME_ENTRY + 8);
    }
    return out;
  }

  static fromBuffer(bytes: Buffer, baseOffset: number): TimeIndex | null {
    if (bytes.length % TIME_ENTRY !== 0) return null;
    const index = new TimeIndex(baseOffset);
    let lastRel = -1;
    for (let at = 0; at < bytes.length; at += TIME_ENTRY) {
      const ts = Number(bytes.readBigInt64BE(at));
      const rel = bytes.readInt32BE(at + 8);
      if (ts <= index.lastTimestamp || rel < lastRel) return null;
      index.maybeAppend(ts, baseOffset + rel);
      lastRel = rel;
    }
    return index;
  }
}
