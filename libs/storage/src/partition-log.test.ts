import { readdir, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, BatchField, decodeRecords, forEachBatch, KafkaErrorCode, SluiceError } from '@sluice/protocol';
import { tempDir, type TempDir } from '@sluice/testing';
import { FilePool } from './file-pool.js';
import { PartitionLog } from './partition-log.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-log-');
});
afterEach(async () => {
  await dir.remove();
});

const batch = (values: string[], timestamp = Date.now()) => buildRecordBatch(values.map((v) => ({ value: Buffer.from(v) })), { timestamp });

function values(bytes: Buffer, from = 0): string[] {
  const out: string[] = [];
  forEachBatch(bytes, (_h, s, e) => {
    for (const r of decodeRecords(bytes.subarray(s, e))) if (r.offset >= from) out.push(r.value!.toString());
  });
  return out;
}

function offsets(bytes: Buffer): number[] {
  const out: number[] = [];
  forEachBatch(bytes, (_h, s, e) => decodeRecords(bytes.subarray(s, e)).forEach((r) => out.push(r.offset)));
  return out;
}

describe('PartitionLog', () => {
  it('assigns dense offsets and reads whole batches back', async () => {
    const log = await PartitionLog.open(dir.path);
    expect(await log.append(batch(['a', 'b']), 0)).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    expect(await log.append(batch(['c']), 0)).toMatchObject({ baseOffset: 2, lastOffset: 2 });
    expect(log.logEndOffset).toBe(3);
    const all = await log.read(0, 1 << 20);
    expect(values(all.bytes)).toEqual(['a', 'b', 'c']);
    expect(offsets(all.bytes)).toEqual([0, 1, 2]);
    // Inside a batch: the whole batch comes back.
    expect(offsets((await log.read(1, 1 << 20)).bytes)).toEqual([0, 1, 2]);
    expect((await log.read(3, 1 << 20)).bytes.length).toBe(0);
    await log.close();
  });

  it('appends concurrently in call order', async () => {
    const log = await PartitionLog.open(dir.path);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(batch([`v${i}`]), 0)));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(values((await log.read(0, 1 << 20)).bytes)).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    await log.close();
  });

  it('with fsync on every append, concurrent appends share writes and syncs and stay dense', async () => {
    const log = await PartitionLog.open(dir.path, { flushMessages: 1, segmentBytes: 4096 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(batch([`s${i}`, `t${i}`]), 3)));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
    expect(log.logEndOffset).toBe(400);
    const all = (await log.read(0, 1 << 22)).bytes;
    expect(values(all)).toHaveLength(400);
    const epochs = new Set<number>();
    forEachBatch(all, (h) => epochs.add(h.partitionLeaderEpoch));
    expect([...epochs]).toEqual([3]);
    await log.close();
  });

  it('appends as a follower only at the log end, keeping the leader’s offsets', async () => {
    const log = await PartitionLog.open(dir.path);
    const fromLeader = buildRecordBatch([{ value: Buffer.from('x') }, { value: Buffer.from('y') }], { baseOffset: 0 });
    expect(await log.appendAsFollower(fromLeader)).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    const gap = buildRecordBatch([{ value: Buffer.from('z') }], { baseOffset: 5 });
    await expect(log.appendAsFollower(gap)).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE });
    expect(log.logEndOffset).toBe(2);
    await log.close();
  });

  it('respects maxBytes and upTo, but returns one oversize batch', async () => {
    const log = await PartitionLog.open(dir.path);
    for (let i = 0; i < 10; i++) await log.append(batch([`value-${i}`.padEnd(100, '.')]), 0);
    const one = (await log.read(0, 1)).bytes;
    expect(offsets(one)).toEqual([0]);
    const some = (await log.read(0, one.length * 3)).bytes;
    expect(offsets(some)).toEqual([0, 1, 2]);
    expect(offsets((await log.read(0, 1 << 20, 4)).bytes)).toEqual([0, 1, 2, 3]);
    await log.close();
  });

  it('refuses offsets outside the log', async () => {
    const log = await PartitionLog.open(dir.path);
    await log.append(batch(['a']), 0);
    await expect(log.read(2, 100)).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE });
    await expect(log.read(-1, 100)).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE });
    await log.close();
  });

  it('refuses bad batches and writes nothing', async () => {
    const log = await PartitionLog.open(dir.path);
    await log.append(batch(['ok']), 0);
    const bad = batch(['x']);
    bad[bad.length - 1] ^= 1;
    await expect(log.append(bad, 0)).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.CORRUPT_MESSAGE });
    const magic = batch(['x']);
    magic.writeInt8(1, BatchField.magic);
    await expect(log.append(magic, 0)).rejects.toBeInstanceOf(SluiceError);
    await expect(log.append(batch(['x']).subarray(0, 40), 0)).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.CORRUPT_MESSAGE });
    expect(log.logEndOffset).toBe(1);
    expect(values((await log.read(0, 1 << 20)).bytes)).toEqual(['ok']);
    await log.close();
  });

  it('rolls segments and reads across them; everything survives a reopen', async () => {
    const log = await PartitionLog.open(dir.path, { segmentBytes: 300 });
    for (let i = 0; i < 20; i++) await log.append(batch([`record-${i}`.padEnd(80, '-')]), 0);
    log.setHighWatermark(20);
    const files = (await readdir(dir.path)).filter((f) => f.endsWith('.log'));
    expect(files.length).toBeGreaterThan(3);
    expect(files[0]).toBe('00000000000000000000.log');
    expect(values((await log.read(5, 1 << 20)).bytes)).toHaveLength(15);
    await log.close();
    const again = await PartitionLog.open(dir.path, { segmentBytes: 300 });
    expect(again.logEndOffset).toBe(20);
    expect(again.highWatermark).toBe(20);
    expect(values((await again.read(0, 1 << 20)).bytes)).toHaveLength(20);
    expect((await again.append(batch(['more']), 1)).baseOffset).toBe(20);
    await again.close();
  });

  it('recovers from a torn tail after a crash: the valid prefix stays and appends continue', async () => {
    const log = await PartitionLog.open(dir.path);
    for (let i = 0; i < 5; i++) await log.append(batch([`r${i}`]), 0);
    // No close(): a crash. Tear the last batch in half.
    const file = join(dir.path, '00000000000000000000.log');
    const { size } = await stat(file);
    await truncate(file, size - 10);
    const reopened = await PartitionLog.open(dir.path);
    expect(reopened.logEndOffset).toBe(4);
    expect(values((await reopened.read(0, 1 << 20)).bytes)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect((await reopened.append(batch(['r4-again']), 0)).baseOffset).toBe(4);
    await reopened.close();
    await log.close().catch(() => undefined);
  });

  it('deletes old segments by time and by size, and records before an offset', async () => {
    const old = Date.now() - 10 * 24 * 3600 * 1000;
    const log = await PartitionLog.open(dir.path, { segmentBytes: 200, retentionMs: 24 * 3600 * 1000 });
    for (let i = 0; i < 4; i++) await log.append(batch([`old-${i}`.padEnd(80)], old), 0);
    for (let i = 0; i < 4; i++) await log.append(batch([`new-${i}`.padEnd(80)]), 0);
    expect(await log.applyRetention(Date.now())).toBeGreaterThan(0);
    expect(log.logStartOffset).toBe(4);
    expect(values((await log.read(log.logStartOffset, 1 << 20)).bytes).map((v) => v.trim())).toEqual(['new-0', 'new-1', 'new-2', 'new-3']);
    log.updateConfig({ retentionMs: -1, retentionBytes: 250 });
    await log.applyRetention(Date.now());
    expect(log.size).toBeLessThanOrEqual(250 + 200);
    await log.deleteRecordsBefore(7);
    expect(log.logStartOffset).toBe(7);
    await expect(log.read(6, 100)).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE });
    await log.close();
    const again = await PartitionLog.open(dir.path);
    expect(again.logStartOffset).toBe(7);
    await again.close();
  });

  it('truncates to an offset and finds offsets by timestamp', async () => {
    const log = await PartitionLog.open(dir.path, { segmentBytes: 200 });
    for (let i = 0; i < 6; i++) await log.append(batch([`t${i}`.padEnd(60)], 1000 + i * 10), 0);
    expect(await log.offsetForTimestamp(1025)).toEqual({ offset: 3, timestamp: 1030 });
    expect(await log.offsetForTimestamp(5000)).toBeNull();
    await log.truncateTo(2);
    expect(log.logEndOffset).toBe(2);
    expect((await log.append(batch(['after']), 1)).baseOffset).toBe(2);
    expect(values((await log.read(0, 1 << 20)).bytes).map((v) => v.trim())).toEqual(['t0', 't1', 'after']);
    await log.close();
  });

  it('rebuilds its state when checkpoint files are missing', async () => {
    const log = await PartitionLog.open(dir.path);
    await log.append(batch(['a', 'b']), 0);
    log.setHighWatermark(2);
    await log.close();
    for (const f of ['highwatermark', 'log-start-offset']) await unlink(join(dir.path, f));
    const again = await PartitionLog.open(dir.path);
    expect(again.logEndOffset).toBe(2);
    expect(values((await again.read(0, 100)).bytes)).toEqual(['a', 'b']);
    await again.close();
  });

  it('matches an in-memory model under random appends, rolls, truncations, deletions, reads, crashes and reopens', async () => {
    const config = { segmentBytes: 256, indexIntervalBytes: 64 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ op: fc.constant('truncate' as const), back: fc.nat(5) }),
            fc.record({ op: fc.constant('deleteBefore' as const), ahead: fc.nat(6) }),
            fc.record({ op: fc.constant('reopen' as const) }),
            fc.record({ op: fc.constant('crash' as const) }),
            fc.record({ op: fc.constant('dropIndexes' as const) }),
            fc.record({ op: fc.constant('read' as const), at: fc.nat(100), maxBytes: fc.constantFrom(1, 100, 300, 1 << 20) }),
          ),
          { maxLength: 30 },
        ),
        async (ops) => {
          const d = await tempDir('sluice-model-');
          let files = new FilePool(4);
          let log = await PartitionLog.open(d.path, config, { files });
          const model: string[] = [];
          let start = 0;
          let counter = 0;
          try {
            for (const op of ops) {
              if (op.op === 'append') {
                const vs = Array.from({ length: op.n }, () => `v${counter++}`);
                const r = await log.append(batch(vs), 0);
                expect(r.baseOffset).toBe(model.length);
                model.push(...vs);
              } else if (op.op === 'truncate') {
                // Truncation removes whole batches: the one holding the target offset and everything after it.
                const target = Math.max(start, model.length - op.back);
                if (target >= model.length) continue;
                const boundary = Number((await log.read(target, 1)).bytes.readBigInt64BE(0));
                await log.truncateTo(target);
                model.length = boundary;
                start = Math.min(start, boundary);
              } else if (op.op === 'deleteBefore') {
                start = Math.min(model.length, start + op.ahead);
                await log.deleteRecordsBefore(start);
              } else if (op.op === 'reopen' || op.op === 'crash') {
                if (op.op === 'reopen') await log.close();
                // A crash: the process is gone, its writes are in the page cache, nothing was closed or checkpointed.
                await files.closeAll();
                files = new FilePool(4);
                log = await PartitionLog.open(d.path, config, { files });
              } else if (op.op === 'dropIndexes') {
                for (const f of await readdir(d.path)) if (f.endsWith('.index') || f.endsWith('.timeindex')) await unlink(join(d.path, f));
              } else if (model.length > start) {
                const at = start + (op.at % (model.length - start));
                const got = values((await log.read(at, op.maxBytes)).bytes, at);
                expect(got.length).toBeGreaterThan(0);
                expect(got).toEqual(model.slice(at, at + got.length));
                if (op.maxBytes === 1 << 20) expect(got).toEqual(model.slice(at));
              }
              expect(log.logEndOffset).toBe(model.length);
              expect(log.logStartOffset).toBe(start);
            }
            if (model.length > start) expect(values((await log.read(start, 1 << 20)).bytes, start)).toEqual(model.slice(start));
          } finally {
            await log.close();
            await files.closeAll();
            await d.remove();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
