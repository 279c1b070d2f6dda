// Prometheus metrics on the multi-process stack (2 brokers, a group coordinator, a gateway over a real nats-server):
// records produced over Kafka (KafkaJS) and HTTP, read back with kcat and HTTP, and a group's committed offsets
// show up on each service's /metrics as per-topic bytes and records in and out, Kafka and HTTP request histograms,
// open connections and event streams, rebalances and consumer lag.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, startStack, waitFor, workspaceRoot, type NatsServer, type RunningStack } from '@sluice/testing';
import { Http } from './http-client.js';
import { kcatOk } from './kcat.js';
import { declaredMetrics, metricValue, scrape, scrapeText, type Sample } from './prometheus.js';

let nats: NatsServer;
let stack: RunningStack;
let http: Http;

beforeAll(async () => {
  nats = await startNatsServer();
  stack = await startStack({ natsUrl: nats.url, brokers: 2, env: { SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS: '200', SLUICE_GROUP_LAG_REFRESH_MS: '0' } });
  http = new Http(stack.httpUrl);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
});

const kafka = () => new Kafka({ clientId: 'metrics-e2e', brokers: [stack.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });
const brokers = () => scrape([...stack.brokers.values()].map((process) => ({ process, service: 'broker' })));
const gateway = () => scrape([{ process: stack.gateway, service: 'gateway' }]);
const coordinator = () => scrape([{ process: stack.coordinator, service: 'group-coordinator' }]);
const topic = { topic: 'metered' };

describe('Prometheus metrics', () => {
  it('counts records and bytes in and out per topic at the brokers, and HTTP traffic per topic at the gateway', async () => {
    await http.createTopic('metered', 2);
    await http.createTopic('other', 1);
    const before = await gateway();
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: 'metered', messages: Array.from({ length: 20 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `kafka-${i}` })) });
    // An open Kafka connection is counted while the producer is connected.
    expect(metricValue(await gateway(), 'sluice_gateway_connections', { protocol: 'kafka' })).toBeGreaterThanOrEqual(1);
    await producer.disconnect();
    const produced = await http.json('POST', '/topics/metered/partitions/1', { format: 'string', records: Array.from({ length: 10 }, (_, i) => ({ value: `http-${i}` })) });
    expect(produced.status).toBe(200);

    let b = await brokers();
    expect(metricValue(b, 'sluice_broker_records_in_total', topic)).toBe(30);
    expect(metricValue(b, 'sluice_broker_records_in_total', { topic: 'other' })).toBe(0);
    const bytesIn = metricValue(b, 'sluice_broker_bytes_in_total', topic) ?? 0;
    expect(bytesIn).toBeGreaterThan(30 * 'kafka-0'.length);
    expect(metricValue(b, 'sluice_broker_records_out_total', topic)).toBe(0);

    // Reading both partitions once from the start hands out every byte that went in, and every record.
    const { out } = await kcatOk(stack.kafkaBootstrap, ['-C', '-t', 'metered', '-o', 'beginning', '-e', '-f', '%s\n']);
    expect(out.trim().split('\n')).toHaveLength(30);
    b = await brokers();
    expect(metricValue(b, 'sluice_broker_records_out_total', topic)).toBe(30);
    expect(metricValue(b, 'sluice_broker_bytes_out_total', topic)).toBe(bytesIn);

    // A read from inside a batch counts the records from the fetch offset on.
    const read = await http.json<unknown[]>('GET', '/topics/metered/partitions/1/records?offset=4&format=string');
    expect(read.body).toHaveLength(6);
    b = await brokers();
    expect(metricValue(b, 'sluice_broker_records_out_total', topic)).toBe(36);

    const g = await gateway();
    expect(metricValue(g, 'sluice_gateway_http_records_produced_total', topic)).toBe(10);
    expect(metricValue(g, 'sluice_gateway_http_records_read_total', topic)).toBe(6);
    expect(metricValue(g, 'sluice_gateway_http_batch_bytes_produced_total', topic)).toBeGreaterThan(0);
    // Kafka requests per API: the producer's one Produce, and the Metadata and ApiVersions before it.
    const count = (samples: Sample[], api: string) => metricValue(samples, 'sluice_gateway_kafka_request_seconds_count', { api }) ?? 0;
    expect(count(g, 'Produce')).toBeGreaterThan(count(before, 'Produce'));
    expect(count(g, 'Metadata')).toBeGreaterThan(count(before, 'Metadata'));
    expect(count(g, 'ApiVersions')).toBeGreaterThan(count(before, 'ApiVersions'));
    expect(count(g, 'Fetch')).toBeGreaterThan(0);
    expect(metricValue(g, 'sluice_gateway_kafka_request_seconds_bucket', { api: 'Produce', le: '+Inf' })).toBe(count(g, 'Produce'));
    // HTTP requests per route pattern, never per raw URL.
    expect(metricValue(g, 'sluice_gateway_http_request_seconds_count', { method: 'POST', route: '/topics/:topic/partitions/:partition', status: '200' })).toBe(1);
    expect(metricValue(g, 'sluice_gateway_http_request_seconds_count', { method: 'GET', route: '/topics/:topic/partitions/:partition/records', status: '200' })).toBe(1);
    expect(g.some((s) => s.name.startsWith('sluice_gateway_http_request_seconds') && s.labels.route?.includes('metered'))).toBe(false);
    expect(metricValue(g, 'sluice_gateway_connections_accepted_total', { protocol: 'kafka' })).toBeGreaterThanOrEqual(2);
  });

  it('counts open HTTP connections and event streams', async () => {
    const abort = new AbortController();
    const res = await fetch(`${stack.httpUrl}/topics/metered/stream?offset=earliest&format=string`, { signal: abort.signal });
    expect(res.status).toBe(200);
    const g = await gateway();
    expect(metricValue(g, 'sluice_gateway_connections', { protocol: 'sse' })).toBe(1);
    expect(metricValue(g, 'sluice_gateway_connections', { protocol: 'http' })).toBeGreaterThanOrEqual(1);
    abort.abort();
    await waitFor(async () => metricValue(await gateway(), 'sluice_gateway_connections', { protocol: 'sse' }) === 0, { what: 'the event stream closed' });
  });

  it('counts rebalances per group and reports consumer lag per group, topic and partition', async () => {
    const consumer = kafka().consumer({ groupId: 'metered-readers', heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'metered', fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => void seen++ });
    await waitFor(async () => seen >= 30, { timeoutMs: 60_000, what: 'the group consumed everything' });
    await consumer.disconnect();
    let c = await coordinator();
    expect(metricValue(c, 'sluice_group_rebalances_total', { group: 'metered-readers' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(c, 'sluice_group_coordinator_shards')).toBeGreaterThan(0);
    const g = await gateway();
    for (const api of ['FindCoordinator', 'JoinGroup', 'SyncGroup', 'OffsetCommit']) {
      expect(metricValue(g, 'sluice_gateway_kafka_request_seconds_count', { api }), api).toBeGreaterThan(0);
    }

    // A group that committed part of each partition: lag is what is left.
    const admin = kafka().admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'metered-lag', topic: 'metered', partitions: [{ partition: 0, offset: '15' }, { partition: 1, offset: '4' }] });
    await admin.disconnect();
    const lag = (samples: Sample[], group: string, partition: string) => metricValue(samples, 'sluice_consumer_group_lag', { group, topic: 'metered', partition });
    c = await coordinator();
    expect(lag(c, 'metered-lag', '0')).toBe(5);
    expect(lag(c, 'metered-lag', '1')).toBe(6);
    expect(metricValue(c, 'sluice_consumer_group_committed_offset', { group: 'metered-lag', topic: 'metered', partition: '0' })).toBe(15);
    expect(lag(c, 'metered-readers', '0')).toBe(0);
    expect(lag(c, 'metered-readers', '1')).toBe(0);

    // More records: the lag grows on the next scrape.
    await http.json('POST', '/topics/metered/partitions/0', { format: 'string', records: [{ value: 'late-1' }, { value: 'late-2' }] });
    c = await coordinator();
    expect(lag(c, 'metered-lag', '0')).toBe(7);
    expect(lag(c, 'metered-readers', '0')).toBe(2);
  });

  it('reports replication state at the brokers', async () => {
    const b = await brokers();
    expect(metricValue(b, 'sluice_broker_under_replicated_partitions')).toBe(0);
    expect(metricValue(b, 'sluice_broker_offline_replica_partitions')).toBe(0);
    expect(metricValue(b, 'sluice_broker_leader_partitions')).toBe(3);
  });

  it('documents every metric the services expose, and the Grafana dashboard queries only metrics that exist', async () => {
    const text = await scrapeText([
      { process: stack.controller, service: 'controller' },
      ...[...stack.brokers.values()].map((process) => ({ process, service: 'broker' })),
      { process: stack.coordinator, service: 'group-coordinator' },
      { process: stack.gateway, service: 'gateway' },
    ]);
    const declared = declaredMetrics(text);
    const exposed = [...declared].filter((name) => name.startsWith('sluice_'));
    const docs = new Set([...(await readFile(join(workspaceRoot, 'docs/metrics.md'), 'utf8')).matchAll(/`(sluice_[a-z_]+)/g)].map((m) => m[1]));
    expect(exposed.filter((name) => !docs.has(name)), 'exposed but not in docs/metrics.md').toEqual([]);
    expect([...docs].filter((name) => !declared.has(name)), 'in docs/metrics.md but not exposed').toEqual([]);
    const dashboard = await readFile(join(workspaceRoot, 'docker/grafana/dashboards/sluice.json'), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b((?:sluice|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|count|sum)$/, '')));
    expect([...queried].filter((name) => !declared.has(name)), 'queried by the dashboard but not exposed').toEqual([]);
  });
});
