import { describe, expect, it } from 'vitest';
import { assignReplicas, manualAssignmentProblem, newPartition } from './replica-assignment.js';

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
