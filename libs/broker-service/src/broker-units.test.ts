import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@sluice/testing';
import { brokerConfig } from './broker-config.js';
import { readIdentity, writeIdentity } from './broker-identity.js';
import { topicConfigSpec } from '@sluice/protocol';
import { defaultLogConfig } from '@sluice/storage';
import { logConfigFor, minInsyncReplicas } from './topic-log-config.js';

describe('topic configs for the log', () => {
  const defaults = brokerConfig.load({});

  it('uses the broker defaults when the topic has no overrides', () => {
    expect(logConfigFor({}, defaults)).toEqual({
      segmentBytes: defaults.segmentBytes,
      retentionMs: defaults.retentionMs,
      retentionBytes: -1,
      maxBatchBytes: defaults.maxMessageBytes,
    });
    expect(minInsyncReplicas({})).toBe(1);
  });

  it('maps Kafka topic config names onto the log', () => {
    const c = logConfigFor(
      { 'segment.bytes': '1024', 'retention.ms': '-1', 'retention.bytes': '4096', 'max.message.bytes': '2048', 'segment.ms': '60000', 'flush.messages': '1', 'index.interval.bytes': '128' },
      defaults,
    );
    expect(c).toEqual({ segmentBytes: 1024, retentionMs: -1, retentionBytes: 4096, maxBatchBytes: 2048, segmentMs: 60000, flushMessages: 1, indexIntervalBytes: 128 });
    expect(minInsyncReplicas({ 'min.insync.replicas': '2' })).toBe(2);
  });

  it('gives the log Kafka’s defaults: the storage defaults and the broker variables agree with the topic-config table', () => {
    const defaults = brokerConfig.load({});
    const kafkaDefault = (name: string) => Number(topicConfigSpec(name)!.default);
    expect(defaults.segmentBytes).toBe(kafkaDefault('segment.bytes'));
    expect(defaults.retentionMs).toBe(kafkaDefault('retention.ms'));
    expect(defaults.retentionBytes).toBe(kafkaDefault('retention.bytes'));
    expect(defaults.maxMessageBytes).toBe(kafkaDefault('max.message.bytes'));
    expect(defaultLogConfig).toMatchObject({
      segmentMs: kafkaDefault('segment.ms'),
      indexIntervalBytes: kafkaDefault('index.interval.bytes'),
      deleteRetentionMs: kafkaDefault('delete.retention.ms'),
      minCleanableDirtyRatio: kafkaDefault('min.cleanable.dirty.ratio'),
      messageTimestampAfterMaxMs: kafkaDefault('message.timestamp.after.max.ms'),
      messageTimestampType: topicConfigSpec('message.timestamp.type')!.default,
      cleanupPolicy: topicConfigSpec('cleanup.policy')!.default,
    });
    // Long.MAX_VALUE ("no limit") becomes the largest safe integer.
    expect(logConfigFor({ 'message.timestamp.before.max.ms': '9223372036854775807', 'message.timestamp.type': 'LogAppendTime' }, defaults)).toMatchObject({
      messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
      messageTimestampType: 'LogAppendTime',
    });
  });

  it('applies the broker-wide flush setting', () => {
    expect(logConfigFor({}, brokerConfig.load({ SLUICE_LOG_FLUSH_MESSAGES: '1' })).flushMessages).toBe(1);
  });
});

describe('broker identity on disk', () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('is absent in a new data directory and kept once written', async () => {
    expect(await readIdentity(dir.path)).toBeUndefined();
    await writeIdentity(dir.path, { brokerId: 3, clusterId: 'c1' });
    expect(await readIdentity(dir.path)).toEqual({ brokerId: 3, clusterId: 'c1' });
  });
});
