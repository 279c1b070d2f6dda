// How a partition's leader and replicas change, as pure functions of the partition and which brokers are alive: leader
// election when a broker goes (clean, or unclean when the topic allows it), preferred and unclean elections asked for
// by an operator (Kafka's ElectLeaders), automatic preferred-leader balancing, and reassignments (KIP-455: add the
// target replicas, wait until they are all in sync, then drop the others). The controller persists and publishes what
// these return; every change bumps the partition epoch, and every change of leader the leader epoch.
import { KafkaErrorCode } from '@sluice/protocol';
import type { MetadataImage, PartitionInfo } from '@sluice/contracts';

export type Alive = (brokerId: number) => boolean;

/** A change, or why there is none: a Kafka error code and message. */
export type Outcome = { next: PartitionInfo; errorCode?: undefined } | { next?: undefined; errorCode: number; errorMessage: string };

const refuse = (errorCode: number, errorMessage: string): Outcome => ({ errorCode, errorMessage });

function withLeader(p: PartitionInfo, leader: number, isr = p.isr): PartitionInfo {
  return { ...p, leader, isr, leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
}

/** The first live in-sync replica in replica order (a clean election), or -1. */
export function cleanLeader(p: PartitionInfo, alive: Alive): number {
  return p.replicas.find((b) => p.isr.includes(b) && alive(b)) ?? -1;
}

/**
 * The preferred replica (the first) takes over when it is alive, in sync, and not already leading. During a
 * reassignment the first replica is the first target replica.
 */
export function electPreferred(p: PartitionInfo, alive: Alive): Outcome {
  const preferred = p.replicas[0];
  if (p.leader === preferred) return refuse(KafkaErrorCode.ELECTION_NOT_NEEDED, `broker ${preferred} already leads`);
  if (!alive(preferred)) return refuse(KafkaErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `the preferred replica ${preferred} is not alive`);
  if (!p.isr.includes(preferred)) return refuse(KafkaErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `the preferred replica ${preferred} is not in sync`);
  return { next: withLeader(p, preferred) };
}

/**
 * An offline partition gets a leader: a live in-sync replica if there is one, otherwise a live out-of-sync one, which
 * loses what it lacks (the ISR becomes that replica alone).
 */
export function electUnclean(p: PartitionInfo, alive: Alive): Outcome & { unclean?: boolean } {
  if (p.leader >= 0) return refuse(KafkaErrorCode.ELECTION_NOT_NEEDED, `broker ${p.leader} leads`);
  const clean = cleanLeader(p, alive);
  if (clean >= 0) return { next: withLeader(p, clean) };
  const any = p.replicas.find(alive);
  if (any === undefined) return refuse(KafkaErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, `no replica of ${JSON.stringify(p.replicas)} is alive`);
  return { next: withLeader(p, any, [any]), unclean: true };
}

/**
 * Partitions whose preferred replica should lead again, as Kafka's auto leader rebalance picks them: for each broker,
 * the share of the partitions it is preferred for that another broker leads; where that share is above
 * `imbalancePercentage`, each of those partitions whose preferred replica is alive and in sync (and that is not being
 * reassigned).
 */
export function imbalancedPartitions(image: MetadataImage, alive: Alive, imbalancePercentage: number): Array<{ topicId: string; partition: PartitionInfo }> {
  const byBroker = new Map<number, { preferred: number; elsewhere: Array<{ topicId: string; partition: PartitionInfo }> }>();
  for (const topic of Object.values(image.topics)) {
    for (const p of topic.partitions) {
      if (p.addingReplicas || p.replicas.length === 0) continue;
      const preferred = p.replicas[0];
      let entry = byBroker.get(preferred);
      if (!entry) byBroker.set(preferred, (entry = { preferred: 0, elsewhere: [] }));
      entry.preferred++;
      if (p.leader !== preferred) entry.elsewhere.push({ topicId: topic.id, partition: p });
    }
  }
  const out: Array<{ topicId: string; partition: PartitionInfo }> = [];
  for (const [broker, { preferred, elsewhere }] of byBroker) {
    if (!alive(broker) || (elsewhere.length * 100) / preferred <= imbalancePercentage) continue;
    for (const e of elsewhere) if (e.partition.isr.includes(broker)) out.push(e);
  }
  return out;
}

/** Why `replicas` cannot be a target replica list, or undefined. */
export function targetProblem(replicas: unknown, known: (id: number) => boolean): string | undefined {
  if (!Array.isArray(replicas) || replicas.length === 0) return 'the target replicas must be a non-empty list of broker ids';
  if (!replicas.every((b) => Number.isSafeInteger(b))) return 'broker ids must be integers';
  if (new Set(replicas).size !== replicas.length) return `broker ids repeat in ${JSON.stringify(replicas)}`;
  const unknown = (replicas as number[]).filter((b) => !known(b));
  if (unknown.length > 0) return `broker ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not alive in the cluster`;
  return undefined;
}

/** The replicas a partition had before its reassignment began (all of them when none is in progress). */
export function originalReplicas(p: PartitionInfo): number[] {
  const adding = p.addingReplicas ?? [];
  return p.replicas.filter((b) => !adding.includes(b));
}

/**
 * Starts a reassignment to `target` (replacing one in progress, from the original replicas): the partition's replicas
 * become the target followed by the original replicas not in it; the new ones catch up as followers and join the ISR;
 * `completeReassignment` finishes it. A target equal to the replicas (with nothing in progress) changes nothing.
 */
export function startReassignment(p: PartitionInfo, target: number[], alive: Alive): Outcome {
  const original = originalReplicas(p);
  if (!p.addingReplicas && !p.removingReplicas && sameList(target, p.replicas)) return { next: p };
  const adding = target.filter((b) => !original.includes(b));
  const removing = original.filter((b) => !target.includes(b));
  const replicas = [...target, ...removing];
  // Replicas added by a reassignment this one replaces, and not in its target, leave with their ISR membership.
  const isr = p.isr.filter((b) => replicas.includes(b));
  if (isr.length === 0) return refuse(KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, 'no in-sync replica would be left');
  const next: PartitionInfo = { ...settled(p), replicas, isr, partitionEpoch: p.partitionEpoch + 1 };
  // Only the order changes: done at once (the preferred leader may differ; an election moves leadership to it).
  if (adding.length === 0 && removing.length === 0) return { next: moveLeaderInto(next, alive) };
  const started: PartitionInfo = { ...next, addingReplicas: adding, removingReplicas: removing };
  return { next: completeReassignment(started, alive) ?? started };
}

/** Cancels the reassignment in progress: back to the original replicas. */
export function cancelReassignment(p: PartitionInfo, alive: Alive): Outcome {
  if (!p.addingReplicas && !p.removingReplicas) return refuse(KafkaErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'no reassignment is in progress');
  const original = originalReplicas(p);
  const isr = p.isr.filter((b) => original.includes(b));
  if (isr.length === 0) return refuse(KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, `none of the original replicas ${JSON.stringify(original)} is in sync`);
  return { next: moveLeaderInto({ ...settled(p), replicas: original, isr, partitionEpoch: p.partitionEpoch + 1 }, alive) };
}

/**
 * Finishes a reassignment once every target replica is in sync: the replicas become the target, the ISR keeps only
 * target replicas, and a leader outside the target (or not alive) hands over to the first live in-sync target replica.
 * Undefined while some target replica is still catching up (or nothing is in progress).
 */
export function completeReassignment(p: PartitionInfo, alive: Alive): PartitionInfo | undefined {
  if (!p.addingReplicas && !p.removingReplicas) return undefined;
  const removing = p.removingReplicas ?? [];
  const target = p.replicas.filter((b) => !removing.includes(b));
  if (!target.every((b) => p.isr.includes(b))) return undefined;
  return moveLeaderInto({ ...settled(p), replicas: target, isr: target.filter((b) => p.isr.includes(b)), partitionEpoch: p.partitionEpoch + 1 }, alive);
}

/** A partition whose leader is no longer one of its live replicas gets the first live in-sync one (or goes offline). */
function moveLeaderInto(p: PartitionInfo, alive: Alive): PartitionInfo {
  if (p.leader >= 0 && p.replicas.includes(p.leader) && alive(p.leader)) return p;
  const leader = cleanLeader(p, alive);
  return { ...p, leader, leaderEpoch: p.leaderEpoch + 1 };
}

/** The partition without reassignment state. */
function settled(p: PartitionInfo): PartitionInfo {
  const out = { ...p };
  delete out.addingReplicas;
  delete out.removingReplicas;
  return out;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
