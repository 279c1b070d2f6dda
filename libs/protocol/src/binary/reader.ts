// A cursor over a byte buffer with Kafka's fixed-width and varint encodings; reading past the end throws CORRUPT_MESSAGE-style errors.
import { SluiceError } from '../errors.js';

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new SluiceError('BUFFER_UNDERFLOW', `need ${n} bytes at position ${this.pos}, only ${this.end - this.pos} left`, {
        kafkaCode: 2,
      });
    }
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++];
      if (shift === 28 && b > 0x0f) throw new SluiceError('INVALID_VARINT', 'unsigned varint longer than 32 bits', { kafkaCode: 2 });
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  varint(): number {
    const v = this.uvarint();
    return (v >>> 1) ^ -(v & 1);
  }

  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++];
      if (shift > 63n) throw new SluiceError('INVALID_VARINT', 'varlong longer than 64 bits', { kafkaCode: 2 });
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    return BigInt.asIntN(64, (result >> 1n) ^ -(result & 1n));
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  // ---- Kafka protocol types (generated codecs use these) ----

  /** INT64 as a JS number (exact below 2^53, which offsets and timestamps are). */
  int64n(): number {
    this.need(8);
    const v = this.buf.readInt32BE(this.pos) * 4294967296 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  private text(length: number): string {
    this.need(length);
    const v = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return v;
  }

  /** STRING / NULLABLE_STRING (int16 length, -1 for null). */
  nullableString(): string | null {
    const length = this.int16();
    return length < 0 ? null : this.text(length);
  }

  string(): string {
    return this.notNull(this.nullableString(), 'string');
  }

  /** COMPACT_NULLABLE_STRING (unsigned varint length + 1, 0 for null). */
  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    return length < 0 ? null : this.text(length);
  }

  compactString(): string {
    return this.notNull(this.compactNullableString(), 'string');
  }

  /** NULLABLE_BYTES (int32 length, -1 for null): a view, not a copy. */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    return length < 0 ? null : this.bytes(length);
  }

  kafkaBytes(): Buffer {
    return this.notNull(this.nullableBytes(), 'bytes');
  }

  compactNullableBytes(): Buffer | null {
    const length = this.uvarint() - 1;
    return length < 0 ? null : this.bytes(length);
  }

  compactBytes(): Buffer {
    return this.notNull(this.compactNullableBytes(), 'bytes');
  }

  /** UUID as the usual 8-4-4-4-12 hex text. */
  uuid(): string {
    const hex = this.bytes(16).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** ARRAY / COMPACT_ARRAY; null for a null array. */
  nullableArray<T>(compact: boolean, item: () => T): T[] | null {
    const length = compact ? this.uvarint() - 1 : this.int32();
    if (length < 0) return null;
    // Every element takes at least one byte: a length beyond the bytes left is malformed, not a huge allocation.
    if (length > this.remaining) throw new SluiceError('BUFFER_UNDERFLOW', `array of ${length} elements in ${this.remaining} bytes`, { kafkaCode: 2 });
    const out = new Array<T>(length);
    for (let i = 0; i < length; i++) out[i] = item();
    return out;
  }

  array<T>(compact: boolean, item: () => T): T[] {
    return this.notNull(this.nullableArray(compact, item), 'array');
  }

  /** A tagged-field section: `visit` reads the fields it knows and returns true; others are skipped. */
  taggedFields(visit: (tag: number) => boolean): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      const end = this.pos + size;
      this.need(size);
      if (!visit(tag)) this.pos = end;
      else if (this.pos !== end) throw new SluiceError('INVALID_TAGGED_FIELD', `tagged field ${tag} is ${size} bytes but decoded as ${this.pos - end + size}`, { kafkaCode: 2 });
    }
  }

  skipTaggedFields(): void {
    this.taggedFields(() => false);
  }

  private notNull<T>(value: T | null, what: string): T {
    if (value === null) throw new SluiceError('UNEXPECTED_NULL', `null ${what} where the protocol does not allow one`, { kafkaCode: 42 });
    return value;
  }
}
