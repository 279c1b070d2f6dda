// Consumer-group benchmarks on the multi-process stack, the group coordinator on PostgreSQL:
//  1. offset commits per second sustained by one coordinator (OffsetCommit through the Kafka listener, a bounded
//     number in flight), beside a raw PostgreSQL upsert loop measured in the same run;
//  2. rebalance time of a group of HTTP consumers growing from 1 to 50 members on a 100-partition topic: for each
//     join, the time until every member's assignment is disjoint and covers the topic again.
// Prints figures and writes bench-results/groups.json.   npm run bench:groups
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { ApiKey, kafka, KafkaErrorCode, Reader, readResponseHeader } from '@sluice/protocol';
import { createPostgresDatabase, startNatsServer, startStack, waitFor } from '@sluice/testing';
import { LoadConnection } from './kafka-connection.js';

const SECONDS = Number(process.env.SLUICE_BENCH_SECONDS ?? 10);
const MEMBERS = Number(process.env.SLUICE_BENCH_MEMBERS ?? 50);
const PARTITIONS = 100;
const IN_FLIGHT = 32;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function pgBaseline(url: string): Promise<{ perSec: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  await pool.query('CREATE TABLE IF NOT EXISTS bench_offsets (g text, t text, p int, o bigint, PRIMARY KEY (g, t, p))');
  let count = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      while (now() - start < SECONDS * 1000) {
        await pool.query('INSERT INTO bench_offsets VALUES ($1, $2, $3, $4) ON CONFLICT (g, t, p) DO UPDATE SET o = EXCLUDED.o', [`g${w}`, 't', count % 10, count]);
        count++;
      }
    }),
  );
  const perSec = count / ((now() - start) / 1000);
  await pool.end();
  console.log(`${'baseline: raw PostgreSQL upserts (8 connections)'.padEnd(52)} ${Math.round(perSec).toLocaleString('en').padStart(9)} /s`);
  return { perSec };
}

async function commitLoad(bootstrap: string, topic: string): Promise<{ perSec: number; p50: number; p99: number }> {
  const connections = await Promise.all(Array.from({ length: 4 }, () => LoadConnection.open(bootstrap)));
  const latencies: number[] = [];
  let count = 0;
  let errors = 0;
  const start = now();
  await Promise.all(
    connections.flatMap((c, ci) =>
      Array.from({ length: IN_FLIGHT / 4 }, async (_, k) => {
        const group = `bench-group-${ci * 8 + k}`;
        let offset = 0;
        while (now() - start < SECONDS * 1000) {
          const frame = c.frame(ApiKey.OffsetCommit, 8, (w) =>
            kafka.writeOffsetCommitRequest(w, 8, { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: k % PARTITIONS, committedOffset: offset++, committedLeaderEpoch: -1, committedMetadata: null }] }] }),
          );
          const t = now();
          const r = new Reader((await c.send(frame)) as Buffer);
          readResponseHeader(r, 1);
          const res = kafka.readOffsetCommitResponse(r, 8);
          latencies.push(now() - t);
          if (res.topics[0].partitions[0].errorCode === KafkaErrorCode.NONE) count++;
          else errors++;
        }
      }),
    ),
  );
  for (const c of connections) c.close();
  const perSec = count / ((now() - start) / 1000);
  const sorted = latencies.sort((a, b) => a - b);
  console.log(`${`offset commits via the Kafka listener (${IN_FLIGHT} in flight)`.padEnd(52)} ${Math.round(perSec).toLocaleString('en').padStart(9)} /s  latency ms p50 ${pct(sorted, 50).toFixed(1)} p99 ${pct(sorted, 99).toFixed(1)}${errors ? `  (${errors} errors)` : ''}`);
  return { perSec, p50: pct(sorted, 50), p99: pct(sorted, 99) };
}

async function json<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

async function rebalanceGrowth(base: string, topic: string): Promise<number[]> {
  const settle: number[] = [];
  const names: string[] = [];
  for (let i = 1; i <= MEMBERS; i++) {
    const name = `m${i}`;
    await json(base, 'POST', '/consumers/bench-rebalance', { name, format: 'binary' });
    names.push(name);
    const start = now();
    await json(base, 'POST', `/consumers/bench-rebalance/instances/${name}/subscription`, { topics: [topic] });
    await waitFor(
      async () => {
        const all = await Promise.all(names.map((n) => json<{ partitions: unknown[] }>(base, 'GET', `/consumers/bench-rebalance/instances/${n}/assignments`)));
        const total = all.reduce((s, a) => s + a.partitions.length, 0);
        const described = await json<{ state: string; members: unknown[] }>(base, 'GET', '/consumer-groups/bench-rebalance');
        return total === PARTITIONS && described.state === 'Stable' && described.members.length === names.length;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: `the group of ${i} to settle` },
    );
    settle.push(now() - start);
    if (i === 1 || i % 10 === 0) console.log(`  member ${String(i).padStart(2)} joined: settled in ${settle[settle.length - 1].toFixed(0)} ms`);
  }
  return settle;
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const groupsDb = await createPostgresDatabase();
  console.log(`Consumer-group benchmark: ${SECONDS} s of commits, a group growing to ${MEMBERS} HTTP members on ${PARTITIONS} partitions\n`);
  const stack = await startStack({ natsUrl: nats.url, brokers: 1, groupsDatabaseUrl: groupsDb.url, env: { SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', SLUICE_HTTP_CONSUMER_SESSION_TIMEOUT_MS: '10000' } });
  let out: Record<string, unknown> = {};
  try {
    await json(stack.httpUrl, 'POST', '/topics', { name: 'bench-groups', partitions: PARTITIONS });
    const baseline = await pgBaseline(groupsDb.url);
    const commits = await commitLoad(stack.kafkaBootstrap, 'bench-groups');
    console.log('\nrebalances (initial rebalance delay 0):');
    const settle = await rebalanceGrowth(stack.httpUrl, 'bench-groups');
    const sorted = [...settle].sort((a, b) => a - b);
    console.log(`\nsettle time per join: p50 ${pct(sorted, 50).toFixed(0)} ms, p99 ${pct(sorted, 99).toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms (target < 2000 ms)`);
    console.log(`commits: ${Math.round(commits.perSec).toLocaleString('en')}/s (target ≥ 5,000/s), ${((commits.perSec / baseline.perSec) * 100).toFixed(0)} % of raw PostgreSQL upserts`);
    out = { date: new Date().toISOString(), seconds: SECONDS, members: MEMBERS, partitions: PARTITIONS, pgUpsertsPerSec: baseline.perSec, commits, settleMs: settle };
  } finally {
    await stack.stop();
    await groupsDb.drop();
    await nats.stop();
  }
  const file = resolve(process.env.SLUICE_BENCH_OUT ?? join(process.cwd(), '../../bench-results/groups.json'));
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, JSON.stringify(out, null, 2));
  console.log(`\nwrote ${file}`);
}

await main();
