// Idempotent producers: the sequence rules on their own, then through the log — retries answered with the first
// offsets, gaps refused, fencing by epoch, and the state surviving a clean close, a crash, a roll and a truncation.
import { readdir } from 'node:fs/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeRecords, forEachBatch, KafkaErrorCode, SluiceError } from '@sluice/protocol';
import { ioPropertyLimits, PROPERTY_TEST_TIMEOUT_MS, tempDir, type TempDir } from '@sluice/testing';
import { FilePool } from './file-pool.js';
import { PartitionLog } from './partition-log.js';
import { ProducerState, type ProducerBatch } from './producer-state.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-producers-');
});
afterEach(async () => {
  await dir.remove();
});

const b = (producerId: number, producerEpoch: number, firstSequence: number, count = 1): ProducerBatch => ({
  producerId,
  producerEpoch,
  firstSequence,
  lastSequence: firstSequence + count - 1,
  maxTimestamp: Date.now(),
});

/** A batch of `count` records from producer 7000 with the given epoch and first sequence. */
const idempotent = (firstSequence: number, count = 2, epoch = 0, producerId = 7000) =>
  buildRecordBatch(
    Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`p${producerId}-e${epoch}-s${firstSequence + i}`) })),
    { producerId, producerEpoch: epoch, baseSequence: firstSequence },
  );

const codeOf = async (p: Promise<unknown>): Promise<number> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  return err instanceof SluiceError ? err.kafkaCode : 0;
};

describe('ProducerState', () => {
  it('accepts the next sequence, answers a retry with its offsets, refuses gaps and older epochs', () => {
    const s = new ProducerState();
    expect(s.check(b(1, 0, 0, 3))).toEqual({ kind: 'append' });
    s.apply(b(1, 0, 0, 3), 100, 102);
    expect(s.check(b(1, 0, 0, 3))).toEqual({ kind: 'duplicate', firstOffset: 100, lastOffset: 102 });
    expect(s.check(b(1, 0, 3, 2))).toEqual({ kind: 'append' });
    const gap = s.check(b(1, 0, 5, 1));
    expect(gap.kind === 'refused' && gap.error.kafkaCode).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    s.apply(b(1, 2, 0, 1), 103, 103);
    const fenced = s.check(b(1, 1, 1, 1));
    expect(fenced.kind === 'refused' && fenced.error.kafkaCode).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    const bumpedMidway = s.check(b(1, 3, 4, 1));
    expect(bumpedMidway.kind === 'refused' && bumpedMidway.error.kafkaCode).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(s.check(b(1, 3, 0, 1))).toEqual({ kind: 'append' });
    // An unknown producer (new, or expired) starts anywhere.
    expect(s.check(b(2, 0, 42, 1))).toEqual({ kind: 'append' });
  });

  it('remembers five batches per producer and wraps sequences past Int32.MAX to 0', () => {
    const s = new ProducerState();
    for (let i = 0; i < 6; i++) s.apply(b(1, 0, i, 1), i, i);
    expect(s.check(b(1, 0, 0, 1)).kind).toBe('refused');
    expect(s.check(b(1, 0, 1, 1))).toEqual({ kind: 'duplicate', firstOffset: 1, lastOffset: 1 });
    s.apply({ ...b(1, 0, 0x7fffffff, 1), lastSequence: 0x7fffffff }, 10, 10);
    expect(s.check(b(1, 0, 0, 1))).toEqual({ kind: 'append' });
  });

  it('forgets staged batches that were not written, and producers past their expiration', () => {
    const s = new ProducerState();
    s.stage(b(1, 0, 0, 1), 0, 0);
    s.discardStaged();
    expect(s.check(b(1, 0, 0, 1))).toEqual({ kind: 'append' });
    s.apply({ ...b(1, 0, 0, 1), maxTimestamp: 1000 }, 0, 0);
    expect(s.expire(1000 + 60_000, 30_000)).toBe(1);
    expect(s.size).toBe(0);
  });
});

