// The Kafka listener at the wire level: versions, pipelining, and bad input that must close only the offending
// connection (malformed and oversize frames, unknown APIs and versions), plus per-partition errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, BatchField, buildRecordBatch, Compression, crc32c, kafka, KafkaErrorCode, Reader, readResponseHeader, RECORD_BATCH_HEADER_SIZE, type CompressionType } from '@sluice/protocol';
import { OffsetSpec } from '@sluice/contracts';
import { waitFor } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';
import { WireClient } from './kafka-wire.js';

let sluice: EmbeddedSluice;

beforeAll(async () => {
  sluice = await startEmbedded({
    SLUICE_KAFKA_MAX_REQUEST_BYTES: String(1024 * 1024),
    SLUICE_KAFKA_REQUEST_READ_TIMEOUT_MS: '1500',
    SLUICE_KAFKA_CONNECTIONS_MAX_IDLE_MS: '3000',
  });
  await new Http(sluice.httpUrl).createTopic('wire', 2);
});

afterAll(async () => {
  await sluice?.stop();
});

const apiVersions = (client: WireClient, version: number) => client.request(ApiKey.ApiVersions, version, (w) => kafka.writeApiVersionsRequest(w, version, {}), kafka.readApiVersionsResponse);

async function stillServes(): Promise<void> {
  const other = await WireClient.connect(sluice.kafkaBootstrap);
  const res = await apiVersions(other, 3);
  expect(res.body.errorCode).toBe(0);
  other.close();
}

