// The system under fuzzing: `sluice dev` (the embedded mode) started from its build output as a real process, on free
// ports, with a nats-server of its own (the embedded mode talks over an in-process bus, so the server only proves that
// nothing reaches for one).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appEntry, freePort, ServiceProcess, startLocalNatsServer, tempDir, waitFor, type NatsServer, type TempDir } from '@sluice/testing';

export interface Target {
  process: ServiceProcess;
  httpUrl: string;
  httpPort: number;
  kafkaPort: number;
  kafkaBootstrap: string;
  dataDir: string;
  /** Resident set size of the process in bytes (from /proc), or 0 where /proc is missing. */
  rss(): Promise<number>;
  stop(): Promise<void>;
  /** Stops the process and its nats-server but keeps the data directory (and the process's log in it). */
  stopKeepingData(): Promise<void>;
}

/** Limits that keep hostile CreateTopics/CreatePartitions inputs from filling the disk (documented in the README). */
const FUZZ_ENV = {
  SLUICE_MAX_PARTITIONS: '64',
  SLUICE_MAX_CLUSTER_PARTITIONS: '4000',
};

export async function startTarget(env: Record<string, string> = {}): Promise<Target> {
  const dir: TempDir = await tempDir('sluice-fuzz-');
  const nats: NatsServer = await startLocalNatsServer();
  const [httpPort, adminPort, kafkaPort] = [await freePort(), await freePort(), await freePort()];
  const process = await ServiceProcess.start({
    name: 'sluice-fuzz',
    entry: appEntry('cli'),
    args: ['dev'],
    // SIGUSR2 writes a diagnostic report (with the JavaScript stack, even of a wedged event loop) into reports/.
    nodeArgs: ['--report-on-signal', `--report-directory=${join(dir.path, 'reports')}`, ...(globalThis.process.env.SLUICE_FUZZ_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
    env: { SLUICE_DATA_DIR: dir.path, SLUICE_HTTP_PORT: String(httpPort), SLUICE_ADMIN_PORT: String(adminPort), SLUICE_KAFKA_PORT: String(kafkaPort), SLUICE_NATS_URL: nats.url, ...FUZZ_ENV, ...env },
    logDir: join(dir.path, 'logs'),
  });
  try {
    await process.waitForLog((l) => l.json?.msg === 'sluice started (embedded)', 60_000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, { timeoutMs: 30_000, what: 'embedded sluice ready' });
  } catch (error) {
    await process.stop();
    await nats.stop();
    throw error;
  }
  return {
    process,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpPort,
    kafkaPort,
    kafkaBootstrap: `127.0.0.1:${kafkaPort}`,
    dataDir: dir.path,
    rss: async () => {
      try {
        const status = await readFile(`/proc/${process.pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
        return kb ? Number(kb) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    stop: async () => {
      await process.stop();
      await nats.stop();
      await dir.remove();
    },
    stopKeepingData: async () => {
      await process.stop();
      await nats.stop();
    },
  };
}
