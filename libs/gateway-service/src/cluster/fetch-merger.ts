// One fetch over partitions led by several brokers, answered as one Kafka broker answers one: a first pass over every
// partition that does not wait; then, below `minBytes` and with no partition in error, a long poll on the partitions
// that had nothing, answered as soon as enough has arrived or the wait is over — the brokers still waiting are told to
// stop, so they read nothing more; then the KIP-74 size limits over the answers, in request order. Used by the Kafka
// Fetch API, HTTP reads, HTTP consumer polls and Server-Sent Events alike.
import { randomUUID } from 'node:crypto';
import { KafkaErrorCode, SluiceError, wholeBatchesWithin } from '@sluice/protocol';
import type { FetchedPartition, FetchPart, PartitionClient } from './partition-client.js';

export interface MergedFetch {
  maxWaitMs: number;
  minBytes: number;
  /** Over all partitions (each is also limited by its own `maxBytes`). */
  maxBytes: number;
  isolationLevel: 0 | 1;
  deadline: number;
}

const bytesOf = (a: FetchedPartition): number => a.records?.length ?? 0;
const hasAnswer = (a: FetchedPartition): boolean => bytesOf(a) > 0 || a.meta.errorCode !== KafkaErrorCode.NONE;

function failedAnswer(err: unknown): FetchedPartition {
  const errorCode = err instanceof SluiceError ? err.kafkaCode : KafkaErrorCode.UNKNOWN_SERVER_ERROR;
  return { meta: { errorCode, errorMessage: err instanceof Error ? err.message : String(err), highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 }, records: undefined };
}

export class FetchMerger {
  constructor(private readonly partitions: PartitionClient) {}

  /** One answer per target, in order. */
  async fetch(targets: readonly FetchPart[], o: MergedFetch): Promise<FetchedPartition[]> {
    const parts = targets.map((t) => ({ ...t, maxBytes: Math.max(1, Math.min(t.maxBytes, o.maxBytes)) }));
    const limits = { maxWaitMs: 0, minBytes: 1, maxBytes: o.maxBytes, isolationLevel: o.isolationLevel };
    const answers = await Promise.all(this.partitions.fetchMany(parts, limits, o.deadline).map((a) => a.catch(failedAnswer)));
    let bytes = answers.reduce((n, a) => n + bytesOf(a), 0);
    const minBytes = Math.max(1, o.minBytes);
    const idle = parts.map((_, i) => i).filter((i) => !hasAnswer(answers[i]));
    if (bytes < minBytes && o.maxWaitMs > 0 && idle.length > 0 && !answers.some((a) => a.meta.errorCode !== KafkaErrorCode.NONE)) {
      bytes += await this.longPoll(
        idle.map((i) => parts[i]),
        { ...limits, maxWaitMs: o.maxWaitMs, minBytes: minBytes - bytes, maxBytes: Math.max(1, o.maxBytes - bytes) },
        o.deadline,
        (n, answer) => (answers[idle[n]] = answer),
      );
    }
    // KIP-74: partitions in request order share maxBytes, whole batches only; the first batch of the first partition
    // with data comes whole even when larger, so a consumer always makes progress.
    let total = 0;
    for (const a of answers) {
      if (!a.records || a.records.length === 0) continue;
      a.records = wholeBatchesWithin(a.records, o.maxBytes - total, total === 0);
      total += a.records.length;
    }
    return answers;
  }

  /**
   * Long-polls `parts` (one message per broker) and hands over each answer that has data or an error as it arrives,
   * until `minBytes` are there or every broker answered; brokers still waiting are then cancelled. Returns the bytes
   * handed over.
   */
  private longPoll(
    parts: readonly FetchPart[],
    limits: { maxWaitMs: number; minBytes: number; maxBytes: number; isolationLevel: 0 | 1 },
    deadline: number,
    take: (n: number, answer: FetchedPartition) => void,
  ): Promise<number> {
    const fetchId = randomUUID();
    const polls = this.partitions.fetchMany(parts, { ...limits, fetchId }, deadline);
    return new Promise((resolve) => {
      let open = polls.length;
      let bytes = 0;
      let answered = false;
      const finish = (): void => {
        answered = true;
        if (open > 0) this.partitions.cancelFetch(fetchId, parts);
        resolve(bytes);
      };
      polls.forEach((poll, n) => {
        void poll.catch(failedAnswer).then((answer) => {
          if (answered) return;
          open--;
          if (hasAnswer(answer)) {
            take(n, answer);
            bytes += bytesOf(answer);
          }
          if (bytes >= limits.minBytes || open === 0 || answer.meta.errorCode !== KafkaErrorCode.NONE) finish();
        });
      });
    });
  }
}
