// A small client for the gateway's HTTP API, and the produce/read flow the stack and embedded tests share.
import { partitionForKey } from '@sluice/protocol';
import { expect } from 'vitest';

export interface HttpRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

export class Http {
  constructor(readonly base: string) {}

  async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  async createTopic(name: string, partitions: number, replicationFactor = 1): Promise<void> {
    const res = await this.json('POST', '/topics', { name, partitions, replication_factor: replicationFactor });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    const res = await this.json<{ end_offset: number }>('GET', `/topics/${topic}/partitions/${partition}/offsets`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.end_offset;
  }

  /** Reads a partition from `from` to its end offset. */
  async readAll(topic: string, partition: number, from = 0): Promise<HttpRecord[]> {
    const end = await this.endOffset(topic, partition);
    const out: HttpRecord[] = [];
    let offset = from;
    while (offset < end) {
      const res = await this.json<HttpRecord[]>('GET', `/topics/${topic}/partitions/${partition}/records?offset=${offset}&format=string&max_bytes=262144`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.length).toBeGreaterThan(0);
      out.push(...res.body);
      offset = res.body[res.body.length - 1].offset + 1;
    }
    return out;
  }
}

interface Produced {
  seq: number;
  key: string | null;
  partition: number;
  offset: number;
}

/**
 * Produces `count` records, half keyed and half not, in requests of `perRequest`, and checks the placement of keyed
 * records against Kafka's partitioner. Returns what each record got.
 */
export async function produceMixed(http: Http, topic: string, partitions: number, count: number, perRequest = 500): Promise<Produced[]> {
  const produced: Produced[] = [];
  for (let start = 0; start < count; start += perRequest) {
    const records = Array.from({ length: Math.min(perRequest, count - start) }, (_, i) => {
      const seq = start + i;
      const key = seq % 2 === 0 ? `user-${seq % 97}` : null;
      return { key, value: `record-${seq}`, headers: { seq: String(seq) } };
    });
    const res = await http.json<{ offsets: Array<{ partition: number; offset: number; error_code: number | null }> }>('POST', `/topics/${topic}`, {
      format: 'string',
      records,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.offsets).toHaveLength(records.length);
    res.body.offsets.forEach((o, i) => {
      expect(o.error_code ?? null, JSON.stringify(o)).toBeNull();
      const seq = start + i;
      const key = records[i].key;
      if (key !== null) expect(o.partition).toBe(partitionForKey(Buffer.from(key), partitions));
      produced.push({ seq, key, partition: o.partition, offset: o.offset });
    });
  }
  return produced;
}

/** Reads every partition back and checks that every produced record is there once, in order, where the producer was told. */
export async function verifyAll(http: Http, topic: string, partitions: number, produced: Produced[]): Promise<Map<number, HttpRecord[]>> {
  const byPartition = new Map<number, HttpRecord[]>();
  let total = 0;
  for (let p = 0; p < partitions; p++) {
    const records = await http.readAll(topic, p);
    byPartition.set(p, records);
    total += records.length;
    records.forEach((r, i) => {
      expect(r.offset).toBe(i);
      expect(r.partition).toBe(p);
    });
    // Records of one partition come back in the order they were produced.
    const seqs = records.map((r) => Number((r.value ?? '').slice('record-'.length)));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  }
  expect(total).toBe(produced.length);
  for (const rec of produced) {
    const got = byPartition.get(rec.partition)?.[rec.offset];
    expect(got, `record ${rec.seq} at ${rec.partition}/${rec.offset}`).toBeDefined();
    if (!got) continue;
    expect(got.value).toBe(`record-${rec.seq}`);
    expect(got.key).toBe(rec.key);
    expect(got.headers).toEqual([{ key: 'seq', value: String(rec.seq) }]);
  }
  const used = [...byPartition.values()].filter((r) => r.length > 0).length;
  expect(used).toBe(partitions);
  return byPartition;
}
