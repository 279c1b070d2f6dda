// A chainable binary writer over a list of chunks: fixed-size values go into a scratch buffer, large byte arrays are appended without copying.
const CHUNK = 4096;

export class Writer {
  private readonly chunks: Uint8Array[] = [];
  private buf: Buffer;
  private pos = 0;
  private start = 0;
  #length = 0;

  constructor(initialSize = CHUNK) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.#length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushScratch();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.pos = 0;
    this.start = 0;
  }

  private flushScratch(): void {
    if (this.pos > this.start) this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    this.#length += 1;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    this.#length += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    this.#length += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    this.#length += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    this.#length += 4;
    return this;
  }

  int64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    this.#length += 8;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    this.#length += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  /** Unsigned LEB128 varint (Kafka's UNSIGNED_VARINT), up to 32 bits. */
  uvarint(v: number): this {
    this.ensure(5);
    let value = v >>> 0;
    while (value > 0x7f) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      this.#length++;
      value >>>= 7;
    }
    this.buf[this.pos++] = value;
    this.#length++;
    return this;
  }

  /** Zigzag varint (Kafka's VARINT, 32-bit). */
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zigzag varlong (Kafka's VARLONG, 64-bit). */
  varlong(v: bigint): this {
    this.ensure(10);
    let value = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (value > 0x7fn) {
      this.buf[this.pos++] = Number(value & 0x7fn) | 0x80;
      this.#length++;
      value >>= 7n;
    }
    this.buf[this.pos++] = Number(value);
    this.#length++;
    return this;
  }

  /** Raw bytes: small ones are copied into the scratch buffer, large ones appended as their own chunk. */
  raw(bytes: Uint8Array): this {
    if (bytes.length <= 256) {
      this.ensure(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    } else {
      this.flushScratch();
      this.chunks.push(bytes);
    }
    this.#length += bytes.length;
    return this;
  }

  // ---- Kafka protocol types (generated codecs use these) ----

  /**
   * INT64 from a JS number. Numbers at or beyond ±2^63 — which is what Reader.int64n makes of INT64_MAX, rounded up —
   * are written as INT64_MAX / INT64_MIN, so any INT64 a client sent can be forwarded again instead of throwing.
   */
  int64n(v: number): this {
    this.ensure(8);
    if (v >= 2 ** 63) {
      this.buf.writeInt32BE(0x7fffffff, this.pos);
      this.buf.writeUInt32BE(0xffffffff, this.pos + 4);
      this.pos += 8;
      this.#length += 8;
      return this;
    }
    const high = Math.floor(v / 4294967296);
    this.buf.writeInt32BE(high, this.pos);
    this.buf.writeUInt32BE(v - high * 4294967296, this.pos + 4);
    this.pos += 8;
    this.#length += 8;
    return this;
  }

  private text(v: string, length: number): this {
    this.ensure(length);
    this.buf.write(v, this.pos, length, 'utf8');
    this.pos += length;
    this.#length += length;
    return this;
  }

  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    const length = Buffer.byteLength(v, 'utf8');
    return this.int16(length).text(v, length);
  }

  compactNullableString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const length = Buffer.byteLength(v, 'utf8');
    return this.uvarint(length + 1).text(v, length);
  }

  nullableBytes(v: Uint8Array | null): this {
    return v === null ? this.int32(-1) : this.int32(v.length).raw(v);
  }

  compactNullableBytes(v: Uint8Array | null): this {
    return v === null ? this.uvarint(0) : this.uvarint(v.length + 1).raw(v);
  }

  uuid(v: string): this {
    const hex = v.replace(/-/g, '');
    return this.raw(hex.length === 32 ? Buffer.from(hex, 'hex') : Buffer.alloc(16));
  }

  /** ARRAY / COMPACT_ARRAY of `items` (null writes a null array). */
  array<T>(compact: boolean, items: readonly T[] | null, item: (value: T) => void): this {
    if (items === null) return compact ? this.uvarint(0) : this.int32(-1);
    if (compact) this.uvarint(items.length + 1);
    else this.int32(items.length);
    for (const value of items) item(value);
    return this;
  }

  /** A tagged-field section from (tag, encoded value) pairs in ascending tag order. */
  taggedFields(fields: ReadonlyArray<readonly [number, Writer]>): this {
    this.uvarint(fields.length);
    for (const [tag, value] of fields) {
      this.uvarint(tag).uvarint(value.length);
      for (const chunk of value.toChunks()) this.raw(chunk);
    }
    return this;
  }

  /** The written bytes as a list of chunks (no copy of large byte arrays). */
  toChunks(): Uint8Array[] {
    this.flushScratch();
    return this.chunks.slice();
  }

  /** The written bytes as one buffer (one copy). */
  toBuffer(): Buffer {
    this.flushScratch();
    if (this.chunks.length === 1) return Buffer.from(this.chunks[0].buffer, this.chunks[0].byteOffset, this.chunks[0].byteLength);
    return Buffer.concat(this.chunks, this.#length);
  }
}
