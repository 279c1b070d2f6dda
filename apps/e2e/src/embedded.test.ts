// `npm start`'s embedded mode: every service in one process, in-process bus, SQLite, zero external servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appEntry, freePort, ServiceProcess, tempDir, waitFor, type TempDir } from '@sluice/testing';
import { Http, produceMixed, verifyAll } from './http-client.js';

let dir: TempDir;
let sluice: ServiceProcess;
let http: Http;
let httpPort: number;
let adminPort: number;

async function startEmbedded(): Promise<ServiceProcess> {
  const p = await ServiceProcess.start({
    name: 'sluice-dev',
    entry: appEntry('cli'),
    args: ['dev'],
    env: { SLUICE_DATA_DIR: dir.path, SLUICE_HTTP_PORT: String(httpPort), SLUICE_ADMIN_PORT: String(adminPort), SLUICE_NATS_URL: 'nats://127.0.0.1:1' },
  });
  await p.waitForMessage('sluice started (embedded)', {}, 30_000);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, { timeoutMs: 20_000, what: 'embedded sluice ready' });
  return p;
}

beforeAll(async () => {
  dir = await tempDir('sluice-embedded-');
  httpPort = await freePort();
  adminPort = await freePort();
  sluice = await startEmbedded();
  http = new Http(`http://127.0.0.1:${httpPort}`);
});

afterAll(async () => {
  await sluice?.stop();
  await dir?.remove();
});

describe('embedded mode (sluice dev)', () => {
  let produced: Awaited<ReturnType<typeof produceMixed>>;

  it('serves the produce/read flow with no external server', async () => {
    await http.createTopic('events', 4);
    produced = await produceMixed(http, 'events', 4, 3000, 250);
    await verifyAll(http, 'events', 4, produced);
  });

  it('stops cleanly on SIGTERM and keeps everything across a restart', async () => {
    const result = await sluice.stop();
    expect(result.code).toBe(0);
    sluice = await startEmbedded();
    await verifyAll(http, 'events', 4, produced);
    const list = await http.json<string[]>('GET', '/topics');
    expect(list.body).toContain('events');
  });

  it('serves health, readiness and Prometheus metrics on its admin port', async () => {
    expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toMatch(/sluice_broker_records_in_total\{service="sluice"\} \d+/);
  });
});
