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
  recordsFrom,
  stampBatches,
  validateBatches,
  wholeBatchesWithin,
  BatchRejection,
  type BatchRules,
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

  it('counts the records a fetch hands out from its offset, by batch headers', () => {
    const a = buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }, { value: Buffer.from('c') }]);
    const b = buildRecordBatch([{ value: Buffer.from('d') }, { value: Buffer.from('e') }]);
    const both = Buffer.concat([a, b]);
    stampBatches(both, 2 ** 33, 0);
    expect(recordsFrom(both, 2 ** 33)).toBe(5);
    expect(recordsFrom(both, 2 ** 33 + 1)).toBe(4);
    expect(recordsFrom(both, 2 ** 33 + 3)).toBe(2);
    expect(recordsFrom(Buffer.alloc(0), 0)).toBe(0);
  });

  it('keeps the CRC over attributes..end (as Kafka clients compute it)', () => {
    const batch = buildRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    expect(batch.readUInt32BE(BatchField.crc)).toBe(crc32c(batch.subarray(BatchField.attributes)));
  });

  describe('refuses bad batches', () => {
    const good = (): Buffer => buildRecordBatch([{ value: Buffer.from('hello') }]);
    const code = (bytes: Uint8Array, max?: number): number => {
      const r = validateBatches(bytes, { maxBatchBytes: max });
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
    expect(() => forEachRecordRef(batch, () => undefined)).toThrow(/cannot be decoded/);
  });
});

