// Replication on the multi-process stack (3 brokers over its own nats-server), driven through the gateway's Kafka
// listener by bench:kafka's load generator (pre-built batches over raw Produce requests, `--client wire`, the default:
// it measures Sluice rather than a client's CPU) or a real Kafka client (`--client platformatic` for
// @platformatic/kafka, `--client kafkajs`). The failover phase always uses @platformatic/kafka, whose retries ride
// through the election. In one run:
//  1. produce throughput and latency with RF 1 acks=1 (the baseline), RF 3 acks=1 and RF 3 acks=all: 100-byte records
//     in ~16 KiB batches (one batch per send), several producers (one connection each), several sends in flight each;
//  2. produce latency of RF 3 acks=all at a fixed 10,000 records/s (100 records every 10 ms);
//  3. failover: SIGKILL of a partition's leader broker until the first acks=all write to that partition sent after
//     the kill is acknowledged, beside the stack's session timeout.
// Prints each figure beside its target (never fails on them), the load average while it ran, and writes
// bench-results/replication.json.
//   npm run bench:replication -- [--seconds N] [--client wire|platformatic|kafkajs] [--producers N] [--in-flight N]
//                                [--partitions N] [--session-timeout-ms N] [--profile]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Producer as PlatformaticProducer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, buildRecordBatch, kafka, KafkaErrorCode, Reader, readResponseHeader } from '@sluice/protocol';
import { startNatsServer, startStack, waitFor, type RunningStack } from '@sluice/testing';
import { LoadConnection } from './kafka-connection.js';
import { summariseProfiles } from './profiles.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    client: { type: 'string', default: 'wire' },
    producers: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '8' },
    partitions: { type: 'string', default: '6' },
    'session-timeout-ms': { type: 'string', default: '4000' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: expected a positive whole number, got "${raw}"`);
  return n;
}

const SECONDS = positive('seconds', args.seconds);
const PRODUCERS = positive('producers', args.producers);
const IN_FLIGHT = positive('in-flight', args['in-flight']);
const PARTITIONS = positive('partitions', args.partitions);
const SESSION_TIMEOUT_MS = positive('session-timeout-ms', args['session-timeout-ms']);
const CLIENT = args.client ?? 'wire';
if (CLIENT !== 'wire' && CLIENT !== 'platformatic' && CLIENT !== 'kafkajs') throw new Error(`--client: expected wire, platformatic or kafkajs, got "${CLIENT}"`);
const RECORD_BYTES = 100;
const BATCH_BYTES = 16 * 1024;
/** 100-byte values with a record's overhead (~10 bytes: length, attributes, deltas, key, headers) fill 16 KiB. */
const RECORDS_PER_BATCH = Math.floor((BATCH_BYTES - 61) / (RECORD_BYTES + 10));
const RATE = 10_000;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

/** One client instance: one connection to the gateway. */
interface BenchProducer {
  send(topic: string, partition: number, values: Buffer[], acks: 1 | -1): Promise<void>;
  close(): Promise<void>;
}

/** Raw Produce v7 requests on one connection, each send's records built into a batch once and sent as is. */
async function openWireProducer(bootstrap: string): Promise<BenchProducer> {
  const c = await LoadConnection.open(bootstrap);
  const batches = new WeakMap<Buffer[], Buffer>();
  return {
    send: async (topic, partition, values, acks) => {
      let records = batches.get(values);
      if (!records) batches.set(values, (records = buildRecordBatch(values.map((value) => ({ value })))));
      const batch = records;
      const frame = c.frame(ApiKey.Produce, 7, (w) => kafka.writeProduceRequest(w, 7, { acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] }));
      const response = await c.send(frame);
      const r = new Reader(response ?? Buffer.alloc(0));
      readResponseHeader(r, 0);
      const errorCode = kafka.readProduceResponse(r, 7).responses[0]?.partitionResponses[0]?.errorCode ?? -1;
      if (errorCode !== KafkaErrorCode.NONE) throw new Error(`produce to ${topic}-${partition} failed with Kafka error ${errorCode}`);
    },
    close: async () => c.close(),
  };
}

async function openProducer(bootstrap: string, name: string, inFlight: number, failover = false): Promise<BenchProducer> {
  if (CLIENT === 'wire' && !failover) return openWireProducer(bootstrap);
  if (CLIENT === 'kafkajs') {
    const kafka = new Kafka({
      clientId: name,
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      retry: failover ? { retries: 1000, initialRetryTime: 50, maxRetryTime: 100, factor: 0, multiplier: 1 } : { retries: 5 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: inFlight });
    await producer.connect();
    return {
      send: async (topic, partition, values, acks) => {
        await producer.send({ topic, acks, timeout: 30_000, messages: values.map((value) => ({ partition, value })) });
      },
      close: () => producer.disconnect(),
    };
  }
  const producer = new PlatformaticProducer({
    clientId: name,
    bootstrapBrokers: [bootstrap],
    maxInflights: inFlight,
    idempotent: false,
    timeout: 30_000,
    retries: failover ? 1000 : 5,
    retryDelay: failover ? 50 : 200,
  });
  return {
    send: async (topic, partition, values, acks) => {
      await producer.send({ acks, messages: values.map((value) => ({ topic, partition, value })) });
    },
    close: () => producer.close(),
  };
}

interface Result {
  name: string;
  replicationFactor: number;
  acks: 1 | -1;
  seconds: number;
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  errors: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** CPU time of this (client) process per second of the phase: near 1 means the client's core is the bottleneck. */
  clientCpu: number;
  loadAvg: string;
}

function summarise(name: string, rf: number, acks: 1 | -1, records: number, seconds: number, latencies: number[], errors: number, cpu: NodeJS.CpuUsage): Result {
  const sorted = latencies.sort((a, b) => a - b);
  const r: Result = {
    name,
    replicationFactor: rf,
    acks,
    seconds,
    records,
    recordsPerSec: records / seconds,
    mbPerSec: (records * RECORD_BYTES) / 1024 / 1024 / seconds,
    errors,
    latencyMs: { p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted[sorted.length - 1] ?? 0 },
    clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    loadAvg: load(),
  };
  console.log(
    `${name.padEnd(34)} ${Math.round(r.recordsPerSec).toLocaleString('en').padStart(10)} records/s ${r.mbPerSec.toFixed(1).padStart(6)} MB/s  latency ms p50 ${r.latencyMs.p50.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)}${errors ? `  (${errors} failed sends)` : ''}  [client CPU ${(r.clientCpu * 100).toFixed(0)} %, load ${r.loadAvg}]`,
  );
  return r;
}

/** Prints a progress line every 2 s while a phase runs. */
function progress(name: string, start: number, records: () => number): () => void {
  const timer = setInterval(() => {
    const s = (now() - start) / 1000;
    console.log(`  ${name}: ${s.toFixed(0)} s, ${Math.round(records() / s).toLocaleString('en')} records/s so far`);
  }, 2000);
  return () => clearInterval(timer);
}

async function throughput(bootstrap: string, name: string, topic: string, rf: number, acks: 1 | -1): Promise<Result> {
  const producers = await Promise.all(Array.from({ length: PRODUCERS }, (_, i) => openProducer(bootstrap, `bench-${topic}-${i}`, IN_FLIGHT)));
  const values = Array.from({ length: RECORDS_PER_BATCH }, () => Buffer.alloc(RECORD_BYTES, 120));
  // Warm up each connection (metadata, API versions) before the clock starts.
  await Promise.all(producers.map((p, i) => p.send(topic, i % PARTITIONS, values, acks)));
  const latencies: number[] = [];
  let records = 0;
  let errors = 0;
  const start = now();
  const cpu = process.cpuUsage();
  const stop = progress(name, start, () => records);
  const worker = async (p: BenchProducer, lane: number): Promise<void> => {
    let partition = lane % PARTITIONS;
    while (now() - start < SECONDS * 1000) {
      const t = now();
      try {
        await p.send(topic, partition, values, acks);
        latencies.push(now() - t);
        records += values.length;
      } catch {
        errors++;
      }
      partition = (partition + 1) % PARTITIONS;
    }
  };
  await Promise.all(producers.flatMap((p, i) => Array.from({ length: IN_FLIGHT }, (_, k) => worker(p, i * IN_FLIGHT + k))));
  const seconds = (now() - start) / 1000;
  stop();
  await Promise.all(producers.map((p) => p.close()));
  return summarise(name, rf, acks, records, seconds, latencies, errors, process.cpuUsage(cpu));
}

/** acks=all latency at a fixed 10,000 records/s: a send of 100 records every 10 ms, round robin over the partitions. */
async function latencyAtRate(bootstrap: string, topic: string): Promise<Result> {
  const producer = await openProducer(bootstrap, 'bench-rate', 64);
  const values = Array.from({ length: 100 }, () => Buffer.alloc(RECORD_BYTES, 121));
  await producer.send(topic, 0, values, -1);
  const latencies: number[] = [];
  let sent = 0;
  let records = 0;
  let errors = 0;
  const inFlight: Array<Promise<void>> = [];
  const start = now();
  const cpu = process.cpuUsage();
  const stop = progress('RF 3 acks=all at 10,000 records/s', start, () => records);
  while (now() - start < SECONDS * 1000) {
    const wait = start + sent * (100_000 / RATE) - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = now();
    inFlight.push(
      producer.send(topic, sent % PARTITIONS, values, -1).then(
        () => {
          latencies.push(now() - t);
          records += values.length;
        },
        () => void errors++,
      ),
    );
    sent++;
  }
  await Promise.all(inFlight);
  const seconds = (now() - start) / 1000;
  stop();
  await producer.close();
  return summarise('RF 3 acks=all at 10,000 records/s', 3, -1, records, seconds, latencies, errors, process.cpuUsage(cpu));
}

interface Failover {
  killedBroker: number;
  newLeader: number;
  failoverMs: number;
  sessionTimeoutMs: number;
  loadAvg: string;
}

async function partitionLeader(stack: RunningStack, topic: string, partition: number): Promise<{ leader: number; inSync: number }> {
  const res = await fetch(`${stack.httpUrl}/topics/${topic}`);
  if (!res.ok) throw new Error(`GET /topics/${topic}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { partitions: Array<{ partition: number; leader: number; replicas: Array<{ in_sync: boolean }> }> };
  const p = body.partitions.find((x) => x.partition === partition);
  if (!p) throw new Error(`topic ${topic} has no partition ${partition}`);
  return { leader: p.leader, inSync: p.replicas.filter((r) => r.in_sync).length };
}

