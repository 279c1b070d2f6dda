// Server-Sent Events: a topic stream resumed with Last-Event-ID without gaps or repeats, and a consumer instance's
// stream that commits what it sent.
import { get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';

let sluice: EmbeddedSluice;
let http: Http;

beforeAll(async () => {
  sluice = await startEmbedded({ SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS: '300', SLUICE_HTTP_CONSUMER_SESSION_TIMEOUT_MS: '6000' });
  http = new Http(sluice.httpUrl);
});

afterAll(async () => {
  await sluice?.stop();
});

interface Event {
  id: string | null;
  event: string | null;
  data: { partition: number; offset: number; value: string };
}

/** Reads `count` record events from an SSE endpoint, then disconnects. */
async function readEvents(path: string, count: number, lastEventId?: string): Promise<Event[]> {
  const controller = new AbortController();
  const res = await fetch(`${sluice.httpUrl}${path}`, { headers: lastEventId ? { 'last-event-id': lastEventId } : {}, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: Event[] = [];
  let buffer = '';
  const timer = setTimeout(() => controller.abort(), 20_000);
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const fields = new Map(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
        if (fields.get('event') === 'record') events.push({ id: fields.get('id') ?? null, event: 'record', data: JSON.parse(fields.get('data') ?? '{}') as Event['data'] });
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

async function produce(topic: string, values: string[], partition?: number): Promise<void> {
  const path = partition === undefined ? `/topics/${topic}` : `/topics/${topic}/partitions/${partition}`;
  expect((await http.json('POST', path, { format: 'string', records: values.map((value, i) => ({ key: `k${i}`, value })) })).status).toBe(200);
}

describe('Server-Sent Events', () => {
  it('ends a topic stream whose topic is deleted, and the gateway keeps answering', async () => {
    // Found by the fuzzer: every partition then answered at once with an error, and the stream fetched again in a
    // loop that never gave the event loop back: the whole process stopped answering anyone.
    await http.createTopic('sse-gone', 2);
    const controller = new AbortController();
    const res = await fetch(`${sluice.httpUrl}/topics/sse-gone/stream?format=string`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const timer = setTimeout(() => controller.abort(), 20_000);
    try {
      while (!text.includes(': positions')) text += decoder.decode((await reader.read()).value, { stream: true });
      expect((await http.json('DELETE', '/topics/sse-gone')).status).toBe(204);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } finally {
      clearTimeout(timer);
    }
    expect(text).toMatch(/event: error\ndata: .*sse-gone was deleted/);
    const other = await fetch(`${sluice.httpUrl}/topics`, { signal: AbortSignal.timeout(5000) });
    expect(other.status).toBe(200);
  });

  it('streams a topic and resumes from Last-Event-ID without gaps or repeats', async () => {
    await http.createTopic('sse', 2);
    await produce('sse', Array.from({ length: 10 }, (_, i) => `a${i}`));
    const first = await readEvents('/topics/sse/stream?offset=earliest&format=string', 10);
    expect(first.map((e) => e.data.value).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`).sort());
    expect(first.at(-1)?.id).toMatch(/^0:\d+,1:\d+$/);
    await produce('sse', Array.from({ length: 10 }, (_, i) => `b${i}`));
    const second = await readEvents('/topics/sse/stream?format=string', 10, first.at(-1)?.id ?? undefined);
    expect(second.map((e) => e.data.value).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`).sort());
    // Resuming from an event in the middle replays exactly what followed it.
    const middle = first[4];
    const replay = await readEvents('/topics/sse/stream?format=string', 15, middle.id ?? undefined);
    const expected = [...first.slice(5), ...second].map((e) => e.data.value).sort();
    expect(replay.map((e) => e.data.value).sort()).toEqual(expected);
    expect((await fetch(`${sluice.httpUrl}/topics/sse/stream`, { headers: { 'last-event-id': 'garbage' } })).status).toBe(400);
  });

  it('streams a consumer instance’s records and commits what it sent', async () => {
    await http.createTopic('sse-group', 1);
    await produce('sse-group', ['x0', 'x1', 'x2', 'x3', 'x4'], 0);
    expect((await http.json('POST', '/consumers/sse-readers', { name: 's1', format: 'string', 'auto.offset.reset': 'earliest' })).status).toBe(200);
    expect((await http.json('POST', '/consumers/sse-readers/instances/s1/subscription', { topics: ['sse-group'] })).status).toBe(204);
    const events = await readEvents('/consumers/sse-readers/instances/s1/stream', 5);
    expect(events.map((e) => e.data.value)).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
    expect(events.at(-1)?.id).toBe('sse-group/0:5');
    await waitFor(async () => (await http.json<{ offsets: Array<{ offset: number }> }>('GET', '/consumers/sse-readers/instances/s1/offsets?partitions=sse-group:0')).body.offsets[0].offset === 5, {
      timeoutMs: 10_000,
      what: 'the streamed records to be committed',
    });
    await produce('sse-group', ['y0', 'y1'], 0);
    const more = await readEvents('/consumers/sse-readers/instances/s1/stream', 2);
    expect(more.map((e) => e.data.value)).toEqual(['y0', 'y1']);
    expect((await http.json('DELETE', '/consumers/sse-readers/instances/s1')).status).toBe(204);
  });

  it('holds back for a client that does not read: only what the socket takes is sent and committed, the rest follows in order', async () => {
    const total = 4000;
    const value = (i: number) => `${String(i).padStart(5, '0')}${'.'.repeat(10_000)}`;
    await http.createTopic('sse-slow', 1);
    for (let from = 0; from < total; from += 50) await produce('sse-slow', Array.from({ length: 50 }, (_, i) => value(from + i)), 0);
    const instance = '/consumers/sse-slow-readers/instances/lazy';
    expect((await http.json('POST', '/consumers/sse-slow-readers', { name: 'lazy', format: 'string', 'auto.offset.reset': 'earliest' })).status).toBe(200);
    expect((await http.json('POST', `${instance}/subscription`, { topics: ['sse-slow'] })).status).toBe(204);
    const committed = async () => (await http.json<{ offsets: Array<{ offset: number }> }>('GET', `${instance}/offsets?partitions=sse-slow:0`)).body.offsets[0].offset;

    // A client that connects and then does not read: the gateway may only fill the socket's buffers.
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${sluice.httpUrl}${instance}/stream`, resolve).on('error', reject));
    res.pause();
    await waitFor(async () => (await committed()) > 0, { timeoutMs: 15_000, what: 'a first commit' });
    await new Promise((r) => setTimeout(r, 3000));
    // 40 MB waiting; what loopback socket buffers and one poll hold is far less, and it stays so.
    expect(await committed()).toBeLessThan(total / 2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await committed()).toBeLessThan(total / 2);

    // Reading again: everything arrives, in order, exactly once, and all of it is committed.
    const offsets: number[] = [];
    let buffer = '';
    res.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (block.includes('event: record') && data) offsets.push((JSON.parse(data.slice(6)) as { offset: number }).offset);
        }
        if (offsets.length >= total) resolve();
      });
      res.on('error', reject);
      res.resume();
    });
    res.destroy();
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i));
    await waitFor(async () => (await committed()) === total, { timeoutMs: 10_000, what: 'every streamed record committed' });
    expect((await http.json('DELETE', instance)).status).toBe(204);
  });
});
