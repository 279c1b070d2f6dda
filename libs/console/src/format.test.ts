import { describe, expect, it } from 'vitest';
import { formatBytes, formatRate, parsePairs, prettyValue } from './format.js';

describe('record and form formatting', () => {
  it('shows byte counts in binary units, and a dash when unknown', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1024), formatBytes(1536), formatBytes(10 * 1024 * 1024), formatBytes(3 * 2 ** 30)]).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 MiB', '3.0 GiB']);
    expect([formatBytes(undefined), formatBytes(null), formatBytes(-1)]).toEqual(['—', '—', '—']);
  });

  it('pretty-prints JSON text and leaves other text as it is', () => {
    expect(prettyValue('{"a":1,"b":[true]}')).toEqual({ text: '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}', json: true });
    expect(prettyValue('[1, 2]')).toEqual({ text: '[\n  1,\n  2\n]', json: true });
    expect(prettyValue('{not json')).toEqual({ text: '{not json', json: false });
    expect(prettyValue('plain')).toEqual({ text: 'plain', json: false });
    expect(prettyValue(null)).toEqual({ text: 'null', json: false });
    expect(prettyValue({ x: 1 })).toEqual({ text: '{\n  "x": 1\n}', json: true });
  });

  it('reads key=value lines and comma-separated pairs, and refuses a pair without a key', () => {
    expect(parsePairs('retention.ms=1000\n\n cleanup.policy = compact ')).toEqual({ 'retention.ms': '1000', 'cleanup.policy': 'compact' });
    expect(parsePairs('a=1,b=x=y')).toEqual({ a: '1', b: 'x=y' });
    expect(() => parsePairs('novalue')).toThrow('"novalue" is not key=value');
    expect(() => parsePairs('=1')).toThrow();
  });

  it('shows rates with one decimal below 10 per second', () => {
    expect(formatRate(undefined)).toBe('—');
    expect(formatRate(2.345)).toBe('2.3/s');
    expect(formatRate(12345.6)).toBe('12,346/s');
  });
});
