// RecordBatch v2 (magic 2): header access, validation, offset stamping, building and decoding.
// The produce and fetch paths only touch the 61-byte header; records are decoded only where a user asks for them (HTTP reads).
import { Reader } from './binary/reader.js';
import { Writer } from './binary/writer.js';
import { Compression, compress, decompress, type CompressionType } from './compression.js';
import { crc32c } from './crc32c.js';
import { kafkaError, SluiceError } from './errors.js';
import { KafkaErrorCode, type KafkaErrorName } from './generated/kafka-error-codes.js';

/** Byte positions of the RecordBatch v2 header fields. */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

/** Size of the batch header; the records follow it. */
export const RECORD_BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;

export const TimestampType = { createTime: 0, logAppendTime: 1 } as const;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_TYPE = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the header of the batch at `pos`. The caller makes sure 61 bytes are there. */
export function readBatchHeader(bytes: Uint8Array, pos = 0): RecordBatchHeader {
  const b = asBuffer(bytes);
  return {
    baseOffset: Number(b.readBigInt64BE(pos + BatchField.baseOffset)),
    batchLength: b.readInt32BE(pos + BatchField.batchLength),
    partitionLeaderEpoch: b.readInt32BE(pos + BatchField.partitionLeaderEpoch),
    magic: b.readInt8(pos + BatchField.magic),
    crc: b.readUInt32BE(pos + BatchField.crc),
    attributes: b.readInt16BE(pos + BatchField.attributes),
    lastOffsetDelta: b.readInt32BE(pos + BatchField.lastOffsetDelta),
    baseTimestamp: Number(b.readBigInt64BE(pos + BatchField.baseTimestamp)),
    maxTimestamp: Number(b.readBigInt64BE(pos + BatchField.maxTimestamp)),
    producerId: Number(b.readBigInt64BE(pos + BatchField.producerId)),
    producerEpoch: b.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: b.readInt32BE(pos + BatchField.baseSequence),
    recordCount: b.readInt32BE(pos + BatchField.recordCount),
  };
}

export function batchCompression(attributes: number): CompressionType {
  return (attributes & ATTR_COMPRESSION_MASK) as CompressionType;
}
export function isControlBatch(attributes: number): boolean {
  return (attributes & ATTR_CONTROL) !== 0;
}
export function isTransactionalBatch(attributes: number): boolean {
  return (attributes & ATTR_TRANSACTIONAL) !== 0;
}

/** Summary of the batches in a produce payload, gathered while validating it. */
export interface BatchesSummary {
  batches: number;
  /** Records over all batches (sum of lastOffsetDelta + 1). */
  offsetCount: number;
  maxTimestamp: number;
  bytes: number;
}

/** A record a leader refused, by its index in its batch (Kafka's record_errors, KIP-467). */
export interface RecordError {
  batchIndex: number;
  message: string;
}

/** A refused produce payload: the Kafka error, and the records at fault when the fault lies in records. */
export class BatchRejection extends SluiceError {
  constructor(
    name: KafkaErrorName,
    message: string,
    readonly recordErrors: readonly RecordError[] = [],
  ) {
    super(name, message, { kafkaCode: KafkaErrorCode[name] });
  }
}

/** What a leader checks of a producer's batches (a follower copying its leader checks only the framing and CRC). */
export interface BatchRules {
  maxBatchBytes: number;
  /** Walk every record: lengths, varints, counts, offset deltas, keys and timestamps, as Kafka's LogValidator does. */
  checkRecords: boolean;
  /** A compacted topic: every record needs a key. */
  requireKeys: boolean;
  /** message.timestamp.before.max.ms / after.max.ms: how far a CreateTime timestamp may lie behind / ahead of now. */
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  /** message.timestamp.type LogAppendTime: batches are stamped with `now` (attributes, max timestamp and CRC). */
  logAppendTime: boolean;
  now: number;
}

const framingOnly: BatchRules = {
  maxBatchBytes: Number.MAX_SAFE_INTEGER,
  checkRecords: false,
  requireKeys: false,
  timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  timestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
  logAppendTime: false,
  now: 0,
};

/** The fewest bytes a v2 record takes: length, attributes, timestamp and offset deltas, key, value, header count. */
const MIN_RECORD_BYTES = 7;
/** Kafka's RecordBatch.NO_TIMESTAMP. */
const NO_TIMESTAMP = -1;