describe('validating what a producer sent (the leader\'s checks)', () => {
  const now = 1_800_000_000_000;
  const rules: Partial<BatchRules> = { checkRecords: true, now, timestampAfterMaxMs: 3_600_000 };
  const hourAgo = now - 3_600_000;
  const batchOf = (n: number, options: Parameters<typeof buildRecordBatch>[1] = {}, records?: RecordInput[]) =>
    buildRecordBatch(records ?? Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp: hourAgo + i })), options);
  /** Rewrites a header field and the CRC, so only the field is wrong. */
  const patch = (batch: Buffer, write: (b: Buffer) => void): Buffer => {
    write(batch);
    batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
    return batch;
  };
  const rejection = (bytes: Buffer, extra: Partial<BatchRules> = {}): BatchRejection => {
    const r = validateBatches(bytes, { ...rules, ...extra });
    expect(r).toBeInstanceOf(BatchRejection);
    return r as BatchRejection;
  };

  it('accepts what clients send, compressed or not', () => {
    for (const compression of Object.values(Compression)) {
      expect(validateBatches(batchOf(50, { compression }), rules)).toMatchObject({ batches: 1, offsetCount: 50, maxTimestamp: hourAgo + 49 });
    }
  });

  it('refuses the 68-byte batch whose record length of -1 made decoding repeat one record 20,000,000 times, at once', () => {
    const hex = '000000000000000000000038ffffffff02d49103f5000000000000000001a233ae82e8000001a233ae82e8ffffffffffffffffffffffffffff01312d0001000000010100';
    const batch = Buffer.from(hex, 'hex');
    expect(() => decodeRecords(batch)).toThrow(SluiceError);
    expect(rejection(batch).code).toBe('INVALID_RECORD');
  });

  it('refuses unknown codecs, corrupt compressed payloads, control and transactional batches', () => {
    for (const codec of [5, 6, 7]) {
      expect(rejection(patch(batchOf(3), (b) => b.writeInt16BE(codec, BatchField.attributes))).code).toBe('UNSUPPORTED_COMPRESSION_TYPE');
    }
    const gz = batchOf(3, { compression: Compression.gzip });
    expect(rejection(patch(gz, (b) => b.fill(0x41, RECORD_BATCH_HEADER_SIZE + 10, RECORD_BATCH_HEADER_SIZE + 20))).code).toBe('CORRUPT_MESSAGE');
    expect(rejection(patch(batchOf(3), (b) => b.writeInt16BE(0x20, BatchField.attributes))).code).toBe('INVALID_RECORD');
    expect(rejection(patch(batchOf(3), (b) => b.writeInt16BE(0x10, BatchField.attributes))).code).toBe('INVALID_TXN_STATE');
  });

  it('refuses a record count that does not match the offset deltas (one record claiming 2^31 offsets)', () => {
    expect(rejection(patch(batchOf(1), (b) => b.writeInt32BE(0x7fffffff, BatchField.lastOffsetDelta))).code).toBe('INVALID_RECORD');
    expect(rejection(patch(batchOf(3), (b) => b.writeInt32BE(2, BatchField.recordCount))).code).toBe('INVALID_RECORD');
    expect(rejection(patch(batchOf(3), (b) => b.writeInt32BE(20_000_000, BatchField.recordCount))).code).toBe('INVALID_RECORD');
  });

  it('refuses CreateTime timestamps out of bounds, naming the records (record_errors)', () => {
    const records: RecordInput[] = [0, 1, 2, 3].map((i) => ({ value: Buffer.from('v'), timestamp: i % 2 === 1 ? now + 2 * 3_600_000 : now }));
    const r = rejection(batchOf(0, {}, records));
    expect(r.code).toBe('INVALID_TIMESTAMP');
    expect(r.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3]);
    expect(rejection(batchOf(2), { timestampBeforeMaxMs: 1000 }).code).toBe('INVALID_TIMESTAMP');
    expect(validateBatches(batchOf(2), { ...rules, timestampAfterMaxMs: Number.MAX_SAFE_INTEGER })).not.toBeInstanceOf(SluiceError);
  });

  it('corrects a wrong max timestamp in the header (INT64_MAX wedged the time index), keeping the CRC valid', () => {
    const batch = patch(batchOf(3), (b) => b.writeBigInt64BE(0x7fffffffffffffffn, BatchField.maxTimestamp));
    expect(validateBatches(batch, rules)).toMatchObject({ maxTimestamp: hourAgo + 2 });
    expect(readBatchHeader(batch).maxTimestamp).toBe(hourAgo + 2);
    expect(validateBatches(batch)).not.toBeInstanceOf(SluiceError);
  });

  it('stamps LogAppendTime into the header only: records keep their bytes, readers see the append time', () => {
    const batch = batchOf(3);
    const records = Buffer.from(batch.subarray(RECORD_BATCH_HEADER_SIZE));
    expect(validateBatches(batch, { ...rules, logAppendTime: true })).toMatchObject({ maxTimestamp: now });
    expect(batch.subarray(RECORD_BATCH_HEADER_SIZE).equals(records)).toBe(true);
    expect(validateBatches(batch)).not.toBeInstanceOf(SluiceError);
    expect(decodeRecords(batch).map((r) => r.timestamp)).toEqual([now, now, now]);
  });

  it('lists the keyless records a compacted topic refuses', () => {
    const records: RecordInput[] = [{ key: Buffer.from('a'), value: null }, { value: Buffer.from('x') }, { key: Buffer.from('b'), value: null }, { value: null }];
    const r = rejection(buildRecordBatch(records, { timestamp: now }), { requireKeys: true });
    expect(r.code).toBe('INVALID_RECORD');
    expect(r.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3]);
  });

  it('whatever the record bytes, never throws, and what it accepts decodes to exactly its record count', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.integer({ min: -2, max: 40 }), { nil: undefined }),
        (records, flips, count) => {
          const batch = buildRecordBatch(records, { timestamp: now });
          patch(batch, (b) => {
            for (const [at, byte] of flips) b[RECORD_BATCH_HEADER_SIZE + (at % (b.length - RECORD_BATCH_HEADER_SIZE))] = byte;
            if (count !== undefined) b.writeInt32BE(count, BatchField.recordCount);
          });
          const verdict = validateBatches(batch, { checkRecords: true, now: 0 });
          if (verdict instanceof SluiceError) return;
          expect(decodeRecords(batch)).toHaveLength(readBatchHeader(batch).recordCount);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('wholeBatchesWithin (fetch size limits)', () => {
  const batch = (n: number) => buildRecordBatch([{ value: Buffer.alloc(n) }]);
  const three = Buffer.concat([batch(100), batch(200), batch(300)]);
  const [a, b] = [batch(100).length, batch(200).length];
  it('keeps the whole batches that fit, never a partial one', () => {
    expect(wholeBatchesWithin(three, three.length)).toBe(three);
    expect(wholeBatchesWithin(three, a + b).length).toBe(a + b);
    expect(wholeBatchesWithin(three, a + b - 1).length).toBe(a);
    expect(wholeBatchesWithin(three, a - 1).length).toBe(0);
    expect(wholeBatchesWithin(three, 0).length).toBe(0);
  });
  it('gives the first batch whole when asked, however small the limit', () => {
    expect(wholeBatchesWithin(three, 1, true).length).toBe(a);
    expect(wholeBatchesWithin(three, a + 1, true).length).toBe(a);
  });
});
