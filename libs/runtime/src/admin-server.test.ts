import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { createMetricsRegistry, startAdminServer, type AdminServer } from './admin-server.js';
import { createLogger } from './logger.js';

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.close();
});

describe('admin server', () => {
  it('serves health, readiness and metrics', async () => {
    let ready = false;
    const registry = createMetricsRegistry('test');
    new Counter({ name: 'sluice_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      service: 'test',
      registry,
      logger: createLogger({ service: 'test', level: 'silent' }),
      readiness: () => (ready ? { ready: true } : { ready: false, reason: 'warming up' }),
    });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ reason: 'warming up' });
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/sluice_test_total\{service="test"\} 3/);
    expect(metrics).toContain('process_cpu_user_seconds_total');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