/**
 * Checks that `bytes` is a sequence of whole, well-formed v2 batches and summarises them: framing, magic and CRC-32C
 * always; with `rules.checkRecords` also the attributes and every record, in one pass without per-record objects.
 * Stamps LogAppendTime when the rules ask for it (rewriting the header's CRC, never record bytes). Returns a
 * rejection (never throws) so the produce path does no exception handling for bad input.
 */
export function validateBatches(bytes: Uint8Array, rules: Partial<BatchRules> = {}): BatchesSummary | BatchRejection {
  const r: BatchRules = { ...framingOnly, ...rules };
  const b = asBuffer(bytes);
  let pos = 0;
  let batches = 0;
  let offsetCount = 0;
  let maxTimestamp = -1;
  if (b.length === 0) return new BatchRejection('CORRUPT_MESSAGE', 'no record batch in the payload');
  while (pos < b.length) {
    if (b.length - pos < RECORD_BATCH_HEADER_SIZE) return new BatchRejection('CORRUPT_MESSAGE', `truncated record batch header at byte ${pos}`);
    const batchLength = b.readInt32BE(pos + BatchField.batchLength);
    const size = batchLength + LOG_OVERHEAD;
    if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD) return new BatchRejection('CORRUPT_MESSAGE', `record batch length ${batchLength} is too small`);
    if (pos + size > b.length) return new BatchRejection('CORRUPT_MESSAGE', `record batch at byte ${pos} claims ${size} bytes, only ${b.length - pos} present`);
    if (size > r.maxBatchBytes) return new BatchRejection('MESSAGE_TOO_LARGE', `record batch of ${size} bytes exceeds the limit of ${r.maxBatchBytes}`);
    const magic = b.readInt8(pos + BatchField.magic);
    if (magic !== 2) return new BatchRejection('UNSUPPORTED_FOR_MESSAGE_FORMAT', `record batch magic ${magic} is not supported (only v2)`);
    const stored = b.readUInt32BE(pos + BatchField.crc);
    const actual = crc32c(b.subarray(pos + BatchField.attributes, pos + size));
    if (stored !== actual) return new BatchRejection('CORRUPT_MESSAGE', `record batch at byte ${pos} fails its CRC-32C check`);
    const lastOffsetDelta = b.readInt32BE(pos + BatchField.lastOffsetDelta);
    const recordCount = b.readInt32BE(pos + BatchField.recordCount);
    if (lastOffsetDelta < 0 || recordCount < 0) return new BatchRejection('CORRUPT_MESSAGE', 'negative record count or offset delta');
    let ts = Number(b.readBigInt64BE(pos + BatchField.maxTimestamp));
    if (r.checkRecords) {
      const batch = b.subarray(pos, pos + size);
      const checked = checkProducedBatch(batch, r);
      if (checked instanceof BatchRejection) return checked;
      ts = checked;
    }
    offsetCount += lastOffsetDelta + 1;
    if (ts > maxTimestamp) maxTimestamp = ts;
    batches++;
    pos += size;
  }
  return { batches, offsetCount, maxTimestamp, bytes: b.length };
}

/**
 * One producer batch, as Kafka's LogValidator checks it: known codec, no control batch, a record count that matches
 * the offset deltas, records that decode exactly to the batch's end with offset deltas 0..n-1, keys on compacted
 * topics, CreateTime timestamps within bounds. Corrects a wrong max timestamp, or stamps LogAppendTime, in the header
 * (re-computing the CRC). Returns the batch's max timestamp.
 */
