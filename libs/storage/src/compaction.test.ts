import { readdir, rename, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, Compression, decodeRecords, forEachBatch, type CompressionType } from '@sluice/protocol';
import { tempDir, waitFor, type TempDir } from '@sluice/testing';
import { FilePool } from './file-pool.js';
import { PartitionLog, type LogConfig } from './partition-log.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-compact-');
});
afterEach(async () => {
  await dir.remove();
});

const compact: Partial<LogConfig> = { cleanupPolicy: 'compact', segmentBytes: 1024, indexIntervalBytes: 128, deleteRetentionMs: 1000 };

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

async function readAll(log: PartitionLog): Promise<Rec[]> {
  const { bytes } = await log.read(log.logStartOffset, 1 << 24);
  const out: Rec[] = [];
  forEachBatch(bytes, (_h, s, e) => {
    for (const r of decodeRecords(bytes.subarray(s, e))) out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
  });
  return out;
}

async function put(log: PartitionLog, entries: Array<[string | null, string | null]>, compression: CompressionType = Compression.none, timestamp = Date.now()): Promise<void> {
  const records = entries.map(([k, v]) => ({ key: k === null ? null : Buffer.from(k), value: v === null ? null : Buffer.from(v.padEnd(30, '.')) }));
  await log.append(buildRecordBatch(records, { compression, timestamp }), 0);
}

/** The latest value per key in the order of their latest offsets: what a compacted log holds. */
function latest(records: Rec[]): Rec[] {
  const last = new Map<string, Rec>();
  for (const r of records) if (r.key !== null) last.set(r.key, r);
  return [...last.values()].sort((a, b) => a.offset - b.offset);
}

