// The Kafka listener on the multi-process stack (gateway → NATS → broker), driven by a load generator built on
// libs/protocol: pre-built 16 KiB batches of 100-byte records, a bounded number of requests in flight per connection.
// In the same run: the same bytes written to a plain file, and a raw NATS request/reply loop (the hop every request
// takes). Prints records/s, MB/s and latency percentiles, writes bench-results/kafka.json, and (unless
// SLUICE_BENCH_PROFILE=0) summarises a CPU profile of every process.
//   npm run bench:kafka      (SLUICE_BENCH_SECONDS=10 per phase, SLUICE_BENCH_PARTITIONS=4,
//                             SLUICE_BENCH_PHASES=produce,fetch,latency to run only some phases)
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as natsConnect } from '@nats-io/transport-node';
import { ApiKey, buildRecordBatch, forEachBatch, kafka, KafkaErrorCode, Reader, readResponseHeader } from '@sluice/protocol';
import { startNatsServer, startStack, waitFor } from '@sluice/testing';
import { LoadConnection } from './kafka-connection.js';
import { summariseProfiles } from './profiles.js';

const SECONDS = Number(process.env.SLUICE_BENCH_SECONDS ?? 10);
const PARTITIONS = Number(process.env.SLUICE_BENCH_PARTITIONS ?? 4);
const CONNECTIONS = Number(process.env.SLUICE_BENCH_CONNECTIONS ?? 4);
const IN_FLIGHT = Number(process.env.SLUICE_BENCH_IN_FLIGHT ?? 8);
const PROFILE = process.env.SLUICE_BENCH_PROFILE !== '0';
const PHASES = new Set((process.env.SLUICE_BENCH_PHASES ?? 'produce,fetch,latency').split(',').map((p) => p.trim()));
for (const p of PHASES) if (!['produce', 'fetch', 'latency'].includes(p)) throw new Error(`SLUICE_BENCH_PHASES: unknown phase "${p}" (produce, fetch, latency)`);
const TOP = Number(process.env.SLUICE_BENCH_PROFILE_TOP ?? 8);
const RECORD_BYTES = 100;
const BATCH_BYTES = 16 * 1024;

