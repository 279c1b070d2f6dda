// CRC-32C (Castagnoli) as RecordBatch v2 uses it: the native @node-rs/crc32 when it loads, a table-driven JS fallback otherwise.
import { createRequire } from 'node:module';

type Crc32c = (data: Uint8Array, initial?: number) => number;

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c;
  }
  return table;
})();

/** Pure-JS CRC-32C; `initial` continues a previous CRC. */
export function crc32cJs(data: Uint8Array, initial = 0): number {
  let crc = ~initial;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

function loadNative(): Crc32c | undefined {
  if (process.env.SLUICE_CRC32C === 'js') return undefined;
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: (data: Uint8Array, initial?: number) => number };
    return (data, initial = 0) => native.crc32c(data, initial) >>> 0;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** True when the native implementation is in use. */
export const crc32cIsNative = native !== undefined;

/** CRC-32C of `data`, continuing from `initial`. */
export const crc32c: Crc32c = native ?? crc32cJs;
