import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus, InProcessTransport } from '@sluice/bus';
import { buildRecordBatch, OffsetSpec, PartitionVerb, Subjects, type ListOffsetsReply, type ListOffsetsRequest } from '@sluice/protocol';
import { createLogger, createMetricsRegistry } from '@sluice/runtime';
import { FilePool, PartitionLog } from '@sluice/storage';
import { tempDir, type TempDir } from '@sluice/testing';
import { brokerConfig } from './broker-config.js';
import { readIdentity, writeIdentity } from './broker-identity.js';
import { topicConfigSpec } from '@sluice/protocol';
import { defaultLogConfig } from '@sluice/storage';
import { createBrokerMetrics } from './broker-metrics.js';
import { PartitionLeader } from './partition-leader.js';
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

describe('partition leader', () => {
  it('serves everything in its log after a crash left the high-watermark checkpoint behind', async () => {
    const dir = await tempDir();
    const files = new FilePool(16);
    const bus = new Bus(new InProcessTransport());
    const subjects = new Subjects('leader');
    try {
      // Appended and acknowledged, then the process died: no close, so no high-watermark checkpoint.
      const crashed = await PartitionLog.open(dir.path, {}, { files });
      await crashed.append(buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }]), 0);
      const log = await PartitionLog.open(dir.path, {}, { files: new FilePool(16) });
      expect([log.logEndOffset, log.highWatermark]).toEqual([2, 0]);
      const leader = new PartitionLeader({
        bus,
        subjects,
        topicId: 't',
        topicName: 't',
        partition: { partition: 0, leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1], isr: [1] },
        log,
        logger: createLogger({ service: 'broker', level: 'silent' }),
        metrics: createBrokerMetrics(createMetricsRegistry('broker'), () => 1),
        maxFetchBytes: 1 << 20,
        minInsyncReplicas: () => 1,
      });
      const latest = await bus.ask<ListOffsetsReply, ListOffsetsRequest>(
        subjects.partition('t', 0, PartitionVerb.listOffsets),
        { timestamp: OffsetSpec.latest, leaderEpoch: -1, isolationLevel: 0 },
        { timeoutMs: 5000 },
      );
      expect(latest.meta).toMatchObject({ errorCode: 0, offset: 2, highWatermark: 2 });
      await leader.stop();
    } finally {
      await bus.close();
      await files.closeAll();
      await dir.remove();
    }
  });
});
