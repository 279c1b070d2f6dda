import { describe, expect, it } from 'vitest';
import { parseAssignmentStrategy, rangeAssignor, roundRobinAssignor, stickyAssignor } from './assignors.js';

const partitions = (counts: Record<string, number>) => (topic: string) => counts[topic] ?? 0;
const flat = (m: Map<string, Array<{ topic: string; partition: number }>>) =>
  Object.fromEntries([...m].map(([id, tps]) => [id, tps.map((tp) => `${tp.topic}-${tp.partition}`)]));

describe('assignors', () => {
  it('range: consecutive partitions per topic, the first members taking the extra ones (as Kafka)', () => {
    const members = [
      { memberId: 'b', topics: ['t'] },
      { memberId: 'a', topics: ['t', 'u'] },
      { memberId: 'c', topics: ['t'] },
    ];
    expect(flat(rangeAssignor(members, partitions({ t: 7, u: 2 })))).toEqual({
      a: ['t-0', 't-1', 't-2', 'u-0', 'u-1'],
      b: ['t-3', 't-4'],
      c: ['t-5', 't-6'],
    });
  });

  it('round-robin: every partition once, dealt in turn to members subscribed to its topic', () => {
    const members = [
      { memberId: 'a', topics: ['t', 'u'] },
      { memberId: 'b', topics: ['t'] },
    ];
    const result = flat(roundRobinAssignor(members, partitions({ t: 3, u: 2 })));
    expect(result).toEqual({ a: ['t-0', 't-2', 'u-0', 'u-1'], b: ['t-1'] });
    const all = Object.values(result).flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('gives members nothing rather than failing when there are more members than partitions', () => {
    const members = ['a', 'b', 'c'].map((memberId) => ({ memberId, topics: ['t'] }));
    expect(flat(rangeAssignor(members, partitions({ t: 2 })))).toEqual({ a: ['t-0'], b: ['t-1'], c: [] });
  });
});

describe('sticky assignor', () => {
  type Members = Array<{ memberId: string; topics: string[]; owned?: Array<{ topic: string; partition: number }>; generation?: number }>;
  const loads = (m: Map<string, unknown[]>) => [...m.values()].map((l) => l.length);
  const coverage = (m: Map<string, Array<{ topic: string; partition: number }>>) => [...m.values()].flat().map((tp) => `${tp.topic}-${tp.partition}`).sort();
  /** One generation: every member owns what the previous assignment gave it. */
  const next = (members: Members, previous: Map<string, Array<{ topic: string; partition: number }>>, generation: number): Members =>
    members.map((m) => ({ ...m, owned: previous.get(m.memberId) ?? [], generation }));
  const moved = (before: Map<string, Array<{ topic: string; partition: number }>>, after: Map<string, Array<{ topic: string; partition: number }>>) => {
    const ownerBefore = new Map([...before].flatMap(([id, tps]) => tps.map((tp) => [`${tp.topic}-${tp.partition}`, id] as const)));
    return [...after].flatMap(([id, tps]) => tps.filter((tp) => ownerBefore.get(`${tp.topic}-${tp.partition}`) !== id)).length;
  };

  it('balances like the others when nobody owns anything, covering every partition once', () => {
    const members = ['a', 'b', 'c'].map((memberId) => ({ memberId, topics: ['t', 'u'] }));
    const result = stickyAssignor(members, partitions({ t: 7, u: 3 }));
    expect(loads(result).sort()).toEqual([3, 3, 4]);
    expect(coverage(result)).toEqual([...Array.from({ length: 7 }, (_, i) => `t-${i}`), ...Array.from({ length: 3 }, (_, i) => `u-${i}`)].sort());
  });

  it('moves only what balance needs when members join and leave (range and round-robin move far more)', () => {
    const counts = partitions({ t: 12 });
    let members: Members = ['m1', 'm2', 'm3'].map((memberId) => ({ memberId, topics: ['t'] }));
    const first = stickyAssignor(members, counts);
    // A fourth member joins: it needs 3 partitions, and exactly 3 move.
    members = [...next(members, first, 1), { memberId: 'm0', topics: ['t'] }];
    const grown = stickyAssignor(members, counts);
    expect(loads(grown)).toEqual([3, 3, 3, 3]);
    expect(moved(first, grown)).toBe(3);
    expect(moved(first, rangeAssignor(members, counts))).toBeGreaterThan(3);
    // m2 leaves: only its 3 partitions move, spread over the others.
    members = next(members, grown, 2).filter((m) => m.memberId !== 'm2');
    const shrunk = stickyAssignor(members, counts);
    expect(loads(shrunk)).toEqual([4, 4, 4]);
    expect(moved(grown, shrunk)).toBe(3);
    expect(coverage(shrunk)).toEqual(Array.from({ length: 12 }, (_, i) => `t-${i}`).sort());
  });

  it('drops owned partitions that are gone or unsubscribed, and gives a doubly claimed one to the newer generation', () => {
    const members: Members = [
      { memberId: 'a', topics: ['t'], owned: [{ topic: 't', partition: 0 }, { topic: 't', partition: 9 }, { topic: 'gone', partition: 0 }], generation: 4 },
      { memberId: 'b', topics: ['t'], owned: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }], generation: 5 },
    ];
    const result = flat(stickyAssignor(members, partitions({ t: 4 })));
    expect(result.b).toContain('t-0');
    expect(result.b).toContain('t-1');
    expect([...result.a, ...result.b].sort()).toEqual(['t-0', 't-1', 't-2', 't-3']);
    expect(result.a).toHaveLength(2);
  });

  it('respects different subscriptions: a partition only goes to a member subscribed to its topic', () => {
    const members = [
      { memberId: 'a', topics: ['t', 'u'] },
      { memberId: 'b', topics: ['t'] },
      { memberId: 'c', topics: ['u'] },
    ];
    const result = flat(stickyAssignor(members, partitions({ t: 4, u: 4 })));
    expect(result.b.every((tp) => tp.startsWith('t-'))).toBe(true);
    expect(result.c.every((tp) => tp.startsWith('u-'))).toBe(true);
    expect(Object.values(result).map((l) => l.length).sort()).toEqual([2, 3, 3]);
  });

  it('reads partition.assignment.strategy as names or Kafka class names, and names what it does not know', () => {
    expect(parseAssignmentStrategy('org.apache.kafka.clients.consumer.StickyAssignor, range')).toEqual({ names: ['sticky', 'range'], unknown: [] });
    expect(parseAssignmentStrategy('cooperative-sticky,roundrobin')).toEqual({ names: ['roundrobin'], unknown: ['cooperative-sticky'] });
  });
});
