import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignReplicas, placeReplicas, rackAlternated, type PlacedBroker } from './replica-assignment.js';

const racked = (racks: Record<string, number[]>): PlacedBroker[] => Object.entries(racks).flatMap(([rack, ids]) => ids.map((id) => ({ id, rack })));
const count = (values: number[]) => values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<number, number>());

describe('replica placement', () => {
  it('lists brokers rack by rack in turn', () => {
    expect(rackAlternated(racked({ b: [4, 2], a: [1, 3, 5], c: [6] }))).toEqual([1, 2, 6, 3, 4, 5]);
  });

  it('spreads each partition over as many racks as it has replicas, with leaders and replicas even over the brokers', () => {
    const brokers = racked({ a: [1, 2], b: [3, 4], c: [5, 6] });
    const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
    for (let start = 0; start < 6; start++) {
      const placed = placeReplicas(brokers, 60, 3, start, 2);
      for (const replicas of placed) {
        expect(new Set(replicas).size).toBe(3);
        expect(new Set(replicas.map((b) => rackOf.get(b))).size).toBe(3);
      }
      expect([...count(placed.map((r) => r[0])).values()]).toEqual([10, 10, 10, 10, 10, 10]);
      expect([...count(placed.flat()).values()]).toEqual([30, 30, 30, 30, 30, 30]);
    }
  });

  it('covers every rack when there are fewer racks than replicas, even with racks of different sizes', () => {
    const brokers = racked({ a: [1], b: [2, 3, 4] });
    for (const replicas of placeReplicas(brokers, 20, 3, 1, 3)) {
      expect(new Set(replicas).size).toBe(3);
      expect(replicas).toContain(1);
    }
  });

  it('places rack-unaware (as before) unless every broker has a rack', () => {
    const mixed: PlacedBroker[] = [
      { id: 1, rack: 'a' },
      { id: 2, rack: null },
      { id: 3, rack: 'a' },
    ];
    expect(placeReplicas(mixed, 9, 2, 1, 0)).toEqual(assignReplicas([1, 2, 3], 9, 2, 1, 0));
  });

  it('always places distinct brokers over min(replicas, racks) racks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.nat(20),
        fc.nat(20),
        (racks, rfWanted, start, shift) => {
          const brokers = racks.map((rack, i) => ({ id: i + 1, rack }));
          const rf = Math.min(rfWanted, brokers.length);
          const rackCount = new Set(racks).size;
          for (const replicas of placeReplicas(brokers, 12, rf, start % brokers.length, shift)) {
            expect(new Set(replicas).size).toBe(rf);
            expect(new Set(replicas.map((b) => racks[b - 1])).size).toBe(Math.min(rf, rackCount));
          }
        },
      ),
    );
  });
});
