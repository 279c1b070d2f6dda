// The broker's verbs driven over the bus for one partition, with the real controller and broker in one process
// (the in-process transport, SQLite, real logs on disk): epochs, long polls and their cancel, fetches inside a batch,
// bad batches, acks=0.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfig, startBroker } from '@sluice/broker-service';
import { Bus, InProcessTransport } from '@sluice/bus';
import { controllerConfig, startController } from '@sluice/controller-service';
import { buildRecordBatch, decodeRecords, forEachBatch, KafkaErrorCode } from '@sluice/protocol';
import { BrokerVerbs, ControllerVerbs, OffsetSpec, Subjects, type PartitionFetchResult, type PartitionOffsetResult, type PartitionProduceResult, type TopicInfo } from '@sluice/contracts';
import { createLogger, createMetricsRegistry, type RunningService } from '@sluice/runtime';
import { tempDir, waitFor, type TempDir } from '@sluice/testing';

const subjects = new Subjects('actors');
let bus: Bus;
let dir: TempDir;
let services: RunningService[] = [];
let topic: TopicInfo;

const deps = (service: string) => ({ bus, subjects, registry: createMetricsRegistry(service), logger: createLogger({ service, level: 'silent' }) });
const BROKER = 1;
const batch = (...values: string[]) => buildRecordBatch(values.map((v) => ({ key: Buffer.from(`k-${v}`), value: Buffer.from(v) })));

async function produce(body: Buffer, leaderEpoch = 0, acks: 0 | 1 | -1 = 1): Promise<PartitionProduceResult> {
  const partitions = [{ topicId: topic.id, partition: 0, leaderEpoch, bytes: body.length }];
  return (await bus.ask(subjects.at(BrokerVerbs.produce, BROKER), { acks, timeoutMs: 5000, partitions }, { timeoutMs: 5000, body })).meta.partitions[0];
}

interface FetchOne {
  fetchOffset: number;
  leaderEpoch: number;
  maxWaitMs: number;
  fetchId: string;
}

async function fetch(req: Partial<FetchOne>): Promise<{ meta: PartitionFetchResult; values: string[]; firstOffset: number }> {
  const { fetchOffset = 0, leaderEpoch = -1, maxWaitMs = 0, fetchId } = req;
  const meta = { fetchId, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0 as const, partitions: [{ topicId: topic.id, partition: 0, fetchOffset, maxBytes: 1 << 20, leaderEpoch }] };
  const res = await bus.ask(subjects.at(BrokerVerbs.fetch, BROKER), meta, { timeoutMs: maxWaitMs + 5000 });
  const values: string[] = [];
  let firstOffset = -1;
  if (res.body) {
    forEachBatch(res.body, (_h, start, end) => {
      for (const r of decodeRecords(res.body!.subarray(start, end))) {
        if (firstOffset < 0) firstOffset = r.offset;
        values.push(r.value!.toString());
      }
    });
  }
  const { bytes: _bytes, ...result } = res.meta.partitions[0];
  return { meta: result, values, firstOffset };
}

async function listOffsets(timestamp: number): Promise<PartitionOffsetResult> {
  const partitions = [{ topicId: topic.id, partition: 0, timestamp, leaderEpoch: -1 }];
  return (await bus.ask(subjects.at(BrokerVerbs.listOffsets, BROKER), { isolationLevel: 0, partitions }, { timeoutMs: 2000 })).meta.partitions[0];
}

beforeAll(async () => {
  dir = await tempDir('sluice-actors-');
  bus = new Bus(new InProcessTransport());
  services.push(await startController(controllerConfig.load({ SLUICE_DATA_DIR: join(dir.path, 'controller') }), deps('controller')));
  services.push(
    await startBroker(
      brokerConfig.load({ SLUICE_DATA_DIR: join(dir.path, 'broker'), SLUICE_BROKER_ID: '1', SLUICE_LOG_HW_CHECKPOINT_INTERVAL_MS: '100' }),
      deps('broker'),
    ),
  );
  const created = await bus.ask(
    subjects.at(ControllerVerbs.createTopics),
    { topics: [{ name: 'actors', partitions: 1, replicationFactor: 1 }] },
    { timeoutMs: 5000 },
  );
  expect(created.meta.results[0].errorCode).toBe(0);
  topic = created.meta.results[0].topic!;
  await waitFor(async () => (await listOffsets(OffsetSpec.latest)).errorCode === 0, { what: 'the partition leader' });
});

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  services = [];
  await bus?.close();
  await dir?.remove();
});

