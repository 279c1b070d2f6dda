// Server-side partition assignors for HTTP consumer groups, with Kafka's semantics: range (per topic, consecutive
// partitions to members in id order) and round-robin (all topic-partitions dealt in turn to the members subscribed).
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface MemberSubscription {
  memberId: string;
  topics: string[];
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

export const assignors: Record<string, Assignor> = { range: rangeAssignor, roundrobin: roundRobinAssignor };
