// A second process started on a running process's data directory is refused before it writes anything there, with a
// message naming the directory and the holder; the lock does not outlive its holder (SIGKILL, then a start that works).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appEntry, freePort, ServiceProcess, startNatsServer, startStack, type NatsServer, type RunningStack } from '@sluice/testing';
import { startEmbedded } from './embedded-sluice.js';
import { Http, produceMixed, verifyAll } from './http-client.js';

/** Every file below `root` (but `skip`) with the hash of its bytes: what a second process must leave as it was. */
async function snapshotTree(root: string, skip: string[] = []): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    // The running first process rewrites its high-watermark checkpoints every few seconds: its own writes, not the
    // second process's (on a loaded machine the second one may take longer than that to be refused).
    if (!entry.isFile() || entry.name === 'highwatermark') continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(root, path);
    if (skip.some((s) => name === s || name.startsWith(`${s}/`))) continue;
    files[name] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return files;
}

/** Starts a second process and waits until it exits or says it started (which it must not). */
async function secondProcess(name: string, entry: string, args: string[], env: Record<string, string>, logDir: string, started: string) {
  const p = await ServiceProcess.start({ name, entry, args, env, logDir });
  const outcome = await Promise.race([p.exited, p.waitForMessage(started, {}, 60_000).then(() => 'started' as const)]);
  if (outcome === 'started') await p.stop();
  return { outcome, output: p.lines.map((l) => l.raw).join('\n') };
}

describe('data directory lock', () => {
  it('refuses a second sluice dev on the same directory, then starts again after the first was killed with SIGKILL', async () => {
    const first = await startEmbedded();
    try {
      const http = new Http(first.httpUrl);
      await http.createTopic('locked', 2, 1);
      const produced = await produceMixed(http, 'locked', 2, 500, 100);
      const before = await snapshotTree(first.dir.path, ['logs']);
      expect(Object.keys(before)).toEqual(expect.arrayContaining([expect.stringMatching(/^broker-1\/locked-0\/0+\.log$/)]));

      const ports = { SLUICE_HTTP_PORT: String(await freePort()), SLUICE_KAFKA_PORT: String(await freePort()), SLUICE_ADMIN_PORT: String(await freePort()) };
      const second = await secondProcess('sluice-dev-second', appEntry('cli'), ['dev'], { SLUICE_DATA_DIR: first.dir.path, ...ports }, join(first.dir.path, 'logs'), 'sluice started (embedded)');
      expect(second.outcome).toMatchObject({ code: 1 });
      expect(second.output).toContain(`failed to start: data directory ${first.dir.path} is in use by sluice dev (pid ${first.process.pid} `);
      expect(await snapshotTree(first.dir.path, ['logs'])).toEqual(before);

      first.process.kill('SIGKILL');
      await first.process.exited;
      await first.restart();
      await verifyAll(http, 'locked', 2, produced);
    } finally {
      await first.stop();
    }
  });

  describe('on the multi-process stack', () => {
    let nats: NatsServer;
    let stack: RunningStack;
    let http: Http;
    beforeAll(async () => {
      nats = await startNatsServer();
      stack = await startStack({ natsUrl: nats.url, brokers: 1 });
      http = new Http(stack.httpUrl);
    }, 120_000);
    afterAll(async () => {
      await stack?.stop();
      await nats?.stop();
    });

    it('refuses a second broker, controller or group coordinator on a running one’s directory; the first keeps serving', async () => {
      await http.createTopic('held', 2, 1);
      const produced = await produceMixed(http, 'held', 2, 500, 100);
      const logDir = join(stack.dir.path, 'logs');
      const common = { SLUICE_NATS_URL: nats.url, SLUICE_CLUSTER_ID: stack.clusterId, SLUICE_ADMIN_PORT: '0', SLUICE_ADMIN_HOST: '127.0.0.1' };
      const services = [
        { service: 'broker', dir: 'broker-1', holder: stack.brokers.get(1)!, env: { SLUICE_BROKER_ID: '1' } },
        { service: 'controller', dir: 'controller', holder: stack.controller, env: { DATABASE_URL: '' } },
        { service: 'group-coordinator', dir: 'group-coordinator-1', holder: stack.coordinator, env: {} },
      ] as const;
      for (const s of services) {
        const dataDir = join(stack.dir.path, s.dir);
        const before = await snapshotTree(dataDir);
        const second = await secondProcess(`${s.service}-second`, appEntry(s.service), [], { ...common, ...s.env, SLUICE_DATA_DIR: dataDir }, logDir, `${s.service} started`);
        expect(second.outcome).toMatchObject({ code: 1 });
        expect(second.output).toContain(`failed to start: data directory ${dataDir} is in use by ${s.service} (pid ${s.holder.pid} `);
        expect(await snapshotTree(dataDir)).toEqual(before);
      }
      // Nothing of the running broker was taken: it still leads its partitions and takes records.
      const described = await http.json<{ partitions: Array<{ leader: number }> }>('GET', '/topics/held');
      expect(described.body.partitions.map((p) => p.leader)).toEqual([1, 1]);
      await http.createTopic('after', 1, 1);
      const after = await http.json<{ offsets: Array<{ offset: number; error_code: number | null }> }>('POST', '/topics/after', { format: 'string', records: [{ value: 'v' }] });
      expect(after.body.offsets).toEqual([expect.objectContaining({ offset: 0, error_code: null })]);
      await verifyAll(http, 'held', 2, produced);

      stack.brokers.get(1)!.kill('SIGKILL');
      await stack.brokers.get(1)!.exited;
      await stack.startBroker(1);
      await verifyAll(http, 'held', 2, produced);
    });
  });
});
