// The multi-process stack: real nats-server, real PostgreSQL, each service a child process that can be killed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, startNatsServer, startStack, waitFor, type NatsServer, type PostgresDatabase, type RunningStack } from '@sluice/testing';
import { Http, produceMixed, verifyAll } from './http-client.js';

const SESSION_TIMEOUT_MS = 4000;
let nats: NatsServer;
let db: PostgresDatabase;
let stack: RunningStack;
let http: Http;

beforeAll(async () => {
  nats = await startNatsServer();
  db = await createPostgresDatabase();
  stack = await startStack({ natsUrl: nats.url, databaseUrl: db.url, brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS });
  http = new Http(stack.httpUrl);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await db?.drop();
  await nats?.stop();
});

interface TopicDescription {
  partitions: Array<{ partition: number; leader: number; replicas: Array<{ broker: number; leader: boolean; in_sync: boolean }> }>;
}

describe('multi-process stack over NATS and PostgreSQL', () => {
  let produced: Awaited<ReturnType<typeof produceMixed>>;

  it('spreads a 6-partition topic over 3 brokers', async () => {
    await http.createTopic('orders', 6, 1);
    const res = await http.json<TopicDescription>('GET', '/topics/orders');
    expect(res.status).toBe(200);
    const leaders = res.body.partitions.map((p) => p.leader);
    for (const broker of [1, 2, 3]) expect(leaders.filter((l) => l === broker)).toHaveLength(2);
  });

  it('takes 10,000 keyed and unkeyed records over HTTP and gives every partition back in order', async () => {
    produced = await produceMixed(http, 'orders', 6, 10_000);
    await verifyAll(http, 'orders', 6, produced);
  });

  it('keeps the data of a broker across a restart', async () => {
    const broker = stack.brokers.get(2)!;
    const result = await broker.stop();
    expect(result.code).toBe(0);
    await stack.startBroker(2);
    await waitFor(
      async () => {
        const res = await http.json<TopicDescription>('GET', '/topics/orders');
        return res.body.partitions.filter((p) => p.leader === 2).length === 2;
      },
      { timeoutMs: 20_000, what: 'broker 2 leading its partitions again' },
    );
    await verifyAll(http, 'orders', 6, produced);
  });

  it('fences a broker killed with SIGKILL within its session timeout, and the metadata says so', async () => {
    const killedAt = Date.now();
    stack.brokers.get(3)!.kill('SIGKILL');
    await stack.controller.waitForLog((l) => l.json?.msg === 'node fenced' && l.json?.nodeId === 3, SESSION_TIMEOUT_MS + 5000);
    const brokers = await waitFor(
      async () => {
        const res = await http.json<{ brokers: number[] }>('GET', '/brokers');
        return res.body.brokers.includes(3) ? undefined : res.body.brokers;
      },
      { timeoutMs: 5000, what: 'broker 3 gone from /brokers' },
    );
    expect(Date.now() - killedAt).toBeLessThan(SESSION_TIMEOUT_MS + 5000);
    expect(brokers).toEqual([1, 2]);
    // Replication factor 1: the partitions broker 3 led have no leader now (no unclean election).
    const res = await http.json<TopicDescription>('GET', '/topics/orders');
    const offline = res.body.partitions.filter((p) => p.replicas.some((r) => r.broker === 3));
    expect(offline).toHaveLength(2);
    for (const p of offline) expect(p.leader).toBe(-1);
    // The other partitions keep serving.
    const served = res.body.partitions.filter((p) => p.leader !== -1);
    expect(served).toHaveLength(4);
    for (const p of served) expect((await http.readAll('orders', p.partition)).length).toBeGreaterThan(0);
  });
});