function checkProducedBatch(batch: Buffer, r: BatchRules): number | BatchRejection {
  const attributes = batch.readInt16BE(BatchField.attributes);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  if (codec > Compression.zstd) return new BatchRejection('UNSUPPORTED_COMPRESSION_TYPE', `compression codec ${codec} does not exist`);
  if ((attributes & ATTR_CONTROL) !== 0) return new BatchRejection('INVALID_RECORD', 'clients may not write control batches');
  if ((attributes & ATTR_TRANSACTIONAL) !== 0) return new BatchRejection('INVALID_TXN_STATE', 'transactional batches are not supported');
  const recordCount = batch.readInt32BE(BatchField.recordCount);
  const lastOffsetDelta = batch.readInt32BE(BatchField.lastOffsetDelta);
  if (recordCount === 0 || recordCount !== lastOffsetDelta + 1) {
    return new BatchRejection('INVALID_RECORD', `the batch's record count ${recordCount} does not match its last offset delta ${lastOffsetDelta}`);
  }
  let payload = batch.subarray(RECORD_BATCH_HEADER_SIZE);
  if (codec !== Compression.none) {
    try {
      payload = decompress(codec, payload);
    } catch (err) {
      return new BatchRejection('CORRUPT_MESSAGE', (err as Error).message);
    }
  }
  const baseTimestamp = Number(batch.readBigInt64BE(BatchField.baseTimestamp));
  const walk = walkRecords(payload, recordCount, baseTimestamp, r.requireKeys);
  if (typeof walk === 'string') return new BatchRejection('INVALID_RECORD', walk);
  if (walk.keyless.length > 0) {
    return new BatchRejection(
      'INVALID_RECORD',
      'a compacted topic cannot accept a record without a key',
      walk.keyless.map((batchIndex) => ({ batchIndex, message: 'compacted topic cannot accept message without key' })),
    );
  }
  if (r.logAppendTime) {
    setMaxTimestamp(batch, attributes | ATTR_TIMESTAMP_TYPE, r.now);
    return r.now;
  }
  const timestampErrors: RecordError[] = [];
  if (walk.minTimestamp < r.now - r.timestampBeforeMaxMs || walk.maxTimestamp > r.now + r.timestampAfterMaxMs || walk.badTimestamp >= 0) {
    // The slow path, only for a batch with a bad timestamp: find which records, for record_errors.
    walkRecords(payload, recordCount, baseTimestamp, false, (index, timestamp) => {
      if (!Number.isSafeInteger(timestamp) || (timestamp < 0 && timestamp !== NO_TIMESTAMP)) {
        timestampErrors.push({ batchIndex: index, message: `timestamp ${timestamp} is not a valid timestamp` });
      } else if (timestamp !== NO_TIMESTAMP && (timestamp < r.now - r.timestampBeforeMaxMs || timestamp > r.now + r.timestampAfterMaxMs)) {
        timestampErrors.push({ batchIndex: index, message: `timestamp ${timestamp} is out of range (message.timestamp.before.max.ms / after.max.ms)` });
      }
    });
  }
  if (timestampErrors.length > 0) {
    return new BatchRejection('INVALID_TIMESTAMP', `${timestampErrors.length} record(s) with a timestamp out of range; first: ${timestampErrors[0].message}`, timestampErrors);
  }
  if (walk.maxTimestamp !== Number(batch.readBigInt64BE(BatchField.maxTimestamp)) && walk.maxTimestamp !== -Infinity) {
    setMaxTimestamp(batch, attributes & ~ATTR_TIMESTAMP_TYPE, walk.maxTimestamp);
  }
  return walk.maxTimestamp === -Infinity ? NO_TIMESTAMP : walk.maxTimestamp;
}

/** Writes the timestamp type and max timestamp of a batch's header, as Kafka does, and its new CRC. */
function setMaxTimestamp(batch: Buffer, attributes: number, maxTimestamp: number): void {
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeBigInt64BE(BigInt(maxTimestamp), BatchField.maxTimestamp);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
}

interface RecordsWalk {
  minTimestamp: number;
  maxTimestamp: number;
  /** Index of a record whose timestamp delta is not a safe integer, -1 when none. */
  badTimestamp: number;
  /** Indexes of records without a key (collected only when keys are required). */
  keyless: number[];
}

/**
 * Walks the records of one (decompressed) batch payload without creating objects per record. Returns a description
 * of what is malformed, or what it found. `visit` sees each record's timestamp (for error reports).
 */
