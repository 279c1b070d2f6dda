// Idle memory of every service: the multi-process stack (two controllers on PostgreSQL, three brokers, a group
// coordinator, a gateway) over its own nats-server, left idle, then each process's resident set size read from /proc,
// beside the baseline measured in the same run: a bare Node.js process that only keeps a timer (what any service
// costs before its own code). Prints each figure beside the target (100 MB, issue 13); never fails on them.
//   npm run bench:memory -- [--idle-seconds N] [--topics N] [--node-flags "FLAGS"]
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createPostgresDatabase, startNatsServer, startStack } from '@sluice/testing';

const TARGET_MB = 100;

const { values: args } = parseArgs({
  options: {
    'idle-seconds': { type: 'string', default: '15' },
    topics: { type: 'string', default: '10' },
    'node-flags': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('npm run bench:memory -- [--idle-seconds N (15)] [--topics N (10, 3 partitions each)] [--node-flags "FLAGS" (for every service)]\n');
  process.exit(0);
}
const idleMs = Number(args['idle-seconds']) * 1000;
const topics = Number(args.topics);
if (!(idleMs >= 0) || !Number.isInteger(topics) || topics < 0) throw new Error('--idle-seconds and --topics must be non-negative numbers');

async function rssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return Math.round(kb / 1024);
}

const log = (line: string) => process.stdout.write(line + '\n');
const nats = await startNatsServer();
const db = await createPostgresDatabase();
const baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
try {
  log('starting the stack: 2 controllers (PostgreSQL), 3 brokers, 1 group coordinator, 1 gateway ...');
  const nodeArgs = args['node-flags'].split(' ').filter((f) => f !== '');
  const stack = await startStack({ natsUrl: nats.url, databaseUrl: db.url, controllers: 2, brokers: 3, nodeArgs });
  try {
    for (let i = 0; i < topics; i++) {
      const res = await fetch(`${stack.httpUrl}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `idle-${i}`, partitions: 3, replication_factor: 3 }) });
      if (res.status !== 201) throw new Error(`creating topic idle-${i}: ${res.status} ${await res.text()}`);
    }
    log(`${topics} topics created; idle for ${idleMs / 1000} s ...`);
    await new Promise((r) => setTimeout(r, idleMs));
    const rows: Array<[string, number]> = [['node baseline (a timer, nothing else)', await rssMb(baseline.pid)]];
    for (const [i, c] of stack.controllers.entries()) rows.push([`controller ${i + 1}${i === 0 ? ' (active)' : ' (standby)'}`, await rssMb(c.pid)]);
    for (const [id, b] of stack.brokers) rows.push([`broker ${id}`, await rssMb(b.pid)]);
    for (const [i, c] of stack.coordinators.entries()) rows.push([`group coordinator ${i + 1}`, await rssMb(c.pid)]);
    for (const [i, g] of stack.gateways.entries()) rows.push([`gateway ${i + 1}`, await rssMb(g.process.pid)]);
    log('');
    log(`${'process'.padEnd(40)} ${'RSS MB'.padStart(7)}  target`);
    for (const [name, mb] of rows) log(`${name.padEnd(40)} ${String(mb).padStart(7)}  ${name.startsWith('node') ? '(baseline)' : mb <= TARGET_MB ? `<= ${TARGET_MB}: met` : `<= ${TARGET_MB}: NOT met`}`);
  } finally {
    await stack.stop();
  }
} finally {
  baseline.kill();
  await db.drop();
  await nats.stop();
}
