// The HTTP API end to end against the embedded server: formats, placement, reads, long polls, and bad input.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '@sluice/protocol';
import { waitFor } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http, type HttpRecord } from './http-client.js';

let sluice: EmbeddedSluice;
let http: Http;

interface ErrorBody {
  error_code: number;
  code: string;
  message: string;
}
interface ProduceResponse {
  offsets: Array<{ partition: number; offset: number | null; error_code: number | null; error: string | null }>;
}

beforeAll(async () => {
  sluice = await startEmbedded({
    SLUICE_HTTP_MAX_BODY_BYTES: String(64 * 1024),
    SLUICE_LOG_CLEANER_INTERVAL_MS: '200',
    SLUICE_HTTP_HEADERS_TIMEOUT_MS: '1000',
    SLUICE_HTTP_REQUEST_READ_TIMEOUT_MS: '2000',
  });
  http = new Http(sluice.httpUrl);
  await http.createTopic('api', 3);
});

afterAll(async () => {
  await sluice?.stop();
});

/** Sends raw bytes on a new connection; resolves with everything the server wrote before it closed the connection. */
function rawExchange(bytes: string, options: { endAfterMs?: number } = {}): Promise<string> {
  const url = new URL(sluice.httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let out = '';
    socket.on('data', (chunk) => (out += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    if (options.endAfterMs !== undefined) setTimeout(() => socket.destroy(), options.endAfterMs);
  });
}

function parseRawResponse(text: string): { status: number; body: ErrorBody } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as ErrorBody };
}

async function raw(method: string, path: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: ErrorBody }> {
  const res = await fetch(`${sluice.httpUrl}${path}`, { method, headers: { 'content-type': contentType }, body });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

function expectError(res: { status: number; body: unknown }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as ErrorBody;
  expect(body.code).toBe(code);
  expect(typeof body.error_code).toBe('number');
  expect(body.message.length).toBeGreaterThan(0);
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.js:\d+/);
}

