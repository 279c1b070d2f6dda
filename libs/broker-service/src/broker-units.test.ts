import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus, InProcessTransport } from '@sluice/bus';
import { buildRecordBatch, KafkaErrorCode, type SluiceError } from '@sluice/protocol';
import { BrokerVerbs, OffsetSpec, Subjects, topicConfigSpec, type PartitionInfo } from '@sluice/contracts';
import { createLogger, createMetricsRegistry } from '@sluice/runtime';
import { FilePool, PartitionLog } from '@sluice/storage';
import { tempDir, waitFor, type TempDir } from '@sluice/testing';
import { brokerConfig } from './broker-config.js';
import { readIdentity, writeIdentity } from './broker-identity.js';
import { defaultLogConfig } from '@sluice/storage';
import { createBrokerMetrics } from './broker-metrics.js';
import { Partition } from './partition.js';
import type { ReplicaManager } from './replica-manager.js';
import { serveBrokerVerbs } from './request-handlers.js';
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

/** A Partition of broker 1 over `log`, with a fake controller for its ISR changes. */
function partitionOf(
  log: PartitionLog,
  info: PartitionInfo,
  o: {
    min?: number;
    lagMs?: number;
    alterIsr?: (isr: number[]) => PartitionInfo | undefined;
    registry?: ReturnType<typeof createMetricsRegistry>;
    isrEligible?: (id: number) => boolean;
  } = {},
): Partition {
  return new Partition({
    topicId: 't',
    topicName: 't',
    brokerId: 1,
    info,
    log,
    logger: createLogger({ service: 'broker', level: 'silent' }),
    metrics: createBrokerMetrics(o.registry ?? createMetricsRegistry('broker'), () => 1),
    minInsyncReplicas: () => o.min ?? 1,
    replicaLagTimeMaxMs: o.lagMs ?? 30_000,
    alterIsr: async (_p, isr) => o.alterIsr?.(isr),
    isrEligible: o.isrEligible,
  });
}

describe('partition', () => {
  const info = { partition: 0, leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1], isr: [1] };
  const partitionOn = (log: PartitionLog) => partitionOf(log, info);

  it('serves everything in its log once it leads, after a crash left the high-watermark checkpoint behind', async () => {
    const dir = await tempDir();
    const files = new FilePool(16);
    try {
      // Appended and acknowledged, then the process died: no close, so no high-watermark checkpoint.
      const crashed = await PartitionLog.open(dir.path, {}, { files });
      await crashed.append(buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }]), 0);
      const log = await PartitionLog.open(dir.path, {}, { files: new FilePool(16) });
      expect([log.logEndOffset, log.highWatermark]).toEqual([2, 0]);
      const partition = partitionOn(log);
      expect((await partition.listOffsets(OffsetSpec.latest, -1)).errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect(await partition.applyInfo(info)).toBe('leader');
      expect(await partition.listOffsets(OffsetSpec.latest, -1)).toMatchObject({ errorCode: 0, offset: 2, highWatermark: 2 });
      partition.close();
      await log.close();
    } finally {
      await files.closeAll();
      await dir.remove();
    }
  });

  it('fences other leader epochs, refuses writes when it does not lead, and answers acks=all once the batch is committed', async () => {
    const dir = await tempDir();
    const log = await PartitionLog.open(dir.path);
    try {
      const partition = partitionOn(log);
      const batch = () => buildRecordBatch([{ value: Buffer.from('x') }]);
      expect((await partition.produce(1, -1, batch(), 1000)).errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
      await partition.applyInfo(info);
      expect((await partition.produce(-1, 1, batch(), 1000)).errorCode).toBe(0);
      expect((await partition.produce(1, 0, batch(), 1000)).errorCode).toBe(KafkaErrorCode.FENCED_LEADER_EPOCH);
      expect((await partition.produce(1, 2, batch(), 1000)).errorCode).toBe(KafkaErrorCode.UNKNOWN_LEADER_EPOCH);
      expect((await partition.read(0, 1 << 20, 1)).meta.highWatermark).toBe(1);
      // Leadership moves away: reads are refused and a parked fetch wakes.
      let woken = false;
      partition.onNewData(() => (woken = true));
      await partition.applyInfo({ ...info, leader: 2, leaderEpoch: 2 });
      expect(woken).toBe(true);
      expect((await partition.read(0, 1 << 20, -1)).meta.errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
      partition.close();
    } finally {
      await log.close();
      await dir.remove();
    }
  });
});

