// Topic configs (Kafka names) → the storage engine's LogConfig, over the broker's defaults.
import type { CleanupPolicy, LogConfig } from '@sluice/storage';
import type { BrokerConfig } from './broker-config.js';

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function logConfigFor(configs: Record<string, string>, broker: BrokerConfig): Partial<LogConfig> {
  const flushMessages = num(configs['flush.messages']) ?? (broker.flushMessages > 0 ? broker.flushMessages : undefined);
  const out: Partial<LogConfig> = {
    segmentBytes: num(configs['segment.bytes']) ?? broker.segmentBytes,
    retentionMs: num(configs['retention.ms']) ?? broker.retentionMs,
    retentionBytes: num(configs['retention.bytes']) ?? broker.retentionBytes,
    maxBatchBytes: num(configs['max.message.bytes']) ?? broker.maxMessageBytes,
  };
  const segmentMs = num(configs['segment.ms']);
  if (segmentMs !== undefined) out.segmentMs = segmentMs;
  const indexInterval = num(configs['index.interval.bytes']);
  if (indexInterval !== undefined) out.indexIntervalBytes = indexInterval;
  const flushMs = num(configs['flush.ms']);
  if (flushMs !== undefined) out.flushMs = flushMs;
  if (flushMessages !== undefined) out.flushMessages = flushMessages;
  const policy = cleanupPolicy(configs['cleanup.policy']);
  if (policy) out.cleanupPolicy = policy;
  const deleteRetentionMs = num(configs['delete.retention.ms']);
  if (deleteRetentionMs !== undefined) out.deleteRetentionMs = deleteRetentionMs;
  const dirtyRatio = num(configs['min.cleanable.dirty.ratio']);
  if (dirtyRatio !== undefined) out.minCleanableDirtyRatio = dirtyRatio;
  const timestampType = configs['message.timestamp.type'];
  if (timestampType === 'CreateTime' || timestampType === 'LogAppendTime') out.messageTimestampType = timestampType;
  const before = num(configs['message.timestamp.before.max.ms']);
  if (before !== undefined) out.messageTimestampBeforeMaxMs = Math.min(before, Number.MAX_SAFE_INTEGER);
  const after = num(configs['message.timestamp.after.max.ms']);
  if (after !== undefined) out.messageTimestampAfterMaxMs = Math.min(after, Number.MAX_SAFE_INTEGER);
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

export function minInsyncReplicas(configs: Record<string, string>): number {
  return num(configs['min.insync.replicas']) ?? 1;
}
