// The four compression codecs Kafka clients use in record batches, as Kafka frames them:
// gzip (zlib), snappy in the xerial framing Java clients write (raw snappy is read too), the LZ4 frame format, and
// zstd frames. Native packages from npm; each is checked at load time by a round trip.
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { kafkaError } from './errors.js';

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionType = (typeof Compression)[keyof typeof Compression];
export const compressionNames: Record<CompressionType, string> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

export interface CompressionCodec {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

interface SnappyModule {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Buffer, options?: { asBuffer: true }): Buffer;
}
interface Lz4Module {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}
interface ZstdModule {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

const require = createRequire(import.meta.url);
const snappy = require('snappy') as SnappyModule;
const lz4 = require('lz4-napi') as Lz4Module;
const zstd = require('zstd-napi') as ZstdModule;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_BLOCK = 32 * 1024;

/** Snappy in xerial's stream framing (magic, version 1, compatible version 1, then length-prefixed blocks). */
function xerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  for (let at = 0; at < data.length; at += XERIAL_BLOCK) {
    const block = snappy.compressSync(data.subarray(at, at + XERIAL_BLOCK));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** The most a snappy block may declare it holds: a corrupt preamble can claim up to 4 GiB, which the library allocates. */
const MAX_SNAPPY_UNCOMPRESSED = 64 * 1024 * 1024;

/**
 * Raw snappy, after checking the uncompressed length the block's varint preamble declares: the native library
 * allocates that much before it finds the input corrupt (about a second, event loop blocked, for a 4 GiB claim).
 */
function snappyUncompress(block: Buffer): Buffer {
  let declared = 0;
  for (let i = 0, shift = 0; ; i++, shift += 7) {
    if (i >= block.length || i >= 5) throw kafkaError('CORRUPT_MESSAGE', 'snappy block with a malformed length preamble');
    declared += (block[i] & 0x7f) * 2 ** shift;
    if ((block[i] & 0x80) === 0) break;
  }
  if (declared > MAX_SNAPPY_UNCOMPRESSED) throw kafkaError('CORRUPT_MESSAGE', `snappy block declares ${declared} bytes, over ${MAX_SNAPPY_UNCOMPRESSED}`);
  return snappy.uncompressSync(block, { asBuffer: true });
}

function xerialDecompress(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER_SIZE || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyUncompress(data);
  const parts: Buffer[] = [];
  let at = XERIAL_HEADER_SIZE;
  while (at < data.length) {
    if (at + 4 > data.length) throw kafkaError('CORRUPT_MESSAGE', 'truncated snappy block length');
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw kafkaError('CORRUPT_MESSAGE', 'truncated snappy block');
    parts.push(snappyUncompress(data.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(parts);
}

const codecs: Record<Exclude<CompressionType, 0>, CompressionCodec> = {
  [Compression.gzip]: { compress: (d) => gzipSync(d), decompress: (d) => gunzipSync(d) },
  [Compression.snappy]: { compress: xerialCompress, decompress: xerialDecompress },
  [Compression.lz4]: { compress: (d) => lz4.compressFrameSync(d), decompress: (d) => lz4.decompressFrameSync(d) },
  [Compression.zstd]: { compress: (d) => zstd.compress(d), decompress: (d) => zstd.decompress(d) },
};

/** Compresses `data` with a batch's codec; a codec error becomes a Kafka error for that request only. */
export function compress(type: number, data: Buffer): Buffer {
  return run(type, 'compress', data);
}

/** Decompresses a batch payload; corrupt input is CORRUPT_MESSAGE. */
export function decompress(type: number, data: Buffer): Buffer {
  return run(type, 'decompress', data);
}

function run(type: number, op: keyof CompressionCodec, data: Buffer): Buffer {
  if (type === Compression.none) return data;
  const codec = codecs[type as Exclude<CompressionType, 0>] as CompressionCodec | undefined;
  if (!codec) throw kafkaError('UNSUPPORTED_COMPRESSION_TYPE', `compression type ${type} is not supported`);
  try {
    return codec[op](data);
  } catch (err) {
    throw kafkaError('CORRUPT_MESSAGE', `${compressionNames[type as CompressionType]} ${op} failed: ${(err as Error).message}`);
  }
}
