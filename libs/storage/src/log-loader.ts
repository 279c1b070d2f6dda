// Opening a partition log from its directory, as Kafka's LogLoader: the segments, a recovery of the active segment
// (after a crash, checked batch by batch and a torn tail cut off), the checkpoints, the leader-epoch cache when its
// file is lost, the producer state, and the lazy loading of closed segments' indexes.
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { kafkaError } from '@sluice/protocol';
import { writeFileAtomically } from './atomic-file.js';
import type { FilePool } from './file-pool.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import { producerBatchAt, type ProducerState } from './producer-state.js';
import { LogSegment, scanBatches, type BatchInfo } from './segment.js';

/** Present only between a clean close() and the next open. */
export const CLEAN_MARKER = '.clean-shutdown';
export const SEGMENT_FILE = /^(\d{20})\.log$/;

export type CheckpointName = 'highwatermark' | 'log-start-offset' | 'cleaner-offset-checkpoint';

export async function readCheckpoint(dir: string, name: CheckpointName): Promise<number> {
  const text = await readFile(join(dir, name), 'utf8').catch(() => '0');
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export async function writeCheckpoint(dir: string, name: CheckpointName, value: number): Promise<void> {
  await writeFileAtomically(join(dir, name), `${value}\n`);
}

/**
 * The segments of a log directory in offset order, the active one recovered, and whether the last close was clean
 * (the marker is removed: from now on the log counts as open). An empty directory has no segments.
 */
export async function openSegments(dir: string, files: FilePool, indexIntervalBytes: number): Promise<{ segments: LogSegment[]; clean: boolean }> {
  const names = (await readdir(dir)).filter((n) => SEGMENT_FILE.test(n)).sort();
  const clean = await stat(join(dir, CLEAN_MARKER)).then(
    () => true,
    () => false,
  );
  await unlink(join(dir, CLEAN_MARKER)).catch(() => undefined);
  const segments: LogSegment[] = [];
  for (const name of names) {
    const segment = new LogSegment(join(dir, name), Number(name.slice(0, 20)));
    segment.size = (await stat(segment.path)).size;
    segments.push(segment);
  }
  for (let i = 0; i + 1 < segments.length; i++) segments[i].nextOffset = segments[i + 1].baseOffset;
  if (segments.length > 0) await recoverActive(segments[segments.length - 1], clean, files, indexIntervalBytes);
  return { segments, clean };
}

/**
 * The active segment after a clean shutdown loads its index files and reads only past the last index entry;
 * after a crash it is checked batch by batch (length and CRC) and a torn or corrupt tail is cut off.
 */
async function recoverActive(segment: LogSegment, clean: boolean, files: FilePool, indexIntervalBytes: number): Promise<void> {
  const fileSize = segment.size;
  let from = 0;
  if (clean && (await segment.readIndexes())) {
    from = segment.offsetIndex?.floorPosition(Number.MAX_SAFE_INTEGER) ?? 0;
    segment.nextOffset = segment.baseOffset;
    segment.size = from;
  } else segment.resetIndexes();
  const scan = await files.use(segment, (handle) =>
    scanBatches(handle, from, fileSize, { crc: !clean }, (b) => segment.track(b, indexIntervalBytes)),
  );
  if (scan.end < fileSize) await files.use(segment, (handle) => handle.truncate(scan.end));
  segment.size = scan.end;
  // The index files on disk describe the segment as it was at the last clean close; they are rewritten at roll or close.
}

/** Closed segments load their indexes on first use, rebuilding them by a scan when the files are missing or bad. */
export async function loadIndexes(segment: LogSegment, files: FilePool, indexIntervalBytes: number): Promise<void> {
  if (segment.offsetIndex) return;
  if (await segment.readIndexes()) return;
  const nextOffset = segment.nextOffset;
  const size = segment.size;
  segment.resetIndexes();
  const scan = await files.use(segment, (handle) => scanBatches(handle, 0, size, {}, (b) => segment.track(b, indexIntervalBytes)));
  if (scan.torn) throw kafkaError('KAFKA_STORAGE_ERROR', `${segment.path} has a bad batch at byte ${scan.end}`);
  segment.nextOffset = nextOffset;
  segment.size = size;
  await segment.writeIndexes();
}

/** The leader-epoch cache from the batches themselves, when its file was lost. */
export async function rebuildEpochs(segments: readonly LogSegment[], files: FilePool, epochs: LeaderEpochCache, startOffset: number): Promise<void> {
  for (const segment of segments) {
    const pending: BatchInfo[] = [];
    await files.use(segment, (handle) => scanBatches(handle, 0, segment.size, {}, (b) => void pending.push(b)));
    for (const b of pending) if (b.lastOffset >= startOffset) await epochs.assign(b.leaderEpoch, Math.max(b.baseOffset, startOffset));
  }
}

/**
 * The newest producer-state snapshot between the first segment's base and the log end, then the batches after it;
 * without one, the batches from the first segment on (as Kafka replays from the log start). A snapshot older than
 * the first segment is not used: the batches between it and the first segment are gone, so a producer's newer
 * batches there would be missing and its state stale (its next sequence refused). A producer whose batches are all
 * gone starts unknown, which accepts its next sequence, as Kafka does.
 */
export async function replayProducerState(dir: string, segments: readonly LogSegment[], files: FilePool, producers: ProducerState, logEndOffset: number): Promise<void> {
  const first = segments[0].baseOffset;
  const snapshot = await producers.loadSnapshot(dir, first, logEndOffset);
  const from = snapshot >= 0 ? snapshot : first;
  for (const segment of segments) {
    if (segment.nextOffset <= from) continue;
    await files.use(segment, (handle) =>
      scanBatches(handle, 0, segment.size, { withBytes: true }, (b, bytes) => {
        if (b.baseOffset < from || !bytes) return;
        const producer = producerBatchAt(bytes);
        if (producer) producers.apply(producer, b.baseOffset, b.lastOffset);
      }),
    );
  }
}
