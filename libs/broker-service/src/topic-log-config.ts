// Topic configs (Kafka names) → the storage engine's LogConfig, over the broker's defaults.
import type { LogConfig } from '@sluice/storage';
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
  return out;
}

export function minInsyncReplicas(configs: Record<string, string>): number {
  return num(configs['min.insync.replicas']) ?? 1;
}
