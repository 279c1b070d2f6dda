// The broker's partition leader actors driven over the bus, with the real controller and broker in one process
// (the in-process transport, SQLite, real logs on disk): epochs, long polls, fetches inside a batch, bad batches, acks=0.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfig, startBroker } from '@sluice/broker-service';
import { Bus, InProcessTransport } from '@sluice/bus';
import { controllerConfig, startController } from '@sluice/controller-service';
import {
  buildRecordBatch,
  ControllerVerb,
  decodeRecords,
  forEachBatch,
  KafkaErrorCode,
  OffsetSpec,
  PartitionVerb,
  Subjects,
  type CreateTopicsReply,
  type FetchReply,
  type FetchRequest,
  type ListOffsetsReply,
  type ProduceReply,
  type TopicInfo,
} from '@sluice/protocol';
import { createLogger, createMetricsRegistry, type RunningService } from '@sluice/runtime';
import { tempDir, waitFor, type TempDir } from '@sluice/testing';

const subjects = new Subjects('actors');
let bus: Bus;
let dir: TempDir;
let services: RunningService[] = [];
let topic: TopicInfo;

const deps = (service: string) => ({ bus, subjects, registry: createMetricsRegistry(service), logger: createLogger({ service, level: 'silent' }) });
const subject = (verb: (typeof PartitionVerb)[keyof typeof PartitionVerb]) => subjects.partition(topic.id, 0, verb);
const batch = (...values: string[]) => buildRecordBatch(values.map((v) => ({ key: Buffer.from(`k-${v}`), value: Buffer.from(v) })));

async function produce(body: Buffer, leaderEpoch = 0, acks: 0 | 1 | -1 = 1): Promise<ProduceReply> {
  return (await bus.ask<ProduceReply>(subject(PartitionVerb.produce), { acks, leaderEpoch, timeoutMs: 5000 }, { timeoutMs: 5000, body })).meta;
}

async function fetch(req: Partial<FetchRequest>): Promise<{ meta: FetchReply; values: string[]; firstOffset: number }> {
  const full: FetchRequest = { fetchOffset: 0, leaderEpoch: -1, maxBytes: 1 << 20, minBytes: 1, maxWaitMs: 0, isolationLevel: 0, ...req };
  const res = await bus.ask<FetchReply>(subject(PartitionVerb.fetch), full, { timeoutMs: full.maxWaitMs + 5000 });
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
  return { meta: res.meta, values, firstOffset };
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
  const created = await bus.ask<CreateTopicsReply>(
    subjects.controller(ControllerVerb.createTopics),
    { topics: [{ name: 'actors', partitions: 1, replicationFactor: 1 }] },
    { timeoutMs: 5000 },
  );
  expect(created.meta.results[0].errorCode).toBe(0);
  topic = created.meta.results[0].topic!;
  await waitFor(
    async () => (await bus.ask<ListOffsetsReply>(subject(PartitionVerb.listOffsets), { timestamp: -1, leaderEpoch: -1, isolationLevel: 0 }, { timeoutMs: 1000 })).meta,
    { what: 'the partition leader' },
  );
});

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  services = [];
  await bus?.close();
  await dir?.remove();
});

describe('partition leader actors', () => {
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
    const ask = async (timestamp: number) =>
      (await bus.ask<ListOffsetsReply>(subject(PartitionVerb.listOffsets), { timestamp, leaderEpoch: -1, isolationLevel: 0 }, { timeoutMs: 2000 })).meta;
    expect((await ask(OffsetSpec.earliest)).offset).toBe(0);
    expect((await ask(OffsetSpec.latest)).offset).toBe(4);
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
    bus.tell(subject(PartitionVerb.produce), { acks: 0, leaderEpoch: -1, timeoutMs: 5000 }, batch('fire', 'forget'));
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
});
