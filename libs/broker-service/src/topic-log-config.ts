// Topic configs (Kafka names, see the table in @sluice/protocol) → the storage engine's LogConfig, over the broker's defaults.
import { topicConfigNumber as num } from '@sluice/contracts';
import type { CleanupPolicy, LogConfig } from '@sluice/storage';
import type { BrokerConfig } from './broker-config.js';
import { Compression, type CompressionType } from '@sluice/protocol';

/** compression.type values → batch codecs (Kafka's `uncompressed` is none). */
const codecs: Record<string, CompressionType> = { uncompressed: Compression.none, gzip: Compression.gzip, snappy: Compression.snappy, lz4: Compression.lz4, zstd: Compression.zstd };

export function logConfigFor(configs: Readonly<Record<string, string>>, broker: BrokerConfig): Partial<LogConfig> {
  const flushMessages = num(configs, 'flush.messages') ?? (broker.flushMessages > 0 ? broker.flushMessages : undefined);
  const out: Partial<LogConfig> = {
    segmentBytes: num(configs, 'segment.bytes') ?? broker.segmentBytes,
    retentionMs: num(configs, 'retention.ms') ?? broker.retentionMs,
    retentionBytes: num(configs, 'retention.bytes') ?? broker.retentionBytes,
    maxBatchBytes: num(configs, 'max.message.bytes') ?? broker.maxMessageBytes,
  };
  const optional: Array<[keyof LogConfig, string]> = [
    ['segmentMs', 'segment.ms'],
    ['indexIntervalBytes', 'index.interval.bytes'],
    ['flushMs', 'flush.ms'],
    ['deleteRetentionMs', 'delete.retention.ms'],
    ['minCleanableDirtyRatio', 'min.cleanable.dirty.ratio'],
    ['minCompactionLagMs', 'min.compaction.lag.ms'],
    ['maxCompactionLagMs', 'max.compaction.lag.ms'],
    ['messageTimestampBeforeMaxMs', 'message.timestamp.before.max.ms'],
    ['messageTimestampAfterMaxMs', 'message.timestamp.after.max.ms'],
  ];
  for (const [field, name] of optional) {
    const value = num(configs, name);
    if (value !== undefined) (out as Record<string, unknown>)[field] = value;
  }
  if (flushMessages !== undefined) out.flushMessages = flushMessages;
  const policy = cleanupPolicy(configs['cleanup.policy']);
  if (policy) out.cleanupPolicy = policy;
  const codec = configs['compression.type'];
  if (codec !== undefined) out.compressionType = codec === 'producer' ? 'producer' : (codecs[codec] ?? 'producer');
  const timestampType = configs['message.timestamp.type'];
  if (timestampType === 'CreateTime' || timestampType === 'LogAppendTime') out.messageTimestampType = timestampType;
  return out;
}

/** Kafka's cleanup.policy is a list: delete, compact, or both in either order. */
function cleanupPolicy(value: string | undefined): CleanupPolicy | undefined {
  if (value === undefined) return undefined;
  const parts = new Set(value.split(',').map((p) => p.trim()));
  if (parts.has('compact') && parts.has('delete')) return 'compact,delete';
  if (parts.has('compact')) return 'compact';
  return 'delete';
}

export function minInsyncReplicas(configs: Readonly<Record<string, string>>): number {
  return num(configs, 'min.insync.replicas') ?? 1;
}
