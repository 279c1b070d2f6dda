import { readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeRecords, forEachBatch } from '@sluice/protocol';
import { tempDir, type TempDir } from '@sluice/testing';
import { OffsetIndex, TimeIndex } from './indexes.js';
import { PartitionLog } from './partition-log.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-index-');
});
afterEach(async () => {
  await dir.remove();
});

const config = { segmentBytes: 2048, indexIntervalBytes: 256 };

async function fill(log: PartitionLog, count: number, timestamp = (i: number) => 1_000_000 + i * 10): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(buildRecordBatch([{ value: Buffer.from(`value-${i}`.padEnd(80, '.')) }], { timestamp: timestamp(i) }), 0);
}

function firstOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  forEachBatch(bytes, (h) => out.push(h.baseOffset));
  return out;
}

describe('offset and time indexes', () => {
  it('binary-searches sparse entries and checks index files like Kafka does', () => {
    const index = new OffsetIndex(100);
    index.append(100, 0);
    index.append(110, 4096);
    index.append(125, 9000);
    expect([index.floorPosition(99), index.floorPosition(100), index.floorPosition(124), index.floorPosition(1000)]).toEqual([0, 0, 4096, 9000]);
    const bytes = index.toBuffer();
    expect(bytes.length).toBe(24);
    expect(OffsetIndex.fromBuffer(bytes, 100, 10_000)?.floorPosition(111)).toBe(4096);
    expect(OffsetIndex.fromBuffer(bytes, 100, 5000)).toBeNull(); // a position beyond the segment
    expect(OffsetIndex.fromBuffer(bytes.subarray(0, 20), 100, 10_000)).toBeNull(); // torn
    const time = new TimeIndex(100);
    time.maybeAppend(50, 100);
    time.maybeAppend(40, 105); // not a new maximum: ignored
    time.maybeAppend(70, 110);
    expect([time.scanStart(10), time.scanStart(60), time.scanStart(70), time.scanStart(71)]).toEqual([100, 100, 100, 110]);
    expect(TimeIndex.fromBuffer(time.toBuffer(), 100)?.lastTimestamp).toBe(70);
  });

  it('writes .index and .timeindex files for closed segments and reads through them after a reopen', async () => {
    const log = await PartitionLog.open(dir.path, config);
    await fill(log, 100);
    expect(log.segmentCount).toBeGreaterThan(3);
    const names = await readdir(dir.path);
    const closed = names.filter((n) => n.endsWith('.log')).sort().slice(0, -1);
    for (const n of closed) {
      const index = await stat(join(dir.path, n.replace('.log', '.index')));
      const time = await stat(join(dir.path, n.replace('.log', '.timeindex')));
      expect(index.size % 8).toBe(0);
      expect(index.size).toBeGreaterThan(8);
      expect(time.size % 12).toBe(0);
    }
    await log.close();
    const again = await PartitionLog.open(dir.path, config);
    for (const at of [0, 17, 50, 99]) expect(firstOffsets((await again.read(at, 1)).bytes)).toEqual([at]);
    await again.close();
  });

  it('rebuilds indexes that are missing, torn or wrong, and reads stay correct', async () => {
    const log = await PartitionLog.open(dir.path, config);
    await fill(log, 100);
    await log.close();
    const names = (await readdir(dir.path)).filter((n) => n.endsWith('.index')).sort();
    const [a, b, c] = names;
    await writeFile(join(dir.path, a), Buffer.alloc(13, 7)); // torn
    const wrong = Buffer.alloc(16);
    wrong.writeInt32BE(3, 0);
    wrong.writeInt32BE(999_999, 4); // a position past the end of the segment
    await writeFile(join(dir.path, b), wrong);
    await writeFile(join(dir.path, c.replace('.index', '.timeindex')), Buffer.alloc(5));
    const again = await PartitionLog.open(dir.path, config);
    for (let at = 0; at < 100; at += 3) {
      const bytes = (await again.read(at, 1)).bytes;
      expect(firstOffsets(bytes)).toEqual([at]);
      expect(decodeRecords(bytes)[0].value?.toString().startsWith(`value-${at}.`)).toBe(true);
    }
    // Rebuilt indexes were written back.
    expect((await readFile(join(dir.path, a))).length % 8).toBe(0);
    await again.close();
  });

  it('after a clean shutdown reads only the tail past the last index entry; after a crash checks the whole active segment', async () => {
    const big = { segmentBytes: 1 << 20, indexIntervalBytes: 256 };
    const log = await PartitionLog.open(dir.path, big);
    await fill(log, 40);
    await log.close();
    // Damage a record inside the first batch (not its header): a CRC check would catch it, a clean open does not look.
    const path = join(dir.path, '00000000000000000000.log');
    const bytes = await readFile(path);
    bytes[70] ^= 0xff;
    await writeFile(path, bytes);
    const clean = await PartitionLog.open(dir.path, big);
    expect(clean.logEndOffset).toBe(40);
    // Simulate a crash: drop the clean-shutdown marker the close would leave.
    await clean.close();
    await unlink(join(dir.path, '.clean-shutdown'));
    const crashed = await PartitionLog.open(dir.path, big);
    expect(crashed.logEndOffset).toBe(0); // the corrupt first batch and everything after it are cut
    await crashed.close();
  });

  it('finds offsets by timestamp to the record, and the record with the largest timestamp', async () => {
    const log = await PartitionLog.open(dir.path, config);
    // Batches of 3 records with timestamps t, t+1, t+2 (t = 1000 + 10·batch), and one late, out-of-order batch.
    for (let b = 0; b < 30; b++) {
      const t = 1000 + b * 10;
      const records = [0, 1, 2].map((i) => ({ value: Buffer.from(`b${b}r${i}`.padEnd(60)), timestamp: t + i }));
      await log.append(buildRecordBatch(records, { timestamp: t }), 0);
    }
    await log.append(buildRecordBatch([{ value: Buffer.from('late'), timestamp: 500 }], { timestamp: 500 }), 0);
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 });
    expect(await log.offsetForTimestamp(1001)).toEqual({ offset: 1, timestamp: 1001 });
    expect(await log.offsetForTimestamp(1152)).toEqual({ offset: 47, timestamp: 1152 });
    expect(await log.offsetForTimestamp(1153)).toEqual({ offset: 48, timestamp: 1160 });
    expect(await log.offsetForTimestamp(1293)).toBeNull();
    expect(await log.offsetForMaxTimestamp()).toEqual({ offset: 89, timestamp: 1292 });
    await log.close();
    const again = await PartitionLog.open(dir.path, config);
    expect(await again.offsetForTimestamp(1152)).toEqual({ offset: 47, timestamp: 1152 });
    await again.deleteRecordsBefore(50);
    expect(await again.offsetForTimestamp(0)).toEqual({ offset: 50, timestamp: 1162 });
    await again.close();
  });
});
