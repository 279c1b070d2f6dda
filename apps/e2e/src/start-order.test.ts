// Services are deployed independently, so they must not depend on start order: here the controller comes last.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appEntry, freePort, ServiceProcess, startNatsServer, tempDir, waitReady, type NatsServer, type TempDir } from '@sluice/testing';

let nats: NatsServer | undefined;
let dir: TempDir | undefined;
const processes: ServiceProcess[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await nats?.stop();
  await dir?.remove();
});

describe('start order', () => {
  it('gateway, coordinator and broker started before the controller all become ready', async () => {
    nats = await startNatsServer();
    dir = await tempDir('sluice-order-');
    const env = { SLUICE_NATS_URL: nats.url, SLUICE_CLUSTER_ID: 'order', SLUICE_ADMIN_PORT: '0', SLUICE_ADMIN_HOST: '127.0.0.1' };
    const start = async (name: string, app: Parameters<typeof appEntry>[0], extra: Record<string, string> = {}) => {
      const p = await ServiceProcess.start({ name, entry: appEntry(app), env: { ...env, ...extra }, logDir: join(dir!.path, 'logs') });
      processes.push(p);
      return p;
    };
    const httpPort = await freePort();
    const gateway = await start('gateway', 'gateway', { SLUICE_HTTP_PORT: String(httpPort) });
    const coordinator = await start('group-coordinator', 'group-coordinator');
    const broker = await start('broker-1', 'broker', { SLUICE_BROKER_ID: '1', SLUICE_DATA_DIR: join(dir.path, 'broker-1') });
    await new Promise((r) => setTimeout(r, 1500));
    expect(gateway.running && coordinator.running && broker.running).toBe(true);
    const controller = await start('controller', 'controller', { SLUICE_DATA_DIR: join(dir.path, 'controller') });
    await Promise.all([
      waitReady(controller, 'controller'),
      waitReady(broker, 'broker'),
      waitReady(coordinator, 'group-coordinator'),
      waitReady(gateway, 'gateway'),
    ]);
    const res = await fetch(`http://127.0.0.1:${httpPort}/brokers`);
    expect(await res.json()).toEqual({ brokers: [1] });
  });
});
