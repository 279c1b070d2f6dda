// Server-side partition assignors for HTTP consumer groups, with Kafka's semantics: range (per topic, consecutive
// partitions to members in id order), round-robin (all topic-partitions dealt in turn to the members subscribed) and
// sticky (balanced, moving as few partitions as possible from the members that owned them).
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface MemberSubscription {
  memberId: string;
  topics: string[];
  /** What the member owned in its last generation (ConsumerProtocolSubscription v1+), for the sticky assignor. */
  owned?: TopicPartition[];
  /** The generation `owned` belongs to (v2+; -1 unknown): the newer claim wins when two members claim a partition. */
  generation?: number;
}

export type Assignor = (members: readonly MemberSubscription[], partitionsOf: (topic: string) => number) => Map<string, TopicPartition[]>;

export const rangeAssignor: Assignor = (members, partitionsOf) => {
  const out = new Map(members.map((m) => [m.memberId, [] as TopicPartition[]]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const subscribed = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    const count = partitionsOf(topic);
    const each = Math.floor(count / subscribed.length);
    const extra = count % subscribed.length;
    let next = 0;
    subscribed.forEach((memberId, i) => {
      const n = each + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) out.get(memberId)?.push({ topic, partition: next++ });
    });
  }
  return out;
};

export const roundRobinAssignor: Assignor = (members, partitionsOf) => {
  const out = new Map(members.map((m) => [m.memberId, [] as TopicPartition[]]));
  const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const all = [...new Set(members.flatMap((m) => m.topics))].sort().flatMap((topic) => Array.from({ length: partitionsOf(topic) }, (_, partition) => ({ topic, partition })));
  let turn = 0;
  for (const tp of all) {
    for (let tries = 0; tries < sorted.length; tries++) {
      const member = sorted[turn++ % sorted.length];
      if (member.topics.includes(tp.topic)) {
        out.get(member.memberId)?.push(tp);
        break;
      }
    }
  }
  return out;
};

/**
 * Sticky: every member keeps the partitions it owned that are still valid (its topics, partitions that exist, not
 * claimed by a member of a newer generation); the rest go to the least loaded eligible member; then partitions move
 * one at a time from the most to the least loaded member that can take them, until no two members differ by more than
 * one where a move is possible. With equal subscriptions the result is as balanced as range or round-robin, and only
 * the partitions that must move for balance do.
 */
export const stickyAssignor: Assignor = (members, partitionsOf) => {
  const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const owned = new Map(sorted.map((m) => [m.memberId, [] as TopicPartition[]]));
  const topicsOf = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]));
  const owner = new Map<string, string>();
  const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
  // Newest claims first, so that a member still holding a partition from an older generation loses it.
  const byGeneration = [...sorted].sort((a, b) => (b.generation ?? -1) - (a.generation ?? -1));
  for (const m of byGeneration) {
    for (const tp of m.owned ?? []) {
      const k = tpKey(tp);
      if (!m.topics.includes(tp.topic) || tp.partition < 0 || tp.partition >= partitionsOf(tp.topic) || owner.has(k)) continue;
      owner.set(k, m.memberId);
      owned.get(m.memberId)?.push({ topic: tp.topic, partition: tp.partition });
    }
  }
  const leastLoaded = (topic: string): string | undefined => {
    let best: string | undefined;
    for (const m of sorted) {
      if (!topicsOf.get(m.memberId)?.has(topic)) continue;
      if (best === undefined || (owned.get(m.memberId)?.length ?? 0) < (owned.get(best)?.length ?? 0)) best = m.memberId;
    }
    return best;
  };
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    for (let partition = 0; partition < partitionsOf(topic); partition++) {
      if (owner.has(tpKey({ topic, partition }))) continue;
      const to = leastLoaded(topic);
      if (to !== undefined) owned.get(to)?.push({ topic, partition });
    }
  }
  // Balance: each move takes a partition from a member with at least two more than the receiver, so the sum of
  // squared loads falls and the loop ends.
  for (;;) {
    const byLoad = [...sorted].sort((a, b) => (owned.get(b.memberId)?.length ?? 0) - (owned.get(a.memberId)?.length ?? 0));
    let moved = false;
    for (const from of byLoad) {
      const fromList = owned.get(from.memberId) ?? [];
      for (const to of [...byLoad].reverse()) {
        const toList = owned.get(to.memberId) ?? [];
        if (fromList.length - toList.length < 2) break;
        const i = fromList.findLastIndex((tp) => topicsOf.get(to.memberId)?.has(tp.topic));
        if (i < 0) continue;
        toList.push(...fromList.splice(i, 1));
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  for (const list of owned.values()) list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return owned;
};

export const assignors: Record<string, Assignor> = { sticky: stickyAssignor, range: rangeAssignor, roundrobin: roundRobinAssignor };

/** Kafka's assignor class names, as clients configure partition.assignment.strategy, to the names used here. */
const assignorAliases: Record<string, string> = {
  'org.apache.kafka.clients.consumer.stickyassignor': 'sticky',
  'org.apache.kafka.clients.consumer.rangeassignor': 'range',
  'org.apache.kafka.clients.consumer.roundrobinassignor': 'roundrobin',
};

/** Parses a partition.assignment.strategy list ("sticky,range" or Kafka class names); undefined names are returned as errors. */
export function parseAssignmentStrategy(value: string): { names: string[]; unknown: string[] } {
  const names: string[] = [];
  const unknown: string[] = [];
  for (const raw of value.split(',').map((v) => v.trim()).filter((v) => v !== '')) {
    const name = assignorAliases[raw.toLowerCase()] ?? raw.toLowerCase();
    if (!(name in assignors)) unknown.push(raw);
    else if (!names.includes(name)) names.push(name);
  }
  return { names, unknown };
}
