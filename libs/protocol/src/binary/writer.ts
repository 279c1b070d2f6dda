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
