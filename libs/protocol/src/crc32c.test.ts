import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cJs } from './crc32c.js';

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cJs(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('native and JS implementations agree, also when continued', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (data, cut) => {
        const at = data.length === 0 ? 0 : cut % data.length;
        const whole = crc32cJs(data);
        expect(crc32c(data)).toBe(whole);
        expect(crc32cJs(data.subarray(at), crc32cJs(data.subarray(0, at)))).toBe(whole);
      }),
    );
  });
});
