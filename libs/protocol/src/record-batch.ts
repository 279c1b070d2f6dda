// RecordBatch v2 (magic 2): header access, validation, offset stamping, building and decoding.
// The produce and fetch paths only touch the 61-byte header; records are decoded only where a user asks for them (HTTP reads).
import { Reader } from './binary/reader.js';
import { Writer } from './binary/writer.js';
import { Compression, compress, decompress, type CompressionType } from './compression.js';
import { crc32c } from './crc32c.js';
import { kafkaError, type SluiceError } from './errors.js';

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

/**
 * Checks that `bytes` is a sequence of whole, well-formed v2 batches (length, magic, CRC-32C) and summarises them.
 * Returns an error (never throws) so the produce path does no exception handling for bad input.
 */
export function validateBatches(bytes: Uint8Array, maxBatchBytes = Number.MAX_SAFE_INTEGER): BatchesSummary | SluiceError {
  const b = asBuffer(bytes);
  let pos = 0;
  let batches = 0;
  let offsetCount = 0;
  let maxTimestamp = -1;
  if (b.length === 0) return kafkaError('CORRUPT_MESSAGE', 'no record batch in the payload');
  while (pos < b.length) {
    if (b.length - pos < RECORD_BATCH_HEADER_SIZE) return kafkaError('CORRUPT_MESSAGE', `truncated record batch header at byte ${pos}`);
    const batchLength = b.readInt32BE(pos + BatchField.batchLength);
    const size = batchLength + LOG_OVERHEAD;
    if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD) return kafkaError('CORRUPT_MESSAGE', `record batch length ${batchLength} is too small`);
    if (pos + size > b.length) return kafkaError('CORRUPT_MESSAGE', `record batch at byte ${pos} claims ${size} bytes, only ${b.length - pos} present`);
    if (size > maxBatchBytes) return kafkaError('MESSAGE_TOO_LARGE', `record batch of ${size} bytes exceeds the limit of ${maxBatchBytes}`);
    const magic = b.readInt8(pos + BatchField.magic);
    if (magic !== 2) return kafkaError('UNSUPPORTED_FOR_MESSAGE_FORMAT', `record batch magic ${magic} is not supported (only v2)`);
    const stored = b.readUInt32BE(pos + BatchField.crc);
    const actual = crc32c(b.subarray(pos + BatchField.attributes, pos + size));
    if (stored !== actual) return kafkaError('CORRUPT_MESSAGE', `record batch at byte ${pos} fails its CRC-32C check`);
    const lastOffsetDelta = b.readInt32BE(pos + BatchField.lastOffsetDelta);
    const recordCount = b.readInt32BE(pos + BatchField.recordCount);
    if (lastOffsetDelta < 0 || recordCount < 0) return kafkaError('CORRUPT_MESSAGE', 'negative record count or offset delta');
    offsetCount += lastOffsetDelta + 1;
    const ts = Number(b.readBigInt64BE(pos + BatchField.maxTimestamp));
    if (ts > maxTimestamp) maxTimestamp = ts;
    batches++;
    pos += size;
  }
  return { batches, offsetCount, maxTimestamp, bytes: b.length };
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

/** Decodes the records of one batch (the bytes of exactly one batch). Control batches yield no records. */
export function decodeRecords(batch: Uint8Array): DecodedRecord[] {
  const b = asBuffer(batch);
  const h = readBatchHeader(b);
  if (h.magic !== 2) throw kafkaError('UNSUPPORTED_FOR_MESSAGE_FORMAT', `record batch magic ${h.magic} is not supported`);
  if (isControlBatch(h.attributes)) return [];
  let payload = b.subarray(RECORD_BATCH_HEADER_SIZE, h.batchLength + LOG_OVERHEAD);
  const compression = batchCompression(h.attributes);
  if (compression !== Compression.none) {
    payload = decompress(compression, payload);
  }
  const r = new Reader(payload);
  const out: DecodedRecord[] = [];
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
    const isLogAppend = (h.attributes & ATTR_TIMESTAMP_TYPE) !== 0;
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
  const payload = decompress(batchCompression(h.attributes), batch.subarray(RECORD_BATCH_HEADER_SIZE, h.batchLength + LOG_OVERHEAD));
  const r = new Reader(payload);
  try {
    for (let i = 0; i < h.recordCount; i++) {
      const start = r.pos;
      const length = r.varint();
      const end = r.pos + length;
      if (length < 0 || end > payload.length) throw kafkaError('CORRUPT_MESSAGE', `record ${i} overruns its batch`);
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
