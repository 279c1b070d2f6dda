// The three-broker stack the replication tests share (over their own nats-server), and how they look at a partition:
// its leader and replicas through the HTTP API, its records read back from whoever leads it.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
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
export function useReplicatedStack(env: Record<string, string>): ReplicatedStack {
  let nats: NatsServer | undefined;
  const state: { stack?: RunningStack; http?: Http } = {};
  beforeAll(async () => {
    nats = await startNatsServer();
    state.stack = await startStack({ natsUrl: nats.url, brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS, env });
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
  replicas: Array<{ broker: number; leader: boolean; in_sync: boolean }>;
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