function walkRecords(
  payload: Buffer,
  count: number,
  baseTimestamp: number,
  requireKeys: boolean,
  visit?: (index: number, timestamp: number) => void,
  denseOffsets = true,
): RecordsWalk | string {
  const end = payload.length;
  if (count < 0 || count > end / MIN_RECORD_BYTES) return `${count} records cannot fit in ${end} bytes`;
  const c = cursor;
  c.buf = payload;
  c.pos = 0;
  c.bad = false;
  const out: RecordsWalk = { minTimestamp: Infinity, maxTimestamp: -Infinity, badTimestamp: -1, keyless: [] };
  for (let i = 0; i < count; i++) {
    const length = c.varint(end);
    const recordEnd = c.pos + length;
    if (c.bad || length < MIN_RECORD_BYTES - 1 || recordEnd > end) return `record ${i} has an invalid length`;
    c.pos++; // attributes (unused in v2)
    const timestampDelta = c.varlong(recordEnd);
    const offsetDelta = c.varint(recordEnd);
    if (c.bad) return `record ${i} is malformed`;
    // Producers number records 0..n-1; a compacted batch keeps its survivors' deltas, which only increase.
    if (denseOffsets ? offsetDelta !== i : offsetDelta < 0) return `record ${i} has offset delta ${offsetDelta}`;
    const keyLength = c.varint(recordEnd);
    if (c.bad || keyLength < -1 || c.pos + Math.max(keyLength, 0) > recordEnd) return `record ${i} has an invalid key length`;
    if (keyLength < 0 && requireKeys) out.keyless.push(i);
    c.pos += Math.max(keyLength, 0);
    const valueLength = c.varint(recordEnd);
    if (c.bad || valueLength < -1 || c.pos + Math.max(valueLength, 0) > recordEnd) return `record ${i} has an invalid value length`;
    c.pos += Math.max(valueLength, 0);
    const headers = c.varint(recordEnd);
    if (c.bad || headers < 0 || headers > recordEnd - c.pos) return `record ${i} has an invalid header count`;
    for (let h = 0; h < headers; h++) {
      const keyLen = c.varint(recordEnd);
      if (c.bad || keyLen < 0 || c.pos + keyLen > recordEnd) return `record ${i} header ${h} has an invalid key`;
      c.pos += keyLen;
      const valueLen = c.varint(recordEnd);
      if (c.bad || valueLen < -1 || c.pos + Math.max(valueLen, 0) > recordEnd) return `record ${i} header ${h} has an invalid value`;
      c.pos += Math.max(valueLen, 0);
    }
    if (c.pos !== recordEnd) return `record ${i} is ${length} bytes but its fields take ${c.pos - recordEnd + length}`;
    const timestamp = baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) {
      if (out.badTimestamp < 0) out.badTimestamp = i;
    } else if (timestamp !== NO_TIMESTAMP) {
      if (timestamp < out.minTimestamp) out.minTimestamp = timestamp;
      if (timestamp > out.maxTimestamp) out.maxTimestamp = timestamp;
      if (timestamp < 0 && out.badTimestamp < 0) out.badTimestamp = i;
    }
    visit?.(i, timestamp);
  }
  if (c.pos !== end) return `${end - c.pos} bytes follow the last record`;
  return out;
}

/**
 * Varint reading for walkRecords: reads within `limit`, and sets `bad` instead of throwing on malformed input.
 * One instance, reused: the walk is synchronous.
 */
class VarintCursor {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  bad = false;

  /** A zigzag varint of at most 32 bits. */
  varint(limit: number): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= limit) break;
      const b = this.buf[this.pos++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >>> 1) ^ -(result & 1);
    }
    this.bad = true;
    return 0;
  }

  /** A zigzag varlong as a JS number: exact up to 2^53, NaN beyond (callers treat it as out of range). */
  varlong(limit: number): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= limit) break;
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) return NaN;
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      scale *= 128;
    }
    this.bad = true;
    return 0;
  }
}

const cursor = new VarintCursor();

/**
 * The records of one stored batch, decompressed and checked to decode exactly (lengths, counts, bounds), so that
 * decoding them can neither overrun nor loop. Throws CORRUPT_MESSAGE naming what is wrong.
 */
function checkedRecordsPayload(b: Buffer, h: RecordBatchHeader): Buffer {
  const codec = h.attributes & ATTR_COMPRESSION_MASK;
  if (codec > Compression.zstd) throw kafkaError('CORRUPT_MESSAGE', `the batch at offset ${h.baseOffset} has compression codec ${codec}, which does not exist`);
  const payload = decompress(codec, b.subarray(RECORD_BATCH_HEADER_SIZE, h.batchLength + LOG_OVERHEAD));
  const walk = walkRecords(payload, h.recordCount, 0, false, undefined, false);
  if (typeof walk === 'string') throw kafkaError('CORRUPT_MESSAGE', `the batch at offset ${h.baseOffset} cannot be decoded: ${walk}`);
  return payload;
}

