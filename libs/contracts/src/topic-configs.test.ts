import { describe, expect, it } from 'vitest';
import { LONG_MAX, topicConfigProblem, topicConfigSpecs, topicConfigsMarkdown } from './topic-configs.js';

describe('the topic-config table', () => {
  it('holds every config Kafka 4 defines for topics, and each default passes its own check', () => {
    const names = topicConfigSpecs.map((s) => s.name);
    for (const name of ['file.delete.delay.ms', 'max.compaction.lag.ms', 'message.format.version', 'min.compaction.lag.ms', 'segment.index.bytes', 'preallocate', 'segment.jitter.ms', 'compression.zstd.level']) {
      expect(names).toContain(name);
    }
    for (const s of topicConfigSpecs) expect(s.check(s.default, { replicationFactor: 3 }), s.name).toBeUndefined();
  });

  it('refuses unknown names and bad values, naming the config and what is valid', () => {
    expect(topicConfigProblem({ 'no.such.config': '1' }, 1)).toMatch(/unknown topic config "no.such.config"/);
    expect(topicConfigProblem({ 'retention.ms': 'forever' }, 1)).toMatch(/"retention.ms": must be an integer ≥ -1/);
    expect(topicConfigProblem({ 'segment.bytes': String(2 ** 31) }, 1)).toMatch(/segment.bytes/);
    expect(topicConfigProblem({ 'min.insync.replicas': '3' }, 2)).toMatch(/min.insync.replicas/);
    expect(topicConfigProblem({ 'cleanup.policy': 'compact,delete,compact' }, 1)).toMatch(/cleanup.policy/);
    expect(topicConfigProblem({ 'compression.gzip.level': '0' }, 1)).toMatch(/-1 or 1 to 9/);
    expect(topicConfigProblem({ 'remote.storage.enable': 'true' }, 1)).toMatch(/remote.storage.enable/);
  });

  it('accepts Kafka’s Long.MAX_VALUE, removals (null), and what tools set', () => {
    expect(topicConfigProblem({ 'flush.ms': LONG_MAX, 'max.compaction.lag.ms': LONG_MAX, 'retention.ms': null }, 1)).toBeUndefined();
    expect(topicConfigProblem({ 'message.format.version': '3.0-IV1', preallocate: 'true', 'leader.replication.throttled.replicas': '0:1,1:2', 'cleanup.policy': 'delete,compact' }, 1)).toBeUndefined();
  });

  it('documents every config for the README', () => {
    const table = topicConfigsMarkdown();
    for (const s of topicConfigSpecs) expect(table).toContain(`\`${s.name}\``);
  });
});
