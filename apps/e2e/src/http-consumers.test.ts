// HTTP consumer instances (REST Proxy v2) against the embedded server: three instances in one group sharing six
// partitions, an instance deleted and its partitions moving, commits, manual assignment and seeking, idle expiry,
// and bad requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';

let sluice: EmbeddedSluice;
let http: Http;

beforeAll(async () => {
  sluice = await startEmbedded({
    SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS: '300',
    SLUICE_HTTP_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    SLUICE_HTTP_CONSUMER_IDLE_MS: '4000',
    // Small batches, so that one produce request makes several per partition.
    SLUICE_MAX_BATCH_BYTES: '4096',
  });
  http = new Http(sluice.httpUrl);
});

afterAll(async () => {
  await sluice?.stop();
});

interface Rec {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}
type TP = { topic: string; partition: number };

const base = (group: string, name: string) => `/consumers/${group}/instances/${name}`;

async function create(group: string, name: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await http.json<{ instance_id: string; base_uri: string }>('POST', `/consumers/${group}`, { name, format: 'string', 'auto.offset.reset': 'earliest', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.base_uri).toMatch(new RegExp(`/consumers/${group}/instances/${name}$`));
}

async function assignments(group: string, name: string): Promise<string[]> {
  const res = await http.json<{ partitions: TP[] }>('GET', `${base(group, name)}/assignments`);
  return res.body.partitions.map((p) => `${p.topic}/${p.partition}`).sort();
}

async function produce(topic: string, from: number, count: number): Promise<void> {
  const res = await http.json('POST', `/topics/${topic}`, { format: 'string', records: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })) });
  expect(res.status).toBe(200);
}

