import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { Compression, compress, decompress } from './compression.js';
import { SluiceError } from './errors.js';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as { compressSync(d: Buffer): Buffer };

const sample = Buffer.from(Array.from({ length: 5000 }, (_, i) => `record-${i % 97};`).join(''));

describe('compression codecs', () => {
  for (const [name, type] of Object.entries(Compression)) {
    it(`round-trips ${name}, including inputs larger than one block`, () => {
      const big = Buffer.concat([sample, sample, sample, sample, sample, sample, sample, sample]);
      for (const data of [Buffer.alloc(0), Buffer.from('x'), big]) {
        expect(decompress(type, compress(type, data)).equals(data)).toBe(true);
      }
    });
  }

  it('writes snappy in the xerial framing Java clients expect and reads raw snappy too', () => {
    const framed = compress(Compression.snappy, sample);
    expect(framed.subarray(0, 8).toString('latin1')).toBe('\x82SNAPPY\x00');
    expect(framed.readInt32BE(8)).toBe(1);
    expect(decompress(Compression.snappy, snappy.compressSync(sample)).equals(sample)).toBe(true);
  });

  it('refuses a snappy block whose preamble declares gigabytes before the library allocates them (found by apps/fuzz)', () => {
    // A 476-byte batch payload from the fuzzer: xerial header, one 255-byte block whose varint claims ~4 GiB. Snappy
    // allocated that much before finding the input corrupt, blocking the event loop for over a second per batch.
    const header = Buffer.from('82534e4150505900000000010000000000000000', 'hex');
    const block = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.alloc(250, 0x11)]);
    const xerial = Buffer.concat([header.subarray(0, 16), Buffer.from([0, 0, 0, block.length]), block]);
    for (const payload of [xerial, block]) {
      const err = (() => {
        try {
          decompress(Compression.snappy, payload);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).message).toMatch(/declares 4294967295 bytes/);
    }
    expect(() => decompress(Compression.snappy, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).toThrow(/malformed length preamble/);
  });

  it('writes LZ4 and zstd frames with their standard magic numbers', () => {
    expect(compress(Compression.lz4, sample).readUInt32LE(0)).toBe(0x184d2204);
    expect(compress(Compression.zstd, sample).readUInt32LE(0)).toBe(0xfd2fb528);
  });

  it('turns corrupt input into CORRUPT_MESSAGE and an unknown codec into UNSUPPORTED_COMPRESSION_TYPE', () => {
    for (const type of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
      const bad = compress(type, sample).subarray(0, 20);
      expect(() => decompress(type, bad), `codec ${type}`).toThrow(SluiceError);
      try {
        decompress(type, bad);
      } catch (err) {
        expect((err as SluiceError).code).toBe('CORRUPT_MESSAGE');
      }
    }
    expect(() => decompress(7, sample)).toThrow(/compression type 7/);
  });
});