describe('log compaction', () => {
  for (const [name, compression] of Object.entries(Compression)) {
    it(`keeps the latest record per key with unchanged offsets (${name} batches)`, async () => {
      const log = await PartitionLog.open(dir.path, compact);
      for (let round = 0; round < 12; round++) {
        await put(log, Array.from({ length: 5 }, (_, i): [string, string] => [`key-${(round * 5 + i) % 7}`, `v${round}-${i}`]), compression);
      }
      const before = await readAll(log);
      const closedEnd = before.length - (log.logEndOffset - (await activeBase(log)));
      const result = await log.compact(Date.now(), true);
      expect(result?.recordsRemoved).toBeGreaterThan(0);
      expect(result!.bytesAfter).toBeLessThan(result!.bytesBefore);
      const after = await readAll(log);
      // The closed part holds each key's latest record within it (the active segment is not looked at, as in Kafka).
      const closedAfter = after.filter((r) => r.offset < closedEnd);
      const expectedClosed = latest(before.filter((r) => r.offset < closedEnd));
      expect(closedAfter).toEqual(expectedClosed);
      // The active segment is untouched; offsets keep increasing; the log end did not move.
      expect(after.filter((r) => r.offset >= closedEnd)).toEqual(before.filter((r) => r.offset >= closedEnd));
      expect(log.logEndOffset).toBe(before.length);
      // Reads from an offset that was removed start at the next record kept.
      const removed = before.find((r) => !after.some((a) => a.offset === r.offset));
      const { bytes } = await log.read(removed!.offset, 1 << 20);
      expect(decodeRecords(bytes)[0].offset).toBeGreaterThan(removed!.offset);
      await log.close();
      const again = await PartitionLog.open(dir.path, compact);
      expect(await readAll(again)).toEqual(after);
      await again.close();
    });
  }

  it('removes tombstones only after delete.retention.ms past a first cleaning', async () => {
    const log = await PartitionLog.open(dir.path, compact);
    const old = Date.now() - 60_000;
    await put(log, [['a', '1'], ['b', '1'], ['c', '1']], Compression.none, old);
    await put(log, [['a', null], ['b', '2']], Compression.none, old);
    for (let i = 0; i < 30; i++) await put(log, [[`filler-${i}`, 'x']], Compression.none, old);
    await log.compact(Date.now(), true);
    let records = await readAll(log);
    expect(records.filter((r) => r.key === 'a')).toEqual([{ offset: 3, key: 'a', value: null }]);
    // Second cleaning: the tombstone is in the cleaned part and older than delete.retention.ms.
    for (let i = 0; i < 30; i++) await put(log, [[`more-${i}`, 'y']]);
    await log.compact(Date.now(), true);
    records = await readAll(log);
    expect(records.filter((r) => r.key === 'a')).toEqual([]);
    expect(records.filter((r) => r.key === 'b').map((r) => r.value?.replace(/\.+$/, ''))).toEqual(['2']);
    await log.close();
  });

  it('waits for min.cleanable.dirty.ratio, and never runs under cleanup.policy=delete', async () => {
    const log = await PartitionLog.open(dir.path, { ...compact, minCleanableDirtyRatio: 0.5 });
    // Unique keys: nothing is removed, so the cleaned part stays as large as it was.
    for (let i = 0; i < 40; i++) await put(log, [[`k${i}`, `v${i}`]]);
    expect(log.dirtyRatio).toBe(1);
    expect(await log.compact(Date.now())).not.toBeNull();
    expect(log.dirtyRatio).toBe(0);
    const segments = log.segmentCount;
    for (let i = 0; log.segmentCount === segments; i++) await put(log, [[`k${i}`, `again-${i}`]]);
    expect(log.dirtyRatio).toBeGreaterThan(0);
    expect(log.dirtyRatio).toBeLessThan(0.5);
    expect(await log.compact(Date.now())).toBeNull();
    expect(await log.compact(Date.now(), true)).not.toBeNull();
    log.updateConfig({ cleanupPolicy: 'delete' });
    await put(log, [['k0', 'x']]);
    expect(await log.compact(Date.now(), true)).toBeNull();
    await log.close();
  });

  it('never compacts a record younger than min.compaction.lag.ms, nor the segments after it', async () => {
    const log = await PartitionLog.open(dir.path, { ...compact, minCompactionLagMs: 60_000 });
    const now = Date.now();
    // Old segments first, then young ones: the same keys overwritten in each.
    for (let i = 0; i < 40; i++) await put(log, [[`k${i % 4}`, `old-${i}`]], Compression.none, now - 120_000);
    for (let i = 0; i < 40; i++) await put(log, [[`k${i % 4}`, `young-${i}`]], Compression.none, now);
    const before = await readAll(log);
    const result = await log.compact(now, true);
    expect(result).not.toBeNull();
    const after = await readAll(log);
    // Every young record is still there; old ones were compacted down to (at most) one per key.
    expect(after.filter((r) => r.value?.startsWith('young'))).toEqual(before.filter((r) => r.value?.startsWith('young')));
    expect(after.filter((r) => r.value?.startsWith('old')).length).toBeLessThan(before.filter((r) => r.value?.startsWith('old')).length);
    // Nothing is old enough yet: nothing to do, even forced.
    const young = await PartitionLog.open(join(dir.path, 'young'), { ...compact, minCompactionLagMs: 60_000 });
    for (let i = 0; i < 40; i++) await put(young, [['same', `v${i}`]], Compression.none, now);
    expect(await young.compact(now, true)).toBeNull();
    expect(await readAll(young)).toHaveLength(40);
    // Once the lag has passed, it is compacted.
    expect(await young.compact(now + 61_000, true)).not.toBeNull();
    expect((await readAll(young)).length).toBeLessThan(40);
    await young.close();
    await log.close();
  });

  it('compacts a dirty segment older than max.compaction.lag.ms even below min.cleanable.dirty.ratio', async () => {
    const now = Date.now();
    const fill = async (log: PartitionLog) => {
      for (let i = 0; i < 40; i++) await put(log, [[`k${i}`, `v${i}`]], Compression.none, now - 120_000);
      expect(await log.compact(now, true)).not.toBeNull();
      const segments = log.segmentCount;
      for (let i = 0; log.segmentCount === segments; i++) await put(log, [[`k${i}`, `again-${i}`]], Compression.none, now - 120_000);
      expect(log.dirtyRatio).toBeGreaterThan(0);
      expect(log.dirtyRatio).toBeLessThan(0.5);
    };
    const patient = await PartitionLog.open(join(dir.path, 'patient'), { ...compact, minCleanableDirtyRatio: 0.5 });
    await fill(patient);
    expect(await patient.compact(now)).toBeNull();
    await patient.close();
    const bounded = await PartitionLog.open(join(dir.path, 'bounded'), { ...compact, minCleanableDirtyRatio: 0.5, maxCompactionLagMs: 60_000 });
    await fill(bounded);
    expect(await bounded.compact(now)).not.toBeNull();
    expect(bounded.dirtyRatio).toBe(0);
    await bounded.close();
  });

  it('does not block appends or reads while it runs', async () => {
    const log = await PartitionLog.open(dir.path, { ...compact, segmentBytes: 4096 });
    for (let i = 0; i < 400; i++) await put(log, [[`k${i % 10}`, `v${i}`]]);
    const before = log.logEndOffset;
    const cleaning = log.compact(Date.now(), true);
    const appends = Promise.all(Array.from({ length: 50 }, (_, i) => put(log, [[`k${i % 10}`, `during-${i}`]])));
    const reads = Promise.all(Array.from({ length: 20 }, () => log.read(log.logStartOffset, 1 << 20)));
    await Promise.all([cleaning, appends, reads]);
    expect(log.logEndOffset).toBe(before + 50);
    const all = await readAll(log);
    expect(all.slice(-50).map((r) => r.value?.replace(/\.+$/, ''))).toEqual(Array.from({ length: 50 }, (_, i) => `during-${i}`));
    await log.close();
  });

  it('refuses records without a key on a compacted topic, writing nothing', async () => {
    const log = await PartitionLog.open(dir.path, compact);
    await expect(put(log, [['k', 'v'], [null, 'no key']], Compression.lz4)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(log.logEndOffset).toBe(0);
    await put(log, [['k', 'v']]);
    expect(log.logEndOffset).toBe(1);
    await log.close();
  });

  it('finishes a swap a crash interrupted, and drops a cleaned file whose swap never began', async () => {
    const log = await PartitionLog.open(dir.path, compact);
    for (let i = 0; i < 60; i++) await put(log, [[`k${i}`, `v${i}`]]);
    const records = await readAll(log);
    await log.close();
    const segments = (await readdir(dir.path)).filter((n) => n.endsWith('.log')).sort();
    const [first, second] = segments;
    const secondBase = Number(second.slice(0, 20));
    // A cleaned copy of the first segment, then a crash after its original was renamed away.
    await copyFile(join(dir.path, first), join(dir.path, `${first}.${secondBase}.cleaned`));
    await rename(join(dir.path, first), join(dir.path, `${first}.deleted`));
    // And a leftover cleaned file for the second segment whose swap had not begun.
    await copyFile(join(dir.path, second), join(dir.path, `${second}.999999.cleaned`));
    const again = await PartitionLog.open(dir.path, compact);
    expect(await readAll(again)).toEqual(records);
    const names = await readdir(dir.path);
    expect(names.filter((n) => n.endsWith('.cleaned') || n.endsWith('.deleted'))).toEqual([]);
    await again.close();
  });
});

async function activeBase(log: PartitionLog): Promise<number> {
  const names = (await readdir(log.dir)).filter((n) => n.endsWith('.log')).sort();
  return Number(names[names.length - 1].slice(0, 20));
}

describe('reads during compaction swaps', () => {
  it('never fail while the cleaner keeps swapping segments', async () => {
    const log = await PartitionLog.open(dir.path, { ...compact, segmentBytes: 700, minCleanableDirtyRatio: 0.01 });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await put(log, [[`k${i % 5}`, `v${i}`]]);
    })();
    const cleaner = (async () => {
      while (writing) await log.compact(Date.now(), true);
    })();
    const reader = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const { bytes } = await log.read(log.logStartOffset, 1 << 20);
        forEachBatch(bytes, (_h, s, e) => void decodeRecords(bytes.subarray(s, e)));
        await log.offsetForTimestamp(0);
      }
    };
    await Promise.all(Array.from({ length: 8 }, reader));
    writing = false;
    await Promise.all([writer, cleaner]);
    await log.close();
  });
});

