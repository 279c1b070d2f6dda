// Replica placement the way Kafka's rack-unaware assignment does it: leaders round-robin from a start index, followers
// shifted by an increasing step, so that leaders and followers spread evenly over the brokers.

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
