// Replication on the multi-process stack (3 brokers over a real nats-server): followers copy their leaders, acks=all
// waits for the in-sync replicas, a killed leader's partitions move to an in-sync follower with nothing acknowledged
// lost, a returning broker (even with an empty disk) catches up and rejoins the ISR, and Kafka clients see the real
// replicas and ISR.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor, waitReady } from '@sluice/testing';
import { kcatOk } from './kcat.js';
import { SESSION_TIMEOUT_MS, inSyncBrokers as inSync, partitionView, readPartition, useReplicatedStack } from './replicated-stack.js';

const cluster = useReplicatedStack({ SLUICE_REPLICA_LAG_TIME_MAX_MS: '3000', SLUICE_DEFAULT_REPLICATION_FACTOR: '3' });
const partition = (topic: string) => partitionView(cluster.http, topic);
const readValues = (topic: string) => readPartition(cluster.http, topic);

async function produceAll(topic: string, values: string[]): Promise<void> {
  const res = await cluster.http.json<{ offsets: Array<{ offset: number | null; error: string | null }> }>('POST', `/topics/${topic}/partitions/0?acks=all`, {
    format: 'string',
    records: values.map((value) => ({ value })),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  for (const o of res.body.offsets) expect(o.error).toBeNull();
}

interface ReplicaLag {
  broker: number;
  in_sync: boolean;
  log_end_offset: number;
  lag: number;
  caught_up_ms_ago: number;
}

describe('replication on three brokers', () => {
  it('copies every record to the followers: the ISR is full and Kafka clients see the real replicas and ISR', async () => {
    const create = await cluster.http.json('POST', '/topics', { name: 'replicated', partitions: 1, replication_factor: 3, configs: { 'min.insync.replicas': '2' } });
    expect(create.status).toBe(201);
    await waitFor(async () => inSync(await partition('replicated')).length === 3, { what: 'a full ISR' });
    await produceAll('replicated', Array.from({ length: 200 }, (_, i) => `r${i}`));
    expect(await readValues('replicated')).toHaveLength(200);
    const { out } = await kcatOk(cluster.stack.kafkaBootstrap, ['-L', '-t', 'replicated']);
    expect(out).toMatch(/partition 0, leader \d+, replicas: [123],[123],[123], isrs: [123],[123],[123]/);
  });

  it('moves leadership to an in-sync follower when the leader is killed, losing nothing acknowledged, and keeps taking acks=all writes', async () => {
    const before = await partition('replicated');
    const victim = before.leader;
    cluster.stack.brokers.get(victim)!.kill('SIGKILL');
    await waitFor(async () => (await partition('replicated')).leader !== victim && (await partition('replicated')).leader >= 0, {
      timeoutMs: SESSION_TIMEOUT_MS * 4,
      what: 'a new leader',
    });
    const after = await partition('replicated');
    expect(after.leader_epoch).toBeGreaterThan(before.leader_epoch);
    expect(inSync(after)).not.toContain(victim);
    await produceAll('replicated', Array.from({ length: 100 }, (_, i) => `s${i}`));
    // The HTTP API shows each replica's position and lag as the new leader sees it: the dead one at most where the
    // leader was when it took over (-1: never fetched from it), the live follower caught up.
    const [lagging] = (await cluster.http.json<Array<{ end_offset: number; log_end_offset: number; replicas: ReplicaLag[] }>>('GET', '/topics/replicated/partitions')).body;
    expect(lagging).toMatchObject({ end_offset: 300, log_end_offset: 300 });
    const byBroker = new Map(lagging.replicas.map((r) => [r.broker, r]));
    expect(byBroker.get(after.leader)).toMatchObject({ log_end_offset: 300, lag: 0, caught_up_ms_ago: 0 });
    const live = [...byBroker.values()].find((r) => r.broker !== victim && r.broker !== after.leader)!;
    expect(live).toMatchObject({ log_end_offset: 300, lag: 0, in_sync: true });
    expect(byBroker.get(victim)).toMatchObject({ log_end_offset: -1, lag: -1, in_sync: false });
    const values = await readValues('replicated');
    expect(values).toEqual([...Array.from({ length: 200 }, (_, i) => `r${i}`), ...Array.from({ length: 100 }, (_, i) => `s${i}`)]);
    // The new leader reports the partition under-replicated, and the killed replica lagging, on its /metrics.
    const adminPort = await waitReady(cluster.stack.brokers.get(after.leader)!, 'broker');
    await waitFor(
      async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
        return /sluice_broker_under_replicated_partitions\{[^}]*broker="\d+"[^}]*\} 1\b/.test(metrics) && /sluice_broker_max_follower_lag_records\{[^}]*\} [1-9]/.test(metrics);
      },
      { timeoutMs: 10_000, what: 'under-replicated and lag gauges on the new leader' },
    );

    // It comes back, catches up and rejoins the ISR.
    await cluster.stack.startBroker(victim);
    await waitFor(async () => inSync(await partition('replicated')).length === 3, { timeoutMs: 30_000, what: `broker ${victim} back in the ISR` });
  });

  it('rebuilds a replica from the leader when a broker comes back with an empty disk', async () => {
    const view = await partition('replicated');
    const follower = view.replicas.find((r) => !r.leader)!.broker;
    await cluster.stack.brokers.get(follower)!.stop();
    await rm(join(cluster.stack.dir.path, `broker-${follower}`), { recursive: true, force: true });
    await produceAll('replicated', ['while-away']);
    await cluster.stack.startBroker(follower);
    await waitFor(async () => inSync(await partition('replicated')).length === 3, { timeoutMs: 30_000, what: `broker ${follower} rebuilt and in the ISR` });
    // Everything is readable from the rebuilt broker once it leads: kill the two others.
    for (const r of view.replicas) if (r.broker !== follower) cluster.stack.brokers.get(r.broker)!.kill('SIGKILL');
    await waitFor(async () => (await partition('replicated')).leader === follower, { timeoutMs: SESSION_TIMEOUT_MS * 4, what: `broker ${follower} leading` });
    const values = await readValues('replicated');
    expect(values).toHaveLength(301);
    expect(values[300]).toBe('while-away');
    for (const r of view.replicas) if (r.broker !== follower) await cluster.stack.startBroker(r.broker);
  });
});
