import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeRecords } from '@sluice/protocol';
import { tempDir, type TempDir } from '@sluice/testing';
import { FilePool } from './file-pool.js';
import { PartitionLog } from './partition-log.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-pool-');
});
afterEach(async () => {
  await dir.remove();
});

const openDescriptors = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

describe('bounded open files', () => {
  it('serves 1,000 partitions with at most the pool’s bound of segment files open', async () => {
    const files = new FilePool(64);
    const before = await openDescriptors();
    const logs: PartitionLog[] = [];
    for (let p = 0; p < 1000; p++) logs.push(await PartitionLog.open(join(dir.path, `topic-${p}`), { segmentBytes: 300 }, { files }));
    for (let round = 0; round < 3; round++) {
      await Promise.all(logs.map((log, p) => log.append(buildRecordBatch([{ value: Buffer.from(`p${p}-r${round}`.padEnd(100, '.')) }]), 0)));
      expect(files.openCount).toBeLessThanOrEqual(64);
    }
    for (const [p, log] of logs.entries()) {
      const records = decodeRecordsAll((await log.read(0, 1 << 20)).bytes);
      expect(records).toEqual([0, 1, 2].map((r) => `p${p}-r${r}`));
    }
    expect(files.openCount).toBeLessThanOrEqual(64);
    expect((await openDescriptors()) - before).toBeLessThanOrEqual(64 + 8);
    await Promise.all(logs.map((log) => log.close()));
    expect(files.openCount).toBe(0);
  });

  it('never closes a file under its user, and a retired file refuses new users', async () => {
    const files = new FilePool(1);
    const logA = await PartitionLog.open(join(dir.path, 'a'), {}, { files });
    const logB = await PartitionLog.open(join(dir.path, 'b'), {}, { files });
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? logA : logB).append(buildRecordBatch([{ value: Buffer.from(`v${i}`) }]), 0)));
    expect(logA.logEndOffset + logB.logEndOffset).toBe(100);
    const file = { path: join(dir.path, 'a', '00000000000000000000.log') };
    const slow = files.use(file, async (h) => {
      await new Promise((r) => setTimeout(r, 50));
      return (await h.stat()).size;
    });
    await files.retire(file);
    expect(await slow).toBeGreaterThan(0);
    await expect(files.use(file, async () => 1)).rejects.toThrow(/replaced or deleted/);
    await logA.close();
    await logB.close();
  });
});

function decodeRecordsAll(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = bytes.readInt32BE(at + 8) + 12;
    for (const r of decodeRecords(bytes.subarray(at, at + size))) out.push(r.value!.toString().replace(/\.+$/, ''));
    at += size;
  }
  return out;
}
