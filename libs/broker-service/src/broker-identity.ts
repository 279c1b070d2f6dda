// The broker's identity on disk (meta.json in the data directory), like Kafka's meta.properties:
// a broker keeps its id across restarts and refuses a data directory that belongs to another cluster.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BrokerIdentity {
  brokerId: number;
  clusterId: string;
}

export async function readIdentity(dataDir: string): Promise<BrokerIdentity | undefined> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'meta.json'), 'utf8')) as BrokerIdentity;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${join(dataDir, 'meta.json')}: ${(err as Error).message}`, { cause: err });
  }
}

export async function writeIdentity(dataDir: string, identity: BrokerIdentity): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, 'meta.json');
  await writeFile(`${path}.tmp`, JSON.stringify(identity) + '\n');
  await rename(`${path}.tmp`, path);
}
