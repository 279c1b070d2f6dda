// Replica placement as Kafka's assignment does it. Rack-unaware: leaders round-robin from a start index, followers
// shifted by an increasing step, so that leaders and followers spread evenly over the brokers. Rack-aware (when every
// broker has a rack): the same walk over the brokers listed rack by rack in turn, where a follower is skipped while
// its rack (or itself) already holds a replica of the partition and some rack (broker) does not, so each partition
// spans as many racks as it can and losing a rack loses at most the replicas placed there. Manual assignments (replicas
// named in CreateTopics / CreatePartitions) are validated here too.

import type { PartitionInfo } from '@sluice/contracts';

export interface PlacedBroker {
  id: number;
  rack: string | null;
}

/** Replicas for each partition; the first replica is the preferred leader. `brokers` must be sorted and non-empty. */
export function assignReplicas(brokers: readonly number[], partitions: number, replicationFactor: number, startIndex: number, firstShift = startIndex): number[][] {
  const n = brokers.length;
  const out: number[][] = [];
  let shift = firstShift % n;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (startIndex + p) % n;
    const replicas = [brokers[first]];
    for (let r = 0; r < replicationFactor - 1; r++) replicas.push(brokers[(first + replicaStep(shift, r, n)) % n]);
    out.push(replicas);
  }
  return out;
}

function replicaStep(shift: number, r: number, n: number): number {
  return 1 + ((shift + r) % (n - 1 || 1));
}

/**
 * Brokers alternating between racks: the first of each rack (racks in name order), then the second of each, and so
 * on; brokers of a rack in id order.
 */
export function rackAlternated(brokers: readonly PlacedBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const rack = b.rack ?? '';
    let ids = byRack.get(rack);
    if (!ids) byRack.set(rack, (ids = []));
    ids.push(b.id);
  }
  const racks = [...byRack].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ids]) => ids);
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) for (const ids of racks) if (i < ids.length) out.push(ids[i]);
  return out;
}

const rackAware = (brokers: readonly PlacedBroker[]) => brokers.length > 0 && brokers.every((b) => b.rack);

/** The order the placement walks the brokers in (a start index is a position in it). */
export function placementOrder(brokers: readonly PlacedBroker[]): number[] {
  return rackAware(brokers) ? rackAlternated(brokers) : brokers.map((b) => b.id).sort((a, b) => a - b);
}

/**
 * Replicas for each partition over brokers that may have racks: rack-aware when every broker has one, rack-unaware
 * otherwise (as Kafka, which refuses a mix unless told to ignore racks; here the mix is placed rack-unaware).
 * `startIndex` and `firstShift` pick where the round-robin begins (random for a new topic).
 */
export function placeReplicas(brokers: readonly PlacedBroker[], partitions: number, replicationFactor: number, startIndex: number, firstShift = startIndex): number[][] {
  const arranged = placementOrder(brokers);
  if (!rackAware(brokers)) return assignReplicas(arranged, partitions, replicationFactor, startIndex, firstShift);
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack as string]));
  const rackCount = new Set(rackOf.values()).size;
  const n = arranged.length;
  const out: number[][] = [];
  let shift = firstShift % n;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (startIndex + p) % n;
    const replicas = [arranged[first]];
    const racks = new Set([rackOf.get(arranged[first])]);
    for (let k = 0; replicas.length < replicationFactor; k++) {
      const broker = arranged[(first + replicaStep(shift * rackCount, k, n)) % n];
      const rack = rackOf.get(broker);
      const rackOk = !racks.has(rack) || racks.size === rackCount;
      const brokerOk = !replicas.includes(broker);
      if (rackOk && brokerOk) {
        replicas.push(broker);
        racks.add(rack);
      }
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
