// Log compaction (cleanup.policy=compact), as Kafka's log cleaner does it: an offset map of the latest offset of each
// key in the dirty part of the log, then a rewrite of the closed segments keeping, for each key, only its latest
// record. Offsets never change: kept records keep their offsets, batches their base offsets, codecs and producer
// fields. The rewrite goes to a temporary file; the log swaps it in (see PartitionLog.compact).
import { open } from 'node:fs/promises';
import { BatchField, filterRecordBatch, forEachRecordRef, kafkaError } from '@sluice/protocol';
import type { FilePool } from './file-pool.js';
import { LogSegment, scanBatches, type BatchInfo } from './segment.js';

export interface CleanerContext {
  files: FilePool;
  /** Offsets from here on have not been cleaned yet. */
  firstDirtyOffset: number;
  /** Records before the log start offset are gone already. */
  logStartOffset: number;
  /** Tombstones in the clean part whose batch is older than this are removed. */
  tombstoneHorizonMs: number;
  indexIntervalBytes: number;
}

/** The latest offset of each key written at or after the first dirty offset, over `segments`. */
export async function buildOffsetMap(segments: readonly LogSegment[], ctx: CleanerContext): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  for (const segment of segments) {
    if (segment.nextOffset <= ctx.firstDirtyOffset || segment.size === 0) continue;
    const scan = await ctx.files.use(segment, (handle) =>
      scanBatches(handle, 0, segment.size, { withBytes: true }, (b, bytes) => {
        if (b.lastOffset < ctx.firstDirtyOffset || !bytes) return;
        forEachRecordRef(bytes, (record) => {
          if (record.key && record.offset >= ctx.firstDirtyOffset) map.set(record.key.toString('latin1'), record.offset);
        });
      }),
    );
    assertWhole(segment, scan);
  }
  return map;
}

export interface CleanedSegment {
  /** The new segment (at the path of the group's first segment once swapped in). */
  segment: LogSegment;
  /** Where it was written. */
  tempPath: string;
  removedRecords: number;
}

/** Temporary name of the cleaned replacement for the segments [first, end): the range lets recovery finish a swap. */
export function cleanedPath(first: LogSegment, groupEnd: number): string {
  return `${first.path}.${groupEnd}.cleaned`;
}

/** Rewrites a group of consecutive closed segments into one file, keeping what compaction keeps. */
export async function cleanGroup(group: readonly LogSegment[], groupEnd: number, map: Map<string, number>, ctx: CleanerContext): Promise<CleanedSegment> {
  const first = group[0];
  const tempPath = cleanedPath(first, groupEnd);
  const out = new LogSegment(first.path, first.baseOffset);
  out.resetIndexes();
  const handle = await open(tempPath, 'w');
  let removedRecords = 0;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let position = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await handle.writev(pending, position - pendingBytes);
      pending = [];
      pendingBytes = 0;
    };
    for (const segment of group) {
      if (segment.size === 0) continue;
      const scan = await ctx.files.use(segment, (h) =>
        scanBatches(h, 0, segment.size, { withBytes: true }, async (b, bytes) => {
          if (!bytes || b.lastOffset < ctx.logStartOffset) return;
          const filtered = filterRecordBatch(bytes, (r) => {
            const keep = keeps(r, b, map, ctx);
            if (!keep) removedRecords++;
            return keep;
          });
          if (!filtered) return;
          out.track({ ...b, lastOffset: b.baseOffset + filtered.readInt32BE(BatchField.lastOffsetDelta), position, size: filtered.length }, ctx.indexIntervalBytes);
          pending.push(filtered);
          pendingBytes += filtered.length;
          position += filtered.length;
          if (pendingBytes >= 1024 * 1024) await flush();
        }),
      );
      assertWhole(segment, scan);
    }
    await flush();
    await handle.datasync();
  } finally {
    await handle.close();
  }
  out.nextOffset = groupEnd;
  return { segment: out, tempPath, removedRecords };
}

function keeps(r: { offset: number; key: Buffer | null; tombstone: boolean }, b: BatchInfo, map: Map<string, number>, ctx: CleanerContext): boolean {
  if (r.offset < ctx.logStartOffset) return false;
  if (!r.key) return true;
  const latest = map.get(r.key.toString('latin1'));
  if (latest !== undefined && r.offset < latest) return false;
  // A tombstone stays for delete.retention.ms after it has been through one cleaning, so consumers can see it.
  if (r.tombstone && r.offset < ctx.firstDirtyOffset && b.maxTimestamp < ctx.tombstoneHorizonMs) return false;
  return true;
}

function assertWhole(segment: LogSegment, scan: { end: number; torn: boolean }): void {
  if (scan.torn || scan.end !== segment.size) {
    throw kafkaError('KAFKA_STORAGE_ERROR', `${segment.path} has a bad batch at byte ${scan.end}; compaction skipped`);
  }
}
