import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignReplicas, manualAssignmentProblem, newPartition, placeReplicas, rackAlternated, type PlacedBroker } from './replica-assignment.js';

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

describe('manual replica assignment', () => {
  const known = new Set([1, 2, 3]);
  const alive = new Set([1, 2]);

  it('accepts known brokers, each once, with one replication factor and a live replica per partition', () => {
    expect(manualAssignmentProblem([[1, 2], [2, 3], [3, 1]], known, alive)).toBeUndefined();
    expect(manualAssignmentProblem([[2], [1]], known, alive, 1)).toBeUndefined();
  });

  it('refuses unknown brokers, duplicates, mixed replication factors, empty or all-dead partitions', () => {
    expect(manualAssignmentProblem([[1, 7]], known, alive)).toMatch(/unknown brokers 7/);
    expect(manualAssignmentProblem([[1, 1]], known, alive)).toMatch(/more than once/);
    expect(manualAssignmentProblem([[1, 2], [2]], known, alive)).toMatch(/same replication factor/);
    expect(manualAssignmentProblem([[1]], known, alive, 2)).toMatch(/not 2 like the topic/);
    expect(manualAssignmentProblem([[1], []], known, alive)).toMatch(/partition 1 has no replicas/);
    expect(manualAssignmentProblem([], known, alive)).toMatch(/at least one partition/);
    expect(manualAssignmentProblem([[3]], known, alive)).toMatch(/none of brokers 3 is alive/);
    expect(manualAssignmentProblem([['1']], known, alive)).toMatch(/integers/);
    expect(manualAssignmentProblem('1,2', known, alive)).toBeDefined();
  });

  it('leads a new partition with its first live replica; only live replicas are in sync', () => {
    expect(newPartition(4, [3, 2, 1], alive)).toEqual({ partition: 4, leader: 2, leaderEpoch: 0, partitionEpoch: 0, replicas: [3, 2, 1], isr: [2, 1] });
    const placed = assignReplicas([1, 2, 3], 3, 2, 0).map((r, i) => newPartition(i, r, known));
    expect(placed.map((p) => p.leader)).toEqual([1, 2, 3]);
    expect(placed.every((p) => p.isr.length === 2)).toBe(true);
  });
});
