// SASL on the Kafka listener: PLAIN and SCRAM-SHA-256/512 with kcat and KafkaJS; wrong passwords and requests before
// authentication are refused.
import { Producer as PlatformaticProducer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';
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

describe('SASL re-authentication (KIP-368, connections.max.reauth.ms)', () => {
  const LIFETIME_MS = 2500;
  let reauth: EmbeddedSluice;

  beforeAll(async () => {
    reauth = await startEmbedded({
      SLUICE_KAFKA_SASL_MECHANISMS: 'PLAIN,SCRAM-SHA-256',
      SLUICE_KAFKA_SASL_USERS: 'alice:s3cret,bob:hunter2',
      SLUICE_KAFKA_CONNECTIONS_MAX_REAUTH_MS: String(LIFETIME_MS),
    });
    await new Http(reauth.httpUrl).createTopic('reauth', 1);
  });

  afterAll(async () => {
    await reauth?.stop();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** PLAIN over SaslHandshake v1 and SaslAuthenticate v2: the answer's error and session lifetime. */
  async function plain(client: WireClient, user: string, password: string): Promise<{ errorCode: number; sessionLifetimeMs: number }> {
    const handshake = await client.request(ApiKey.SaslHandshake, 1, (w) => kafka.writeSaslHandshakeRequest(w, 1, { mechanism: 'PLAIN' }), kafka.readSaslHandshakeResponse);
    if (handshake.body.errorCode !== 0) return { errorCode: handshake.body.errorCode, sessionLifetimeMs: -1 };
    const authBytes = Buffer.from(`\u0000${user}\u0000${password}`);
    const { body } = await client.request(ApiKey.SaslAuthenticate, 2, (w) => kafka.writeSaslAuthenticateRequest(w, 2, { authBytes }), kafka.readSaslAuthenticateResponse);
    return { errorCode: body.errorCode, sessionLifetimeMs: Number(body.sessionLifetimeMs) };
  }

  const metadata = (client: WireClient) => client.request(ApiKey.Metadata, 9, (w) => kafka.writeMetadataRequest(w, 9, { topics: [{ name: 'reauth' }], allowAutoTopicCreation: false }), kafka.readMetadataResponse);

  it('reports the session lifetime, keeps a connection that re-authenticates in time, and closes one that does not', async () => {
    const renewing = await WireClient.connect(reauth.kafkaBootstrap);
    const lapsing = await WireClient.connect(reauth.kafkaBootstrap);
    try {
      expect(await plain(renewing, 'alice', 's3cret')).toEqual({ errorCode: 0, sessionLifetimeMs: LIFETIME_MS });
      expect(await plain(lapsing, 'alice', 's3cret')).toEqual({ errorCode: 0, sessionLifetimeMs: LIFETIME_MS });
      for (let i = 0; i < 3; i++) {
        await sleep(LIFETIME_MS / 2);
        expect(await plain(renewing, 'alice', 's3cret')).toEqual({ errorCode: 0, sessionLifetimeMs: LIFETIME_MS });
        expect((await metadata(renewing)).body.topics[0].errorCode).toBe(0);
      }
      // Three half-lifetimes have passed since `lapsing` authenticated: its session expired.
      lapsing.socket.write(lapsing.frame(ApiKey.Metadata, 9, (w) => kafka.writeMetadataRequest(w, 9, { topics: [{ name: 'reauth' }], allowAutoTopicCreation: false })));
      expect(await lapsing.whenClosed()).toBe(true);
      expect(renewing.closed).toBe(false);
      // Re-authenticating as another user fails, and the connection is closed at its next request.
      expect((await plain(renewing, 'bob', 'hunter2')).errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
      renewing.socket.write(renewing.frame(ApiKey.Metadata, 9, (w) => kafka.writeMetadataRequest(w, 9, { topics: [{ name: 'reauth' }], allowAutoTopicCreation: false })));
      expect(await renewing.whenClosed()).toBe(true);
    } finally {
      renewing.close();
      lapsing.close();
    }
  });

  it('lets @platformatic/kafka and KafkaJS, which re-authenticate, produce over sessions longer than the lifetime', async () => {
    const producer = new PlatformaticProducer({
      clientId: 'reauth-plt',
      bootstrapBrokers: [reauth.kafkaBootstrap],
      serializers: stringSerializers,
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'bob', password: 'hunter2' },
    });
    const client = new Kafka({ clientId: 'reauth-kafkajs', brokers: [reauth.kafkaBootstrap], logLevel: logLevel.NOTHING, sasl: { mechanism: 'plain', username: 'alice', password: 's3cret' }, retry: { retries: 0 } });
    const kjs = client.producer();
    await kjs.connect();
    try {
      for (let i = 0; i < 6; i++) {
        await producer.send({ messages: [{ topic: 'reauth', value: `plt-${i}` }] });
        await kjs.send({ topic: 'reauth', messages: [{ value: `kjs-${i}` }] });
        await sleep(LIFETIME_MS / 2);
      }
    } finally {
      await producer.close();
      await kjs.disconnect();
    }
    const records = await new Http(reauth.httpUrl).readAll('reauth', 0);
    expect(records).toHaveLength(12);
  });
});
