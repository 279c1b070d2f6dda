// `sluice stack`: the local multi-process stack — a nats-server started from PATH, then the controller(s), N brokers,
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
  controllers: { type: 'string' },
  'data-dir': { type: 'string', default: './data/stack' },
  'nats-port': { type: 'string' },
  'nats-url': { type: 'string' },
  'http-port': { type: 'string', default: '8080' },
  'kafka-port': { type: 'string', default: '9092' },
  'admin-port': { type: 'string' },
  'database-url': { type: 'string' },
  'cluster-id': { type: 'string', default: 'sluice' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function stackHelp(): string {
  return `sluice stack: the multi-process stack on one machine.

Usage: sluice stack [options]   (npm run stack -- [options])

Options:
  --brokers N           number of broker processes (default 3)
  --controllers N       controller processes sharing the metadata database: one active, the others standing by to
                        take over (default 2 with --database-url postgres://..., 1 on SQLite, which holds only one)
  --data-dir DIR        data of every service (default ./data/stack)
  --nats-port PORT      port of the nats-server this command starts (default: a free port)
  --nats-url URL        use a running NATS server instead of starting one
  --http-port PORT      gateway HTTP port (default 8080)
  --kafka-port PORT     gateway Kafka protocol port (default 9092)
  --admin-port PORT     admin ports (/healthz, /readyz, /metrics) from PORT up, one per process in start order:
                        controllers, brokers, group coordinator, gateway (default: free ports, printed at start)
  --database-url URL    controller database (default: SQLite under the data dir; postgres://... for PostgreSQL)
  --cluster-id ID       cluster id (default sluice)

nats-server must be on PATH (Debian: apt-get install nats-server). Two stacks run side by side with their own
--data-dir, --http-port and --kafka-port. Ctrl-C (or SIGTERM) stops the services first, then the NATS server.
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

async function ready(adminPort: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok;
  } catch {
    return false;
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`sluice stack: ${message}\n`);
  process.exit(code);
}

function parseNumber(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}, got "${raw}"`, 2);
  return n;
}

interface Child {
  name: string;
  process: ChildProcess;
  adminPort?: number;
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
  const brokers = parseNumber('brokers', args.brokers, 1, 1000);
  const onPostgres = /^postgres(ql)?:\/\//.test(args['database-url'] ?? '');
  const controllers = parseNumber('controllers', args.controllers ?? (onPostgres ? '2' : '1'), 1, 9);
  if (controllers > 1 && !onPostgres) fail('--controllers above 1 needs --database-url postgres://...: SQLite serves one controller', 2);
  const httpPort = parseNumber('http-port', args['http-port'], 0, 65535);
  const kafkaPort = parseNumber('kafka-port', args['kafka-port'], 0, 65535);
  const processes = controllers + brokers + 2;
  const adminBase = args['admin-port'] === undefined ? undefined : parseNumber('admin-port', args['admin-port'], 1, 65535 - processes);
  let nextAdmin = adminBase;
  const adminPort = async (): Promise<number> => (nextAdmin === undefined ? freePort() : nextAdmin++);
  const dataDir = resolve(args['data-dir']);
  await mkdir(dataDir, { recursive: true });
  const children: Child[] = [];
  let stopping = false;

