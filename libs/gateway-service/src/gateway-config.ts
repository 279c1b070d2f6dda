// The gateway's configuration (environment variables), validated at start.
import { ConfigError, defineConfig, v } from '@sluice/runtime';

export const gatewayConfig = defineConfig('gateway', {
  httpHost: v.string('SLUICE_HTTP_HOST', 'Interface the HTTP API listens on', { default: '0.0.0.0' }),
  httpPort: v.port('SLUICE_HTTP_PORT', 'Port of the HTTP API (0: any free port)', { default: 8080 }),
  advertisedHost: v.string('SLUICE_ADVERTISED_HOST', 'Host name clients use to reach this gateway', { default: '127.0.0.1' }),
  nodeId: v.int('SLUICE_NODE_ID', 'Node id; unset: the controller assigns one (above 1000)', { default: -1, defaultText: '(assigned)', min: -1 }),
  httpRequestReadTimeoutMs: v.int('SLUICE_HTTP_REQUEST_READ_TIMEOUT_MS', 'An HTTP request (headers and body) must arrive whole within this time, or it gets 408 and its connection closes', {
    default: 60_000,
    min: 100,
  }),
  httpHeadersTimeoutMs: v.int('SLUICE_HTTP_HEADERS_TIMEOUT_MS', 'The headers of an HTTP request must arrive within this time (at most SLUICE_HTTP_REQUEST_READ_TIMEOUT_MS)', {
    default: 20_000,
    min: 100,
  }),
  httpIdleTimeoutMs: v.int('SLUICE_HTTP_IDLE_TIMEOUT_MS', 'An HTTP connection with no traffic for this long is closed (open streams send keepalives every 15 s)', {
    default: 120_000,
    min: 1000,
  }),
  maxBodyBytes: v.int('SLUICE_HTTP_MAX_BODY_BYTES', 'Largest HTTP request body accepted', { default: 4 * 1024 * 1024, min: 1024 }),
  requestTimeoutMs: v.int('SLUICE_REQUEST_TIMEOUT_MS', 'How long a request may wait for a partition leader (retries included)', {
    default: 30_000,
    min: 100,
  }),
  maxBatchBytes: v.int('SLUICE_MAX_BATCH_BYTES', 'Largest record batch the gateway builds from HTTP records (Kafka batch limit)', {
    default: 1024 * 1024,
    min: 1024,
  }),
  httpConsumerIdleMs: v.int('SLUICE_HTTP_CONSUMER_IDLE_MS', 'An HTTP consumer instance not used for this long is deleted (it leaves its group)', {
    default: 300_000,
    min: 1000,
  }),
  httpConsumerSessionTimeoutMs: v.int('SLUICE_HTTP_CONSUMER_SESSION_TIMEOUT_MS', 'Session timeout of the group members the gateway runs for HTTP consumers', {
    default: 10_000,
    min: 1000,
  }),
  kafkaHost: v.string('SLUICE_KAFKA_HOST', 'Interface the Kafka protocol listener listens on', { default: '0.0.0.0' }),
  kafkaPort: v.port('SLUICE_KAFKA_PORT', 'Port of the Kafka protocol listener (0: any free port)', { default: 9092 }),
  kafkaAdvertisedPort: v.int('SLUICE_KAFKA_ADVERTISED_PORT', 'Kafka port clients are told to connect to (Metadata); unset: the listening port', {
    default: -1,
    defaultText: '(the listening port)',
    min: -1,
    max: 65535,
  }),
  kafkaMaxRequestBytes: v.int('SLUICE_KAFKA_MAX_REQUEST_BYTES', 'Largest Kafka request accepted; a bigger frame closes the connection', {
    default: 100 * 1024 * 1024,
    min: 1024,
  }),
  kafkaMaxQueuedRequestBytes: v.int(
    'SLUICE_KAFKA_MAX_QUEUED_REQUEST_BYTES',
    'Memory all Kafka connections together may hold for requests being read or processed; beyond it connections wait unread (queued.max.request.bytes)',
    { default: 256 * 1024 * 1024, min: 1024 },
  ),
  kafkaRequestReadTimeoutMs: v.int('SLUICE_KAFKA_REQUEST_READ_TIMEOUT_MS', 'A Kafka request that has begun must arrive whole within this time, or its connection is closed', {
    default: 30_000,
    min: 100,
  }),
  kafkaConnectionsMaxIdleMs: v.int('SLUICE_KAFKA_CONNECTIONS_MAX_IDLE_MS', 'A Kafka connection with no request for this long is closed (connections.max.idle.ms)', {
    default: 600_000,
    min: 100,
  }),
  kafkaMaxInFlight: v.int('SLUICE_KAFKA_MAX_IN_FLIGHT', 'Kafka requests of one connection processed at once; more wait unread (backpressure)', {
    default: 16,
    min: 1,
  }),
  saslMechanisms: v.list('SLUICE_KAFKA_SASL_MECHANISMS', 'SASL mechanisms Kafka clients must authenticate with (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); empty: no authentication', {
    default: [],
    defaultText: '(none)',
  }),
  kafkaConnectionsMaxReauthMs: v.int(
    'SLUICE_KAFKA_CONNECTIONS_MAX_REAUTH_MS',
    'With SASL: a client session lasts at most this long; the client must re-authenticate on its connection before then, or it is closed (connections.max.reauth.ms, KIP-368); 0: sessions never expire',
    { default: 0, min: 0 },
  ),
  saslUsers: v.list('SLUICE_KAFKA_SASL_USERS', 'Kafka users as user:password pairs, comma-separated (with SLUICE_KAFKA_SASL_MECHANISMS)', {
    default: [],
    defaultText: '(none)',
  }),
  consoleEnabled: v.bool('SLUICE_CONSOLE_ENABLED', 'Serve the web console at /console (false: /console answers 404; the API docs at /docs stay)', { default: true }),
  autoCreateTopics: v.bool('SLUICE_AUTO_CREATE_TOPICS', 'Create a topic when a Kafka client asks Metadata for one that does not exist (auto.create.topics.enable)', {
    default: false,
  }),
}, (c) => {
  if (c.httpHeadersTimeoutMs > c.httpRequestReadTimeoutMs) {
    throw new ConfigError('SLUICE_HTTP_HEADERS_TIMEOUT_MS', `${c.httpHeadersTimeoutMs} is above SLUICE_HTTP_REQUEST_READ_TIMEOUT_MS (${c.httpRequestReadTimeoutMs})`);
  }
  if (c.kafkaMaxQueuedRequestBytes < c.kafkaMaxRequestBytes) {
    throw new ConfigError('SLUICE_KAFKA_MAX_QUEUED_REQUEST_BYTES', `${c.kafkaMaxQueuedRequestBytes} is below SLUICE_KAFKA_MAX_REQUEST_BYTES (${c.kafkaMaxRequestBytes}): no request of the largest size could ever be read`);
  }
});

export type GatewayConfig = ReturnType<typeof gatewayConfig.load>;