describe('HTTP consumer instances', () => {
  it('share a topic’s partitions in a group, hand a deleted member’s partitions to the others, and never re-read committed records', async () => {
    await http.createTopic('rest-events', 6);
    const names = ['c1', 'c2', 'c3'];
    for (const n of names) await create('rest-group', n);
    await Promise.all(names.map((n) => http.json('POST', `${base('rest-group', n)}/subscription`, { topics: ['rest-events'] })));
    const covered = async (members: string[]) => {
      const all = (await Promise.all(members.map((n) => assignments('rest-group', n)))).flat();
      return all.length === 6 && new Set(all).size === 6 && (await Promise.all(members.map((n) => assignments('rest-group', n)))).every((a) => a.length > 0);
    };
    await waitFor(() => covered(names), { timeoutMs: 30_000, what: 'disjoint assignments covering all six partitions' });

    await produce('rest-events', 0, 120);
    const seen: string[] = [];
    const pollAll = async (members: string[]) => {
      for (const n of members) {
        const res = await http.json<Rec[]>('GET', `${base('rest-group', n)}/records?timeout=300`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        seen.push(...res.body.map((r) => r.value as string));
      }
    };
    await waitFor(async () => (await pollAll(names), seen.length >= 120), { timeoutMs: 30_000, what: '120 records polled' });
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);

    expect((await http.json('DELETE', base('rest-group', 'c3'))).status).toBe(204);
    await waitFor(() => covered(['c1', 'c2']), { timeoutMs: 30_000, what: 'the two remaining instances to cover all partitions' });
    await produce('rest-events', 120, 60);
    const before = seen.length;
    await waitFor(async () => (await pollAll(['c1', 'c2']), seen.length >= before + 60), { timeoutMs: 30_000, what: '60 more records polled' });
    const after = seen.slice(before);
    expect(new Set(after).size).toBe(60);
    expect(after.every((v) => Number(v.slice(1)) >= 120)).toBe(true);
    for (const n of ['c1', 'c2']) expect((await http.json('DELETE', base('rest-group', n))).status).toBe(204);
  });

  it('assigns stickily by default: a leaving member’s partitions move and no others; a grown topic is assigned at once', async () => {
    await http.createTopic('sticky-events', 6);
    const group = 'sticky-group';
    for (const n of ['s1', 's2', 's3']) await create(group, n);
    await Promise.all(['s1', 's2', 's3'].map((n) => http.json('POST', `${base(group, n)}/subscription`, { topics: ['sticky-events'] })));
    const covers = async (members: string[], total: number) => {
      const lists = await Promise.all(members.map((n) => assignments(group, n)));
      const all = lists.flat();
      return all.length === total && new Set(all).size === total && lists.every((l) => l.length > 0);
    };
    await waitFor(() => covers(['s1', 's2', 's3'], 6), { timeoutMs: 30_000, what: 'three members covering six partitions' });
    const before = { s1: await assignments(group, 's1'), s2: await assignments(group, 's2') };

    expect((await http.json('DELETE', base(group, 's3'))).status).toBe(204);
    await waitFor(() => covers(['s1', 's2'], 6), { timeoutMs: 30_000, what: 'two members covering six partitions' });
    const afterLeave = { s1: await assignments(group, 's1'), s2: await assignments(group, 's2') };
    for (const n of ['s1', 's2'] as const) expect(afterLeave[n]).toEqual(expect.arrayContaining(before[n]));
    expect(afterLeave.s1.length + afterLeave.s2.length).toBe(6);

    expect((await http.json('POST', '/topics/sticky-events/partitions', { partitions: 8 })).status).toBe(200);
    await waitFor(() => covers(['s1', 's2'], 8), { timeoutMs: 30_000, what: 'the two members covering all eight partitions' });
    for (const n of ['s1', 's2'] as const) expect(await assignments(group, n)).toEqual(expect.arrayContaining(afterLeave[n]));
    await produce('sticky-events', 0, 40);
    const got: string[] = [];
    await waitFor(
      async () => {
        for (const n of ['s1', 's2']) got.push(...(await http.json<Rec[]>('GET', `${base(group, n)}/records?timeout=200`)).body.map((r) => r.value as string));
        return got.length >= 40;
      },
      { timeoutMs: 30_000, what: 'forty records from eight partitions' },
    );
    expect(new Set(got).size).toBe(40);

    const bad = await http.json<{ code: string; message: string }>('POST', `/consumers/${group}`, { name: 'odd', 'partition.assignment.strategy': 'range,fancy' });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(/"fancy"/);
    for (const n of ['s1', 's2']) expect((await http.json('DELETE', base(group, n))).status).toBe(204);
  });

  it('reads assigned partitions, seeks, commits explicitly and reports committed offsets', async () => {
    await http.createTopic('rest-manual', 2);
    await produce('rest-manual', 0, 10);
    await create('manual-group', 'm1', { 'auto.commit.enable': 'false' });
    const m = base('manual-group', 'm1');
    expect((await http.json('POST', `${m}/assignments`, { partitions: [{ topic: 'rest-manual', partition: 0 }, { topic: 'rest-manual', partition: 1 }] })).status).toBe(204);
    let records: Rec[] = [];
    await waitFor(async () => ((records = [...records, ...(await http.json<Rec[]>('GET', `${m}/records?timeout=200`)).body]), records.length >= 10), { timeoutMs: 10_000, what: 'ten records' });
    expect(records.map((r) => r.value).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
    // Seek back to the beginning of partition 0: its records come again.
    expect((await http.json('POST', `${m}/positions/beginning`, { partitions: [{ topic: 'rest-manual', partition: 0 }] })).status).toBe(204);
    const again = (await http.json<Rec[]>('GET', `${m}/records?timeout=200`)).body;
    expect(again.length).toBe(records.filter((r) => r.partition === 0).length);
    expect((await http.json('POST', `${m}/offsets`, { offsets: [{ topic: 'rest-manual', partition: 0, offset: 2 }] })).status).toBe(204);
    const committed = await http.json<{ offsets: Array<TP & { offset: number }> }>('GET', `${m}/offsets?partitions=rest-manual:0,rest-manual:1`);
    expect(committed.body.offsets.map((o) => [o.partition, o.offset])).toEqual([
      [0, 2],
      [1, -1],
    ]);
    // Seeking or committing a partition the instance does not read is refused, and changes nothing.
    const refused = await http.json<{ code: string }>('POST', `${m}/positions`, { offsets: [{ topic: 'rest-events', partition: 0, offset: 0 }] });
    expect(refused.status).toBe(400);
    const notMine = await http.json<{ code: string }>('POST', `${m}/offsets`, { offsets: [{ topic: 'rest-manual', partition: 1, offset: 7 }, { topic: 'rest-events', partition: 0, offset: 5 }] });
    expect(notMine.status).toBe(400);
    expect(notMine.body.code).toBe('PARTITION_NOT_ASSIGNED');
    const unchanged = await http.json<{ offsets: Array<TP & { offset: number }> }>('GET', `${m}/offsets?partitions=rest-manual:0,rest-manual:1`);
    expect(unchanged.body.offsets.map((o) => o.offset)).toEqual([2, -1]);
    expect((await http.json('DELETE', m)).status).toBe(204);
  });

  it('commits everything polled on an empty body with the REST Proxy media type, as REST Proxy clients send it', async () => {
    await http.createTopic('rest-empty-commit', 2);
    await produce('rest-empty-commit', 0, 8);
    await create('empty-commit-group', 'e1', { 'auto.commit.enable': 'false' });
    const e = base('empty-commit-group', 'e1');
    expect((await http.json('POST', `${e}/subscription`, { topics: ['rest-empty-commit'] })).status).toBe(204);
    let records: Rec[] = [];
    await waitFor(async () => ((records = [...records, ...(await http.json<Rec[]>('GET', `${e}/records?timeout=200`)).body]), records.length >= 8), { timeoutMs: 10_000, what: 'eight records' });
    for (const body of [undefined, '']) {
      const res = await fetch(`${sluice.httpUrl}${e}/offsets`, { method: 'POST', headers: { 'content-type': 'application/vnd.kafka.v2+json' }, body });
      expect(res.status, await res.text()).toBe(204);
    }
    const lag = await http.json<Array<{ partition: number; committed_offset: number; lag: number }>>('GET', '/consumer-groups/empty-commit-group/lag');
    const perPartition = [0, 1].map((p) => records.filter((r) => r.partition === p).length);
    expect(lag.body.map((l) => [l.partition, l.committed_offset, l.lag]).sort()).toEqual(perPartition.map((n, p) => [p, n, 0]));
    expect((await http.json('DELETE', e)).status).toBe(204);
  });

  it('produces a request that makes several batches per partition: dense offsets, each partition in request order', async () => {
    await http.createTopic('rest-batches', 3);
    const records = Array.from({ length: 90 }, (_, i) => ({ partition: i % 3, value: `${String(i).padStart(3, '0')}${'x'.repeat(500)}` }));
    const res = await http.json<{ offsets: Array<{ partition: number; offset: number | null; error_code: number | null }> }>('POST', '/topics/rest-batches', { format: 'string', records });
    expect(res.status).toBe(200);
    for (const p of [0, 1, 2]) {
      const mine = res.body.offsets.filter((o) => o.partition === p);
      expect(mine.map((o) => o.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(mine.every((o) => o.error_code === null)).toBe(true);
      const stored = (await http.readAll('rest-batches', p)).map((r) => (r.value as string).slice(0, 3));
      expect(stored).toEqual(records.filter((r) => r.partition === p).map((r) => r.value.slice(0, 3)));
    }
  });

  it('answers a long poll as soon as one of its partitions gets a record', async () => {
    await http.createTopic('rest-wake', 3);
    await create('wake-group', 'w1');
    const w = base('wake-group', 'w1');
    expect((await http.json('POST', `${w}/assignments`, { partitions: [0, 1, 2].map((partition) => ({ topic: 'rest-wake', partition })) })).status).toBe(204);
    expect((await http.json<Rec[]>('GET', `${w}/records?timeout=0`)).body).toEqual([]);
    const started = Date.now();
    const polled = http.json<Rec[]>('GET', `${w}/records?timeout=20000`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await http.json('POST', '/topics/rest-wake/partitions/1', { format: 'string', records: [{ value: 'wake up' }] })).status).toBe(200);
    const res = await polled;
    expect(res.body.map((r) => [r.partition, r.value])).toEqual([[1, 'wake up']]);
    // Well before the 20 s timeout: the idle partitions did not hold the answer back.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await http.json('DELETE', w)).status).toBe(204);
  });

  it('deletes idle instances, and answers bad requests clearly', async () => {
    await create('idle-group', 'sleepy');
    // Any request to an instance keeps it alive, so wait past the idle time (4 s) and the sweep (every 2 s) untouched.
    await new Promise((r) => setTimeout(r, 7000));
    expect((await http.json('GET', `${base('idle-group', 'sleepy')}/subscription`)).status).toBe(404);
    expect((await http.json<{ code: string }>('GET', `${base('nope', 'nobody')}/records`)).body.code).toBe('CONSUMER_INSTANCE_NOT_FOUND');
    await create('dup-group', 'twice');
    expect((await http.json('POST', '/consumers/dup-group', { name: 'twice' })).status).toBe(409);
    expect((await http.json('POST', `${base('dup-group', 'twice')}/subscription`, { topics: ['no-such-topic'] })).status).toBe(404);
    expect((await http.json('POST', `${base('dup-group', 'twice')}/subscription`, {})).status).toBe(400);
    expect((await http.json('POST', '/consumers/dup-group', { name: 'bad name!' })).status).toBe(400);
    expect((await http.json('DELETE', base('dup-group', 'twice'))).status).toBe(204);
  });
});
