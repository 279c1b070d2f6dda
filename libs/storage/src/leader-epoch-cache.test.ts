import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '@sluice/protocol';
import { tempDir, type TempDir } from '@sluice/testing';
import { LeaderEpochCache, UNDEFINED_EPOCH } from './leader-epoch-cache.js';
import { PartitionLog } from './partition-log.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-epoch-');
});
afterEach(async () => {
  await dir.remove();
});

const one = (v: string, epoch = -1, baseOffset = 0) => buildRecordBatch([{ value: Buffer.from(v) }], { partitionLeaderEpoch: epoch, baseOffset });

describe('leader-epoch cache', () => {
  it('answers end offsets for epochs as Kafka does and persists in its checkpoint format', async () => {
    const { cache } = await LeaderEpochCache.load(dir.path);
    await cache.assign(1, 0);
    await cache.assign(3, 10);
    await cache.assign(2, 12); // older than the latest: ignored
    await cache.assign(5, 20);
    expect(cache.endOffsetFor(5, 25)).toEqual({ epoch: 5, endOffset: 25 });
    expect(cache.endOffsetFor(3, 25)).toEqual({ epoch: 3, endOffset: 20 });
    expect(cache.endOffsetFor(4, 25)).toEqual({ epoch: 3, endOffset: 20 });
    expect(cache.endOffsetFor(0, 25)).toEqual({ epoch: 0, endOffset: 0 });
    expect(cache.endOffsetFor(6, 25)).toEqual({ epoch: UNDEFINED_EPOCH, endOffset: -1 });
    expect(await readFile(join(dir.path, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n3\n1 0\n3 10\n5 20\n');
    await cache.truncateFromStart(15);
    await cache.truncateFromEnd(20);
    expect((await LeaderEpochCache.load(dir.path)).cache.all).toEqual([{ epoch: 3, startOffset: 15 }]);
    await writeFile(join(dir.path, 'leader-epoch-checkpoint'), '0\n5\n1 0\n');
    expect((await LeaderEpochCache.load(dir.path)).found).toBe(false);
  });

  it('is kept by the log: leader appends, follower appends, truncation, and a rebuild when the file is lost', async () => {
    const log = await PartitionLog.open(dir.path);
    await log.append(one('a'), 0);
    await log.append(one('b'), 0);
    await log.append(one('c'), 2);
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 2 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 0, endOffset: 2 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 3 });
    // A follower copies batches with the epochs its leader stamped.
    await log.appendAsFollower(Buffer.concat([one('d', 2, 3), one('e', 4, 4), one('f', 4, 5)]));
    expect(log.latestEpoch).toBe(4);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 4 });
    // Truncating below epoch 4's start forgets it.
    await log.truncateTo(4);
    expect(log.latestEpoch).toBe(2);
    await log.close();
    await unlink(join(dir.path, 'leader-epoch-checkpoint'));
    const again = await PartitionLog.open(dir.path);
    expect(again.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 2 });
    expect(again.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 4 });
    await again.close();
  });
});