/**
 * Assigns offsets to consecutive batches in place: each batch's base offset and partition leader epoch
 * (both outside the CRC, so it stays valid). Returns the next offset after the last batch.
 */
export function stampBatches(bytes: Uint8Array, firstOffset: number, leaderEpoch: number): number {
  const b = asBuffer(bytes);
  let pos = 0;
  let next = firstOffset;
  while (pos < b.length) {
    b.writeBigInt64BE(BigInt(next), pos + BatchField.baseOffset);
    b.writeInt32BE(leaderEpoch, pos + BatchField.partitionLeaderEpoch);
    next += b.readInt32BE(pos + BatchField.lastOffsetDelta) + 1;
    pos += b.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
  }
  return next;
}

/** Visits the whole batches in `bytes` (a log slice); a trailing partial batch is ignored. */
export function forEachBatch(bytes: Uint8Array, visit: (header: RecordBatchHeader, start: number, end: number) => void): void {
  const b = asBuffer(bytes);
  let pos = 0;
  while (b.length - pos >= RECORD_BATCH_HEADER_SIZE) {
    const size = b.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
    if (pos + size > b.length) return;
    visit(readBatchHeader(b, pos), pos, pos + size);
    pos += size;
  }
}

/**
 * The records a fetch from `fromOffset` hands out in `bytes` (whole batches from a log): each data batch's records at
 * or after `fromOffset` (a batch that starts before it counts from it). Control batches (transaction markers) count
 * none. Reads the batch headers only.
 */
export function recordsFrom(bytes: Uint8Array, fromOffset: number): number {
  const b = asBuffer(bytes);
  let pos = 0;
  let records = 0;
  while (b.length - pos >= RECORD_BATCH_HEADER_SIZE) {
    if (!isControlBatch(b.readInt16BE(pos + BatchField.attributes))) {
      const count = b.readInt32BE(pos + BatchField.recordCount);
      const base = b.readUInt32BE(pos + BatchField.baseOffset) * 0x1_0000_0000 + b.readUInt32BE(pos + BatchField.baseOffset + 4);
      records += base >= fromOffset ? count : Math.max(0, Math.min(count, base + b.readInt32BE(pos + BatchField.lastOffsetDelta) + 1 - fromOffset));
    }
    pos += b.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
  }
  return records;
}

/**
 * The longest prefix of whole batches in `bytes` that fits in `limit` bytes (a view, no copy). With `atLeastOne`, the
 * first batch comes whole even when it alone is larger (KIP-74: a consumer must always make progress).
 */
export function wholeBatchesWithin(bytes: Buffer, limit: number, atLeastOne = false): Buffer {
  if (bytes.length <= limit) return bytes;
  let end = 0;
  while (bytes.length - end >= LOG_OVERHEAD) {
    const next = end + bytes.readInt32BE(end + BatchField.batchLength) + LOG_OVERHEAD;
    if (next > bytes.length || (next > limit && !(atLeastOne && end === 0))) break;
    end = next;
  }
  return bytes.subarray(0, end);
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record to write. */
export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; the batch's timestamp when absent. */
  timestamp?: number;
}

/** A record read back from a batch. */
export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BuildBatchOptions {
  baseOffset?: number;
  timestamp?: number;
  compression?: CompressionType;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
}

function writeNullableVarBytes(w: Writer, bytes: Uint8Array | null | undefined): void {
  if (bytes === null || bytes === undefined) w.varint(-1);
  else w.varint(bytes.length).raw(bytes);
}

function encodeRecord(record: RecordInput, offsetDelta: number, baseTimestamp: number): Buffer {
  const body = new Writer(64 + (record.value?.length ?? 0));
  body.int8(0);
  body.varlong(BigInt((record.timestamp ?? baseTimestamp) - baseTimestamp));
  body.varint(offsetDelta);
  writeNullableVarBytes(body, record.key);
  writeNullableVarBytes(body, record.value);
  const headers = record.headers ?? [];
  body.varint(headers.length);
  for (const h of headers) {
    const k = Buffer.from(h.key, 'utf8');
    body.varint(k.length).raw(k);
    writeNullableVarBytes(body, h.value);
  }
  const bytes = body.toBuffer();
  return new Writer(bytes.length + 5).varint(bytes.length).raw(bytes).toBuffer();
}

