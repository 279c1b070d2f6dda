// Round trips for every generated message and every version: random values shaped by Kafka's definitions are
// written, read back, and written again; the bytes must match and the values read must be those written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Reader } from './binary/reader.js';
import { Writer } from './binary/writer.js';
import * as messages from './generated/messages/index.js';

const specDir = fileURLToPath(new URL('../spec/messages', import.meta.url));
type Codec = (...args: unknown[]) => unknown;
const codecs = messages as unknown as Record<string, Codec>;

interface FieldSpec {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  tag?: number;
  taggedVersions?: string;
  fields?: FieldSpec[];
}

function inRange(text: string | undefined, v: number): boolean {
  if (!text || text === 'none') return false;
  if (text.endsWith('+')) return v >= Number(text.slice(0, -1));
  const [a, b] = text.split('-').map(Number);
  return v >= a && v <= (b ?? a);
}

/** A small deterministic random source, so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function randomValue(field: FieldSpec, elem: string, v: number, rand: () => number, common: Map<string, FieldSpec[]>): unknown {
  const int = (bits: number) => Math.floor(rand() * 2 ** bits) - 2 ** (bits - 1);
  switch (elem) {
    case 'int8':
      return int(8);
    case 'int16':
      return int(16);
    case 'uint16':
      return Math.floor(rand() * 65536);
    case 'int32':
      return int(32);
    case 'int64':
      return Math.floor((rand() - 0.5) * 2 ** 52);
    case 'float64':
      return rand() * 1000;
    case 'bool':
      return rand() < 0.5;
    case 'uuid':
      return [8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('')).join('-');
    case 'string':
      return ['', 'a', 'topic-é', 'x'.repeat(Math.floor(rand() * 300))][Math.floor(rand() * 4)];
    case 'bytes':
    case 'records':
      return Buffer.from(Array.from({ length: Math.floor(rand() * 400) }, () => Math.floor(rand() * 256)));
    default:
      return randomStruct(field.fields ?? common.get(elem) ?? [], v, rand, common);
  }
}

function randomStruct(fields: FieldSpec[], v: number, rand: () => number, common: Map<string, FieldSpec[]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    const present = f.tag !== undefined ? inRange(f.taggedVersions ?? f.versions, v) && rand() < 0.7 : inRange(f.versions, v);
    if (!present) continue;
    const key = f.name[0].toLowerCase() + f.name.slice(1);
    const nullable = inRange(f.nullableVersions, v) && f.tag === undefined;
    if (nullable && rand() < 0.2) {
      o[key] = null;
      continue;
    }
    const elem = f.type.replace(/^\[\]/, '');
    o[key] = f.type.startsWith('[]') ? Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(f, elem, v, rand, common)) : randomValue(f, elem, v, rand, common);
  }
  return o;
}

/** The values of `expected` are in `actual` (which may hold defaults for fields absent in this version). */
function expectContains(actual: unknown, expected: unknown, path: string): void {
  if (Buffer.isBuffer(expected)) {
    expect(Buffer.compare(actual as Buffer, expected), path).toBe(0);
  } else if (Array.isArray(expected)) {
    expect((actual as unknown[]).length, path).toBe(expected.length);
    expected.forEach((e, i) => expectContains((actual as unknown[])[i], e, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === 'object') {
    for (const [k, e] of Object.entries(expected)) expectContains((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
  } else expect(actual, path).toEqual(expected);
}

const names = [...messages.apiCatalog.flatMap((a) => [`${a.name}Request`, `${a.name}Response`]), 'ConsumerProtocolSubscription', 'ConsumerProtocolAssignment'];

describe('generated Kafka message codecs', () => {
  for (const name of names) {
    const spec = JSON.parse(readFileSync(join(specDir, `${name}.json`), 'utf8')) as { validVersions: string; fields: FieldSpec[]; commonStructs?: Array<{ name: string; fields: FieldSpec[] }> };
    const common = new Map((spec.commonStructs ?? []).map((c) => [c.name, c.fields]));
    const [lo, hi] = spec.validVersions.split('-').map(Number);
    it(`${name} v${lo}-${hi ?? lo} round-trips random values`, () => {
      for (let v = lo; v <= (hi ?? lo); v++) {
        for (let seed = 1; seed <= 15; seed++) {
          const value = randomStruct(spec.fields, v, rng(seed * 1000 + v), common);
          const w = new Writer();
          codecs[`write${name}`](w, v, value);
          const bytes = w.toBuffer();
          const r = new Reader(bytes);
          const decoded = codecs[`read${name}`](r, v);
          expect(r.remaining, `${name} v${v} seed ${seed}: bytes left`).toBe(0);
          expectContains(decoded, value, `${name} v${v} seed ${seed}`);
          const again = new Writer();
          codecs[`write${name}`](again, v, decoded);
          expect(again.toBuffer().equals(bytes), `${name} v${v} seed ${seed}: re-encoding`).toBe(true);
        }
      }
    });
  }

  it('refuses a truncated message and an array longer than its bytes', () => {
    const w = new Writer();
    messages.writeMetadataRequest(w, 4, { topics: [{ name: 'a' }], allowAutoTopicCreation: true });
    const bytes = w.toBuffer();
    expect(() => messages.readMetadataRequest(new Reader(bytes.subarray(0, bytes.length - 2)), 4)).toThrow();
    const huge = Buffer.from([0x7f, 0xff, 0xff, 0xff]);
    expect(() => messages.readMetadataRequest(new Reader(huge), 4)).toThrow(/array of/);
  });
});
