// Storage benchmark: append and read throughput of PartitionLog beside plain sequential file writes of the same bytes,
// measured in the same run, with and without fsync. Prints a table and writes bench-results/storage.json.
// Run: npm run bench -w libs/storage   (SLUICE_BENCH_MB=256 for a longer run)
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildRecordBatch, crc32cIsNative, forEachBatch } from '@sluice/protocol';
import { PartitionLog } from '../src/index.js';

const TOTAL_MB = Number(process.env.SLUICE_BENCH_MB ?? 128);
const RECORD_BYTES = 100;
const BATCH_BYTES = 16 * 1024;
const IN_FLIGHT = 32;

interface Result {
  name: string;
  seconds: number;
  mbPerSec: number;
  recordsPerSec: number;
  note?: string;
}

function makeBatches(): { batches: Buffer[]; records: number; bytes: number } {
  const value = Buffer.alloc(RECORD_BYTES, 120);
  // As many records as fit in a 16 KiB batch.
  let perBatch = Math.floor(BATCH_BYTES / RECORD_BYTES);
  let template = buildRecordBatch(Array.from({ length: perBatch }, () => ({ value })));
  while (template.length > BATCH_BYTES) template = buildRecordBatch(Array.from({ length: --perBatch }, () => ({ value })));
  const count = Math.ceil((TOTAL_MB * 1024 * 1024) / template.length);
  const batches = Array.from({ length: count }, () => Buffer.from(template));
  return { batches, records: count * perBatch, bytes: count * template.length };
}

async function timed(name: string, records: number, bytes: number, run: () => Promise<void>, note?: string): Promise<Result> {
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const r = { name, seconds, mbPerSec: bytes / 1024 / 1024 / seconds, recordsPerSec: records / seconds, note };
  console.log(`${name.padEnd(44)} ${r.mbPerSec.toFixed(0).padStart(7)} MB/s ${Math.round(r.recordsPerSec).toLocaleString('en').padStart(12)} records/s${note ? `  (${note})` : ''}`);
  return r;
}

/** Appends every batch keeping `IN_FLIGHT` appends outstanding, as a broker serving many producers does. */
async function appendAll(log: PartitionLog, batches: Buffer[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) await log.append(batches[next++], 0);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

async function median3(run: () => Promise<Result>): Promise<Result> {
  const runs = [await run(), await run(), await run()].sort((a, b) => a.mbPerSec - b.mbPerSec);
  console.log(`  → median of 3: ${runs[1].mbPerSec.toFixed(0)} MB/s`);
  return runs[1];
}

async function plainWrites(path: string, batches: Buffer[], syncEveryBytes: number): Promise<void> {
  const file = await open(path, 'w');
  let sinceSync = 0;
  let position = 0;
  for (const b of batches) {
    await file.write(b, 0, b.length, position);
    position += b.length;
    sinceSync += b.length;
    if (sinceSync >= syncEveryBytes) {
      await file.datasync();
      sinceSync = 0;
    }
  }
  await file.close();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const { batches, records, bytes } = makeBatches();
  console.log(`${TOTAL_MB} MiB in ${batches.length} batches of ${batches[0].length} bytes (${RECORD_BYTES}-byte records), crc32c ${crc32cIsNative ? 'native' : 'js'}\n`);
  const results: Result[] = [];
  try {
    results.push(await timed('baseline: plain sequential writes', records, bytes, () => plainWrites(join(dir, 'plain'), batches, Infinity)));
    results.push(
      await timed('baseline: plain writes, fdatasync per MiB', records, bytes, () => plainWrites(join(dir, 'plain-sync'), batches, 1024 * 1024)),
    );
    const log = await PartitionLog.open(join(dir, 'log'), { segmentBytes: 256 * 1024 * 1024 });
    results.push(await timed('PartitionLog.append, no fsync', records, bytes, () => appendAll(log, batches), `${IN_FLIGHT} in flight`));
    log.setHighWatermark(log.logEndOffset);
    // Reads: three passes each, the median reported (the first pass also pays for JIT warm-up).
    const plainReads = await median3(() =>
      timed('baseline: plain 1 MiB preads of the same file', records, bytes, async () => {
        const file = await open(join(dir, 'plain'), 'r');
        for (let position = 0; position < bytes; position += 1024 * 1024) await file.read(Buffer.allocUnsafe(1024 * 1024), 0, 1024 * 1024, position);
        await file.close();
      }),
    );
    const logReads = await median3(() =>
      timed('PartitionLog.read (page cache), 1 MiB reads', records, bytes, async () => {
        let offset = 0;
        while (offset < log.logEndOffset) {
          const { bytes: chunk } = await log.read(offset, 1024 * 1024);
          forEachBatch(chunk, (h) => (offset = h.baseOffset + h.lastOffsetDelta + 1));
        }
      }),
    );
    results.push(logReads, plainReads);
    await log.close();
    const synced = await PartitionLog.open(join(dir, 'log-sync'), { segmentBytes: 256 * 1024 * 1024, flushMessages: 1 });
    results.push(
      await timed('PartitionLog.append, fsync every append', records, bytes, () => appendAll(synced, batches), `group commit, ${IN_FLIGHT} in flight`),
    );
    await synced.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const [plain, plainSync, append, read, plainRead, appendSync] = results;
  const ratios = {
    appendVsPlain: append.mbPerSec / plain.mbPerSec,
    appendFsyncVsPlainFsync: appendSync.mbPerSec / plainSync.mbPerSec,
    readGBps: read.mbPerSec / 1024,
    readVsPlainReads: read.mbPerSec / plainRead.mbPerSec,
  };
  console.log(
    `\nappend / plain writes: ${(ratios.appendVsPlain * 100).toFixed(0)} % (target ≥ 70 %)` +
      `\nappend with fsync / plain writes with fdatasync per MiB: ${(ratios.appendFsyncVsPlainFsync * 100).toFixed(0)} % (target ≥ 50 %)` +
      `\nread: ${ratios.readGBps.toFixed(2)} GB/s (target ≥ 1 GB/s), ${(ratios.readVsPlainReads * 100).toFixed(0)} % of plain preads`,
  );
  const out = resolve(process.env.SLUICE_BENCH_OUT ?? join(process.cwd(), '../../bench-results/storage.json'));
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), totalMiB: TOTAL_MB, recordBytes: RECORD_BYTES, batchBytes: batches[0].length, results, ratios }, null, 2));
  console.log(`\nwrote ${out}`);
}

await main();
