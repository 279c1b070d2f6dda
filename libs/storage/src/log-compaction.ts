// Compaction's orchestration for one log (cleanup.policy=compact): an offset map of the dirty part, a rewrite of
// consecutive closed segments up to segment.bytes into one (see log-cleaner.ts), and a crash-safe swap of each rewrite
// in place of its segments — and, at open, the completion (or undoing) of a swap a crash interrupted.
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FilePool } from './file-pool.js';
import { buildOffsetMap, cleanGroup, type CleanerContext } from './log-cleaner.js';
import { LogSegment, segmentFileName } from './segment.js';

const SEGMENT_FILE = /^(\d{20})\.log$/;
const CLEANED_FILE = /^(\d{20})\.log\.(\d+)\.cleaned$/;
const DELETED_FILE = /^(\d{20})\.log\.deleted$/;

export interface CompactionResult {
  segmentsRewritten: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** What compaction needs of the log it cleans. */
export interface CompactionTarget {
  files: FilePool;
  closedSegments: readonly LogSegment[];
  firstDirtyOffset: number;
  logStartOffset: number;
  segmentBytes: number;
  deleteRetentionMs: number;
  indexIntervalBytes: number;
  /** Swaps a cleaned segment in place of `group` under the log's lock; false when the log changed meanwhile. */
  swapIn(group: readonly LogSegment[], cleaned: LogSegment, tempPath: string): Promise<boolean>;
}

/** Cleans the closed segments; the caller then moves the first dirty offset to the active segment's base. */
export async function compactSegments(target: CompactionTarget, nowMs: number): Promise<CompactionResult> {
  const ctx: CleanerContext = {
    files: target.files,
    firstDirtyOffset: target.firstDirtyOffset,
    logStartOffset: target.logStartOffset,
    tombstoneHorizonMs: nowMs - target.deleteRetentionMs,
    indexIntervalBytes: target.indexIntervalBytes,
  };
  const map = await buildOffsetMap(target.closedSegments, ctx);
  const result: CompactionResult = { segmentsRewritten: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
  for (const group of groupForCleaning(target.closedSegments, target.segmentBytes)) {
    const groupEnd = group[group.length - 1].nextOffset;
    const cleaned = await cleanGroup(group, groupEnd, map, ctx);
    if (!(await target.swapIn(group, cleaned.segment, cleaned.tempPath))) continue;
    result.segmentsRewritten += group.length;
    result.recordsRemoved += cleaned.removedRecords;
    result.bytesBefore += group.reduce((n, s) => n + s.size, 0);
    result.bytesAfter += cleaned.segment.size;
  }
  return result;
}

/** Consecutive closed segments whose sizes add up to at most segment.bytes are rewritten into one. */
function groupForCleaning(segments: readonly LogSegment[], segmentBytes: number): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let group: LogSegment[] = [];
  let bytes = 0;
  for (const s of segments) {
    if (group.length > 0 && bytes + s.size > segmentBytes) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(s);
    bytes += s.size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Replaces `group`'s files by the cleaned segment's, crash-safely: the old files are renamed `.deleted` (their indexes
 * removed), then the cleaned file takes the first one's name. A crash at any point leaves either the old segments or
 * the new one (finishInterruptedSwaps, at open, finishes a swap whose renames had begun).
 */
export async function swapFiles(group: readonly LogSegment[], cleaned: LogSegment, tempPath: string, files: FilePool): Promise<void> {
  for (const s of group) await files.retire(s);
  for (const s of group) {
    await s.removeIndexFiles();
    await rename(s.path, `${s.path}.deleted`);
  }
  await rename(tempPath, cleaned.path);
  await cleaned.writeIndexes();
}

/** Once the segment list no longer holds `group`: its renamed files go. */
export async function removeSwappedOut(group: readonly LogSegment[]): Promise<void> {
  for (const s of group) await rm(`${s.path}.deleted`, { force: true });
}

/** Completes or undoes a compaction swap a crash interrupted (see swapFiles); removes leftover temporary files. */
export async function finishInterruptedSwaps(dir: string): Promise<void> {
  const names = await readdir(dir);
  const bases = (re: RegExp): number[] => names.flatMap((n) => (re.exec(n) ? [Number(re.exec(n)?.[1])] : []));
  const deleted = bases(DELETED_FILE);
  for (const name of names) {
    const m = CLEANED_FILE.exec(name);
    if (!m) continue;
    const first = Number(m[1]);
    const end = Number(m[2]);
    const path = join(dir, name);
    if (!deleted.some((b) => b >= first && b < end)) {
      await rm(path, { force: true });
      continue;
    }
    // The swap had begun, so the cleaned file was complete and synced: finish it.
    for (const base of bases(SEGMENT_FILE).filter((b) => b >= first && b < end)) {
      await new LogSegment(join(dir, segmentFileName(base)), base).removeFiles();
    }
    await new LogSegment(join(dir, segmentFileName(first)), first).removeIndexFiles();
    await rename(path, join(dir, segmentFileName(first)));
  }
  for (const base of deleted) await rm(join(dir, segmentFileName(base, '.log.deleted')), { force: true });
  for (const name of names.filter((n) => n.endsWith('.tmp'))) await rm(join(dir, name), { force: true });
}
