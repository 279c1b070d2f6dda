// `sluice stack`: the local multi-process stack — a nats-server started from PATH, then the controller, N brokers,
// a group coordinator and a gateway, each its own process from its build output. Ctrl-C stops everything cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const appsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const options = {
  brokers: { type: 'string', default: '3' },
  'data-dir': { type: 'string', default: './data/stack' },
  'nats-port': { type: 'string' },
  'nats-url': { type: 'string' },
  'http-port': { type: 'string', default: '8080' },
  'kafka-port': { type: 'string', default: '9092' },
  'database-url': { type: 'string' },
  'cluster-id': { type: 'string', default: 'sluice' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function stackHelp(): string {
  return `sluice stack: the multi-process stack on one machine.

Usage: sluice stack [options]   (npm run stack -- [options])

Options:
  --brokers N           number of broker processes (default 3)
  --data-dir DIR        data of every service (default ./data/stack)
  --nats-port PORT      port of the nats-server this command starts (default: a free port)
  --nats-url URL        use a running NATS server instead of starting one
  --http-port PORT      gateway HTTP port (default 8080)
  --kafka-port PORT     gateway Kafka protocol port (default 9092)
  --database-url URL    controller database (default: SQLite under the data dir; postgres://... for PostgreSQL)
  --cluster-id ID       cluster id (default sluice)

nats-server must be on PATH (Debian: apt-get install nats-server). Admin ports: controller 9601,
brokers 9610+N, group coordinator 9603, gateway 9604. Ctrl-C stops everything.
`;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), res(true)));
    c.once('error', () => res(false));
  });
}

function parsePositive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`sluice stack: --${name} must be a number, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

export async function runStack(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs({ args: argv, options, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`sluice stack: ${(err as Error).message}\n\n${stackHelp()}`);
    process.exit(2);
  }
  const brokers = parsePositive('brokers', args.brokers);
  const httpPort = parsePositive('http-port', args['http-port']);
  const dataDir = resolve(args['data-dir']);
  await mkdir(dataDir, { recursive: true });
  const children: Child[] = [];
  let stopping = false;

  const start = (name: string, command: string, commandArgs: string[], env: Record<string, string>): Child => {
    const child = spawn(command, commandArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${name.padEnd(18)} | ${line}\n`));
    }
    const exited = new Promise<void>((res) =>
      child.once('exit', (code, signal) => {
        if (!stopping) process.stdout.write(`${name.padEnd(18)} | exited (code ${code}, signal ${signal})\n`);
        res();
      }),
    );
    child.once('error', (err) => process.stderr.write(`${name}: cannot start ${command}: ${err.message}\n`));
    const c = { name, process: child, exited };
    children.push(c);
    return c;
  };

  let natsUrl = args['nats-url'];
  if (!natsUrl) {
    const natsPort = args['nats-port'] ? parsePositive('nats-port', args['nats-port']) : await freePort();
    const conf = join(dataDir, 'nats.conf');
    // Record batches cross NATS whole: raise max_payload from its 1 MiB default.
    await writeFile(conf, `listen: 127.0.0.1:${natsPort}\nmax_payload: 8388608\n`);
    const nats = start('nats-server', 'nats-server', ['-c', conf], {});
    for (let i = 0; i < 100 && !(await portOpen(natsPort)); i++) {
      if (nats.process.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!(await portOpen(natsPort))) {
      process.stderr.write('sluice stack: nats-server did not start (is it installed and on PATH?)\n');
      process.exit(1);
    }
    natsUrl = `nats://127.0.0.1:${natsPort}`;
  }
  const common = { SLUICE_NATS_URL: natsUrl, SLUICE_CLUSTER_ID: args['cluster-id'] };
  const node = (app: string): string => join(appsDir, app, 'dist', 'main.js');

  start('controller', process.execPath, [node('controller')], {
    ...common,
    SLUICE_DATA_DIR: join(dataDir, 'controller'),
    SLUICE_ADMIN_PORT: '9601',
    ...(args['database-url'] ? { DATABASE_URL: args['database-url'] } : {}),
  });
  for (let i = 1; i <= brokers; i++) {
    start(`broker-${i}`, process.execPath, [node('broker')], {
      ...common,
      SLUICE_BROKER_ID: String(i),
      SLUICE_DATA_DIR: join(dataDir, `broker-${i}`),
      SLUICE_ADMIN_PORT: String(9610 + i),
    });
  }
  start('group-coordinator', process.execPath, [node('group-coordinator')], { ...common, SLUICE_ADMIN_PORT: '9603', SLUICE_DATA_DIR: join(dataDir, 'group-coordinator') });
  const kafkaPort = parsePositive('kafka-port', args['kafka-port']);
  start('gateway', process.execPath, [node('gateway')], { ...common, SLUICE_ADMIN_PORT: '9604', SLUICE_HTTP_PORT: String(httpPort), SLUICE_KAFKA_PORT: String(kafkaPort) });
  process.stdout.write(`sluice stack: NATS at ${natsUrl}, HTTP on port ${httpPort}, Kafka on port ${kafkaPort}, data in ${dataDir}. Ctrl-C stops.\n`);

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('sluice stack: stopping\n');
    // Services first, in reverse start order; the NATS server last so they can deregister.
    const services = children.filter((c) => c.name !== 'nats-server').reverse();
    await Promise.all(services.map((c) => (c.process.kill('SIGTERM'), c.exited)));
    for (const c of children.filter((c) => c.name === 'nats-server')) {
      c.process.kill('SIGTERM');
      await c.exited;
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
