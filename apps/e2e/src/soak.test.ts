// Soak: a broker with thousands of partitions through a leadership storm. Pausing the broker (SIGSTOP) until the
// controller fences it moves every partition's leadership away and, when it resumes and registers again, back: two
// metadata deltas per partition in a burst. A broker that did a full pass over its partitions per delta spent minutes
// in that work, missed its heartbeats, was fenced again and again, and ignored SIGTERM (found after hours of abuse).
// Bounded in CI by SLUICE_SOAK_TOPICS (40 topics of 100 partitions by default); `npm run test:soak` runs 200 topics
// (SLUICE_SOAK_TOPICS and SLUICE_SOAK_PARTITIONS choose).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, startStack, waitFor, type NatsServer, type RunningStack } from '@sluice/testing';
import { Http, type HttpRecord } from './http-client.js';

const TOPICS = Number(process.env.SLUICE_SOAK_TOPICS ?? 40);
const PARTITIONS = Number(process.env.SLUICE_SOAK_PARTITIONS ?? 100);
const SESSION_TIMEOUT_MS = 4000;

let nats: NatsServer;
let stack: RunningStack;
let http: Http;

beforeAll(async () => {
  nats = await startNatsServer();
  stack = await startStack({ natsUrl: nats.url, brokers: 1, sessionTimeoutMs: SESSION_TIMEOUT_MS });
  http = new Http(stack.httpUrl);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
});

interface TopicDescription {
  partitions: Array<{ partition: number; leader: number }>;
}

const topicName = (i: number): string => `soak-${i}`;

async function leaderless(): Promise<number> {
  let count = 0;
  for (let i = 0; i < TOPICS; i++) {
    const res = await http.json<TopicDescription>('GET', `/topics/${topicName(i)}`);
    if (res.status !== 200) return Number.POSITIVE_INFINITY;
    count += res.body.partitions.filter((p) => p.leader !== 1).length;
  }
  return count;
}

describe(`soak: ${TOPICS * PARTITIONS} partitions on one broker through a leadership storm`, () => {
  it('creates the partitions', async () => {
    const queue = Array.from({ length: TOPICS }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) await http.createTopic(topicName(i), PARTITIONS);
      }),
    );
    await waitFor(async () => (await leaderless()) === 0, { timeoutMs: 120_000, intervalMs: 500, what: 'every partition led by broker 1' });
  }, 300_000);

  it('comes back from being fenced with every partition led again, no other node fenced, and everything readable', async () => {
    for (let i = 0; i < TOPICS; i += 4) {
      const res = await http.json('POST', `/topics/${topicName(i)}/partitions/${i % PARTITIONS}`, { records: [{ value: `before-${i}` }] });
      expect(res.status).toBe(200);
    }
    const broker = stack.brokers.get(1)!;
    broker.kill('SIGSTOP');
    try {
      await stack.controller.waitForMessage('node fenced', { role: 'broker' }, SESSION_TIMEOUT_MS * 5);
    } finally {
      broker.kill('SIGCONT');
    }
    await waitFor(async () => (await leaderless()) === 0, { timeoutMs: 90_000, intervalMs: 500, what: 'every partition led by broker 1 again' });
    // A broker stuck in metadata work misses its heartbeats and is fenced again; the other nodes must never be.
    const fenced = stack.controller.lines.filter((l) => l.json?.msg === 'node fenced');
    expect(fenced.filter((l) => l.json?.role !== 'broker').map((l) => l.raw)).toEqual([]);
    expect(fenced.length).toBe(1);
    for (let i = 0; i < TOPICS; i += 4) {
      const read = await http.json<HttpRecord[]>('GET', `/topics/${topicName(i)}/partitions/${i % PARTITIONS}/records?offset=0`);
      expect(read.body.map((r) => r.value)).toEqual([`before-${i}`]);
    }
    expect((await http.json('POST', `/topics/${topicName(1)}/partitions/1`, { records: [{ value: 'after' }] })).status).toBe(200);
  }, 300_000);

  it('stops on SIGTERM, promptly', async () => {
    const result = await stack.brokers.get(1)!.stop(15_000);
    expect(result).toEqual({ code: 0, signal: null });
  }, 60_000);
});