describe('broker verbs for one partition', () => {
  it('assigns dense offsets across batches and returns them in order', async () => {
    expect(await produce(batch('a', 'b', 'c'))).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(await produce(batch('d'))).toMatchObject({ errorCode: 0, baseOffset: 3 });
    const all = await fetch({ fetchOffset: 0 });
    expect(all.meta).toMatchObject({ errorCode: 0, highWatermark: 4, logStartOffset: 0 });
    expect(all.values).toEqual(['a', 'b', 'c', 'd']);
  });

  it('returns the whole batch for a fetch offset inside it', async () => {
    const mid = await fetch({ fetchOffset: 1 });
    expect(mid.firstOffset).toBe(0);
    expect(mid.values.slice(0, 3)).toEqual(['a', 'b', 'c']);
  });

  it('answers list-offsets for earliest and latest', async () => {
    expect((await listOffsets(OffsetSpec.earliest)).offset).toBe(0);
    expect((await listOffsets(OffsetSpec.latest)).offset).toBe(4);
  });

  it('parks a fetch at the log end until a record arrives', async () => {
    const started = Date.now();
    const pending = fetch({ fetchOffset: 4, maxWaitMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    await produce(batch('late'));
    const got = await pending;
    expect(got.values).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('ends a long poll with nothing after max wait', async () => {
    const started = Date.now();
    const got = await fetch({ fetchOffset: 5, maxWaitMs: 300 });
    expect(got.meta.errorCode).toBe(0);
    expect(got.values).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('ends a parked fetch at once when it is cancelled, reading nothing more', async () => {
    const started = Date.now();
    const pending = fetch({ fetchOffset: 5, maxWaitMs: 20_000, fetchId: 'cancel-me' });
    await new Promise((r) => setTimeout(r, 200));
    bus.tell(subjects.at(BrokerVerbs.fetchCancel, BROKER), { fetchId: 'cancel-me' });
    const got = await pending;
    expect(got.values).toEqual([]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses offsets outside the log', async () => {
    expect((await fetch({ fetchOffset: 99 })).meta.errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    expect((await fetch({ fetchOffset: -1 })).meta.errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('fences requests from an old leader epoch and flags future ones', async () => {
    expect((await produce(batch('x'), -5)).errorCode).toBe(KafkaErrorCode.FENCED_LEADER_EPOCH);
    expect((await produce(batch('x'), 7)).errorCode).toBe(KafkaErrorCode.UNKNOWN_LEADER_EPOCH);
    expect((await fetch({ fetchOffset: 0, leaderEpoch: 7 })).meta.errorCode).toBe(KafkaErrorCode.UNKNOWN_LEADER_EPOCH);
  });

  it('refuses a corrupt batch and writes nothing', async () => {
    const bad = batch('bad');
    bad[bad.length - 1] ^= 0xff;
    expect((await produce(bad)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect((await produce(Buffer.from('not a batch at all'))).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    const after = await fetch({ fetchOffset: 0 });
    expect(after.values).toEqual(['a', 'b', 'c', 'd', 'late']);
    expect((await produce(batch('good'))).baseOffset).toBe(5);
  });

  it('appends acks=0 produces without replying', async () => {
    const body = batch('fire', 'forget');
    bus.tell(subjects.at(BrokerVerbs.produce, BROKER), { acks: 0, timeoutMs: 5000, partitions: [{ topicId: topic.id, partition: 0, leaderEpoch: -1, bytes: body.length }] }, body);
    const got = await waitFor(async () => {
      const r = await fetch({ fetchOffset: 6 });
      return r.values.length === 2 ? r.values : undefined;
    });
    expect(got).toEqual(['fire', 'forget']);
  });

  it('writes the high watermark to the partition’s checkpoint periodically, without a flush or a close', async () => {
    const hw = (await fetch({ fetchOffset: 0 })).meta.highWatermark;
    expect(hw).toBeGreaterThan(0);
    const checkpoint = join(dir.path, 'broker', 'actors-0', 'highwatermark');
    await waitFor(async () => (await readFile(checkpoint, 'utf8').catch(() => '')) === `${hw}\n`, { what: `the checkpoint at ${hw}` });
  });

  it('keeps the replica of a topic deleted and created again at once under the same name (one directory, two topics)', async () => {
    // Found by the fuzzer: the old replica's deletion ran after the new one had opened the same directory, wiping it
    // (appends then failed with "was replaced or deleted"). Asked together, the broker sees both changes in one pass.
    const ask = <Req, Res>(verb: Parameters<typeof subjects.at<Req, Res>>[0], meta: Req) => bus.ask(subjects.at(verb), meta, { timeoutMs: 5000 });
    let again = (await ask(ControllerVerbs.createTopics, { topics: [{ name: 'again', partitions: 1, replicationFactor: 1 }] })).meta.results[0].topic!;
    for (let round = 0; round < 5; round++) {
      const [deleted, created] = await Promise.all([
        ask(ControllerVerbs.deleteTopics, { names: ['again'] }),
        ask(ControllerVerbs.createTopics, { topics: [{ name: 'again', partitions: 1, replicationFactor: 1 }] }),
      ]);
      expect(deleted.meta.results[0].errorCode).toBe(0);
      expect(created.meta.results[0].errorCode).toBe(0);
      again = created.meta.results[0].topic!;
      const body = batch(`round-${round}`);
      const partitions = [{ topicId: again.id, partition: 0, leaderEpoch: -1, bytes: body.length }];
      const produced = await waitFor(async () => {
        const r = (await bus.ask(subjects.at(BrokerVerbs.produce, BROKER), { acks: 1, timeoutMs: 5000, partitions }, { timeoutMs: 5000, body })).meta.partitions[0];
        return r.errorCode === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER || r.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? undefined : r;
      }, { what: 'the new replica leading' });
      expect(produced).toMatchObject({ errorCode: 0, baseOffset: 0 });
      // Still there once the old replica's deletion has surely run.
      await new Promise((r) => setTimeout(r, 200));
      const marker = JSON.parse(await readFile(join(dir.path, 'broker', 'again-0', 'partition.metadata'), 'utf8')) as { topicId: string };
      expect(marker.topicId).toBe(again.id);
      const second = (await bus.ask(subjects.at(BrokerVerbs.produce, BROKER), { acks: 1, timeoutMs: 5000, partitions }, { timeoutMs: 5000, body })).meta.partitions[0];
      expect(second).toMatchObject({ errorCode: 0, baseOffset: 1 });
    }
  });
});
