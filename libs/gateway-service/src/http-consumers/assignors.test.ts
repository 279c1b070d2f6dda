import { describe, expect, it } from 'vitest';
import { rangeAssignor, roundRobinAssignor } from './assignors.js';

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
