// SASL on the Kafka listener: PLAIN and SCRAM-SHA-256/512 with kcat and KafkaJS; wrong passwords and requests before
// authentication are refused.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, kafka } from '@sluice/protocol';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { WireClient } from './kafka-wire.js';
import { runKcat } from './kcat.js';

let sluice: EmbeddedSluice;

beforeAll(async () => {
  sluice = await startEmbedded({
    SLUICE_AUTO_CREATE_TOPICS: 'true',
    SLUICE_KAFKA_SASL_MECHANISMS: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    SLUICE_KAFKA_SASL_USERS: 'alice:s3cret,bob:hunter2',
  });
});

afterAll(async () => {
  await sluice?.stop();
});

const kcat = (args: string[], input?: string) => runKcat(sluice.kafkaBootstrap, ['-m', '2', ...args], input);

const sasl = (mechanism: string, user: string, password: string) => ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`];

describe('SASL', () => {
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']) {
    it(`produces and consumes with kcat over ${mechanism}, and refuses a wrong password`, async () => {
      const topic = `sasl-${mechanism.toLowerCase()}`;
      const produced = await kcat(['-P', '-t', topic, ...sasl(mechanism, 'alice', 's3cret')], 'secret message\n');
      expect(produced.code, produced.err).toBe(0);
      const consumed = await kcat(['-C', '-t', topic, '-e', '-f', '%s\\n', ...sasl(mechanism, 'bob', 'hunter2')]);
      expect(consumed.out.trim()).toBe('secret message');
      const refused = await kcat(['-L', ...sasl(mechanism, 'alice', 'wrong')]);
      expect(refused.code).not.toBe(0);
      expect(refused.err).toMatch(/Authentication failed/);
    });
  }

  it('works with KafkaJS over SCRAM-SHA-256', async () => {
    const client = new Kafka({
      clientId: 'sasl-e2e',
      brokers: [sluice.kafkaBootstrap],
      logLevel: logLevel.NOTHING,
      sasl: { mechanism: 'scram-sha-256', username: 'bob', password: 'hunter2' },
      retry: { retries: 2 },
    });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'sasl-kafkajs', numPartitions: 1 }] });
    expect(await admin.listTopics()).toContain('sasl-kafkajs');
    await admin.disconnect();
    const wrong = new Kafka({ clientId: 'sasl-e2e', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, sasl: { mechanism: 'plain', username: 'bob', password: 'nope' }, retry: { retries: 0 } });
    await expect(wrong.admin().connect()).rejects.toThrow(/SASL|Authentication/i);
  });

  it('closes a connection that sends other requests before authenticating, but answers ApiVersions', async () => {
    const client = await WireClient.connect(sluice.kafkaBootstrap);
    const versions = await client.request(ApiKey.ApiVersions, 3, (w) => kafka.writeApiVersionsRequest(w, 3, {}), kafka.readApiVersionsResponse);
    expect(versions.body.apiKeys.find((k) => k.apiKey === ApiKey.SaslHandshake)).toMatchObject({ minVersion: 0, maxVersion: 1 });
    const handshake = await client.request(ApiKey.SaslHandshake, 1, (w) => kafka.writeSaslHandshakeRequest(w, 1, { mechanism: 'GSSAPI' }), kafka.readSaslHandshakeResponse);
    expect(handshake.body).toEqual({ errorCode: 33, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
    client.socket.write(client.frame(ApiKey.Metadata, 4, (w) => kafka.writeMetadataRequest(w, 4, { topics: null, allowAutoTopicCreation: false })));
    expect(await client.whenClosed()).toBe(true);
  });
});
