// Replica placement as Kafka's assignment does it. Rack-unaware: leaders round-robin from a start index, followers
// shifted by an increasing step, so that leaders and followers spread evenly over the brokers. Rack-aware (when every
// broker has a rack): the same walk over the brokers listed rack by rack in turn, where a follower is skipped while
// its rack (or itself) already holds a replica of the partition and some rack (broker) does not, so each partition
// spans as many racks as it can and losing a rack loses at most the replicas placed there.

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