  const start = (name: string, command: string, commandArgs: string[], env: Record<string, string>, admin?: number, onLine?: (line: string) => void): Child => {
    // Each child in a process group of its own: a Ctrl-C at the terminal reaches only this process, which stops the
    // services first and the NATS server last (a signal to the whole group would stop NATS under the services).
    const child = spawn(command, commandArgs, {
      env: { ...process.env, ...env, ...(admin === undefined ? {} : { SLUICE_ADMIN_PORT: String(admin) }) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(`${name.padEnd(18)} | ${line}\n`);
        onLine?.(line);
      });
    }
    const exited = new Promise<void>((res) =>
      child.once('exit', (code, signal) => {
        if (!stopping) process.stdout.write(`${name.padEnd(18)} | exited (code ${code}, signal ${signal})\n`);
        res();
      }),
    );
    child.once('error', (err) => process.stderr.write(`${name}: cannot start ${command}: ${err.message}\n`));
    const c = { name, process: child, adminPort: admin, exited };
    children.push(c);
    return c;
  };
  const running = (c: Child): boolean => c.process.exitCode === null && c.process.signalCode === null;
  // Should this process die without stopping them (an uncaught error, SIGKILL aside), take the children along.
  process.once('exit', () => {
    for (const c of children) if (running(c)) c.process.kill('SIGKILL');
  });

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('sluice stack: stopping\n');
    // Services first (the controllers after the nodes that deregister from them), the NATS server last.
    const stopAll = async (group: Child[]): Promise<void> => {
      await Promise.all(group.map((c) => (running(c) && c.process.kill('SIGTERM'), c.exited)));
    };
    const isController = (c: Child): boolean => c.name.startsWith('controller');
    await stopAll(children.filter((c) => c.name !== 'nats-server' && !isController(c)));
    await stopAll(children.filter(isController));
    await stopAll(children.filter((c) => c.name === 'nats-server'));
    process.stdout.write('sluice stack: stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  /** Waits until one of `group` answers /readyz; stops the stack when they all exit first or it takes too long. */
  const waitReady = async (group: Child[], what: string): Promise<void> => {
    for (let i = 0; i < 1200 && !stopping; i++) {
      for (const c of group) if (c.adminPort !== undefined && (await ready(c.adminPort))) return;
      if (group.every((c) => !running(c))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (stopping) return;
    process.stderr.write(`sluice stack: ${what} did not become ready\n`);
    await stop();
  };

  let natsUrl = args['nats-url'];
  if (!natsUrl) {
    const natsPort = args['nats-port'] ? parseNumber('nats-port', args['nats-port'], 1, 65535) : await freePort();
    const conf = join(dataDir, 'nats.conf');
    // Record batches cross NATS whole: raise max_payload from its 1 MiB default.
    await writeFile(conf, `listen: 127.0.0.1:${natsPort}\nmax_payload: 8388608\n`);
    const nats = start('nats-server', 'nats-server', ['-c', conf], {});
    for (let i = 0; i < 100 && !(await portOpen(natsPort)); i++) {
      if (!running(nats)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!(await portOpen(natsPort))) fail('nats-server did not start (is it installed and on PATH?)', 1);
    natsUrl = `nats://127.0.0.1:${natsPort}`;
  }
  const common = { SLUICE_NATS_URL: natsUrl, SLUICE_CLUSTER_ID: args['cluster-id'] };
  const node = (app: string): string => join(appsDir, app, 'dist', 'main.js');

  // Controllers first, and the other services once one is ready: they register with it at start.
  const controllerDir = join(dataDir, 'controller');
  const databaseUrl = args['database-url'];
  const controllerProcesses: Child[] = [];
  for (let i = 1; i <= controllers; i++) {
    const name = controllers === 1 ? 'controller' : `controller-${i}`;
    const env = { ...common, SLUICE_DATA_DIR: controllers === 1 ? controllerDir : join(dataDir, name), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
    controllerProcesses.push(start(name, process.execPath, [node('controller')], env, await adminPort()));
  }
  await waitReady(controllerProcesses, 'the controller');
  if (stopping) return; // Ctrl-C while the controller started: start nothing more.
  for (let i = 1; i <= brokers; i++) {
    const env = { ...common, SLUICE_BROKER_ID: String(i), SLUICE_DATA_DIR: join(dataDir, `broker-${i}`) };
    start(`broker-${i}`, process.execPath, [node('broker')], env, await adminPort());
  }
  start('group-coordinator', process.execPath, [node('group-coordinator')], { ...common, SLUICE_DATA_DIR: join(dataDir, 'group-coordinator') }, await adminPort());
  const gatewayEnv = { ...common, SLUICE_HTTP_PORT: String(httpPort), SLUICE_KAFKA_PORT: String(kafkaPort) };
  // The ports the gateway listens on (0 asks for free ones): from its log.
  const listening = { http: httpPort, kafka: kafkaPort };
  const onGatewayLine = (line: string): void => {
    const m = /"port":(\d+).*"msg":"(http|kafka) listening"/.exec(line);
    if (m) listening[m[2] as 'http' | 'kafka'] = Number(m[1]);
  };
  const gateway = start('gateway', process.execPath, [node('gateway')], gatewayEnv, await adminPort(), onGatewayLine);
  const admin = children.filter((c) => c.adminPort !== undefined).map((c) => `${c.name} ${c.adminPort}`).join(', ');
  process.stdout.write(`sluice stack: NATS at ${natsUrl}, data in ${dataDir}, admin ports: ${admin}\n`);
  await waitReady([gateway], 'the gateway');
  if (!stopping) {
    process.stdout.write(`sluice stack: ready: Kafka clients at 127.0.0.1:${listening.kafka}, HTTP API at http://127.0.0.1:${listening.http}; Ctrl-C stops\n`);
  }
}