/** Builds one RecordBatch v2 holding `records` (offset deltas 0..n-1). */
export function buildRecordBatch(records: readonly RecordInput[], options: BuildBatchOptions = {}): Buffer {
  if (records.length === 0) throw kafkaError('INVALID_RECORD', 'a record batch needs at least one record');
  const baseTimestamp = options.timestamp ?? records[0].timestamp ?? Date.now();
  let maxTimestamp = baseTimestamp;
  const encoded: Buffer[] = [];
  let recordBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const ts = records[i].timestamp ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const r = encodeRecord(records[i], i, baseTimestamp);
    encoded.push(r);
    recordBytes += r.length;
  }
  let payload = encoded.length === 1 ? encoded[0] : Buffer.concat(encoded, recordBytes);
  const compression = options.compression ?? Compression.none;
  if (compression !== Compression.none) {
    payload = compress(compression, payload);
  }
  const batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
  batch.writeBigInt64BE(BigInt(options.baseOffset ?? 0), BatchField.baseOffset);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt16BE(compression & ATTR_COMPRESSION_MASK, BatchField.attributes);
  batch.writeInt32BE(records.length - 1, BatchField.lastOffsetDelta);
  batch.writeBigInt64BE(BigInt(baseTimestamp), BatchField.baseTimestamp);
  batch.writeBigInt64BE(BigInt(maxTimestamp), BatchField.maxTimestamp);
  batch.writeBigInt64BE(BigInt(options.producerId ?? -1), BatchField.producerId);
  batch.writeInt16BE(options.producerEpoch ?? -1, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? -1, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordCount);
  payload.copy(batch, RECORD_BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
  return batch;
}

function readNullableVarBytes(r: Reader): Buffer | null {
  const len = r.varint();
  return len < 0 ? null : r.bytes(len);
}

/**
 * Decodes the records of one batch (the bytes of exactly one batch). Control batches yield no records. A batch whose
 * records are malformed throws CORRUPT_MESSAGE; decoding is bounded by the batch's bytes whatever its header says.
 */
export function decodeRecords(batch: Uint8Array): DecodedRecord[] {
  const b = asBuffer(batch);
  if (b.length < RECORD_BATCH_HEADER_SIZE) throw kafkaError('CORRUPT_MESSAGE', 'truncated record batch header');
  const h = readBatchHeader(b);
  if (h.magic !== 2) throw kafkaError('UNSUPPORTED_FOR_MESSAGE_FORMAT', `record batch magic ${h.magic} is not supported`);
  if (h.batchLength + LOG_OVERHEAD > b.length || h.batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD) {
    throw kafkaError('CORRUPT_MESSAGE', `the batch at offset ${h.baseOffset} claims ${h.batchLength} bytes`);
  }
  if (isControlBatch(h.attributes)) return [];
  const payload = checkedRecordsPayload(b, h);
  const r = new Reader(payload);
  const out: DecodedRecord[] = [];
  const isLogAppend = (h.attributes & ATTR_TIMESTAMP_TYPE) !== 0;
  for (let i = 0; i < h.recordCount; i++) {
    const length = r.varint();
    const end = r.pos + length;
    r.int8();
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = readNullableVarBytes(r);
    const value = readNullableVarBytes(r);
    const headerCount = r.varint();
    const headers: RecordHeader[] = [];
    for (let j = 0; j < headerCount; j++) {
      const keyLen = r.varint();
      const hk = r.bytes(keyLen).toString('utf8');
      headers.push({ key: hk, value: readNullableVarBytes(r) });
    }
    r.pos = end;
    out.push({
      offset: h.baseOffset + offsetDelta,
      timestamp: isLogAppend ? h.maxTimestamp : h.baseTimestamp + Number(timestampDelta),
      key,
      value,
      headers,
    });
  }
  return out;
}

/** What compaction needs to know of one record, read without decoding its value or headers. */
export interface RecordRef {
  offset: number;
  key: Buffer | null;
  /** A null value: a tombstone. */
  tombstone: boolean;
}