/**
 * A write of one record every 20 ms (each its own send, retried by the client), SIGKILL of the partition's leader
 * broker, and the time from the kill to the first acknowledgement of a write sent after it.
 */
async function failover(stack: RunningStack, topic: string): Promise<Failover> {
  const producer = await openProducer(stack.kafkaBootstrap, 'bench-failover', 256, true);
  const value = [Buffer.alloc(RECORD_BYTES, 122)];
  await producer.send(topic, 0, value, -1);
  const { leader } = await partitionLeader(stack, topic, 0);
  let killedAt = Number.POSITIVE_INFINITY;
  let firstAck = Number.POSITIVE_INFINITY;
  let errors = 0;
  let running = true;
  const inFlight: Array<Promise<void>> = [];
  const probe = (async () => {
    while (running) {
      const t = now();
      inFlight.push(
        producer.send(topic, 0, value, -1).then(
          () => {
            if (t >= killedAt) firstAck = Math.min(firstAck, now());
          },
          () => void errors++,
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`  failover: SIGKILL of broker ${leader}, the leader of ${topic}/0`);
  killedAt = now();
  stack.brokers.get(leader)!.kill('SIGKILL');
  const ticker = setInterval(() => console.log(`  failover: ${((now() - killedAt) / 1000).toFixed(0)} s since the kill, no acknowledged write yet`), 2000);
  await waitFor(() => firstAck < Number.POSITIVE_INFINITY, { timeoutMs: SESSION_TIMEOUT_MS + 60_000, intervalMs: 5, what: 'an acknowledged acks=all write after the kill' });
  clearInterval(ticker);
  running = false;
  await probe;
  await Promise.all(inFlight);
  await producer.close();
  const after = await partitionLeader(stack, topic, 0);
  const r: Failover = { killedBroker: leader, newLeader: after.leader, failoverMs: firstAck - killedAt, sessionTimeoutMs: SESSION_TIMEOUT_MS, loadAvg: load() };
  console.log(`failover (SIGKILL of the leader)      ${r.failoverMs.toFixed(0)} ms to the first acks=all write (new leader broker ${r.newLeader}; session timeout ${SESSION_TIMEOUT_MS} ms)${errors ? `  (${errors} failed sends)` : ''}  [load ${r.loadAvg}]`);
  return r;
}

async function createTopic(stack: RunningStack, name: string, partitions: number, rf: number): Promise<void> {
  const res = await fetch(`${stack.httpUrl}/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions, replication_factor: rf, configs: rf > 1 ? { 'min.insync.replicas': '2' } : {} }),
  });
  if (!res.ok) throw new Error(`creating topic ${name} failed: ${res.status} ${await res.text()}`);
  await waitFor(
    async () => {
      for (let p = 0; p < partitions; p++) if ((await partitionLeader(stack, name, p).catch(() => ({ inSync: 0 }))).inSync < rf) return false;
      return true;
    },
    { timeoutMs: 30_000, what: `a full ISR for ${name}` },
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-replication-bench-'));
  const profileDir = join(dir, 'profiles');
  const loadBefore = load();
  console.log(
    `Replication benchmark: 3 brokers, ${{ wire: 'raw Produce requests (bench:kafka load generator)', kafkajs: 'KafkaJS', platformatic: '@platformatic/kafka' }[CLIENT]}, ${PRODUCERS} producers × ${IN_FLIGHT} sends in flight, ${PARTITIONS} partitions, ${RECORDS_PER_BATCH} × ${RECORD_BYTES}-byte records per send, ${SECONDS} s per phase, session timeout ${SESSION_TIMEOUT_MS} ms`,
  );
  console.log(`load average (1/5/15 min) at the start: ${loadBefore}  (${cpus().length} cores; the figures are measured under that load)\n`);
  const nats = await startNatsServer();
  const stack = await startStack({
    natsUrl: nats.url,
    brokers: 3,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    nodeArgs: args.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  const results: Result[] = [];
  let fo: Failover | undefined;
  const roles = new Map<number | undefined, string>([
    [stack.gateway.pid, 'gateway'],
    ...[...stack.brokers].map(([id, p]) => [p.pid, `broker ${id}`] as [number | undefined, string]),
    [stack.controller.pid, 'controller'],
    [stack.coordinator.pid, 'group coordinator'],
  ]);
  try {
    await createTopic(stack, 'rf1', PARTITIONS, 1);
    await createTopic(stack, 'rf3-acks1', PARTITIONS, 3);
    await createTopic(stack, 'rf3-acksall', PARTITIONS, 3);
    await createTopic(stack, 'rf3-rate', PARTITIONS, 3);
    await createTopic(stack, 'rf3-failover', 1, 3);
    // The fixed-rate latency first, before the throughput phases leave gigabytes of dirty pages to write back.
    const rate = await latencyAtRate(stack.kafkaBootstrap, 'rf3-rate');
    results.push(await throughput(stack.kafkaBootstrap, 'RF 1 acks=1', 'rf1', 1, 1));
    results.push(await throughput(stack.kafkaBootstrap, 'RF 3 acks=1', 'rf3-acks1', 3, 1));
    results.push(await throughput(stack.kafkaBootstrap, 'RF 3 acks=all', 'rf3-acksall', 3, -1));
    results.push(rate);
    fo = await failover(stack, 'rf3-failover');
  } finally {
    await stack.stop();
    await nats.stop();
  }
  const rf1 = results[0];
  const all = results[2];
  const targets = [
    { figure: 'RF 3 acks=all records/s', reached: Math.round(all.recordsPerSec).toLocaleString('en'), target: '≥ 300,000', met: all.recordsPerSec >= 300_000 },
    { figure: 'RF 3 acks=all / RF 1 acks=1', reached: `${((all.recordsPerSec / rf1.recordsPerSec) * 100).toFixed(0)} %`, target: '≥ 50 %', met: all.recordsPerSec >= rf1.recordsPerSec / 2 },
    { figure: 'p99 acks=all at 10,000 records/s', reached: `${rate99(results).toFixed(1)} ms`, target: '≤ 20 ms', met: rate99(results) <= 20 },
    { figure: 'failover', reached: `${fo.failoverMs.toFixed(0)} ms`, target: `≤ ${SESSION_TIMEOUT_MS + 2000} ms (session ${SESSION_TIMEOUT_MS} + 2,000)`, met: fo.failoverMs <= SESSION_TIMEOUT_MS + 2000 },
  ];
  console.log('\n| figure | measured | target | met |\n| --- | --- | --- | --- |');
  for (const t of targets) console.log(`| ${t.figure} | ${t.reached} | ${t.target} | ${t.met ? 'yes' : 'NO'} |`);
  console.log(`\nload average (1/5/15 min): ${loadBefore} at the start, ${load()} at the end`);
  const profiles = args.profile ? await summariseProfiles(profileDir, 10) : [];
  for (const p of profiles) {
    const role = roles.get(Number(p.file.split('.')[3])) ?? 'process';
    console.log(`\nprofile of the ${role} (${p.file}): busy ${(p.busy * 100).toFixed(0)} % of ${p.samples} samples; top self time:`);
    for (const t of p.top) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.fn}`);
  }
  const out = resolve(args.out ?? join(process.cwd(), '../../bench-results/replication.json'));
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(
    out,
    JSON.stringify(
      { date: new Date().toISOString(), client: CLIENT, seconds: SECONDS, producers: PRODUCERS, inFlight: IN_FLIGHT, partitions: PARTITIONS, recordsPerSend: RECORDS_PER_BATCH, loadAvg: { start: loadBefore, end: load() }, results, failover: fo, targets, profiles },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${out}`);
  await rm(dir, { recursive: true, force: true });
}

function rate99(results: Result[]): number {
  return results.find((r) => r.name.includes('at 10,000'))?.latencyMs.p99 ?? Number.NaN;
}

await main();
