// How HTTP record keys, values and headers become bytes and back: json (any JSON, stored as its JSON text),
// string (UTF-8 as is) and binary (base64).
import type { DecodedRecord, RecordHeader } from '@sluice/protocol';
import { KafkaErrorCode, kafkaError, SluiceError } from '@sluice/protocol';

export type RecordFormat = 'json' | 'string' | 'binary';
export const recordFormats: readonly RecordFormat[] = ['json', 'string', 'binary'];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * JSON values nested deeper than this are refused at produce and read back as text: serialising one costs a stack
 * frame per level, and at some thousands of levels JSON.stringify overflows the stack.
 */
export const MAX_JSON_DEPTH = 1000;

/** Whether JSON text nests arrays and objects deeper than `limit`; text too short to nest that deep is not scanned. */
export function jsonNestingExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  if (text.length <= 2 * limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: find its closing quote, one not preceded by an odd number of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return false;
        let b = i - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((i - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function jsonText(value: unknown, what: string): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    text = '';
  }
  if (text === '' || jsonNestingExceeds(text)) throw new SluiceError('INVALID_JSON', `${what} nests deeper than ${MAX_JSON_DEPTH} levels`, { kafkaCode: KafkaErrorCode.INVALID_REQUEST });
  return text;
}

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
      return Buffer.from(jsonText(value, what), 'utf8');
    case 'string':
      if (typeof value !== 'string') throw kafkaError('INVALID_RECORD', `${what} must be a string in the string format`);
      return Buffer.from(value, 'utf8');
    case 'binary':
      if (typeof value !== 'string' || value.length % 4 === 1 || !BASE64.test(value)) {
        throw kafkaError('INVALID_RECORD', `${what} must be base64 in the binary format`);
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
      // Too deep to serialise again (written by another producer): the text itself, as for text that is not JSON.
      if (jsonNestingExceeds(text)) return text;
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
        if (typeof key !== 'string') throw kafkaError('INVALID_RECORD', `${what} header ${i} needs a string "key"`);
        return [key, e.value];
      })
    : Object.entries(headers as Record<string, unknown>);
  return entries.map(([key, value]) => {
    if (value !== null && value !== undefined && typeof value !== 'string') {
      throw kafkaError('INVALID_RECORD', `${what} header "${key}" must have a string value`);
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
