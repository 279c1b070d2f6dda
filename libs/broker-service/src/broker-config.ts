// The broker's configuration (environment variables), validated at start.
import { defineConfig, v } from '@sluice/runtime';

export const brokerConfig = defineConfig('broker', {
  brokerId: v.int('SLUICE_BROKER_ID', 'Broker id (0..1000). Unset: the id stored in the data directory, else one the controller assigns', {
    default: -1,
    defaultText: '(stored or assigned)',
    min: -1,
    max: 1000,
  }),
  dataDir: v.string('SLUICE_DATA_DIR', 'Directory of this broker’s partition logs', { default: './data/broker' }),
  advertisedHost: v.string('SLUICE_ADVERTISED_HOST', 'Host name other nodes use to reach this broker', { default: '127.0.0.1' }),
  rack: v.string('SLUICE_RACK', 'Rack (availability zone) of this broker; empty for none', { default: '' }),
  segmentBytes: v.int('SLUICE_LOG_SEGMENT_BYTES', 'Default segment size (topic config segment.bytes overrides)', {
    default: 1024 * 1024 * 1024,
    min: 1024,
    max: 2 ** 31 - 1,
  }),
  retentionMs: v.int('SLUICE_LOG_RETENTION_MS', 'Default retention time, -1 for none (topic config retention.ms overrides)', {
    default: 7 * 24 * 3600 * 1000,
    min: -1,
  }),
  retentionBytes: v.int('SLUICE_LOG_RETENTION_BYTES', 'Default retention size per partition, -1 for none (retention.bytes overrides)', {
    default: -1,
    min: -1,
  }),
  retentionCheckIntervalMs: v.int('SLUICE_LOG_RETENTION_CHECK_INTERVAL_MS', 'How often retention runs', { default: 300_000, min: 100 }),
  hwCheckpointIntervalMs: v.int(
    'SLUICE_LOG_HW_CHECKPOINT_INTERVAL_MS',
    'How often each partition’s high watermark is written to its checkpoint file (Kafka’s replica.high.watermark.checkpoint.interval.ms)',
    { default: 5000, min: 100 },
  ),
  cleanerIntervalMs: v.int('SLUICE_LOG_CLEANER_INTERVAL_MS', 'How often the log cleaner looks for compacted topics to clean', { default: 15_000, min: 100 }),
  maxOpenFiles: v.int('SLUICE_LOG_MAX_OPEN_FILES', 'Most segment files the broker keeps open at once (least recently used close first)', {
    default: 1024,
    min: 16,
  }),
  flushMessages: v.int('SLUICE_LOG_FLUSH_MESSAGES', 'fsync after this many messages (1: every append, as a group commit); default never', {
    default: -1,
    defaultText: '(never)',
    min: -1,
  }),
  maxMessageBytes: v.int('SLUICE_MESSAGE_MAX_BYTES', 'Largest record batch accepted (topic config max.message.bytes overrides)', {
    default: 1024 * 1024 + 12,
    min: 64,
  }),
  replicaLagTimeMaxMs: v.int('SLUICE_REPLICA_LAG_TIME_MAX_MS', 'A follower that has not caught up with its leader for this long leaves the ISR (replica.lag.time.max.ms)', {
    default: 30_000,
    min: 100,
  }),
  replicaFetchWaitMaxMs: v.int('SLUICE_REPLICA_FETCH_WAIT_MAX_MS', 'How long a follower’s fetch waits at the leader for new data (replica.fetch.wait.max.ms)', {
    default: 500,
    min: 1,
  }),
  replicaFetchMaxBytes: v.int('SLUICE_REPLICA_FETCH_MAX_BYTES', 'Most bytes one follower fetch brings from a leader, over all its partitions (must fit in a NATS message)', {
    default: 4 * 1024 * 1024,
    min: 1024,
  }),
  maxInFlight: v.int('SLUICE_BROKER_MAX_IN_FLIGHT', 'Requests of each kind (produce, list-offsets, ...) the broker works on at once, from all gateways; more wait in arrival order', {
    default: 256,
    min: 1,
  }),
  maxParkedFetches: v.int('SLUICE_BROKER_MAX_PARKED_FETCHES', 'Fetches the broker works on at once, long polls included; more wait in arrival order', {
    default: 4096,
    min: 1,
  }),
  maxQueuedRequests: v.int('SLUICE_BROKER_MAX_QUEUED_REQUESTS', 'Requests of each kind that may wait for their turn; beyond, they are refused with a retriable error', {
    default: 10_000,
    min: 1,
  }),
  maxFetchBytes: v.int('SLUICE_FETCH_MAX_BYTES', 'Largest fetch reply, for one partition and for all partitions of one fetch (must fit in a NATS message)', {
    default: 4 * 1024 * 1024,
    min: 1024,
  }),
});

export type BrokerConfig = ReturnType<typeof brokerConfig.load>;
