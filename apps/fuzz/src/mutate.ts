// Byte-level mutators shared by the Kafka frame, record batch and HTTP body generators.
import type { Rng } from './prng.js';

/** Values at the edges of signed and unsigned 8/16/32/64-bit ranges, which parsers most often get wrong. */
const INTERESTING_32 = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 0x10000, 1 << 24, 16 * 1024 * 1024, 100 * 1024 * 1024];
const INTERESTING_64 = [0n, 1n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x80000000n, 0xffffffffn, 1n << 62n, 253402300799999n];

/** A varint/zigzag of an interesting value, possibly over-long or unterminated. */
export function hostileVarint(rng: Rng): Buffer {
  switch (rng.int(4)) {
    case 0:
      return Buffer.alloc(rng.range(1, 12), 0xff); // unterminated (or over-long) continuation bytes
    case 1:
      return Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]); // over-long zero
    case 2:
      return Buffer.from([0x01]); // −1 zigzag
    default: {
      let v = BigInt.asUintN(64, BigInt(rng.pick(INTERESTING_32)));
      const out: number[] = [];
      do {
        const byte = Number(v & 0x7fn);
        v >>= 7n;
        out.push(v > 0n ? byte | 0x80 : byte);
      } while (v > 0n);
      return Buffer.from(out);
    }
  }
}

/** Applies 1..max random mutations to a copy of `input` (never longer than `limit` bytes). */
export function mutateBytes(rng: Rng, input: Buffer, max = 4, limit = 1 << 20): Buffer {
  let b: Buffer = Buffer.from(input);
  const n = rng.range(1, max);
  for (let i = 0; i < n; i++) b = mutateOnce(rng, b);
  return b.length > limit ? b.subarray(0, limit) : b;
}

function mutateOnce(rng: Rng, b: Buffer): Buffer {
  const at = (): number => rng.int(Math.max(1, b.length));
  switch (rng.int(11)) {
    case 0: // flip a bit
      if (b.length) b[at()] ^= 1 << rng.int(8);
      return b;
    case 1: // random byte
      if (b.length) b[at()] = rng.int(256);
      return b;
    case 2: // interesting 16-bit
      if (b.length >= 2) b.writeInt16BE(((rng.pick(INTERESTING_32) << 16) >> 16), rng.int(b.length - 1));
      return b;
    case 3: // interesting 32-bit
      if (b.length >= 4) b.writeInt32BE(rng.pick(INTERESTING_32) | 0, rng.int(b.length - 3));
      return b;
    case 4: // interesting 64-bit
      if (b.length >= 8) b.writeBigInt64BE(rng.pick(INTERESTING_64), rng.int(b.length - 7));
      return b;
    case 5: {
      // delete a chunk
      const start = at();
      return Buffer.concat([b.subarray(0, start), b.subarray(start + rng.range(1, 16))]);
    }
    case 6: {
      // insert random bytes or a hostile varint
      const start = at();
      const insert = rng.chance(0.5) ? hostileVarint(rng) : rng.bytes(rng.range(1, 16));
      return Buffer.concat([b.subarray(0, start), insert, b.subarray(start)]);
    }
    case 7: {
      // duplicate a chunk (repeated arrays, repeated fields)
      const start = at();
      const chunk = b.subarray(start, start + rng.range(1, 64));
      return Buffer.concat([b.subarray(0, start), chunk, chunk, b.subarray(start)]);
    }
    case 8: // truncate
      return b.subarray(0, at());
    case 9: {
      // overwrite with a hostile varint
      const v = hostileVarint(rng);
      const start = at();
      const out = Buffer.from(b);
      v.copy(out, start);
      return out;
    }
    default: {
      // a run of 0x00 or 0xff (lengths of −1, huge counts)
      const start = at();
      if (b.length) b.fill(rng.chance(0.5) ? 0xff : 0x00, start, Math.min(b.length, start + rng.range(1, 8)));
      return b;
    }
  }
}

/** Splits `bytes` into 1..max pieces at random points (split writes, frames straddling TCP reads). */
export function splitRandomly(rng: Rng, bytes: Buffer, max = 6): Buffer[] {
  const pieces: Buffer[] = [];
  let pos = 0;
  const n = rng.range(1, max);
  for (let i = 1; i < n && pos < bytes.length; i++) {
    const next = pos + rng.range(1, Math.max(1, Math.ceil((bytes.length - pos) / 2)));
    pieces.push(bytes.subarray(pos, next));
    pos = next;
  }
  if (pos < bytes.length) pieces.push(bytes.subarray(pos));
  return pieces;
}