describe('PartitionLog with idempotent producers', () => {
  it('writes a retried batch once and answers the retry with the first offsets', async () => {
    const log = await PartitionLog.open(dir.path);
    expect(await log.append(idempotent(0), 0)).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    expect(await log.append(idempotent(2), 0)).toMatchObject({ baseOffset: 2, lastOffset: 3 });
    expect(await log.append(idempotent(0), 0)).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    // A retry and the next batch in the same write group.
    const [again, next] = await Promise.all([log.append(idempotent(2), 0), log.append(idempotent(4), 0)]);
    expect(again).toMatchObject({ baseOffset: 2, lastOffset: 3 });
    expect(next).toMatchObject({ baseOffset: 4, lastOffset: 5 });
    expect(log.logEndOffset).toBe(6);
    expect(await codeOf(log.append(idempotent(9), 0))).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await codeOf(log.append(Buffer.concat([idempotent(6), idempotent(8)]), 0))).toBe(KafkaErrorCode.INVALID_RECORD);
    expect(log.logEndOffset).toBe(6);
    // Producers without an id are not checked.
    expect(await log.append(buildRecordBatch([{ value: Buffer.from('plain') }]), 0)).toMatchObject({ baseOffset: 6 });
    await log.close();
  });

  it('keeps the state across a clean close, a crash, and segment rolls', async () => {
    const files = new FilePool(16);
    let log = await PartitionLog.open(dir.path, { segmentBytes: 300 }, { files });
    for (let seq = 0; seq < 20; seq += 2) await log.append(idempotent(seq), 0);
    expect(log.segmentCount).toBeGreaterThan(2);
    await log.close();
    expect((await readdir(dir.path)).filter((n) => n.endsWith('.snapshot')).length).toBeLessThanOrEqual(2);

    log = await PartitionLog.open(dir.path, { segmentBytes: 300 }, { files });
    expect(await log.append(idempotent(18), 0)).toMatchObject({ baseOffset: 18 });
    expect(await log.append(idempotent(20), 0)).toMatchObject({ baseOffset: 20 });
    // A crash: no close, so the next open replays what followed the last snapshot (taken at the last roll).
    log = await PartitionLog.open(dir.path, { segmentBytes: 300 }, { files: new FilePool(16) });
    expect(await log.append(idempotent(20), 0)).toMatchObject({ baseOffset: 20 });
    expect(await codeOf(log.append(idempotent(30), 0))).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await log.append(idempotent(22), 0)).toMatchObject({ baseOffset: 22 });
    await log.close();
  });

  it('forgets the batches a truncation removed: their retry is written again', async () => {
    const log = await PartitionLog.open(dir.path);
    await log.append(idempotent(0), 0);
    await log.append(idempotent(2), 0);
    await log.truncateTo(2);
    expect(log.logEndOffset).toBe(2);
    expect(await log.append(idempotent(2), 0)).toMatchObject({ baseOffset: 2, lastOffset: 3 });
    expect(log.logEndOffset).toBe(4);
    await log.close();
  });

  it('remembers a producer whose last batch is in an older segment when a truncation removes every snapshot (model seed 330883247)', async () => {
    const config = { segmentBytes: 256, indexIntervalBytes: 64 };
    const single = (seq: number, value: string) => buildRecordBatch([{ value: Buffer.from(value) }], { producerId: 4242, producerEpoch: 0, baseSequence: seq });
    const log = await PartitionLog.open(dir.path, config);
    for (let seq = 0; seq < 3; seq++) await log.append(single(seq, `v${seq}`), seq + 1);
    for (let i = 3; i < 12; i += 3) await log.append(buildRecordBatch([i, i + 1, i + 2].map((v) => ({ value: Buffer.from(`v${v}`) }))), i + 1);
    await log.close();
    const again = await PartitionLog.open(dir.path, config);
    // Segments from 0, 3 and 9, snapshots at 9 (the last roll) and 12 (the close). Offset 8 is in the batch 6..8: the
    // log ends at 6, below both snapshots, and the producer's batches are all in the first segment.
    expect((await readdir(dir.path)).filter((n) => /\.(log|snapshot)$/.test(n))).toEqual([
      '00000000000000000000.log',
      '00000000000000000003.log',
      '00000000000000000009.log',
      '00000000000000000009.snapshot',
      '00000000000000000012.snapshot',
    ]);
    await again.truncateTo(8);
    expect(again.logEndOffset).toBe(6);
    expect(await again.append(single(2, 'retry'), 7)).toMatchObject({ baseOffset: 2, lastOffset: 2 });
    expect(again.logEndOffset).toBe(6);
    await again.close();
  });

  it('keeps a producer’s batches between its last snapshot and the log start across a crash (model seed -1211639747)', async () => {
    let files = new FilePool(16);
    const log = await PartitionLog.open(dir.path, {}, { files });
    await log.append(idempotent(0, 1), 1);
    // A clean close snapshots the state at offset 1.
    await log.close();
    const again = await PartitionLog.open(dir.path, {}, { files });
    await again.append(idempotent(1, 1), 2);
    await again.deleteRecordsBefore(2);
    // A crash: the snapshot at 1 plus the batches from the log start (2) on would miss sequence 1 at offset 1.
    await files.closeAll();
    files = new FilePool(16);
    const recovered = await PartitionLog.open(dir.path, {}, { files });
    expect(await recovered.append(idempotent(2, 1), 3)).toMatchObject({ baseOffset: 2 });
    await recovered.close();
  });

  it('fences an older epoch and starts a bumped one at sequence 0', async () => {
    const log = await PartitionLog.open(dir.path);
    await log.append(idempotent(0, 2, 1), 0);
    expect(await codeOf(log.append(idempotent(2, 2, 0), 0))).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await codeOf(log.append(idempotent(5, 2, 2), 0))).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await log.append(idempotent(0, 2, 2), 0)).toMatchObject({ baseOffset: 2 });
    await log.close();
  });

  it('matches a model under random sends, retries, gaps, rolls, crashes and reopens: every batch once, in order', async () => {
    const config = { segmentBytes: 400 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('send' as const), producer: fc.nat(2), n: fc.integer({ min: 1, max: 3 }) }),
            fc.record({ op: fc.constant('retry' as const), producer: fc.nat(2), back: fc.nat(7) }),
            fc.record({ op: fc.constant('gap' as const), producer: fc.nat(2) }),
            fc.record({ op: fc.constant('reopen' as const) }),
            fc.record({ op: fc.constant('crash' as const) }),
          ),
          { maxLength: 40, size: 'max' },
        ),
        async (ops) => {
          const d = await tempDir('sluice-producers-model-');
          let files = new FilePool(8);
          let log = await PartitionLog.open(d.path, config, { files });
          const sent = new Map<number, Array<{ seq: number; n: number; baseOffset: number }>>();
          const model: string[] = [];
          try {
            for (const op of ops) {
              const mine = sent.get(op.op === 'reopen' || op.op === 'crash' ? -1 : op.producer) ?? [];
              const next = mine.length > 0 ? mine[mine.length - 1].seq + mine[mine.length - 1].n : 0;
              if (op.op === 'send') {
                const r = await log.append(idempotent(next, op.n, 0, 9000 + op.producer), 0);
                expect(r.baseOffset).toBe(model.length);
                mine.push({ seq: next, n: op.n, baseOffset: r.baseOffset });
                sent.set(op.producer, mine);
                for (let i = 0; i < op.n; i++) model.push(`p${9000 + op.producer}-e0-s${next + i}`);
              } else if (op.op === 'retry' && mine.length > 0) {
                const back = op.back % mine.length;
                const old = mine[mine.length - 1 - back];
                const retried = log.append(idempotent(old.seq, old.n, 0, 9000 + op.producer), 0);
                // The last five batches of a producer are remembered; an older one is out of sequence.
                if (back < 5) expect(await retried).toMatchObject({ baseOffset: old.baseOffset, lastOffset: old.baseOffset + old.n - 1 });
                else expect(await codeOf(retried)).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
              } else if (op.op === 'gap' && mine.length > 0) {
                expect(await codeOf(log.append(idempotent(next + 1, 1, 0, 9000 + op.producer), 0))).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
              } else if (op.op === 'reopen' || op.op === 'crash') {
                if (op.op === 'reopen') await log.close();
                await files.closeAll();
                files = new FilePool(8);
                log = await PartitionLog.open(d.path, config, { files });
              }
              expect(log.logEndOffset).toBe(model.length);
            }
            const bytes = (await log.read(0, 1 << 22)).bytes;
            const stored: string[] = [];
            forEachBatch(bytes, (_h, start, end) => stored.push(...decodeRecords(bytes.subarray(start, end)).map((r) => r.value?.toString() ?? '')));
            expect(stored).toEqual(model);
          } finally {
            await log.close();
            await files.closeAll();
            await d.remove();
          }
        },
      ),
      { numRuns: 50, ...ioPropertyLimits },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);
});