describe('HTTP API', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const created = await http.json<{ name: string; partitions: unknown[]; configs: Record<string, string> }>('POST', '/topics', {
      name: 'short-lived',
      partitions: 2,
      configs: { 'retention.ms': '60000' },
    });
    expect(created.status).toBe(201);
    expect(created.body.partitions).toHaveLength(2);
    expect((await http.json<string[]>('GET', '/topics')).body).toEqual(expect.arrayContaining(['api', 'short-lived']));
    const described = await http.json<{ configs: Record<string, string>; partitions: Array<{ leader: number; replicas: unknown[] }> }>('GET', '/topics/short-lived');
    expect(described.body.configs).toEqual({ 'retention.ms': '60000' });
    expect(described.body.partitions[0].replicas).toEqual([{ broker: 1, leader: true, in_sync: true }]);
    const altered = await http.json<{ configs: Record<string, string> }>('PUT', '/topics/short-lived/configs', { configs: { 'retention.ms': null, 'cleanup.policy': 'compact' } });
    expect(altered.body.configs).toEqual({ 'cleanup.policy': 'compact' });
    expect((await http.json('DELETE', '/topics/short-lived')).status).toBe(204);
    expectError(await http.json('GET', '/topics/short-lived'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectError(await http.json('POST', '/topics', { name: 'api' }), 409, 'TOPIC_ALREADY_EXISTS');
  });

  it('round-trips JSON, string and binary values with keys and headers', async () => {
    const cases = [
      { format: 'json', contentType: 'application/vnd.kafka.json.v2+json', key: { id: 1 }, value: { nested: [1, 'two', null] }, headers: { h: 'v' } },
      { format: 'string', contentType: 'application/json', key: 'k-string', value: 'plain text ✓', headers: [{ key: 'h', value: null }] },
      { format: 'binary', contentType: 'application/vnd.kafka.binary.v2+json', key: 'AAE=', value: 'AAEC/w==', headers: { h: 'AQI=' } },
    ];
    for (const c of cases) {
      const body = { ...(c.format === 'string' ? { format: 'string' } : {}), records: [{ key: c.key, value: c.value, headers: c.headers }] };
      const res = await fetch(`${sluice.httpUrl}/topics/api/partitions/1`, { method: 'POST', headers: { 'content-type': c.contentType }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      const { offsets } = (await res.json()) as ProduceResponse;
      const offset = offsets[0].offset!;
      const read = await http.json<HttpRecord[]>('GET', `/topics/api/partitions/1/records?offset=${offset}&format=${c.format}&count=1`);
      expect(read.status).toBe(200);
      expect(read.body[0]).toMatchObject({ topic: 'api', partition: 1, offset, key: c.key, value: c.value });
      const expectedHeaders = Array.isArray(c.headers) ? c.headers : Object.entries(c.headers).map(([key, value]) => ({ key, value }));
      expect(read.body[0].headers).toEqual(expectedHeaders);
    }
  });

  it('compacts a topic with cleanup.policy=compact: the latest value per key stays, at its offset', async () => {
    await http.json('POST', '/topics', { name: 'latest-by-key', partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '600', 'min.cleanable.dirty.ratio': '0.01' } });
    const produced: Array<{ key: string; value: string; offset: number }> = [];
    for (let i = 0; i < 40; i++) {
      const record = { key: `user-${i % 4}`, value: `state-${i}` };
      const res = await http.json<ProduceResponse>('POST', '/topics/latest-by-key/partitions/0', { format: 'string', records: [record] });
      produced.push({ ...record, offset: res.body.offsets[0].offset as number });
    }
    expectError(await http.json('POST', '/topics/latest-by-key/partitions/0', { format: 'string', records: [{ value: 'no key' }] }), 422, 'INVALID_RECORD');
    await waitFor(async () => (await http.json<HttpRecord[]>('GET', '/topics/latest-by-key/partitions/0/records?offset=0&format=string')).body.length < produced.length, {
      timeoutMs: 20_000,
      what: 'the log cleaner to compact the topic',
    });
    const read = await http.json<HttpRecord[]>('GET', '/topics/latest-by-key/partitions/0/records?offset=0&format=string');
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    const records = read.body;
    // Every key's latest value is still there, at the offset it was written at; offsets only increase.
    for (const key of ['user-0', 'user-1', 'user-2', 'user-3']) {
      const latest = produced.filter((p) => p.key === key).at(-1);
      expect(records.find((r) => r.offset === latest?.offset)?.value).toBe(latest?.value);
    }
    expect(records.map((r) => r.offset)).toEqual([...records.map((r) => r.offset)].sort((a, b) => a - b));
  });

  it('places keyed records with Kafka’s partitioner and spreads unkeyed ones', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    const res = await http.json<ProduceResponse>('POST', '/topics/api', { format: 'string', records: keys.map((k) => ({ key: k, value: 'v' })) });
    res.body.offsets.forEach((o, i) => expect(o.partition).toBe(partitionForKey(Buffer.from(keys[i]), 3)));
    const partitions = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const unkeyed = await http.json<ProduceResponse>('POST', '/topics/api', { records: [{ value: 'x'.repeat(20_000) }] });
      partitions.add(unkeyed.body.offsets[0].partition);
    }
    expect(partitions.size).toBeGreaterThan(1);
  });

  it('reads from an offset in the middle of a batch, and answers a long poll when a record arrives', async () => {
    const res = await http.json<ProduceResponse>('POST', '/topics/api/partitions/2', { format: 'string', records: ['a', 'b', 'c', 'd'].map((v) => ({ value: v })) });
    const base = res.body.offsets[0].offset!;
    const mid = await http.json<HttpRecord[]>('GET', `/topics/api/partitions/2/records?offset=${base + 2}&format=string`);
    expect(mid.body.map((r) => r.value)).toEqual(['c', 'd']);
    expect(mid.body[0].offset).toBe(base + 2);
    const end = await http.endOffset('api', 2);
    const started = Date.now();
    const poll = http.json<HttpRecord[]>('GET', `/topics/api/partitions/2/records?offset=${end}&format=string&timeout=10000`);
    await new Promise((r) => setTimeout(r, 300));
    await http.json('POST', '/topics/api/partitions/2', { format: 'string', records: [{ value: 'late' }] });
    const got = await poll;
    expect(got.body.map((r) => r.value)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(8000);
    const empty = await http.json<HttpRecord[]>('GET', `/topics/api/partitions/2/records?offset=${end + 1}&timeout=200`);
    expect(empty.body).toEqual([]);
  });

  it('lists partitions with their offsets', async () => {
    const res = await http.json<Array<{ partition: number; beginning_offset: number; end_offset: number }>>('GET', '/topics/api/partitions');
    expect(res.body.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of res.body) {
      expect(p.beginning_offset).toBe(0);
      expect(p.end_offset).toBeGreaterThan(0);
    }
    const one = await http.json<{ beginning_offset: number; end_offset: number }>('GET', '/topics/api/partitions/2/offsets');
    expect(one.body.end_offset).toBe(res.body[2].end_offset);
  });

  describe('bad input gets a clear 4xx and harms nothing', () => {
    it('malformed JSON', async () => expectError(await raw('POST', '/topics/api', '{"records": [ {"value": '), 400, 'INVALID_JSON'));
    it('a body that is not the expected shape', async () => {
      expectError(await http.json('POST', '/topics/api', { records: [] }), 400, 'INVALID_REQUEST');
      expectError(await http.json('POST', '/topics/api', { nope: true }), 400, 'INVALID_REQUEST');
      expectError(await http.json('POST', '/topics', { partitions: 3 }), 400, 'INVALID_REQUEST');
    });
    it('an unknown topic', async () => {
      expectError(await http.json('POST', '/topics/missing', { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
      expectError(await http.json('GET', '/topics/missing/partitions/0/records?offset=0'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    });
    it('an invalid topic name, partition count or config', async () => {
      expectError(await http.json('POST', '/topics', { name: 'bad name' }), 422, 'INVALID_TOPIC_EXCEPTION');
      expectError(await http.json('POST', '/topics', { name: 'x'.repeat(250) }), 422, 'INVALID_TOPIC_EXCEPTION');
      expectError(await http.json('POST', '/topics', { name: 'zero', partitions: 0 }), 422, 'INVALID_PARTITIONS');
      expectError(await http.json('POST', '/topics', { name: 'rf', replication_factor: 5 }), 422, 'INVALID_REPLICATION_FACTOR');
      expectError(await http.json('POST', '/topics', { name: 'cfg', configs: { 'retention.ms': 'forever' } }), 422, 'INVALID_CONFIG');
    });
    it('a partition out of range', async () => {
      expectError(await http.json('POST', '/topics/api/partitions/9', { records: [{ value: 1 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
      expectError(await http.json('POST', '/topics/api', { records: [{ value: 1, partition: 3 }] }), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
      expectError(await http.json('GET', '/topics/api/partitions/3/records?offset=0'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    });
    it('a negative, missing or too large offset', async () => {
      expectError(await http.json('GET', '/topics/api/partitions/0/records?offset=-1'), 400, 'INVALID_REQUEST');
      expectError(await http.json('GET', '/topics/api/partitions/0/records'), 400, 'INVALID_REQUEST');
      expectError(await http.json('GET', '/topics/api/partitions/0/records?offset=abc'), 400, 'INVALID_REQUEST');
      expectError(await http.json('GET', '/topics/api/partitions/0/records?offset=999999'), 416, 'OFFSET_OUT_OF_RANGE');
    });
    it('an oversize body', async () => {
      const big = JSON.stringify({ records: [{ value: 'x'.repeat(100 * 1024) }] });
      expectError(await raw('POST', '/topics/api', big), 413, 'PAYLOAD_TOO_LARGE');
    });
    it('a wrong content type or a bad value for the format', async () => {
      expectError(await raw('POST', '/topics/api', 'value=1', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await raw('POST', '/topics/api', JSON.stringify({ records: [{ value: '%%%' }] }), 'application/vnd.kafka.binary.v2+json'), 422, 'INVALID_RECORD');
      expectError(await http.json('POST', '/topics/api', { format: 'string', records: [{ value: { not: 'a string' } }] }), 422, 'INVALID_RECORD');
    });
    it('an unknown route', async () => expectError(await http.json('GET', '/nothing/here'), 404, 'NOT_FOUND'));
    it('text/plain bodies: 415, not parsed as a string', async () => {
      expectError(await raw('POST', '/topics/api', 'hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await raw('POST', '/topics', 'orders', 'text/plain; charset=utf-8'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
    it('a method a known path does not have: 405 with Allow', async () => {
      const res = await fetch(`${sluice.httpUrl}/topics/api`, { method: 'PUT' });
      expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, POST');
      expectError({ status: res.status, body: await res.json() }, 405, 'METHOD_NOT_ALLOWED');
      expectError(await http.json('PATCH', '/consumer-groups/some-group/lag'), 405, 'METHOD_NOT_ALLOWED');
      expectError(await http.json('DELETE', '/nothing/here'), 404, 'NOT_FOUND');
    });
    it('Avro, Protobuf and JSON Schema media types: 415 saying why, nothing stored', async () => {
      const before = await http.endOffset('api', 0);
      for (const type of ['avro', 'protobuf', 'jsonschema']) {
        const res = await raw('POST', '/topics/api/partitions/0', JSON.stringify({ records: [{ value: { a: 1 } }] }), `application/vnd.kafka.${type}.v2+json`);
        expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
        expect(res.body.message).toContain(`${type} needs a schema registry`);
      }
      expect(await http.endOffset('api', 0)).toBe(before);
    });
    it('JSON nested too deep to store, and a stored value too deep to embed', async () => {
      const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
      expectError(await raw('POST', '/topics/api/partitions/1', `{"records":[{"value":${nested(25_000)}}]}`), 400, 'INVALID_JSON');
      expectError(await raw('POST', '/topics/api/partitions/1', `{"records":[{"value":${nested(1001)}}]}`), 400, 'INVALID_JSON');
      const ok = await raw('POST', '/topics/api/partitions/1', `{"records":[{"value":${nested(1000)}}]}`);
      expect(ok.status).toBe(200);
      // Written by a producer that does not check (here the string format): read back as its text, not a 500.
      const deep = await http.json<ProduceResponse>('POST', '/topics/api/partitions/1', { format: 'string', records: [{ value: nested(30_000) }] });
      const offset = deep.body.offsets[0].offset as number;
      const read = await http.json<HttpRecord[]>('GET', `/topics/api/partitions/1/records?offset=${offset}`);
      expect(read.status).toBe(200);
      expect(read.body[0].value).toBe(nested(30_000));
    });
    it('topic names up to Kafka’s 249 characters on every route, and a path parameter too long in the API’s error shape', async () => {
      const name = 'n'.repeat(249);
      await http.createTopic(name, 1);
      expect((await http.json('POST', `/topics/${name}/partitions/0`, { records: [{ value: 1 }] })).status).toBe(200);
      expect((await http.json<HttpRecord[]>('GET', `/topics/${name}/partitions/0/records?offset=0`)).body[0].value).toBe(1);
      expect((await http.json('GET', `/topics/${name}`)).status).toBe(200);
      expect((await http.json('DELETE', `/topics/${name}`)).status).toBe(204);
      expectError(await http.json('GET', `/topics/${'n'.repeat(2000)}`), 414, 'URI_TOO_LONG');
    });
    it('CONNECT and unknown methods get an answer in the API’s error shape', async () => {
      expectError(parseRawResponse(await rawExchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')), 405, 'METHOD_NOT_ALLOWED');
      expectError(parseRawResponse(await rawExchange('BREW /topics HTTP/1.1\r\nHost: x\r\n\r\n')), 405, 'METHOD_NOT_ALLOWED');
      expectError(parseRawResponse(await rawExchange('GET /topics HTTP/1.1\r\nBad Header\r\n\r\n')), 400, 'INVALID_REQUEST');
    });
    it('headers or a body that never finish arriving: 408 and the connection closes', async () => {
      const halfHeaders = rawExchange('GET /topics HTTP/1.1\r\nHost: x\r\nX-Slow: ', { endAfterMs: 15_000 });
      const endlessBody = rawExchange('POST /topics/api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"rec\r\n', { endAfterMs: 15_000 });
      expectError(parseRawResponse(await halfHeaders), 408, 'REQUEST_TIMEOUT');
      expectError(parseRawResponse(await endlessBody), 408, 'REQUEST_TIMEOUT');
    });

    it('keeps serving and loses nothing afterwards', async () => {
      const before = await http.endOffset('api', 0);
      const res = await http.json<ProduceResponse>('POST', '/topics/api/partitions/0', { records: [{ value: { still: 'fine' } }] });
      expect(res.body.offsets[0].offset).toBe(before);
      const read = await http.json<HttpRecord[]>('GET', `/topics/api/partitions/0/records?offset=${before}`);
      expect(read.body.map((r) => r.value)).toEqual([{ still: 'fine' }]);
      const spec = await http.json<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
      expect(spec.body.openapi).toMatch(/^3\./);
      expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/topics', '/topics/{topic}', '/topics/{topic}/partitions/{partition}/records']));
    });
  });
});
