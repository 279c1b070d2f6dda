// Idempotent producers (KIP-98): for each producer id, its epoch and the sequence numbers and offsets of its last
// five batches in this partition. A retried batch is answered with the offsets it got the first time instead of
// being written twice; a batch that does not follow the last one is refused (OUT_OF_ORDER_SEQUENCE_NUMBER) instead
// of being written out of order; an older epoch is fenced (INVALID_PRODUCER_EPOCH).
//
// Durability as in Kafka: the state is written to `<offset>.snapshot` files (JSON, atomically) when a segment rolls
// and when the log closes, and rebuilt on open from the newest snapshot plus the batches written after it.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BatchField, kafkaError, type SluiceError } from '@sluice/protocol';
import { writeFileAtomically } from './atomic-file.js';

/** A batch written by a producer without an id (not idempotent) carries -1. */
export const NO_PRODUCER_ID = -1;
/** Batches remembered per producer for duplicate detection (Kafka's max.in.flight limit for idempotence). */
const REMEMBERED_BATCHES = 5;
const MAX_SEQUENCE = 0x7fffffff;
const SNAPSHOT_FILE = /^(\d{20})\.snapshot$/;
/** Snapshots kept: the newest and the one before it. */
const SNAPSHOTS_KEPT = 2;

/** What the producer state needs of a batch header. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  firstSequence: number;
  lastSequence: number;
  maxTimestamp: number;
}

interface RememberedBatch {
  firstSequence: number;
  lastSequence: number;
  firstOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: RememberedBatch[];
  /** Largest batch timestamp seen: the producer expires this long after it (producer.id.expiration.ms). */
  lastTimestamp: number;
}

export type SequenceVerdict = { kind: 'append' } | { kind: 'duplicate'; firstOffset: number; lastOffset: number } | { kind: 'refused'; error: SluiceError };

const APPEND: SequenceVerdict = { kind: 'append' };

/** The sequence `delta` after `sequence`, wrapping past Int32.MAX to 0 as Kafka does. */
function addSequence(sequence: number, delta: number): number {
  return sequence > MAX_SEQUENCE - delta ? delta - (MAX_SEQUENCE - sequence) - 1 : sequence + delta;
}

/** The producer fields of the batch at `pos`, or null when the batch is not from an idempotent producer. */
export function producerBatchAt(bytes: Buffer, pos = 0): ProducerBatch | null {
  const producerId = Number(bytes.readBigInt64BE(pos + BatchField.producerId));
  if (producerId < 0) return null;
  const firstSequence = bytes.readInt32BE(pos + BatchField.baseSequence);
  return {
    producerId,
    producerEpoch: bytes.readInt16BE(pos + BatchField.producerEpoch),
    firstSequence,
    lastSequence: addSequence(firstSequence, bytes.readInt32BE(pos + BatchField.lastOffsetDelta)),
    maxTimestamp: Number(bytes.readBigInt64BE(pos + BatchField.maxTimestamp)),
  };
}

export class ProducerState {
  private entries = new Map<number, ProducerEntry>();
  /** Entries changed by appends that are stamped but not yet written; they become `entries` once the write succeeds. */
  private readonly staged = new Map<number, ProducerEntry>();

  get size(): number {
    return this.entries.size;
  }

  private current(producerId: number): ProducerEntry | undefined {
    return this.staged.get(producerId) ?? this.entries.get(producerId);
  }

