import { describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeRecords, SluiceError } from '@sluice/protocol';
import { formatFromMediaType, fromBytes, recordOut, toBytes, toHeaders } from './record-format.js';
import { HttpError } from './http/http-error.js';

describe('record formats', () => {
  it('json stores any JSON as its text and reads it back', () => {
    for (const v of [{ a: 1 }, [1, 'x'], 'text', 42, true]) {
      const bytes = toBytes('json', v, 'value')!;
      expect(bytes.toString()).toBe(JSON.stringify(v));
      expect(fromBytes('json', bytes)).toEqual(v);
    }
    expect(fromBytes('json', Buffer.from('not json'))).toBe('not json');
    expect(toBytes('json', null, 'value')).toBeNull();
  });

  it('string stores UTF-8 as is and refuses non-strings', () => {
    expect(toBytes('string', 'héllo', 'value')!.toString('utf8')).toBe('héllo');
    expect(() => toBytes('string', { a: 1 }, 'record 3 value')).toThrow(/record 3 value must be a string/);
  });

  it('binary is base64 both ways and refuses what is not base64', () => {
    const bytes = toBytes('binary', 'AAEC/w==', 'value')!;
    expect([...bytes]).toEqual([0, 1, 2, 255]);
    expect(fromBytes('binary', bytes)).toBe('AAEC/w==');
    for (const bad of ['***', 'A', 42]) {
      const err = (() => {
        try {
          toBytes('binary', bad, 'value');
        } catch (e) {
          return e;
        }
      })();
      // A domain error (INVALID_RECORD); the HTTP layer answers it with 422.
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('INVALID_RECORD');
      expect(HttpError.from(err).status).toBe(422);
    }
  });

  it('takes headers as an object or a list, and gives them back as a list', () => {
    expect(toHeaders('json', { a: '1', b: null }, 'r')).toEqual([
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: null },
    ]);
    expect(toHeaders('binary', [{ key: 'k', value: 'AAE=' }], 'r')).toEqual([{ key: 'k', value: Buffer.from([0, 1]) }]);
    expect(() => toHeaders('json', [{ value: 'x' }], 'record 0')).toThrow(/header 0 needs a string "key"/);
    expect(() => toHeaders('json', { a: 5 }, 'record 0')).toThrow(/string value/);
    const batch = buildRecordBatch([{ key: Buffer.from('"k"'), value: Buffer.from('{"x":1}'), headers: [{ key: 'h', value: Buffer.from('v') }] }], {
      baseOffset: 7,
      timestamp: 1000,
    });
    expect(recordOut('json', 't', 2, decodeRecords(batch)[0])).toEqual({
      topic: 't',
      partition: 2,
      offset: 7,
      timestamp: 1000,
      key: 'k',
      value: { x: 1 },
      headers: [{ key: 'h', value: 'v' }],
    });
  });

  it('reads the format from REST Proxy media types', () => {
    expect(formatFromMediaType('application/vnd.kafka.binary.v2+json')).toBe('binary');
    expect(formatFromMediaType('application/vnd.kafka.json.v2+json; charset=utf-8')).toBe('json');
    expect(formatFromMediaType('application/json')).toBeUndefined();
    expect(formatFromMediaType(undefined)).toBeUndefined();
  });
});
