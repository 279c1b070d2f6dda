// `sluice stack` as a user runs it: two stacks side by side on one machine (no fixed admin ports), a start that logs
// no warning or stack trace, and Ctrl-C at the terminal (SIGINT to the whole process group) stopping every service
// cleanly before the NATS server.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appEntry, freePort, ServiceProcess, tempDir, type TempDir } from '@sluice/testing';
import { noisyLines } from './start-log.js';

interface Stack {
  process: ServiceProcess;
  httpUrl: string;
}

const SERVICES = ['controller', 'broker-1', 'group-coordinator', 'gateway'];
let dir: TempDir;
const stacks: Stack[] = [];

async function startStack(name: string): Promise<Stack> {
  const httpPort = await freePort();
  const kafkaPort = await freePort();
  const proc = await ServiceProcess.start({
    name,
    entry: appEntry('cli'),
    args: ['stack', '--brokers', '1', '--data-dir', join(dir.path, name), '--http-port', String(httpPort), '--kafka-port', String(kafkaPort)],
    logDir: join(dir.path, 'logs'),
    detached: true,
  });
  return { process: proc, httpUrl: `http://127.0.0.1:${httpPort}` };
}

const ready = (s: Stack) => s.process.waitForLog((l) => l.raw.startsWith('sluice stack: ready:'), 90_000);

beforeAll(async () => {
  dir = await tempDir('sluice-stack-cli-');
  // Both at once: with fixed admin ports the second stack's services would fail to listen.
  stacks.push(...(await Promise.all([startStack('stack-a'), startStack('stack-b')])));
  await Promise.all(stacks.map(ready));
}, 120_000);

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.process.stop(20_000)));
  await dir?.remove();
});

describe('sluice stack', () => {
  it('runs twice side by side, each stack serving on its own ports', async () => {
    for (const s of stacks) {
      const res = await fetch(`${s.httpUrl}/brokers`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ brokers: [1] });
    }
    const adminPorts = stacks.map((s) => s.process.lines.find((l) => l.raw.includes('admin ports:'))?.raw);
    expect(adminPorts[0]).toMatch(/controller \d+, broker-1 \d+, group-coordinator \d+, gateway \d+/);
    expect(adminPorts[0]).not.toEqual(adminPorts[1]);
  });

  it('starts without warnings, errors or stack traces', () => {
    for (const s of stacks) expect(noisyLines(s.process.lines)).toEqual([]);
  });

  it('stops every service cleanly, then NATS, on Ctrl-C to the whole process group', async () => {
    const s = stacks[0];
    s.process.signalGroup('SIGINT');
    expect(await s.process.exited).toEqual({ code: 0, signal: null });
    const raw = s.process.lines.map((l) => l.raw);
    const at = (match: (line: string) => boolean): number => raw.findIndex(match);
    const natsExit = at((l) => l.startsWith('nats-server') && l.includes('Server Exiting'));
    expect(natsExit).toBeGreaterThan(0);
    for (const service of SERVICES) {
      // The lifecycle's 'stopped' comes once the service's stop() has finished (a broker's checkpoints written).
      const stopped = at((l) => l.startsWith(`${service} `) && l.includes('"msg":"stopped"'));
      expect(stopped, `${service} stopped cleanly`).toBeGreaterThan(0);
      expect(stopped, `${service} stopped before NATS`).toBeLessThan(natsExit);
    }
    expect(at((l) => l.includes('"msg":"broker stopped"'))).toBeGreaterThan(0);
    expect(raw.filter((l) => l.includes('second signal') || /"level":"(warn|error)"/.test(l))).toEqual([]);
    // The other stack is untouched.
    expect((await fetch(`${stacks[1].httpUrl}/brokers`)).status).toBe(200);
  });
});
