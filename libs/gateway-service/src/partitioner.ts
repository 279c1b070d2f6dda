// Where HTTP records go: an explicit partition, Kafka's murmur2 partitioner for keys, and Kafka's sticky partitioner
// (fill a batch of batch.size bytes on one partition, then move on) for records without a key.
import { partitionForKey } from '@sluice/protocol';

/** Kafka's default batch.size: the sticky partitioner moves on once a partition's batch holds this much. */
export const STICKY_BATCH_BYTES = 16 * 1024;

export class StickyPartitioner {
  private readonly state = new Map<string, { partition: number; bytes: number }>();
  private next = 0;

  /** The partition for an unkeyed record of `size` bytes. */
  partitionFor(topic: string, partitions: number, size: number): number {
    let s = this.state.get(topic);
    if (!s || s.partition >= partitions || s.bytes >= STICKY_BATCH_BYTES) {
      s = { partition: this.next++ % partitions, bytes: 0 };
      this.state.set(topic, s);
    }
    s.bytes += size;
    return s.partition;
  }

  forget(topic: string): void {
    this.state.delete(topic);
  }
}

export function choosePartition(
  sticky: StickyPartitioner,
  topic: string,
  partitions: number,
  explicit: number | undefined,
  key: Uint8Array | null,
  size: number,
): number {
  if (explicit !== undefined) return explicit;
  if (key !== null) return partitionForKey(key, partitions);
  return sticky.partitionFor(topic, partitions, size);
}