/**
 * Visits each record of one batch (control batches: none). Cheap: reads the key and the value's length only.
 * Throws CORRUPT_MESSAGE on malformed records.
 */
export function forEachRecordRef(batch: Buffer, visit: (record: RecordRef, raw: Buffer, offsetDelta: number) => void): void {
  const h = readBatchHeader(batch);
  if (isControlBatch(h.attributes)) return;
  const payload = checkedRecordsPayload(batch, h);
  const r = new Reader(payload);
  try {
    for (let i = 0; i < h.recordCount; i++) {
      const start = r.pos;
      const length = r.varint();
      const end = r.pos + length;
      r.int8();
      r.varlong();
      const offsetDelta = r.varint();
      const key = readNullableVarBytes(r);
      const valueLength = r.varint();
      visit({ offset: h.baseOffset + offsetDelta, key, tombstone: valueLength < 0 }, payload.subarray(start, end), offsetDelta);
      r.pos = end;
    }
  } catch (err) {
    if ((err as SluiceError).code === 'CORRUPT_MESSAGE') throw err;
    throw kafkaError('CORRUPT_MESSAGE', `malformed record in the batch at offset ${h.baseOffset}: ${(err as Error).message}`);
  }
}

/**
 * Keeps the records of one batch for which `keep` is true, as Kafka's log cleaner does: the same base offset,
 * timestamps, producer fields, attributes and codec; kept records byte for byte (their offset and timestamp deltas
 * unchanged); the last offset delta that of the last kept record. Returns the batch itself when every record stays,
 * null when none does. Control batches are always kept.
 */
export function filterRecordBatch(batch: Buffer, keep: (record: RecordRef) => boolean): Buffer | null {
  const h = readBatchHeader(batch);
  if (isControlBatch(h.attributes)) return batch;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let lastDelta = -1;
  let total = 0;
  forEachRecordRef(batch, (record, raw, offsetDelta) => {
    total++;
    if (!keep(record)) return;
    kept.push(raw);
    keptBytes += raw.length;
    lastDelta = offsetDelta;
  });
  if (kept.length === total) return batch;
  if (kept.length === 0) return null;
  const payload = compress(batchCompression(h.attributes), Buffer.concat(kept, keptBytes));
  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
  batch.copy(out, 0, 0, RECORD_BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchField.batchLength);
  out.writeInt32BE(lastDelta, BatchField.lastOffsetDelta);
  out.writeInt32BE(kept.length, BatchField.recordCount);
  payload.copy(out, RECORD_BATCH_HEADER_SIZE);
  out.writeUInt32BE(crc32c(out.subarray(BatchField.attributes)), BatchField.crc);
  return out;
}

/**
 * The batches of a produce payload in `codec` (a topic's compression.type other than producer), as Kafka's leader
 * recompresses them: each batch whose codec differs gets its records decompressed and compressed again, its header
 * kept (offsets, timestamps, producer fields, other attributes) with the new codec and CRC; batches already in the
 * codec, and control batches, are kept as they are. Returns `bytes` itself when no batch changes.
 */
export function recompressBatches(bytes: Buffer, codec: CompressionType): Buffer {
  const out: Buffer[] = [];
  let changed = false;
  forEachBatch(bytes, (h, start, end) => {
    const batch = bytes.subarray(start, end);
    const current = batchCompression(h.attributes);
    if (current === codec || isControlBatch(h.attributes)) {
      out.push(batch);
      return;
    }
    changed = true;
    const payload = compress(codec, decompress(current, batch.subarray(RECORD_BATCH_HEADER_SIZE)));
    const rebuilt = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
    batch.copy(rebuilt, 0, 0, RECORD_BATCH_HEADER_SIZE);
    rebuilt.writeInt32BE(rebuilt.length - LOG_OVERHEAD, BatchField.batchLength);
    rebuilt.writeInt16BE((h.attributes & ~ATTR_COMPRESSION_MASK) | codec, BatchField.attributes);
    payload.copy(rebuilt, RECORD_BATCH_HEADER_SIZE);
    rebuilt.writeUInt32BE(crc32c(rebuilt.subarray(BatchField.attributes)), BatchField.crc);
    out.push(rebuilt);
  });
  return changed ? Buffer.concat(out) : bytes;
}