interface Throughput {
  name: string;
  seconds: number;
  records: number;
  bytes: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs?: { p50: number; p99: number; p999: number; max: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(name: string, records: number, bytes: number, seconds: number, latencies?: number[]): Throughput {
  const sorted = latencies ? [...latencies].sort((a, b) => a - b) : undefined;
  const r: Throughput = {
    name,
    seconds,
    records,
    bytes,
    recordsPerSec: records / seconds,
    mbPerSec: bytes / 1024 / 1024 / seconds,
    latencyMs: sorted && { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), max: sorted[sorted.length - 1] ?? 0 },
  };
  const lat = r.latencyMs ? `  latency ms p50 ${r.latencyMs.p50.toFixed(2)} p99 ${r.latencyMs.p99.toFixed(2)} p99.9 ${r.latencyMs.p999.toFixed(2)}` : '';
  console.log(`${name.padEnd(46)} ${Math.round(r.recordsPerSec).toLocaleString('en').padStart(12)} records/s ${r.mbPerSec.toFixed(0).padStart(6)} MB/s${lat}`);
  return r;
}

/** The largest batch of 100-byte records that fits in 16 KiB. */
function templateBatch(): { batch: Buffer; records: number } {
  const value = Buffer.alloc(RECORD_BYTES, 120);
  let n = Math.floor(BATCH_BYTES / RECORD_BYTES);
  let batch = buildRecordBatch(Array.from({ length: n }, () => ({ value })));
  while (batch.length > BATCH_BYTES) batch = buildRecordBatch(Array.from({ length: --n }, () => ({ value })));
  return { batch, records: n };
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function plainFileBaseline(dir: string, batch: Buffer, records: number): Promise<Throughput> {
  const file = await open(join(dir, 'plain'), 'w');
  const start = now();
  let count = 0;
  let position = 0;
  while (now() - start < SECONDS * 1000) {
    for (let i = 0; i < 64; i++) {
      await file.write(batch, 0, batch.length, position);
      position += batch.length;
      count++;
    }
  }
  const seconds = (now() - start) / 1000;
  await file.close();
  return report('baseline: plain file writes (16 KiB)', count * records, count * batch.length, seconds);
}

async function natsBaseline(url: string, batch: Buffer, records: number): Promise<Throughput> {
  const server = await natsConnect({ servers: url });
  const client = await natsConnect({ servers: url });
  const ack = new Uint8Array(16);
  const sub = server.subscribe('bench.echo', { callback: (_err, msg) => void msg.respond(ack) });
  await server.flush();
  const latencies: number[] = [];
  let count = 0;
  const start = now();
  const worker = async (): Promise<void> => {
    while (now() - start < SECONDS * 1000) {
      const t = now();
      await client.request('bench.echo', batch, { timeout: 10_000 });
      latencies.push(now() - t);
      count++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS * IN_FLIGHT }, worker));
  const seconds = (now() - start) / 1000;
  sub.unsubscribe();
  await client.close();
  await server.close();
  return report('baseline: raw NATS request/reply (16 KiB)', count * records, count * batch.length, seconds, latencies);
}

/**
 * Produce with acks=1 from CONNECTIONS connections, IN_FLIGHT requests each. Every request carries one batch for each
 * of `perRequest` partitions: 1 is the worst case; Kafka clients put every ready batch for a broker in one request.
 */
async function produceLoad(bootstrap: string, batch: Buffer, records: number, topic: string, perRequest: number): Promise<Throughput> {
  const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => LoadConnection.open(bootstrap)));
  const latencies: number[] = [];
  let count = 0;
  let errors = 0;
  const start = now();
  const worker = async (c: LoadConnection, lane: number): Promise<void> => {
    let partition = lane % PARTITIONS;
    while (now() - start < SECONDS * 1000) {
      const partitionData = Array.from({ length: perRequest }, (_, i) => ({ index: (partition + i) % PARTITIONS, records: batch }));
      const frame = c.frame(ApiKey.Produce, 7, (w) => kafka.writeProduceRequest(w, 7, { acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData }] }));
      const t = now();
      const response = (await c.send(frame)) as Buffer;
      latencies.push(now() - t);
      const r = new Reader(response);
      readResponseHeader(r, 0);
      const body = kafka.readProduceResponse(r, 7);
      for (const p of body.responses[0].partitionResponses) {
        if (p.errorCode !== KafkaErrorCode.NONE) errors++;
        else count++;
      }
      partition = (partition + 1) % PARTITIONS;
    }
  };
  await Promise.all(connections.flatMap((c, i) => Array.from({ length: IN_FLIGHT }, (_, k) => worker(c, i * IN_FLIGHT + k))));
  const seconds = (now() - start) / 1000;
  for (const c of connections) c.close();
  if (errors > 0) console.log(`  (${errors} partition batches failed)`);
  const what = perRequest === 1 ? '1 partition' : `${perRequest} partitions`;
  return report(`produce acks=1 (${what}/request, ${CONNECTIONS}×${IN_FLIGHT} in flight)`, count * records, count * batch.length, seconds, latencies);
}

