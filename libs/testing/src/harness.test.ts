import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startLocalNatsServer } from './nats-server.js';
import { freePort, tempDir, waitFor } from './ports.js';
import { createPostgresDatabase } from './postgres.js';
import { ServiceProcess } from './service-process.js';

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('test harness', () => {
  it('starts a nats-server on a free port and stops it', async () => {
    const nats = await startLocalNatsServer();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(await reachable(nats.port)).toBe(true);
    await nats.stop();
    expect(await reachable(nats.port)).toBe(false);
  });

  it('creates a fresh PostgreSQL database and drops it', async () => {
    const db = await createPostgresDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    expect((await client.query('select count(*)::int as n from pg_tables where schemaname = $1', ['public'])).rows[0].n).toBe(0);
    await client.end();
    await db.drop();
    const again = new pg.Client({ connectionString: db.url });
    await expect(again.connect()).rejects.toThrow(/does not exist/);
  });

  it('runs a process, reads its JSON log lines, and stops it with SIGTERM', async () => {
    const dir = await tempDir();
    const script = join(dir.path, 'service.mjs');
    await writeFile(
      script,
      `process.on('SIGTERM', () => { console.log(JSON.stringify({ msg: 'bye' })); process.exit(0); });
       console.log(JSON.stringify({ msg: 'started', port: 42 }));
       setInterval(() => {}, 1000);`,
    );
    const p = await ServiceProcess.start({ name: 'fake', entry: script, logDir: dir.path });
    const line = await p.waitForMessage('started');
    expect(line.json?.port).toBe(42);
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    expect(p.lines.map((l) => l.json?.msg)).toEqual(['started', 'bye']);
    await expect(p.waitForMessage('never', {}, 100)).rejects.toThrow(/exited/);
    await dir.remove();
  });

  it('gives up waiting with a message naming what it waited for', async () => {
    await expect(waitFor(() => false, { timeoutMs: 100, what: 'a miracle' })).rejects.toThrow(/a miracle/);
    expect(await waitFor(() => 7)).toBe(7);
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
  });
});
