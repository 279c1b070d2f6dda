// Replication on the multi-process stack (3 brokers over a real nats-server): followers copy their leaders, acks=all
// waits for the in-sync replicas, a killed leader's partitions move to an in-sync follower with nothing acknowledged
// lost, a returning broker (even with an empty disk) catches up and rejoins the ISR, and Kafka clients see the real
// replicas and ISR.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, startStack, waitFor, type NatsServer, type RunningStack } from '@sluice/testing';
import { Http, type HttpRecord } from './http-client.js';
import { kcatOk } from './kcat.js';

const SESSION_TIMEOUT_MS = 3000;
let nats: NatsServer;
let stack: RunningStack;
let http: Http;

beforeAll(async () => {
  nats = await startNatsServer();
  stack = await startStack({
    natsUrl: nats.url,
    brokers: 3,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    env: { SLUICE_REPLICA_LAG_TIME_MAX_MS: '3000', SLUICE_DEFAULT_REPLICATION_FACTOR: '3' },
  });
  http = new Http(stack.httpUrl);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
});

interface Replica {
  broker: number;
  leader: boolean;
  in_sync: boolean;
}
interface PartitionView {
  partition: number;
  leader: number;
  leader_epoch: number;
  replicas: Replica[];
}

async function partition(topic: string, p = 0): Promise<PartitionView> {
  const res = await http.json<{ partitions: PartitionView[] }>('GET', `/topics/${topic}`);
  expect(res.status).toBe(200);
  return res.body.partitions[p];
}

const inSync = (view: PartitionView): number[] => view.replicas.filter((r) => r.in_sync).map((r) => r.broker);

async function produceAll(topic: string, values: string[]): Promise<void> {
  const res = await http.json<{ offsets: Array<{ offset: number | null; error: string | null }> }>('POST', `/topics/${topic}/partitions/0?acks=all`, {
    format: 'string',
    records: values.map((value) => ({ value })),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  for (const o of res.body.offsets) expect(o.error).toBeNull();
}

async function readValues(topic: string): Promise<string[]> {
  const out: string[] = [];
  let offset = 0;
  for (;;) {
    const res = await http.json<HttpRecord[]>('GET', `/topics/${topic}/partitions/0/records?offset=${offset}&format=string`);
    if (res.status !== 200 || res.body.length === 0) return out;
    for (const r of res.body) out.push(String(r.value));
    offset = res.body[res.body.length - 1].offset + 1;
  }
}

describe('replication on three brokers', () => {
  it('copies every record to the followers: the ISR is full and Kafka clients see the real replicas and ISR', async () => {
    const create = await http.json('POST', '/topics', { name: 'replicated', partitions: 1, replication_factor: 3, configs: { 'min.insync.replicas': '2' } });
    expect(create.status).toBe(201);
    await waitFor(async () => inSync(await partition('replicated')).length === 3, { what: 'a full ISR' });
    await produceAll('replicated', Array.from({ length: 200 }, (_, i) => `r${i}`));
    expect(await readValues('replicated')).toHaveLength(200);
    const { out } = await kcatOk(stack.kafkaBootstrap, ['-L', '-t', 'replicated']);
    expect(out).toMatch(/partition 0, leader \d+, replicas: [123],[123],[123], isrs: [123],[123],[123]/);
  });

  it('moves leadership to an in-sync follower when the leader is killed, losing nothing acknowledged, and keeps taking acks=all writes', async () => {
    const before = await partition('replicated');
    const victim = before.leader;
    stack.brokers.get(victim)!.kill('SIGKILL');
    await waitFor(async () => (await partition('replicated')).leader !== victim && (await partition('replicated')).leader >= 0, {
      timeoutMs: SESSION_TIMEOUT_MS * 4,
      what: 'a new leader',
    });
    const after = await partition('replicated');
    expect(after.leader_epoch).toBeGreaterThan(before.leader_epoch);
    expect(inSync(after)).not.toContain(victim);
    await produceAll('replicated', Array.from({ length: 100 }, (_, i) => `s${i}`));
    const values = await readValues('replicated');
    expect(values).toEqual([...Array.from({ length: 200 }, (_, i) => `r${i}`), ...Array.from({ length: 100 }, (_, i) => `s${i}`)]);

    // It comes back, catches up and rejoins the ISR.
    await stack.startBroker(victim);
    await waitFor(async () => inSync(await partition('replicated')).length === 3, { timeoutMs: 30_000, what: `broker ${victim} back in the ISR` });
  });

  it('rebuilds a replica from the leader when a broker comes back with an empty disk', async () => {
    const view = await partition('replicated');
    const follower = view.replicas.find((r) => !r.leader)!.broker;
    await stack.brokers.get(follower)!.stop();
    await rm(join(stack.dir.path, `broker-${follower}`), { recursive: true, force: true });
    await produceAll('replicated', ['while-away']);
    await stack.startBroker(follower);
    await waitFor(async () => inSync(await partition('replicated')).length === 3, { timeoutMs: 30_000, what: `broker ${follower} rebuilt and in the ISR` });
    // Everything is readable from the rebuilt broker once it leads: kill the two others.
    for (const r of view.replicas) if (r.broker !== follower) stack.brokers.get(r.broker)!.kill('SIGKILL');
    await waitFor(async () => (await partition('replicated')).leader === follower, { timeoutMs: SESSION_TIMEOUT_MS * 4, what: `broker ${follower} leading` });
    const values = await readValues('replicated');
    expect(values).toHaveLength(301);
    expect(values[300]).toBe('while-away');
    for (const r of view.replicas) if (r.broker !== follower) await stack.startBroker(r.broker);
  });
});
