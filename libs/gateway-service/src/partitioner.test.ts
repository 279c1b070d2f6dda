import { describe, expect, it } from 'vitest';
import { partitionForKey } from '@sluice/protocol';
import { choosePartition, StickyPartitioner, STICKY_BATCH_BYTES } from './partitioner.js';

describe('partitioning', () => {
  it('puts keys where Kafka’s murmur2 partitioner does and honours an explicit partition', () => {
    const sticky = new StickyPartitioner();
    for (const key of ['a', 'user-1', 'ünïcödé', '']) {
      const bytes = Buffer.from(key);
      expect(choosePartition(sticky, 't', 12, undefined, bytes, 10)).toBe(partitionForKey(bytes, 12));
    }
    expect(choosePartition(sticky, 't', 12, 5, Buffer.from('a'), 10)).toBe(5);
  });

  it('sticks to one partition for a batch worth of unkeyed records, then moves round-robin', () => {
    const sticky = new StickyPartitioner();
    const perBatch = STICKY_BATCH_BYTES / 1024;
    const seen: number[] = [];
    for (let i = 0; i < perBatch * 4; i++) seen.push(sticky.partitionFor('t', 3, 1024));
    const runs = seen.reduce<number[][]>((acc, p) => {
      if (acc.length === 0 || acc[acc.length - 1][0] !== p) acc.push([p]);
      else acc[acc.length - 1].push(p);
      return acc;
    }, []);
    expect(runs.map((r) => r.length)).toEqual([perBatch, perBatch, perBatch, perBatch]);
    expect(new Set(runs.slice(0, 3).map((r) => r[0])).size).toBe(3);
  });

  it('keeps topics apart and copes with fewer partitions than before', () => {
    const sticky = new StickyPartitioner();
    const a = sticky.partitionFor('a', 8, 10);
    expect(sticky.partitionFor('b', 8, 10)).not.toBe(a);
    for (let i = 0; i < 50; i++) expect(sticky.partitionFor('a', 2, 10)).toBeLessThan(2);
  });
});