describe('Kafka protocol listener', () => {
  it('advertises what it serves, from Produce v0, and answers every ApiVersions version', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    for (let v = 0; v <= 4; v++) {
      const res = await apiVersions(client, v);
      expect(res.body.errorCode).toBe(0);
      const produce = res.body.apiKeys.find((k) => k.apiKey === ApiKey.Produce);
      expect(produce).toMatchObject({ minVersion: 0, maxVersion: 11 });
      expect(res.body.apiKeys.find((k) => k.apiKey === ApiKey.Fetch)).toMatchObject({ minVersion: 4, maxVersion: 17 });
    }
    client.close();
  });

  it('answers an ApiVersions version it does not know in the v0 format with UNSUPPORTED_VERSION (KIP-511)', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const response = client.next();
    client.socket.write(client.frame(ApiKey.ApiVersions, 77, (w) => w.uvarint(1).uvarint(1).uvarint(0), 4242));
    const r = new Reader(await response);
    expect(readResponseHeader(r, 0)).toBe(4242);
    const body = kafka.readApiVersionsResponse(r, 0);
    expect(body.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys.length).toBeGreaterThan(5);
    client.close();
  });

  it('answers pipelined requests in order', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const frames: Buffer[] = [];
    const responses: Array<Promise<Buffer>> = [];
    for (let i = 0; i < 60; i++) {
      responses.push(client.next());
      frames.push(
        i % 3 === 0
          ? client.frame(ApiKey.Metadata, 9, (w) => kafka.writeMetadataRequest(w, 9, { topics: [{ name: 'wire' }], allowAutoTopicCreation: false }), 1000 + i)
          : client.frame(ApiKey.ApiVersions, 3, (w) => kafka.writeApiVersionsRequest(w, 3, {}), 1000 + i),
      );
    }
    client.socket.write(Buffer.concat(frames));
    const ids = (await Promise.all(responses)).map((frame, i) => readResponseHeader(new Reader(frame), i % 3 === 0 ? 1 : 0));
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => 1000 + i));
    client.close();
  });

  it('closes a connection that sends an oversize frame, and serves the others', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const size = Buffer.alloc(4);
    size.writeInt32BE(50 * 1024 * 1024);
    client.socket.write(size);
    expect(await client.whenClosed()).toBe(true);
    await stillServes();
  });

  it('closes a connection that sends a malformed header or body, or an unknown API', async () => {
    for (const bytes of [
      Buffer.from([0, 0, 0, 3, 1, 2, 3]),
      (await WireClient.connect(sluice.kafkaBootstrap)).frame(9999, 0, () => undefined),
      (await WireClient.connect(sluice.kafkaBootstrap)).frame(ApiKey.Metadata, 4, (w) => w.int32(5).int16(100)),
      (await WireClient.connect(sluice.kafkaBootstrap)).frame(ApiKey.Fetch, 1, () => undefined),
    ]) {
      const client = await WireClient.connect(sluice.kafkaBootstrap);
      client.socket.write(bytes);
      expect(await client.whenClosed(), bytes.subarray(0, 12).toString('hex')).toBe(true);
    }
    await stillServes();
  });

  it('closes only the connection that sends a zero-length frame, alone or right after a valid frame', async () => {
    const alone = await WireClient.connect(sluice.kafkaBootstrap);
    alone.socket.write(Buffer.alloc(4));
    expect(await alone.whenClosed()).toBe(true);
    const after = await WireClient.connect(sluice.kafkaBootstrap);
    after.socket.write(Buffer.concat([after.frame(ApiKey.ApiVersions, 3, (w) => kafka.writeApiVersionsRequest(w, 3, {}), 5), Buffer.alloc(4)]));
    expect(await after.whenClosed()).toBe(true);
    await stillServes();
  });

  it('closes connections that leave a frame unfinished past the read timeout, and idle ones past connections.max.idle.ms', async () => {
    const partial = await Promise.all(Array.from({ length: 20 }, () => WireClient.connect(sluice.kafkaBootstrap)));
    partial.forEach((c, i) => c.socket.write(i % 2 === 0 ? Buffer.from([0, 0]) : Buffer.from([0, 0, 1, 0, 9, 9, 9])));
    const idle = await WireClient.connect(sluice.kafkaBootstrap);
    const closed = await Promise.all(partial.map((c) => c.whenClosed(10_000)));
    expect(closed.every(Boolean)).toBe(true);
    expect(await idle.whenClosed(10_000)).toBe(true);
    await stillServes();
  });

  it('waits for the rest of a frame that arrives in pieces', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const frame = client.frame(ApiKey.ApiVersions, 3, (w) => kafka.writeApiVersionsRequest(w, 3, {}), 7);
    const response = client.next();
    for (const piece of [frame.subarray(0, 2), frame.subarray(2, 9), frame.subarray(9)]) {
      client.socket.write(piece);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(readResponseHeader(new Reader(await response), 0)).toBe(7);
    client.close();
  });

  it('reports errors per partition: unknown topic, corrupt batch, offset out of range', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const good = buildRecordBatch([{ value: Buffer.from('ok') }]);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1] ^= 0xff;
    const produce = await client.request(
      ApiKey.Produce,
      7,
      (w) =>
        kafka.writeProduceRequest(w, 7, {
          acks: 1,
          timeoutMs: 5000,
          topicData: [
            { name: 'wire', partitionData: [{ index: 0, records: good }, { index: 1, records: corrupt }, { index: 9, records: good }] },
            { name: 'no-such-topic', partitionData: [{ index: 0, records: good }] },
          ],
        }),
      kafka.readProduceResponse,
    );
    const codes = produce.body.responses.flatMap((t) => t.partitionResponses.map((p) => [t.name, p.index, p.errorCode]));
    expect(codes).toEqual([
      ['wire', 0, KafkaErrorCode.NONE],
      ['wire', 1, KafkaErrorCode.CORRUPT_MESSAGE],
      ['wire', 9, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['no-such-topic', 0, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const fetch = await client.request(
      ApiKey.Fetch,
      11,
      (w) =>
        kafka.writeFetchRequest(w, 11, {
          maxWaitMs: 100,
          minBytes: 1,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          topics: [{ topic: 'wire', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { partition: 1, fetchOffset: 99, partitionMaxBytes: 1 << 20 }] }],
        }),
      kafka.readFetchResponse,
    );
    const [p0, p1] = fetch.body.responses[0].partitions;
    expect(p0.errorCode).toBe(0);
    expect(p0.records?.length).toBe(good.length);
    expect(p1.errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    client.close();
  });

  it('refuses batches a reader could not read, naming the bad records (record_errors), and stores nothing of them', async () => {
    const http = new Http(sluice.httpUrl);
    expect((await http.json('POST', '/topics', { name: 'wire-compact', partitions: 1, configs: { 'cleanup.policy': 'compact' } })).status).toBe(201);
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const now = Date.now();
    const batch = (records: Array<{ key?: string; value: string; timestamp?: number }>, compression: CompressionType = Compression.none) =>
      buildRecordBatch(records.map((r) => ({ key: r.key === undefined ? null : Buffer.from(r.key), value: Buffer.from(r.value), timestamp: r.timestamp ?? now })), { compression, timestamp: now });
    const patched = (b: Buffer, write: (b: Buffer) => void): Buffer => {
      write(b);
      b.writeUInt32BE(crc32c(b.subarray(BatchField.attributes)), BatchField.crc);
      return b;
    };
    const produce = async (topic: string, records: Buffer) =>
      (await client.request(ApiKey.Produce, 9, (w) => kafka.writeProduceRequest(w, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }), kafka.readProduceResponse)).body
        .responses[0].partitionResponses[0];
    const endBefore = await http.endOffset('wire', 0);
    const refused: Array<[Buffer, number]> = [
      [patched(batch([{ value: 'a' }]), (b) => b.writeInt16BE(6, BatchField.attributes)), KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE],
      [Buffer.from('000000000000000000000038ffffffff02d49103f5000000000000000001a233ae82e8000001a233ae82e8ffffffffffffffffffffffffffff01312d0001000000010100', 'hex'), KafkaErrorCode.INVALID_RECORD],
      [patched(batch([{ value: 'a' }]), (b) => b.writeInt32BE(0x7fffffff, BatchField.lastOffsetDelta)), KafkaErrorCode.INVALID_RECORD],
      [patched(batch([{ value: 'a'.repeat(100) }], Compression.gzip), (b) => b.fill(7, RECORD_BATCH_HEADER_SIZE + 12, RECORD_BATCH_HEADER_SIZE + 30)), KafkaErrorCode.CORRUPT_MESSAGE],
      [batch([{ value: 'a' }, { value: 'from the future', timestamp: now + 7_200_000 }]), KafkaErrorCode.INVALID_TIMESTAMP],
    ];
    for (const [bytes, errorCode] of refused) expect((await produce('wire', bytes)).errorCode, bytes.subarray(0, 30).toString('hex')).toBe(errorCode);
    expect(await http.endOffset('wire', 0)).toBe(endBefore);

    const keyless = await produce('wire-compact', batch([{ key: 'k', value: 'a' }, { value: 'no key' }, { key: 'k2', value: 'b' }, { value: 'none' }]));
    expect(keyless.errorCode).toBe(KafkaErrorCode.INVALID_RECORD);
    expect(keyless.recordErrors?.map((e) => e.batchIndex)).toEqual([1, 3]);
    expect(await http.endOffset('wire-compact', 0)).toBe(0);

    // A max timestamp of INT64_MAX in the header is corrected from the records (it used to wedge the time index).
    const wrongMax = patched(batch([{ value: 'max' }]), (b) => b.writeBigInt64BE(0x7fffffffffffffffn, BatchField.maxTimestamp));
    expect((await produce('wire', wrongMax)).errorCode).toBe(0);
    const latest = await client.request(
      ApiKey.ListOffsets,
      7,
      (w) => kafka.writeListOffsetsRequest(w, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'wire', partitions: [{ partitionIndex: 0, timestamp: OffsetSpec.maxTimestamp }] }] }),
      kafka.readListOffsetsResponse,
    );
    expect(latest.body.topics[0].partitions[0]).toMatchObject({ errorCode: 0, offset: endBefore, timestamp: now });
    expect((await http.readAll('wire', 0, endBefore)).map((r) => r.value)).toEqual(['max']);
    client.close();
  });

  it('keeps fetch answers within max_bytes and partition_max_bytes (KIP-74), except a first batch larger than both', async () => {
    const http = new Http(sluice.httpUrl);
    await http.createTopic('wire-sizes', 2);
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const batchOf = (bytes: number) => buildRecordBatch([{ value: Buffer.alloc(bytes, 120) }]);
    const small = batchOf(400).length;
    for (const p of [0, 1]) {
      for (let i = 0; i < 10; i++) {
        const res = await client.request(ApiKey.Produce, 9, (w) => kafka.writeProduceRequest(w, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'wire-sizes', partitionData: [{ index: p, records: batchOf(400) }] }] }), kafka.readProduceResponse);
        expect(res.body.responses[0].partitionResponses[0].errorCode).toBe(0);
      }
    }
    const fetch = async (maxBytes: number, partitionMaxBytes: number) =>
      (
        await client.request(
          ApiKey.Fetch,
          11,
          (w) =>
            kafka.writeFetchRequest(w, 11, {
              maxWaitMs: 0,
              minBytes: 1,
              maxBytes,
              isolationLevel: 0,
              topics: [{ topic: 'wire-sizes', partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes })) }],
            }),
          kafka.readFetchResponse,
        )
      ).body.responses[0].partitions.map((p) => p.records?.length ?? 0);
    // The request's max_bytes bounds the whole answer, the first partition included.
    const [a0, a1] = await fetch(3 * small, 1 << 20);
    expect(a0 + a1).toBeLessThanOrEqual(3 * small);
    expect(a0).toBe(3 * small);
    // partition_max_bytes bounds each partition.
    const [b0, b1] = await fetch(1 << 20, 2 * small);
    expect([b0, b1]).toEqual([2 * small, 2 * small]);
    // A first batch larger than both limits still comes whole, so the consumer makes progress; nothing more does.
    const [c0, c1] = await fetch(100, 100);
    expect([c0, c1]).toEqual([small, 0]);
    client.close();
  });

  it('enforces idempotent producers: a retry is written once, a gap and an old epoch are refused', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const init = await client.request(ApiKey.InitProducerId, 4, (w) => kafka.writeInitProducerIdRequest(w, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }), kafka.readInitProducerIdResponse);
    expect(init.body.errorCode).toBe(0);
    const producerId = Number(init.body.producerId);
    expect(producerId).toBeGreaterThanOrEqual(0);
    const send = async (baseSequence: number, producerEpoch = 0) =>
      (
        await client.request(
          ApiKey.Produce,
          9,
          (w) =>
            kafka.writeProduceRequest(w, 9, {
              acks: -1,
              timeoutMs: 5000,
              topicData: [{ name: 'wire', partitionData: [{ index: 1, records: buildRecordBatch([{ value: Buffer.from(`s${baseSequence}`) }, { value: Buffer.from(`s${baseSequence + 1}`) }], { producerId, producerEpoch, baseSequence }) }] }],
            }),
          kafka.readProduceResponse,
        )
      ).body.responses[0].partitionResponses[0];
    const first = await send(0);
    expect(first.errorCode).toBe(0);
    expect((await send(2)).baseOffset).toBe(Number(first.baseOffset) + 2);
    // The same batch again (a retry): the same offsets, nothing written.
    const retry = await send(2);
    expect(retry).toMatchObject({ errorCode: 0, baseOffset: Number(first.baseOffset) + 2 });
    expect((await send(7)).errorCode).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await send(0, 1)).errorCode).toBe(0);
    expect((await send(2, 0)).errorCode).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    const values = (await new Http(sluice.httpUrl).readAll('wire', 1, Number(first.baseOffset))).map((r) => r.value);
    expect(values).toEqual(['s0', 's1', 's2', 's3', 's0', 's1']);
    client.close();
  });

  it('answers OffsetForLeaderEpoch with the end of an epoch, and fences a stale current epoch', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const ask = async (leaderEpoch: number, currentLeaderEpoch: number) =>
      (
        await client.request(
          ApiKey.OffsetForLeaderEpoch,
          4,
          (w) => kafka.writeOffsetForLeaderEpochRequest(w, 4, { replicaId: -1, topics: [{ topic: 'wire', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }, { partition: 9, currentLeaderEpoch, leaderEpoch }] }] }),
          kafka.readOffsetForLeaderEpochResponse,
        )
      ).body.topics[0].partitions;
    const end = await new Http(sluice.httpUrl).endOffset('wire', 0);
    const [p0, p9] = await ask(0, 0);
    expect(p0).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: end });
    expect(p9.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await ask(0, 3))[0].errorCode).toBe(KafkaErrorCode.UNKNOWN_LEADER_EPOCH);
    client.close();
  });

  it('sends no response to acks=0 and keeps the order of the responses that follow', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const latest = async () =>
      (
        await client.request(
          ApiKey.ListOffsets,
          5,
          (w) => kafka.writeListOffsetsRequest(w, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'wire', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] }),
          kafka.readListOffsetsResponse,
        )
      ).body.topics[0].partitions[0].offset as number;
    const before = await latest();
    const response = client.next();
    client.socket.write(
      Buffer.concat([
        client.frame(ApiKey.Produce, 7, (w) => kafka.writeProduceRequest(w, 7, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'wire', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('fire') }]) }] }] }), 1),
        client.frame(ApiKey.ApiVersions, 3, (w) => kafka.writeApiVersionsRequest(w, 3, {}), 2),
      ]),
    );
    expect(readResponseHeader(new Reader(await response), 0)).toBe(2);
    await waitFor(async () => (await latest()) === before + 1, { timeoutMs: 5000, what: 'the acks=0 record to be written' });
    client.close();
  });
});