async function fetchLoad(bootstrap: string, topic: string, endOffsets: number[]): Promise<Throughput> {
  let records = 0;
  let bytes = 0;
  const latencies: number[] = [];
  const start = now();
  await Promise.all(
    endOffsets.map(async (end, partition) => {
      const c = await LoadConnection.open(bootstrap);
      let offset = 0;
      while (offset < end) {
        const frame = c.frame(ApiKey.Fetch, 11, (w) =>
          kafka.writeFetchRequest(w, 11, {
            replicaId: -1,
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: 4 * 1024 * 1024,
            isolationLevel: 0,
            topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 4 * 1024 * 1024 - 1024 }] }],
          }),
        );
        const t = now();
        const response = (await c.send(frame)) as Buffer;
        latencies.push(now() - t);
        const r = new Reader(response);
        readResponseHeader(r, 0);
        const data = kafka.readFetchResponse(r, 11).responses[0].partitions[0];
        if (data.errorCode !== KafkaErrorCode.NONE) throw new Error(`fetch error ${data.errorCode} at ${partition}/${offset}`);
        const set = data.records ?? Buffer.alloc(0);
        bytes += set.length;
        forEachBatch(set, (h) => {
          if (h.baseOffset + h.lastOffsetDelta >= offset) records += h.baseOffset + h.lastOffsetDelta + 1 - Math.max(offset, h.baseOffset);
          offset = h.baseOffset + h.lastOffsetDelta + 1;
        });
      }
      c.close();
    }),
  );
  return report(`fetch (${endOffsets.length} partitions, 4 MiB per fetch)`, records, bytes, (now() - start) / 1000, latencies);
}

/** One consumer connection fetching every partition in each request (as a consumer assigned all of them does). */
async function fetchAllPartitions(bootstrap: string, topic: string, endOffsets: number[]): Promise<Throughput> {
  const c = await LoadConnection.open(bootstrap);
  const offsets = endOffsets.map(() => 0);
  let records = 0;
  let bytes = 0;
  const latencies: number[] = [];
  const start = now();
  while (offsets.some((o, p) => o < endOffsets[p])) {
    const frame = c.frame(ApiKey.Fetch, 11, (w) =>
      kafka.writeFetchRequest(w, 11, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 16 * 1024 * 1024,
        isolationLevel: 0,
        topics: [{ topic, partitions: endOffsets.map((_, partition) => ({ partition, fetchOffset: offsets[partition], partitionMaxBytes: 4 * 1024 * 1024 - 1024 })) }],
      }),
    );
    const t = now();
    const response = (await c.send(frame)) as Buffer;
    latencies.push(now() - t);
    const r = new Reader(response);
    readResponseHeader(r, 0);
    for (const data of kafka.readFetchResponse(r, 11).responses[0].partitions) {
      if (data.errorCode !== KafkaErrorCode.NONE) throw new Error(`fetch error ${data.errorCode} at ${data.partitionIndex}`);
      const set = data.records ?? Buffer.alloc(0);
      bytes += set.length;
      forEachBatch(set, (h) => {
        const from = offsets[data.partitionIndex];
        if (h.baseOffset + h.lastOffsetDelta >= from) records += h.baseOffset + h.lastOffsetDelta + 1 - Math.max(from, h.baseOffset);
        offsets[data.partitionIndex] = h.baseOffset + h.lastOffsetDelta + 1;
      });
    }
  }
  c.close();
  return report(`fetch (all ${endOffsets.length} partitions per request)`, records, bytes, (now() - start) / 1000, latencies);
}