describe('partition replication (as leader)', () => {
  const info = { partition: 0, leader: 1, leaderEpoch: 3, partitionEpoch: 5, replicas: [1, 2, 3], isr: [1, 2, 3] };
  let dir: TempDir;
  let log: PartitionLog;
  const proposals: number[][] = [];
  let answer: (isr: number[]) => PartitionInfo | undefined = () => undefined;
  let registry = createMetricsRegistry('broker');
  const fenced = new Set<number>();
  const leaderOn = (min = 2, lagMs = 30_000) =>
    partitionOf(log, info, {
      min,
      lagMs,
      registry,
      isrEligible: (id) => !fenced.has(id),
      alterIsr: (isr) => {
        proposals.push(isr);
        return answer(isr);
      },
    });
  const batch = (v: string) => buildRecordBatch([{ value: Buffer.from(v) }]);
  beforeEach(async () => {
    dir = await tempDir();
    log = await PartitionLog.open(dir.path);
    proposals.length = 0;
    answer = () => undefined;
    registry = createMetricsRegistry('broker');
    fenced.clear();
  });
  afterEach(async () => {
    await log.close();
    await dir.remove();
  });

  it('answers acks=all once every in-sync follower has fetched past the batch; the high watermark is the ISR minimum', async () => {
    const p = leaderOn();
    await p.applyInfo(info);
    let done = false;
    const write = p.produce(-1, 3, batch('a'), 5000).then((r) => ((done = true), r));
    await waitFor(() => log.logEndOffset === 1);
    expect(log.highWatermark).toBe(0);
    // Follower 2 fetches (gets the batch), then comes back with its new log end.
    expect((await p.readForFollower(2, 0, -1, 3, 1 << 20)).bytes.length).toBeGreaterThan(0);
    await p.readForFollower(2, 1, 3, 3, 1 << 20);
    expect(log.highWatermark).toBe(0);
    expect(done).toBe(false);
    await p.readForFollower(3, 1, 3, 3, 1 << 20);
    expect(log.highWatermark).toBe(1);
    expect((await write).errorCode).toBe(0);
  });

  it('refuses acks=all below min.insync.replicas, and fails a waiting write when the ISR shrinks below it', async () => {
    const p = leaderOn(2);
    await p.applyInfo({ ...info, isr: [1] });
    expect((await p.produce(-1, 3, batch('a'), 5000)).errorCode).toBe(KafkaErrorCode.NOT_ENOUGH_REPLICAS);
    expect((await p.produce(1, 3, batch('b'), 5000)).errorCode).toBe(0);
    await p.applyInfo({ ...info, partitionEpoch: 6 });
    const waiting = p.produce(-1, 3, batch('c'), 5000);
    await waitFor(() => log.logEndOffset === 2);
    await p.applyInfo({ ...info, isr: [1], partitionEpoch: 7 });
    expect((await waiting).errorCode).toBe(KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  });

  it('fails an acks=all write whose leadership moved while it was written, instead of waiting on another history', async () => {
    const p = leaderOn(1);
    await p.applyInfo(info);
    const write = p.produce(-1, 3, batch('a'), 60_000);
    // The controller moves leadership before the append lands (the role changes synchronously).
    void p.applyInfo({ ...info, leader: 2, leaderEpoch: 4, isr: [2, 3] });
    const started = Date.now();
    expect((await write).errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('tells a follower whose history diverges where to truncate, refuses non-replicas and stale epochs', async () => {
    const p = leaderOn();
    await log.append(batch('old'), 1);
    await p.applyInfo(info);
    await p.produce(1, 3, batch('new'), 5000);
    // The follower has epoch 2 up to offset 5: the leader never had epoch 2; its epoch 1 ended at 1.
    expect((await p.readForFollower(2, 5, 2, 3, 1 << 20)).meta.divergingEpoch).toEqual({ epoch: 1, endOffset: 1 });
    expect((await p.readForFollower(2, 1, 1, 3, 1 << 20)).meta.divergingEpoch).toBeUndefined();
    expect((await p.readForFollower(9, 0, -1, 3, 1 << 20)).meta.errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect((await p.readForFollower(2, 0, -1, 2, 1 << 20)).meta.errorCode).toBe(KafkaErrorCode.FENCED_LEADER_EPOCH);
    expect((await p.readForFollower(2, 99, -1, 3, 1 << 20)).meta.errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('asks the controller to drop a follower that stopped catching up, and to add back one that caught up', async () => {
    const p = leaderOn(1, 200);
    await p.applyInfo(info);
    await p.produce(1, 3, batch('a'), 5000);
    await p.readForFollower(2, 1, 3, 3, 1 << 20);
    await new Promise((r) => setTimeout(r, 250));
    await p.readForFollower(2, 1, 3, 3, 1 << 20);
    answer = (isr) => ({ ...info, isr, partitionEpoch: 6 });
    p.maybeShrinkIsr(Date.now());
    await waitFor(() => p.isr.length === 2);
    expect(proposals).toEqual([[1, 2]]);
    expect(log.highWatermark).toBe(1);
    // Follower 3 never fetched: it lags by the whole log.
    expect(p.replicationState()).toEqual({ underReplicated: true, underMinIsr: false, maxFollowerLag: 1 });
    // Follower 3 comes back and reaches the high watermark: it is proposed for the ISR again, but only once this
    // broker's metadata has it alive (not fenced, not shutting down).
    answer = (isr) => ({ ...info, isr: [1, 2, 3].filter((b) => isr.includes(b)), partitionEpoch: 7 });
    fenced.add(3);
    await p.readForFollower(3, 1, 3, 3, 1 << 20);
    expect(proposals).toEqual([[1, 2]]);
    fenced.delete(3);
    await p.readForFollower(3, 1, 3, 3, 1 << 20);
    await waitFor(() => p.isr.length === 3);
    expect(proposals).toEqual([[1, 2], [1, 2, 3]]);
    expect(p.replicationState()).toEqual({ underReplicated: false, underMinIsr: false, maxFollowerLag: 0 });
    const changes = await registry.getSingleMetric('sluice_broker_isr_changes_total')?.get();
    expect(Object.fromEntries((changes?.values ?? []).map((v) => [v.labels.change, v.value]))).toEqual({ shrink: 1, expand: 1 });
  });
});

describe('partition traffic metrics', () => {
  it('counts records and bytes in per append and out per fetch (from the fetch offset), by topic', async () => {
    const dir = await tempDir();
    const files = new FilePool(16);
    const registry = createMetricsRegistry('broker');
    try {
      const log = await PartitionLog.open(dir.path, {}, { files });
      const info = { partition: 0, leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1], isr: [1] };
      const p = partitionOf(log, info, { registry });
      await p.applyInfo(info);
      const a = buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }, { value: Buffer.from('c') }]);
      const b = buildRecordBatch([{ value: Buffer.from('d') }]);
      expect((await p.produce(1, 1, a, 1000)).errorCode).toBe(0);
      expect((await p.produce(1, 1, b, 1000)).errorCode).toBe(0);
      const read = await p.read(1, 1 << 20, 1);
      p.countOut(read.bytes, 1);
      const value = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.topic === 't')?.value;
      expect(await value('sluice_broker_records_in_total')).toBe(4);
      expect(await value('sluice_broker_bytes_in_total')).toBe(a.length + b.length);
      expect(await value('sluice_broker_records_out_total')).toBe(3);
      expect(await value('sluice_broker_bytes_out_total')).toBe(a.length + b.length);
      p.close();
      await log.close();
    } finally {
      await files.closeAll();
      await dir.remove();
    }
  });
});

describe('broker request handlers', () => {
  it('bound the requests in flight across all senders: more wait in arrival order, beyond the queue they are refused (retriable)', async () => {
    const bus = new Bus(new InProcessTransport());
    const subjects = new Subjects('bounds');
    let inside = 0;
    let maxInside = 0;
    const started: number[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const fakePartition = {
      produce: async (_acks: number, epoch: number) => {
        started.push(epoch);
        inside++;
        maxInside = Math.max(maxInside, inside);
        await gate;
        inside--;
        return { errorCode: 0, errorMessage: null, baseOffset: epoch, logAppendTimeMs: -1, logStartOffset: 0 };
      },
    };
    const replicas = { get: () => fakePartition } as unknown as ReplicaManager;
    const config = brokerConfig.load({ SLUICE_BROKER_MAX_IN_FLIGHT: '3', SLUICE_BROKER_MAX_QUEUED_REQUESTS: '5' });
    const actors = serveBrokerVerbs({ bus, subjects, brokerId: 1, config, replicas });
    try {
      const send = (i: number) =>
        bus
          .ask(subjects.at(BrokerVerbs.produce, 1), { acks: 1, timeoutMs: 5000, partitions: [{ topicId: 't', partition: 0, leaderEpoch: i, bytes: 1 }] }, { timeoutMs: 5000, body: Buffer.alloc(1) })
          .then((r) => r.meta.partitions[0].baseOffset, (err: SluiceError) => err.code);
      const answers = Array.from({ length: 12 }, (_, i) => send(i));
      await waitFor(() => started.length === 3);
      await new Promise((r) => setTimeout(r, 50));
      expect(started).toEqual([0, 1, 2]);
      open();
      const results = await Promise.all(answers);
      expect(maxInside).toBe(3);
      // 3 running + 5 waiting were taken, in arrival order; the other 4 were refused without being worked on.
      expect(results.filter((r) => typeof r === 'number')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(results.filter((r) => r === 'BUS_MAILBOX_FULL')).toHaveLength(4);
    } finally {
      await Promise.all(actors.map((a) => a.stop()));
      await bus.close();
    }
  });
});
