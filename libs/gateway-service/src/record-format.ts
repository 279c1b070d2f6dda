// How HTTP record keys, values and headers become bytes and back: json (any JSON, stored as its JSON text),
// string (UTF-8 as is) and binary (base64).
import type { DecodedRecord, RecordHeader } from '@sluice/protocol';
import { HttpError } from './http/http-error.js';

export type RecordFormat = 'json' | 'string' | 'binary';
export const recordFormats: readonly RecordFormat[] = ['json', 'string', 'binary'];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The format a content type or Accept header asks for (Confluent REST Proxy v2 media types), if it names one. */
export function formatFromMediaType(mediaType: string | undefined): RecordFormat | undefined {
  if (!mediaType) return undefined;
  if (mediaType.includes('vnd.kafka.binary')) return 'binary';
  if (mediaType.includes('vnd.kafka.json')) return 'json';
  if (mediaType.includes('vnd.sluice.string') || mediaType.includes('vnd.kafka.string')) return 'string';
  return undefined;
}

/** Bytes of one key or value; null stays null (a null value is a tombstone). */
export function toBytes(format: RecordFormat, value: unknown, what: string): Buffer | null {
  if (value === null || value === undefined) return null;
  switch (format) {
    case 'json':
      return Buffer.from(JSON.stringify(value), 'utf8');
    case 'string':
      if (typeof value !== 'string') throw HttpError.invalidRecord(`${what} must be a string in the string format`);
      return Buffer.from(value, 'utf8');
    case 'binary':
      if (typeof value !== 'string' || value.length % 4 === 1 || !BASE64.test(value)) {
        throw HttpError.invalidRecord(`${what} must be base64 in the binary format`);
      }
      return Buffer.from(value, 'base64');
  }
}

export function fromBytes(format: RecordFormat, bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  switch (format) {
    case 'binary':
      return bytes.toString('base64');
    case 'string':
      return bytes.toString('utf8');
    case 'json': {
      const text = bytes.toString('utf8');
      try {
        return JSON.parse(text);
      } catch {
        // Not JSON (written by another producer): the text itself.
        return text;
      }
    }
  }
}

/** Headers as `{name: value}` or `[{key|name, value}]`; values are strings (base64 in the binary format) or null. */
export function toHeaders(format: RecordFormat, headers: unknown, what: string): RecordHeader[] {
  if (headers === undefined || headers === null) return [];
  const entries: Array<[string, unknown]> = Array.isArray(headers)
    ? headers.map((h: unknown, i: number) => {
        const e = h as { key?: unknown; name?: unknown; value?: unknown };
        const key = e?.key ?? e?.name;
        if (typeof key !== 'string') throw HttpError.invalidRecord(`${what} header ${i} needs a string "key"`);
        return [key, e.value];
      })
    : Object.entries(headers as Record<string, unknown>);
  return entries.map(([key, value]) => {
    if (value !== null && value !== undefined && typeof value !== 'string') {
      throw HttpError.invalidRecord(`${what} header "${key}" must have a string value`);
    }
    const bytes = value === null || value === undefined ? null : format === 'binary' ? toBytes('binary', value, `${what} header "${key}"`) : Buffer.from(value, 'utf8');
    return { key, value: bytes };
  });
}

export interface HttpRecordOut {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: Array<{ key: string; value: string | null }>;
}

export function recordOut(format: RecordFormat, topic: string, partition: number, r: DecodedRecord): HttpRecordOut {
  return {
    topic,
    partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: fromBytes(format, r.key),
    value: fromBytes(format, r.value),
    headers: r.headers.map((h) => ({
      key: h.key,
      value: h.value === null ? null : format === 'binary' ? h.value.toString('base64') : h.value.toString('utf8'),
    })),
  };
}
