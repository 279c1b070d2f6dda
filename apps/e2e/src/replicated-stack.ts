// The multi-broker stack the replication tests share (over their own nats-server), and how they look at a partition:
// its leader and replicas through the HTTP API, its records read back from whoever leads it; a KafkaJS writer that
// remembers what was acknowledged, and the check that each acknowledged record is there exactly once.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, expect } from 'vitest';
import { startNatsServer, startStack, waitFor, type NatsServer, type RunningStack } from '@sluice/testing';
import { Http, type HttpRecord } from './http-client.js';

export const SESSION_TIMEOUT_MS = 3000;

export interface ReplicatedStack {
  readonly stack: RunningStack;
  readonly http: Http;
}

/**
 * Starts the stack before the file's tests and stops it after them; `SLUICE_KEEP_LOGS=DIR` copies every process's
 * log there first.
 */
export function useReplicatedStack(env: Record<string, string>, brokers = 3): ReplicatedStack {
  let nats: NatsServer | undefined;
  const state: { stack?: RunningStack; http?: Http } = {};
  beforeAll(async () => {
    nats = await startNatsServer();
    state.stack = await startStack({ natsUrl: nats.url, brokers, sessionTimeoutMs: SESSION_TIMEOUT_MS, env });
    state.http = new Http(state.stack.httpUrl);
  }, 120_000);
  afterAll(async () => {
    if (state.stack && process.env.SLUICE_KEEP_LOGS) await cp(join(state.stack.dir.path, 'logs'), process.env.SLUICE_KEEP_LOGS, { recursive: true });
    await state.stack?.stop();
    await nats?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the replicated stack is not started (use it inside tests)');
    return value;
  };
  return {
    get stack() {
      return started(state.stack);
    },
    get http() {
      return started(state.http);
    },
  };
}

export interface PartitionView {
  partition: number;
  leader: number;
  leader_epoch: number;
  replicas: Array<{ broker: number; leader: boolean; in_sync: boolean; adding?: boolean; removing?: boolean }>;
}

export async function partitionView(http: Http, topic: string, partition = 0): Promise<PartitionView> {
  const res = await http.json<{ partitions: PartitionView[] }>('GET', `/topics/${topic}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.partitions[partition];
}

export const inSyncBrokers = (view: PartitionView): number[] => view.replicas.filter((r) => r.in_sync).map((r) => r.broker);

/** Waits until `broker` leads partition 0 of `topic` with an ISR of itself alone (the others stopped or killed). */
export async function waitLeadingAlone(http: Http, topic: string, broker: number): Promise<void> {
  await waitFor(
    async () => {
      const now = await partitionView(http, topic);
      return now.leader === broker && inSyncBrokers(now).length === 1;
    },
    { timeoutMs: SESSION_TIMEOUT_MS * 6, what: `broker ${broker} leading ${topic} alone` },
  );
}

/** Every value of partition 0, read through the HTTP API from its current leader. */
export async function readPartition(http: Http, topic: string): Promise<string[]> {
  const out: string[] = [];
  let offset = 0;
  for (;;) {
    const res = await http.json<HttpRecord[]>('GET', `/topics/${topic}/partitions/0/records?offset=${offset}&format=string`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    if (res.body.length === 0) return out;
    for (const r of res.body) out.push(String(r.value));
    offset = res.body[res.body.length - 1].offset + 1;
  }
}

/** Creates a one-partition topic replicated on three brokers (min.insync.replicas 2) and waits for its full ISR. */
export async function createReplicatedTopic(cluster: ReplicatedStack, name: string): Promise<void> {
  const res = await cluster.http.json('POST', '/topics', { name, partitions: 1, replication_factor: 3, configs: { 'min.insync.replicas': '2' } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await waitFor(async () => inSyncBrokers(await partitionView(cluster.http, name)).length === 3, { what: `a full ISR for ${name}` });
}

/**
 * An idempotent acks=all producer writing numbered records one batch at a time in the background; remembers which
 * were acknowledged. A send that fails is counted (the tests expect none: the client retries through failovers).
 */
export function startWriter(cluster: ReplicatedStack, topic: string) {
  const kafka = new Kafka({ clientId: `chaos-${topic}`, brokers: [cluster.stack.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 } });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const acknowledged: string[] = [];
  const failures: string[] = [];
  let next = 0;
  let running = true;
  const loop = (async () => {
    await producer.connect();
    while (running) {
      const values = Array.from({ length: 10 }, () => `${topic}-${next++}`);
      try {
        await producer.send({ topic, acks: -1, timeout: 30_000, messages: values.map((value) => ({ partition: 0, value })) });
        acknowledged.push(...values);
      } catch (err) {
        failures.push(`${values[0]}: ${(err as Error).message}`);
      }
    }
    await producer.disconnect();
  })();
  return {
    acknowledged,
    failures,
    /** Waits until `n` more records are acknowledged. */
    async progress(n: number, timeoutMs = 60_000): Promise<void> {
      const target = acknowledged.length + n;
      await waitFor(() => acknowledged.length >= target, { timeoutMs, what: `${n} more acknowledged records (at ${acknowledged.length})` });
    },
    async stop(): Promise<void> {
      running = false;
      await loop;
    },
  };
}

/** Every acknowledged value exactly once; any other value at most once (sent, maybe written, not acknowledged). */
export function expectExactlyOnce(values: string[], acknowledged: string[]): void {
  const at = new Map<string, number[]>();
  values.forEach((v, offset) => at.set(v, [...(at.get(v) ?? []), offset]));
  const duplicates = [...at].filter(([, offsets]) => offsets.length > 1).map(([v, offsets]) => `${v} at ${offsets.join(',')}`);
  const missing = acknowledged.filter((v) => !at.has(v));
  expect({ duplicates, missing }).toEqual({ duplicates: [], missing: [] });
}
