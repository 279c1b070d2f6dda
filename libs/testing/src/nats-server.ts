// A nats-server for tests: a testcontainers container where a runtime exists, the local `nats-server` binary otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { containerRuntimeAvailable } from './container-runtime.js';
import { freePort, tempDir, waitFor } from './ports.js';

export interface NatsServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  port?: number;
  /** Largest message the server accepts; Sluice sends record batches up to this size. Default 8 MiB. */
  maxPayload?: number;
  jetstream?: boolean;
}

function tcpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('INFO'));
    });
    socket.once('error', () => resolve(false));
  });
}

/** The nats-server configuration Sluice expects (written to a file: max_payload has no command-line flag). */
export function natsServerConfig(port: number, maxPayload = 8 * 1024 * 1024): string {
  return `listen: 127.0.0.1:${port}\nmax_payload: ${maxPayload}\nmax_pending: ${Math.max(64 * 1024 * 1024, maxPayload * 4)}\n`;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  if (await containerRuntimeAvailable()) {
    const { NatsContainer } = await import('@testcontainers/nats');
    const container = await new NatsContainer('nats:2.10').withArg('--max_payload', String(options.maxPayload ?? 8 * 1024 * 1024)).start();
    const port = container.getMappedPort(4222);
    return { url: `nats://${container.getHost()}:${port}`, port, stop: async () => void (await container.stop()) };
  }
  return startLocalNatsServer(options);
}

export async function startLocalNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const dir = await tempDir('sluice-nats-');
  const configPath = join(dir.path, 'nats.conf');
  await writeFile(configPath, natsServerConfig(port, options.maxPayload));
  const args = ['-c', configPath];
  if (options.jetstream) args.push('-js', '-sd', join(dir.path, 'js'));
  const binary = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`cannot start ${binary} (install the nats-server package): ${err.message}`))),
  );
  await Promise.race([waitFor(() => tcpReady(port), { timeoutMs: 10_000, what: `nats-server on port ${port}: ${stderr}` }), spawnError]);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await dir.remove();
    },
  };
}