describe('a read that meets a segment retired by a swap', () => {
  it('waits for the swap and reads the new segments instead of failing', async () => {
    // A pool whose retire() holds the swap open after the first segment is retired: the moment a read can meet it.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let retired = 0;
    class SlowRetire extends FilePool {
      override async retire(file: { path: string }): Promise<void> {
        await super.retire(file);
        if (++retired === 1) await gate;
      }
    }
    const log = await PartitionLog.open(dir.path, { ...compact, segmentBytes: 700 }, { files: new SlowRetire(64) });
    for (let i = 0; i < 30; i++) await put(log, [[`k${i % 3}`, `v${i}`]]);
    const before = await readAll(log);
    const cleaning = log.compact(Date.now(), true);
    await waitFor(async () => retired > 0, { timeoutMs: 5000, what: 'the swap to retire a segment' });
    const reading = log.read(log.logStartOffset, 1 << 20);
    setTimeout(release, 100);
    const { bytes } = await reading;
    await cleaning;
    const offsets: number[] = [];
    forEachBatch(bytes, (_h, s, e) => decodeRecords(bytes.subarray(s, e)).forEach((r) => offsets.push(r.offset)));
    // The read saw the compacted log: the latest record per key survives, at its offset.
    expect(offsets.length).toBeLessThan(before.length);
    expect(offsets).toContain(before[before.length - 1].offset);
    await log.close();
  });
});
