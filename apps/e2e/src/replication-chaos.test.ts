// Replication under failure, with a real Kafka client (KafkaJS, idempotent, acks=all) on a 3-broker stack over a
// real nats-server: leaders SIGKILLed again and again (sometimes restarted with a wiped disk) while writes go on; a
// leader paused (SIGSTOP) until it is fenced and resumed as a zombie; a rolling controlled restart of every broker.
// Nothing acknowledged may be lost or written twice. Bounded in CI by SLUICE_CHAOS_ROUNDS (3);
// `npm run test:chaos` runs more rounds.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@sluice/testing';
import { SESSION_TIMEOUT_MS, createReplicatedTopic, expectExactlyOnce, inSyncBrokers, partitionView, readPartition, startWriter, useReplicatedStack, waitLeadingAlone } from './replicated-stack.js';

const ROUNDS = Number(process.env.SLUICE_CHAOS_ROUNDS ?? 3);
const cluster = useReplicatedStack({ SLUICE_REPLICA_LAG_TIME_MAX_MS: '4000' });
const view = (topic: string) => partitionView(cluster.http, topic);
const inSync = async (topic: string): Promise<number> => inSyncBrokers(await view(topic)).length;
const readAll = (topic: string) => readPartition(cluster.http, topic);

const createTopic = (name: string) => createReplicatedTopic(cluster, name);
const writer = (topic: string) => startWriter(cluster, topic);

describe('replication under failure', () => {
  it(`keeps every acknowledged record through ${ROUNDS} leader kills (some with a wiped disk), then on the last survivor`, async () => {
    await createTopic('chaos');
    const w = writer('chaos');
    try {
      await w.progress(50);
      for (let round = 0; round < ROUNDS; round++) {
        const victim = (await view('chaos')).leader;
        cluster.stack.brokers.get(victim)!.kill('SIGKILL');
        // While the leader is down its partition keeps taking acknowledged writes, once a follower took over.
        await w.progress(30, SESSION_TIMEOUT_MS * 10);
        if (round % 2 === 1) await rm(join(cluster.stack.dir.path, `broker-${victim}`), { recursive: true, force: true });
        await cluster.stack.startBroker(victim);
        await waitFor(async () => (await inSync('chaos')) === 3, { timeoutMs: 60_000, what: `broker ${victim} back in the ISR (round ${round})` });
        await w.progress(20);
      }
    } finally {
      await w.stop();
    }
    expect(w.failures).toEqual([]);
    // With two of the three brokers killed, the survivor leads and holds everything.
    const v = await view('chaos');
    const survivor = v.replicas.find((r) => r.broker !== v.leader)!.broker;
    for (const r of v.replicas) if (r.broker !== survivor) cluster.stack.brokers.get(r.broker)!.kill('SIGKILL');
    // Leading alone: until the other two are fenced its high watermark may lag what the old leader acknowledged (it
    // learns the last one at its next fetch, which never comes), as a new Kafka leader's does.
    await waitLeadingAlone(cluster.http, 'chaos', survivor);
    expectExactlyOnce(await readAll('chaos'), w.acknowledged);
    for (const r of v.replicas) if (r.broker !== survivor) await cluster.stack.startBroker(r.broker);
    await waitFor(async () => (await inSync('chaos')) === 3, { timeoutMs: 60_000, what: 'the full ISR again' });
  }, 600_000);

  it('a leader paused past its session (a zombie) acknowledges nothing after it was fenced, and loses nothing acknowledged', async () => {
    await createTopic('zombie');
    const w = writer('zombie');
    let zombie = -1;
    try {
      await w.progress(50);
      zombie = (await view('zombie')).leader;
      cluster.stack.brokers.get(zombie)!.kill('SIGSTOP');
      await waitFor(async () => (await view('zombie')).leader !== zombie, { timeoutMs: SESSION_TIMEOUT_MS * 6, what: 'a new leader while the old one is paused' });
      await w.progress(30, 60_000);
      cluster.stack.brokers.get(zombie)!.kill('SIGCONT');
      await w.progress(30);
      await waitFor(async () => (await inSync('zombie')) === 3, { timeoutMs: 60_000, what: `the zombie ${zombie} back in the ISR as a follower` });
    } finally {
      if (zombie >= 0) cluster.stack.brokers.get(zombie)!.kill('SIGCONT');
      await w.stop();
    }
    expect(w.failures).toEqual([]);
    expectExactlyOnce(await readAll('zombie'), w.acknowledged);
    // The zombie's log is the leader's: make it lead and read everything from it.
    const v = await view('zombie');
    for (const r of v.replicas) if (r.broker !== zombie) await cluster.stack.brokers.get(r.broker)!.stop();
    await waitLeadingAlone(cluster.http, 'zombie', zombie);
    expectExactlyOnce(await readAll('zombie'), w.acknowledged);
    for (const r of v.replicas) if (r.broker !== zombie) await cluster.stack.startBroker(r.broker);
    await waitFor(async () => (await inSync('zombie')) === 3, { timeoutMs: 60_000, what: 'the full ISR again' });
  }, 300_000);

  it('a rolling controlled restart of every broker under acks=all load fails no write', async () => {
    await createTopic('rolling');
    const w = writer('rolling');
    try {
      await w.progress(50);
      for (const id of [...cluster.stack.brokers.keys()].sort()) {
        const result = await cluster.stack.brokers.get(id)!.stop();
        expect(result.code).toBe(0);
        await w.progress(20);
        await cluster.stack.startBroker(id);
        await waitFor(async () => (await inSync('rolling')) === 3, { timeoutMs: 60_000, what: `broker ${id} back in the ISR` });
      }
      await w.progress(20);
    } finally {
      await w.stop();
    }
    expect(w.failures).toEqual([]);
    expectExactlyOnce(await readAll('rolling'), w.acknowledged);
  }, 300_000);
});
