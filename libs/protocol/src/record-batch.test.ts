import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Compression } from './compression.js';
import { crc32c } from './crc32c.js';
import { KafkaErrorCode } from './generated/kafka-error-codes.js';
import { SluiceError } from './errors.js';
import {
  BatchField,
  buildRecordBatch,
  decodeRecords,
  filterRecordBatch,
  forEachBatch,
  forEachRecordRef,
  readBatchHeader,
  RECORD_BATCH_HEADER_SIZE,
  stampBatches,
  validateBatches,
  type RecordInput,
} from './record-batch.js';

const record = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(fc.uint8Array({ maxLength: 20 }).map((u) => Buffer.from(u)), { nil: null }) }), { maxLength: 3 }),
  timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
});

const norm = (b: Uint8Array | null | undefined): number[] | null => (b === null || b === undefined ? null : [...b]);

describe('RecordBatch v2', () => {
  it('round-trips records through build and decode, compressed or not', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), fc.constantFrom(Compression.none, Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd), fc.nat(1000), (records: RecordInput[], compression, base) => {
        const batch = buildRecordBatch(records, { compression, baseOffset: base });
        const summary = validateBatches(batch);
        expect(summary).not.toBeInstanceOf(SluiceError);
        const decoded = decodeRecords(batch);
        expect(decoded).toHaveLength(records.length);
        decoded.forEach((d, i) => {
          expect(d.offset).toBe(base + i);
          expect(norm(d.key)).toEqual(norm(records[i].key));
          expect(norm(d.value)).toEqual(norm(records[i].value));
          expect(d.timestamp).toBe(records[i].timestamp);
          expect(d.headers.map((h) => [h.key, norm(h.value)])).toEqual((records[i].headers ?? []).map((h) => [h.key, norm(h.value)]));
        });
        const header = readBatchHeader(batch);
        expect(header.recordCount).toBe(records.length);
        expect(header.lastOffsetDelta).toBe(records.length - 1);
        expect(header.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp!)));
      }),
      { numRuns: 100 },
    );
  });

  it('stamps base offsets and the leader epoch without breaking the CRC', () => {
    const a = buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    const b = buildRecordBatch([{ value: Buffer.from('c') }]);
    const both = Buffer.concat([a, b]);
    expect(stampBatches(both, 100, 7)).toBe(103);
    expect(validateBatches(both)).toMatchObject({ batches: 2, offsetCount: 3 });
    const seen: Array<[number, number]> = [];
    forEachBatch(both, (h) => seen.push([h.baseOffset, h.partitionLeaderEpoch]));
    expect(seen).toEqual([
      [100, 7],
      [102, 7],
    ]);
    expect(decodeRecords(both.subarray(a.length)).map((r) => r.offset)).toEqual([102]);
  });

  it('keeps the CRC over attributes..end (as Kafka clients compute it)', () => {
    const batch = buildRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    expect(batch.readUInt32BE(BatchField.crc)).toBe(crc32c(batch.subarray(BatchField.attributes)));
  });

  describe('refuses bad batches', () => {
    const good = (): Buffer => buildRecordBatch([{ value: Buffer.from('hello') }]);
    const code = (bytes: Uint8Array, max?: number): number => {
      const r = validateBatches(bytes, max);
      return r instanceof SluiceError ? r.kafkaCode : 0;
    };

    it('a flipped bit fails the CRC', () => {
      const b = good();
      b[b.length - 1] ^= 1;
      expect(code(b)).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    });
    it('a wrong magic', () => {
      const b = good();
      b.writeInt8(1, BatchField.magic);
      expect(code(b)).toBe(KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    });
    it('a truncated batch or header, and an empty payload', () => {
      const b = good();
      expect(code(b.subarray(0, b.length - 1))).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(code(b.subarray(0, RECORD_BATCH_HEADER_SIZE - 1))).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(code(Buffer.alloc(0))).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    });
    it('a length that lies', () => {
      const b = good();
      b.writeInt32BE(5, BatchField.batchLength);
      expect(code(b)).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      b.writeInt32BE(1 << 30, BatchField.batchLength);
      expect(code(b)).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    });
    it('a batch over the size limit', () => {
      expect(code(good(), 20)).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
    });
    it('random bytes never throw, they are refused', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          expect(code(bytes)).not.toBe(0);
        }),
      );
    });
  });
});

describe('filterRecordBatch (compaction)', () => {
  const records: RecordInput[] = Array.from({ length: 10 }, (_, i) => ({
    key: Buffer.from(`k${i % 3}`),
    value: i === 7 ? null : Buffer.from(`v${i}`),
    timestamp: 1_700_000_000_000 + i,
  }));

  for (const [name, compression] of Object.entries(Compression)) {
    it(`keeps chosen records with their offsets and timestamps (${name})`, () => {
      const batch = buildRecordBatch(records, { compression, baseOffset: 100, producerId: 5, partitionLeaderEpoch: 3 });
      const refs: Array<{ offset: number; key: string; tombstone: boolean }> = [];
      forEachRecordRef(batch, (r) => refs.push({ offset: r.offset, key: r.key?.toString() ?? '', tombstone: r.tombstone }));
      expect(refs.map((r) => r.offset)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
      expect(refs[7].tombstone).toBe(true);
      const out = filterRecordBatch(batch, (r) => r.offset % 2 === 1 && r.offset < 108);
      expect(out).not.toBeNull();
      expect(validateBatches(out as Buffer)).not.toBeInstanceOf(SluiceError);
      const h = readBatchHeader(out as Buffer);
      expect([h.baseOffset, h.lastOffsetDelta, h.recordCount, h.producerId, h.partitionLeaderEpoch]).toEqual([100, 7, 4, 5, 3]);
      expect(h.attributes & 7).toBe(compression);
      const decoded = decodeRecords(out as Buffer);
      expect(decoded.map((d) => [d.offset, d.timestamp, d.value?.toString() ?? null])).toEqual([
        [101, 1_700_000_000_001, 'v1'],
        [103, 1_700_000_000_003, 'v3'],
        [105, 1_700_000_000_005, 'v5'],
        [107, 1_700_000_000_007, null],
      ]);
      expect(filterRecordBatch(batch, () => true)).toBe(batch);
      expect(filterRecordBatch(batch, () => false)).toBeNull();
    });
  }

  it('refuses a batch whose records overrun it', () => {
    const batch = buildRecordBatch(records);
    batch.writeInt32BE(11, BatchField.recordCount);
    expect(() => forEachRecordRef(batch, () => undefined)).toThrow(/CORRUPT|overruns|malformed/);
  });
});