/** Produce latency at a fixed, modest rate: 10,000 records/s as 100 batches of 100 records per second. */
async function latencyAtRate(bootstrap: string, topic: string): Promise<Throughput> {
  const c = await LoadConnection.open(bootstrap);
  const value = Buffer.alloc(RECORD_BYTES, 121);
  const batch = buildRecordBatch(Array.from({ length: 100 }, () => ({ value })));
  const latencies: number[] = [];
  const start = now();
  let sent = 0;
  const inFlight: Array<Promise<void>> = [];
  while (now() - start < SECONDS * 1000) {
    const due = start + sent * 10;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const frame = c.frame(ApiKey.Produce, 7, (w) =>
      kafka.writeProduceRequest(w, 7, { acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: sent % PARTITIONS, records: batch }] }] }),
    );
    const t = now();
    inFlight.push(c.send(frame).then(() => void latencies.push(now() - t)));
    sent++;
  }
  await Promise.all(inFlight);
  c.close();
  return report('produce at 10,000 records/s (latency)', sent * 100, sent * batch.length, (now() - start) / 1000, latencies);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-bench-'));
  const profileDir = join(dir, 'profiles');
  const nats = await startNatsServer();
  console.log(`Kafka listener benchmark: ${SECONDS} s per phase, ${PARTITIONS} partitions, 1 broker${PROFILE ? ', CPU profiles on (SLUICE_BENCH_PROFILE=0 to turn off)' : ''}\n`);
  const stack = await startStack({
    natsUrl: nats.url,
    brokers: 1,
    nodeArgs: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  const results: Throughput[] = [];
  let roles = new Map<number | undefined, string>();
  try {
    const { batch, records } = templateBatch();
    console.log(`batches of ${records} records (${batch.length} bytes)\n`);
    results.push(await plainFileBaseline(dir, batch, records));
    results.push(await natsBaseline(nats.url, batch, records));
    const http = stack.httpUrl;
    const created = await fetch(`${http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', partitions: PARTITIONS }) });
    if (!created.ok) throw new Error(`creating the topic failed: ${await created.text()}`);
    await waitFor(async () => (await fetch(`${http}/topics/bench/partitions`)).ok, { timeoutMs: 10_000, what: 'the topic' });
    // Latency first, on a quiet machine: after the throughput phases the kernel is still writing back gigabytes of
    // dirty pages, which is not what a 10,000 records/s load sees.
    if (PHASES.has('latency')) results.push(await latencyAtRate(stack.kafkaBootstrap, 'bench'));
    if (PHASES.has('produce') || PHASES.has('fetch')) {
      results.push(await produceLoad(stack.kafkaBootstrap, batch, records, 'bench', 1));
      if (PARTITIONS > 1) results.push(await produceLoad(stack.kafkaBootstrap, batch, records, 'bench', PARTITIONS));
    }
    if (PHASES.has('fetch')) {
      const partitions = (await (await fetch(`${http}/topics/bench/partitions`)).json()) as Array<{ partition: number; end_offset: number }>;
      const ends = partitions.sort((a, b) => a.partition - b.partition).map((p) => p.end_offset);
      results.push(await fetchLoad(stack.kafkaBootstrap, 'bench', ends));
      results.push(await fetchAllPartitions(stack.kafkaBootstrap, 'bench', ends));
    }
    roles = new Map([[stack.gateway.pid, 'gateway'], ...[...stack.brokers].map(([id, p]) => [p.pid, `broker ${id}`] as [number | undefined, string]), [stack.controller.pid, 'controller'], [stack.coordinator.pid, 'group coordinator']]);
  } finally {
    await stack.stop();
    await nats.stop();
  }
  const targets = {
    produceRecordsPerSec: { target: 1_000_000, reached: Math.max(0, ...results.filter((r) => r.name.startsWith('produce acks')).map((r) => r.recordsPerSec)) },
    fetchRecordsPerSec: { target: 1_500_000, reached: Math.max(0, ...results.filter((r) => r.name.startsWith('fetch')).map((r) => r.recordsPerSec)) },
    p99ProduceLatencyMsAt10k: { target: 10, reached: results.find((r) => r.name.startsWith('produce at'))?.latencyMs?.p99 },
  };
  console.log('\ntargets:');
  for (const [name, t] of Object.entries(targets)) console.log(`  ${name.padEnd(28)} target ${t.target.toLocaleString('en')}, reached ${Math.round((t.reached ?? 0) * 100) / 100}`);
  const profiles = PROFILE ? await summariseProfiles(profileDir, TOP) : [];
  for (const p of profiles) {
    const role = roles.get(Number(p.file.split('.')[3])) ?? 'process';
    console.log(`\nprofile of the ${role} (${p.file}): busy ${(p.busy * 100).toFixed(0)} % of ${p.samples} samples; top self time:`);
    for (const t of p.top.slice(0, TOP)) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.fn}`);
  }
  const out = resolve(process.env.SLUICE_BENCH_OUT ?? join(process.cwd(), '../../bench-results/kafka.json'));
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, partitions: PARTITIONS, connections: CONNECTIONS, inFlight: IN_FLIGHT, results, targets, profiles }, null, 2));
  console.log(`\nwrote ${out}`);
  await rm(dir, { recursive: true, force: true });
}

await main();
