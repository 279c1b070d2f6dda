// The leader-epoch cache of a partition (Kafka's LeaderEpochFileCache): for each leader epoch, the first offset
// written in it. Followers use it to find where their log diverges from a new leader's (OffsetsForLeaderEpoch).
// Persisted in `leader-epoch-checkpoint` in Kafka's text format: a version line (0), a count line, then
// "epoch startOffset" lines; rewritten atomically (temporary file, fsync, rename) on every change, which is rare.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file.js';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

const FILE = 'leader-epoch-checkpoint';

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];

  private constructor(private readonly dir: string) {}

  /** Loads the checkpoint; `found` is false when there is none (or it is unreadable), so the caller can rebuild it. */
  static async load(dir: string): Promise<{ cache: LeaderEpochCache; found: boolean }> {
    const cache = new LeaderEpochCache(dir);
    const text = await readFile(join(dir, FILE), 'utf8').catch(() => null);
    const parsed = text === null ? null : parse(text);
    if (parsed) cache.entries = parsed;
    return { cache, found: parsed !== null };
  }

  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  get latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** Records that `epoch` starts at `startOffset`; ignores an epoch that is not newer than the latest. */
  async assign(epoch: number, startOffset: number): Promise<void> {
    if (epoch < 0 || epoch <= this.latestEpoch) return;
    this.entries.push({ epoch, startOffset });
    await this.save();
  }

  /**
   * The end offset of `epoch` as a leader answers OffsetsForLeaderEpoch: for the latest epoch, the log end offset;
   * otherwise the start offset of the next higher epoch, with the largest epoch at or below the one asked for.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    if (epoch === UNDEFINED_EPOCH || this.entries.length === 0) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (epoch === this.latestEpoch) return { epoch, endOffset: logEndOffset };
    const higher = this.entries.find((e) => e.epoch > epoch);
    if (!higher) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const floor = this.entries.filter((e) => e.epoch <= epoch).at(-1);
    return { epoch: floor ? floor.epoch : epoch, endOffset: higher.startOffset };
  }

  /** After the log is truncated to `offset`: forgets epochs that start at or after it. */
  async truncateFromEnd(offset: number): Promise<void> {
    const kept = this.entries.filter((e) => e.startOffset < offset);
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    await this.save();
  }

  /** Forgets every epoch: the log was emptied (Kafka's clearAndFlush). */
  async clear(): Promise<void> {
    if (this.entries.length === 0) return;
    this.entries = [];
    await this.save();
  }

  /** After the log start moves to `offset`: the epoch in force there now starts there; older ones go. */
  async truncateFromStart(offset: number): Promise<void> {
    const before = this.entries.filter((e) => e.startOffset <= offset);
    if (before.length === 0 || (before.length === 1 && before[0].startOffset === offset)) return;
    const current = before[before.length - 1];
    this.entries = [{ epoch: current.epoch, startOffset: offset }, ...this.entries.slice(before.length)];
    await this.save();
  }

  async save(): Promise<void> {
    const text = `0\n${this.entries.length}\n${this.entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`;
    await writeFileAtomically(join(this.dir, FILE), text, { sync: true });
  }
}

function parse(text: string): EpochEntry[] | null {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines[0] !== '0' || Number(lines[1]) !== lines.length - 2) return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [epoch, startOffset] = line.split(' ').map(Number);
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) return null;
    if (entries.length > 0 && (epoch <= entries[entries.length - 1].epoch || startOffset < entries[entries.length - 1].startOffset)) return null;
    entries.push({ epoch, startOffset });
  }
  return entries;
}
