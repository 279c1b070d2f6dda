// `npm start`'s embedded mode: every service in one process, in-process bus, SQLite, zero external servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http, produceMixed, verifyAll } from './http-client.js';
import { noisyLines } from './start-log.js';

let sluice: EmbeddedSluice;
let http: Http;

beforeAll(async () => {
  sluice = await startEmbedded();
  http = new Http(sluice.httpUrl);
});

afterAll(async () => {
  await sluice?.stop();
});

describe('embedded mode (sluice dev)', () => {
  let produced: Awaited<ReturnType<typeof produceMixed>>;

  it('serves the produce/read flow with no external server', async () => {
    await http.createTopic('events', 4);
    produced = await produceMixed(http, 'events', 4, 3000, 250);
    await verifyAll(http, 'events', 4, produced);
  });

  it('stops cleanly on SIGTERM and keeps everything across a restart', async () => {
    expect((await sluice.restart()).code).toBe(0);
    await verifyAll(http, 'events', 4, produced);
    const list = await http.json<string[]>('GET', '/topics');
    expect(list.body).toContain('events');
  });

  it('ends its start with where to go next: the Kafka and HTTP addresses it listens on', async () => {
    const ready = await sluice.process.waitForLog((l) => typeof l.json?.msg === 'string' && l.json.msg.startsWith('ready: '));
    const kafkaPort = sluice.kafkaBootstrap.split(':')[1];
    const httpPort = new URL(sluice.httpUrl).port;
    expect(ready.json?.msg).toBe(
      `ready: Kafka clients at 127.0.0.1:${kafkaPort}, HTTP API at http://127.0.0.1:${httpPort} (docs at http://127.0.0.1:${httpPort}/docs), web console at http://127.0.0.1:${httpPort}/console; try \`npx sluice cluster info\``,
    );
  });

  it('starts without warnings, errors or stack traces', async () => {
    await sluice.process.waitForLog((l) => typeof l.json?.msg === 'string' && l.json.msg.startsWith('ready: '));
    expect(noisyLines(sluice.process.lines)).toEqual([]);
  });

  it('serves health, readiness and Prometheus metrics on its admin port', async () => {
    expect((await fetch(`${sluice.adminUrl}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/sluice_broker_records_in_total\{topic="events",service="sluice"\} \d+/);
    expect(metrics).toMatch(/sluice_controller_topics\{service="sluice"\} 1/);
    // Every service's metrics share the one registry: the gateway's and the group coordinator's are there too.
    expect(metrics).toMatch(/sluice_gateway_kafka_request_seconds_count\{api="Produce",service="sluice"\} \d+/);
    expect(metrics).toContain('# TYPE sluice_consumer_group_lag gauge');
  });
});
