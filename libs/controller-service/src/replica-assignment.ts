// Replica placement the way Kafka's rack-unaware assignment does it: leaders round-robin from a start index, followers
// shifted by an increasing step, so that leaders and followers spread evenly over the brokers.
import type { PartitionInfo } from '@sluice/contracts';

/** Replicas for each partition; the first replica is the preferred leader. `brokers` must be sorted and non-empty. */
export function assignReplicas(brokers: readonly number[], partitions: number, replicationFactor: number, startIndex: number, firstShift = startIndex): number[][] {
  const n = brokers.length;
  const out: number[][] = [];
  let shift = firstShift % n;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (startIndex + p) % n;
    const replicas = [brokers[first]];
    for (let r = 0; r < replicationFactor - 1; r++) {
      const step = 1 + ((shift + r) % (n - 1 || 1));
      replicas.push(brokers[(first + step) % n]);
    }
    out.push(replicas);
  }
  return out;
}

/**
 * Why a manual replica assignment (CreateTopics / CreatePartitions with explicit replicas) is invalid, or undefined:
 * every partition names at least one replica, only known brokers, none twice, all with the same replication factor
 * (`replicationFactor` when the topic already has one), and at least one live broker to lead each partition.
 */
export function manualAssignmentProblem(assignments: unknown, known: ReadonlySet<number>, alive: ReadonlySet<number>, replicationFactor?: number): string | undefined {
  if (!Array.isArray(assignments) || assignments.length === 0) return 'the assignment must list the replicas of at least one partition';
  const rf = replicationFactor ?? (Array.isArray(assignments[0]) ? assignments[0].length : 0);
  for (const [i, replicas] of assignments.entries()) {
    if (!Array.isArray(replicas) || replicas.length === 0) return `partition ${i} has no replicas`;
    if (!replicas.every((b) => Number.isInteger(b))) return `partition ${i}: broker ids must be integers`;
    const unknown = replicas.filter((b: number) => !known.has(b));
    if (unknown.length > 0) return `partition ${i}: unknown brokers ${unknown.join(', ')}`;
    if (new Set(replicas).size !== replicas.length) return `partition ${i}: a broker appears more than once in ${replicas.join(', ')}`;
    if (replicas.length !== rf) return `partition ${i} has ${replicas.length} replicas, not ${rf} like the ${replicationFactor === undefined ? 'first partition' : 'topic'}: all partitions need the same replication factor`;
    if (!replicas.some((b: number) => alive.has(b))) return `partition ${i}: none of brokers ${replicas.join(', ')} is alive to lead it`;
  }
  return undefined;
}

/** A new partition on `replicas`: its live replicas are in sync (all are empty), the first of them leads. */
export function newPartition(partition: number, replicas: number[], alive: ReadonlySet<number>): PartitionInfo {
  const isr = replicas.filter((b) => alive.has(b));
  return { partition, leader: isr[0], leaderEpoch: 0, partitionEpoch: 0, replicas, isr };
}