  /** Whether a batch may be appended, is a retry of one already written (or staged), or must be refused. */
  check(b: ProducerBatch): SequenceVerdict {
    const entry = this.current(b.producerId);
    // A producer this partition does not know (new, or its state expired): any sequence starts it, as in Kafka.
    if (!entry) return APPEND;
    if (b.producerEpoch < entry.epoch) {
      return { kind: 'refused', error: kafkaError('INVALID_PRODUCER_EPOCH', `producer ${b.producerId} epoch ${b.producerEpoch} is older than ${entry.epoch}`) };
    }
    if (b.producerEpoch > entry.epoch) {
      if (b.firstSequence === 0) return APPEND;
      return {
        kind: 'refused',
        error: kafkaError('OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${b.producerId} epoch ${b.producerEpoch} must start at sequence 0, not ${b.firstSequence}`),
      };
    }
    const same = entry.batches.find((x) => x.firstSequence === b.firstSequence && x.lastSequence === b.lastSequence);
    if (same) return { kind: 'duplicate', firstOffset: same.firstOffset, lastOffset: same.lastOffset };
    const last = entry.batches[entry.batches.length - 1];
    if (last && b.firstSequence !== addSequence(last.lastSequence, 1)) {
      return {
        kind: 'refused',
        error: kafkaError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${b.producerId} sent sequence ${b.firstSequence}, expected ${addSequence(last.lastSequence, 1)}`,
        ),
      };
    }
    return APPEND;
  }

  /** Records a batch about to be written at `firstOffset..lastOffset`; it counts once `commitStaged` is called. */
  stage(b: ProducerBatch, firstOffset: number, lastOffset: number): void {
    const previous = this.current(b.producerId);
    const entry: ProducerEntry =
      previous && previous.epoch === b.producerEpoch
        ? { epoch: previous.epoch, batches: [...previous.batches], lastTimestamp: previous.lastTimestamp }
        : { epoch: b.producerEpoch, batches: [], lastTimestamp: previous?.lastTimestamp ?? -1 };
    entry.batches.push({ firstSequence: b.firstSequence, lastSequence: b.lastSequence, firstOffset, lastOffset });
    if (entry.batches.length > REMEMBERED_BATCHES) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, b.maxTimestamp);
    this.staged.set(b.producerId, entry);
  }

  /** The staged batches were written. */
  commitStaged(): void {
    for (const [id, entry] of this.staged) this.entries.set(id, entry);
    this.staged.clear();
  }

  /** The staged batches were not written. */
  discardStaged(): void {
    this.staged.clear();
  }

  /** Records a batch already in the log (rebuilding, or a follower copying its leader). */
  apply(b: ProducerBatch, firstOffset: number, lastOffset: number): void {
    this.stage(b, firstOffset, lastOffset);
    this.commitStaged();
  }

  /** Forgets producers whose last batch is older than `expirationMs` (producer.id.expiration.ms). */
  expire(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.entries) {
      if (entry.lastTimestamp >= 0 && nowMs - entry.lastTimestamp > expirationMs && !this.staged.has(id)) {
        this.entries.delete(id);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.entries.clear();
    this.staged.clear();
  }

  // ---- snapshots ----

  /** Writes the state as of `offset` (everything below it) to `<offset>.snapshot`, keeping the newest two. */
  async writeSnapshot(dir: string, offset: number): Promise<void> {
    const producers = [...this.entries].map(([id, e]) => ({ id, epoch: e.epoch, lastTimestamp: e.lastTimestamp, batches: e.batches }));
    await writeFileAtomically(join(dir, snapshotName(offset)), JSON.stringify({ version: 1, offset, producers }) + '\n');
    const offsets = await snapshotOffsets(dir);
    for (const old of offsets.slice(0, Math.max(0, offsets.length - SNAPSHOTS_KEPT))) await rm(join(dir, snapshotName(old)), { force: true });
  }

  /** Forgets every producer and removes every snapshot (the log was emptied). */
  async deleteSnapshots(dir: string): Promise<void> {
    this.clear();
    for (const offset of await snapshotOffsets(dir)) await rm(join(dir, snapshotName(offset)), { force: true });
  }

  /**
   * Loads the newest snapshot from `minOffset` to `maxOffset` and returns the offset it covers, or -1 when there is
   * none usable; the caller replays batches from there. Snapshots outside the range go: newer ones describe batches
   * the log no longer has, older ones batches of segments that were deleted.
   */
  async loadSnapshot(dir: string, minOffset: number, maxOffset: number): Promise<number> {
    this.clear();
    const offsets = await snapshotOffsets(dir);
    for (const outside of offsets.filter((o) => o < minOffset || o > maxOffset)) await rm(join(dir, snapshotName(outside)), { force: true });
    for (const offset of offsets.filter((o) => o >= minOffset && o <= maxOffset).reverse()) {
      const loaded = await readSnapshot(join(dir, snapshotName(offset)));
      if (!loaded) continue;
      this.entries = loaded;
      return offset;
    }
    return -1;
  }
}

function snapshotName(offset: number): string {
  return `${String(offset).padStart(20, '0')}.snapshot`;
}

async function snapshotOffsets(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .map((n) => SNAPSHOT_FILE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** A snapshot's entries, or null when the file is unreadable or not one (it is then ignored, as a missing one). */
async function readSnapshot(path: string): Promise<Map<number, ProducerEntry> | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { version: number; producers: Array<{ id: number; epoch: number; lastTimestamp: number; batches: RememberedBatch[] }> };
    if (parsed.version !== 1 || !Array.isArray(parsed.producers)) return null;
    const entries = new Map<number, ProducerEntry>();
    for (const p of parsed.producers) {
      if (!Number.isSafeInteger(p.id) || !Array.isArray(p.batches)) return null;
      entries.set(p.id, { epoch: p.epoch, lastTimestamp: p.lastTimestamp, batches: p.batches.slice(-REMEMBERED_BATCHES) });
    }
    return entries;
  } catch {
    return null;
  }
}
