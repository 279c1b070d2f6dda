// A child process appends and is killed with SIGKILL at random moments, many times over the same log. Every reopen
// must yield a valid, dense prefix holding at least every acknowledged append (a process crash keeps the page cache).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecords, forEachBatch, SluiceError, validateBatches } from '@sluice/protocol';
import { tempDir, type TempDir } from '@sluice/testing';
import { FilePool } from './file-pool.js';
import { PartitionLog } from './partition-log.js';

const writer = fileURLToPath(new URL('../test/crash-writer.mjs', import.meta.url));

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('sluice-crash-');
});
afterEach(async () => {
  await dir.remove();
});

/** Runs the writer until `killAfterMs` after it is ready, kills it, and returns the last acknowledged offset. */
function runAndKill(flushMessages: number, killAfterMs: number): Promise<{ lastAcked: number; startedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir.path, String(flushMessages)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastAcked = -1;
    let startedAt = -1;
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ready ')) {
          startedAt = Number(line.slice(6));
          setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else lastAcked = Math.max(lastAcked, Number(line));
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ lastAcked, startedAt });
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

async function checkPrefix(lastAcked: number): Promise<number> {
  const files = new FilePool(16);
  const log = await PartitionLog.open(dir.path, { segmentBytes: 64 * 1024, indexIntervalBytes: 1024 }, { files });
  try {
    expect(log.logEndOffset).toBeGreaterThan(lastAcked);
    let expected = 0;
    while (expected < log.logEndOffset) {
      const { bytes } = await log.read(expected, 256 * 1024);
      expect(validateBatches(bytes)).not.toBeInstanceOf(SluiceError);
      forEachBatch(bytes, (_h, s, e) => {
        for (const r of decodeRecords(bytes.subarray(s, e))) {
          expect(r.offset).toBe(expected);
          expect(r.value?.toString().replace(/\.+$/, '')).toBe(`r${expected}`);
          expected++;
        }
      });
    }
    expect(expected).toBe(log.logEndOffset);
    return log.logEndOffset;
  } finally {
    // No close(): the next writer must find the log as a crash left it.
    await files.closeAll();
  }
}

describe('crash recovery (SIGKILL)', () => {
  it('every reopen is a valid prefix holding every acknowledged append, with and without fsync', async () => {
    let end = 0;
    for (let round = 0; round < 16; round++) {
      const flushMessages = round % 2 === 0 ? 1 : Number.MAX_SAFE_INTEGER;
      const { lastAcked, startedAt } = await runAndKill(flushMessages, 20 + ((round * 37) % 180));
      expect(startedAt).toBe(end);
      end = await checkPrefix(lastAcked);
      expect(end).toBeGreaterThanOrEqual(startedAt);
    }
    expect(end).toBeGreaterThan(100);
  });
});
