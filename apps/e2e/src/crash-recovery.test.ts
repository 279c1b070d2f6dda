// Records acknowledged with acks=all survive a SIGKILL of the process holding the log, and are readable at once after
// the restart — over Kafka (kcat) and over HTTP, with ListOffsets latest at the count — in the embedded `sluice dev`
// and on the multi-process stack (the broker killed). Before the fix, the restarted leader reported end offset 0 and
// served nothing: the high watermark came back from a checkpoint written only at flush or clean close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, startStack, waitFor, type NatsServer, type RunningStack } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';
import { kcatOk } from './kcat.js';

const PARTITIONS = 3;
const RECORDS = 500;
/** No periodic high-watermark checkpoint during the test: what the restarted leader serves is all its own doing. */
const env = { SLUICE_LOG_HW_CHECKPOINT_INTERVAL_MS: String(3_600_000) };
const produced = Array.from({ length: RECORDS }, (_, i) => `key-${i}=value-${i}`).sort();

interface Target {
  kafkaBootstrap: string;
  http: Http;
  /** SIGKILLs the process holding the partition logs and starts it again on the same data. */
  crashAndRestart(): Promise<void>;
}

/**
 * ListOffsets latest of every partition, summed (kcat -Q, timestamp -1). A fresh kcat may answer "Leader not
 * available" for a partition whose leader it has not learnt yet: such answers are asked again.
 */
async function latestOffsets(bootstrap: string, topic: string): Promise<number> {
  const args = Array.from({ length: PARTITIONS }, (_, p) => ['-t', `${topic}:${p}:-1`]).flat();
  const offsets = await waitFor(
    async () => {
      const { out } = await kcatOk(bootstrap, ['-Q', ...args]);
      const answered = [...out.matchAll(/^\S+ \[\d+\] offset (\d+)$/gm)].map((m) => Number(m[1]));
      return answered.length === PARTITIONS ? answered : undefined;
    },
    { timeoutMs: 20_000, what: `ListOffsets latest for every partition of ${topic}` },
  );
  return offsets.reduce((a, b) => a + b, 0);
}

async function produceCrashAndReadBack(target: Target, topic: string): Promise<void> {
  await target.http.createTopic(topic, PARTITIONS);
  const leaders = async () => (await target.http.json<Array<{ leader: number }>>('GET', `/topics/${topic}/partitions`)).body;
  await waitFor(async () => (await leaders()).every((p) => p.leader >= 0), { what: `leaders for ${topic}` });
  const input = produced.map((line) => line.replace('=', ':')).join('\n') + '\n';
  await kcatOk(target.kafkaBootstrap, ['-P', '-t', topic, '-K', ':', '-X', 'acks=all'], input);
  expect(await latestOffsets(target.kafkaBootstrap, topic)).toBe(RECORDS);

  await target.crashAndRestart();
  await waitFor(async () => (await leaders()).every((p) => p.leader >= 0), { timeoutMs: 30_000, what: `leaders for ${topic} after the restart` });

  // Readable at once: no append needed to bring them back.
  expect(await latestOffsets(target.kafkaBootstrap, topic)).toBe(RECORDS);
  const { out } = await kcatOk(target.kafkaBootstrap, ['-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%k=%s\\n']);
  expect(out.trim().split('\n').sort()).toEqual(produced);
  const overHttp: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) overHttp.push(...(await target.http.readAll(topic, p)).map((r) => `${r.key}=${r.value}`));
  expect(overHttp.sort()).toEqual(produced);
}

describe('acknowledged records after a SIGKILL: embedded sluice dev', () => {
  let sluice: EmbeddedSluice;
  beforeAll(async () => {
    sluice = await startEmbedded(env);
  });
  afterAll(async () => {
    await sluice?.stop();
  });

  it('reads every record back at once after the process is killed and restarted', async () => {
    await produceCrashAndReadBack(
      {
        kafkaBootstrap: sluice.kafkaBootstrap,
        http: new Http(sluice.httpUrl),
        crashAndRestart: async () => {
          expect((await sluice.crashAndRestart()).signal).toBe('SIGKILL');
        },
      },
      'crash-embedded',
    );
  });
});

describe('acknowledged records after a SIGKILL: the multi-process stack', () => {
  let nats: NatsServer;
  let stack: RunningStack;
  beforeAll(async () => {
    nats = await startNatsServer();
    stack = await startStack({ natsUrl: nats.url, brokers: 1, env });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await nats?.stop();
  });

  it('reads every record back at once after the broker is killed and restarted', async () => {
    await produceCrashAndReadBack(
      {
        kafkaBootstrap: stack.kafkaBootstrap,
        http: new Http(stack.httpUrl),
        crashAndRestart: async () => {
          const broker = stack.brokers.get(1)!;
          broker.kill('SIGKILL');
          expect((await broker.exited).signal).toBe('SIGKILL');
          await stack.startBroker(1);
        },
      },
      'crash-stack',
    );
  });
});
