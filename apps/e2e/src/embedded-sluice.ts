// Starts `sluice dev` (the embedded mode) as a real process from its build output.
import { join } from 'node:path';
import { appEntry, freePort, ServiceProcess, tempDir, waitFor, type TempDir } from '@sluice/testing';

export interface EmbeddedSluice {
  process: ServiceProcess;
  dir: TempDir;
  httpUrl: string;
  adminUrl: string;
  /** host:port of the Kafka listener. */
  kafkaBootstrap: string;
  /** Stops the process (SIGTERM) and starts it again on the same data and ports. */
  restart(): Promise<{ code: number | null }>;
  /** Kills the process (SIGKILL: no shutdown at all) and starts it again on the same data and ports. */
  crashAndRestart(): Promise<{ signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startEmbedded(env: Record<string, string> = {}): Promise<EmbeddedSluice> {
  const dir = await tempDir('sluice-embedded-');
  const httpPort = await freePort();
  const adminPort = await freePort();
  const kafkaPort = await freePort();
  const launch = async () => {
    const p = await ServiceProcess.start({
      name: 'sluice-dev',
      entry: appEntry('cli'),
      args: ['dev'],
      // An unreachable NATS URL proves the embedded mode needs no NATS server.
      env: { SLUICE_DATA_DIR: dir.path, SLUICE_HTTP_PORT: String(httpPort), SLUICE_ADMIN_PORT: String(adminPort), SLUICE_KAFKA_PORT: String(kafkaPort), SLUICE_NATS_URL: 'nats://127.0.0.1:1', ...env },
      logDir: join(dir.path, 'logs'),
    });
    await p.waitForMessage('sluice started (embedded)', {}, 30_000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, { timeoutMs: 20_000, what: 'embedded sluice ready' });
    return p;
  };
  const sluice: EmbeddedSluice = {
    process: await launch(),
    dir,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    kafkaBootstrap: `127.0.0.1:${kafkaPort}`,
    restart: async () => {
      const result = await sluice.process.stop();
      sluice.process = await launch();
      return result;
    },
    crashAndRestart: async () => {
      sluice.process.kill('SIGKILL');
      const result = await sluice.process.exited;
      await sluice.process.stop();
      sluice.process = await launch();
      return result;
    },
    stop: async () => {
      await sluice.process.stop();
      await dir.remove();
    },
  };
  return sluice;
}
