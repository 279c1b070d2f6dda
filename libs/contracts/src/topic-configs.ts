// The one table of topic configs (Kafka 4's names, types, defaults and valid values), used by the controller to
// validate, by brokers to configure logs, by DescribeConfigs to show defaults and by `sluice docs` for the README.
// Every config Kafka defines for topics is accepted, so infrastructure-as-code tools and admin clients that set them
// work; `applied` says which ones Sluice acts on (the others are stored and shown, with no effect yet).

export interface TopicConfigContext {
  replicationFactor: number;
}

export interface TopicConfigSpec {
  name: string;
  type: 'long' | 'int' | 'double' | 'boolean' | 'string' | 'list';
  /** Kafka's default, as DescribeConfigs shows it. */
  default: string;
  /** What is valid, for people (also the error message). */
  valid: string;
  /** Whether Sluice acts on it; accepted and stored either way. */
  applied: boolean;
  /** The broker variable that sets the default for topics without an override, if there is one. */
  brokerVariable?: string;
  doc: string;
  /** Why `value` is invalid, or undefined. */
  check(value: string, ctx: TopicConfigContext): string | undefined;
}

/** Kafka's Long.MAX_VALUE, the "no limit" of many configs; beyond a safe integer, so kept as text. */
export const LONG_MAX = '9223372036854775807';

type Check = TopicConfigSpec['check'];

const integer =
  (min: number, max: number): Check =>
  (v) => {
    if (v === LONG_MAX && max >= Number.MAX_SAFE_INTEGER) return undefined;
    const n = Number(v);
    return /^-?\d+$/.test(v) && Number.isSafeInteger(n) && n >= min && n <= max ? undefined : 'out of range';
  };
const number =
  (min: number, max: number): Check =>
  (v) =>
    /^-?\d*\.?\d+(e-?\d+)?$/i.test(v) && Number(v) >= min && Number(v) <= max ? undefined : 'out of range';
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v) ? undefined : 'not one of the values';
const INT_MAX = 2 ** 31 - 1;
const LONG = Number.MAX_SAFE_INTEGER;

interface Row {
  type: TopicConfigSpec['type'];
  default: string;
  valid: string;
  applied: boolean;
  brokerVariable?: string;
  doc: string;
  check: Check;
}

const long = (min: number, defaultValue: string, doc: string, extra: Partial<Row> = {}): Row => ({
  type: 'long',
  default: defaultValue,
  valid: `an integer ≥ ${min}`,
  applied: true,
  doc,
  check: integer(min, LONG),
  ...extra,
});
const int = (min: number, max: number, defaultValue: string, doc: string, extra: Partial<Row> = {}): Row => ({
  type: 'int',
  default: defaultValue,
  valid: max === INT_MAX ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`,
  applied: true,
  doc,
  check: integer(min, max),
  ...extra,
});
const bool = (defaultValue: string, doc: string, extra: Partial<Row> = {}): Row => ({
  type: 'boolean',
  default: defaultValue,
  valid: 'true or false',
  applied: true,
  doc,
  check: oneOf('true', 'false'),
  ...extra,
});
const notApplied = { applied: false };
/** Kafka's throttled-replica lists: `*`, or `partition:broker` pairs, comma-separated. */
const replicaList: Row = {
  type: 'list',
  default: '',
  valid: '* or partition:broker pairs',
  applied: false,
  doc: 'Replicas whose replication is throttled (Kafka quotas; accepted, not applied)',
  check: (v) => (/^(\*|\s*|\d+:\d+(\s*,\s*\d+:\d+)*)$/.test(v) ? undefined : 'not * or a list of partition:broker pairs'),
};

const rows: Record<string, Row> = {
  'cleanup.policy': {
    type: 'list',
    default: 'delete',
    valid: 'delete, compact, or both',
    applied: true,
    doc: 'delete: old segments go by retention.ms / retention.bytes; compact: the latest record per key is kept',
    check: (v) => {
      const parts = v.split(',').map((s) => s.trim());
      return parts.length <= 2 && parts.every((p) => p === 'delete' || p === 'compact') && new Set(parts).size === parts.length ? undefined : 'not a list of delete and compact';
    },
  },
  'compression.gzip.level': int(-1, 9, '-1', 'gzip level when compression.type is gzip', { ...notApplied, check: (v) => (v === '-1' ? undefined : integer(1, 9)(v, { replicationFactor: 1 })), valid: '-1 or 1 to 9' }),
  'compression.lz4.level': int(1, 17, '9', 'lz4 level when compression.type is lz4', notApplied),
  'compression.type': {
    type: 'string',
    default: 'producer',
    valid: 'producer, uncompressed, gzip, snappy, lz4 or zstd',
    applied: true,
    doc: 'The codec batches are stored with: producer keeps the producer’s, another value makes the leader recompress batches into it (levels: the codecs’ defaults)',
    check: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'),
  },
  'compression.zstd.level': int(-131072, 22, '3', 'zstd level when compression.type is zstd', notApplied),
  'delete.retention.ms': long(0, '86400000', 'How long tombstones stay readable after a first cleaning (compacted topics)'),
  'file.delete.delay.ms': long(0, '60000', 'Delay before a deleted segment file is removed (files are removed at once)', notApplied),
  'flush.messages': long(1, LONG_MAX, 'fsync after this many messages (as a group commit)', { brokerVariable: 'SLUICE_LOG_FLUSH_MESSAGES' }),
  'flush.ms': long(0, LONG_MAX, 'fsync when this long has passed since the last one (checked at appends)'),
  'follower.replication.throttled.replicas': replicaList,
  'index.interval.bytes': int(0, INT_MAX, '4096', 'Bytes of log between two offset-index entries'),
  'leader.replication.throttled.replicas': replicaList,
  'local.retention.bytes': long(-2, '-2', 'Local retention size with tiered storage (no tiered storage: accepted, not applied)', notApplied),
  'local.retention.ms': long(-2, '-2', 'Local retention time with tiered storage (no tiered storage: accepted, not applied)', notApplied),
  'max.compaction.lag.ms': long(1, LONG_MAX, 'Longest a dirty segment of a compacted topic waits: older, it is compacted whatever min.cleanable.dirty.ratio (checked every SLUICE_LOG_CLEANER_INTERVAL_MS)'),
  'max.message.bytes': int(0, INT_MAX, '1048588', 'Largest record batch accepted', { brokerVariable: 'SLUICE_MESSAGE_MAX_BYTES' }),
  'message.format.version': {
    type: 'string',
    default: '3.0-IV1',
    valid: 'a Kafka version',
    applied: false,
    doc: 'Deprecated by Kafka (always v2 batches); accepted for tools that still set it',
    check: (v) => (/^[0-9][0-9.]*(-IV\d+)?$/.test(v) ? undefined : 'not a Kafka version'),
  },
  'message.timestamp.after.max.ms': long(0, '3600000', 'How far ahead of the broker clock a CreateTime timestamp may be'),
  'message.timestamp.before.max.ms': long(0, LONG_MAX, 'How far behind the broker clock a CreateTime timestamp may be'),
  'message.timestamp.type': {
    type: 'string',
    default: 'CreateTime',
    valid: 'CreateTime or LogAppendTime',
    applied: true,
    doc: 'CreateTime keeps the producer’s timestamps; LogAppendTime stamps the append time',
    check: oneOf('CreateTime', 'LogAppendTime'),
  },
  'min.cleanable.dirty.ratio': {
    type: 'double',
    default: '0.5',
    valid: 'a number from 0 to 1',
    applied: true,
    doc: 'Share of uncleaned log that makes a compacted partition eligible for cleaning',
    check: number(0, 1),
  },
  'min.compaction.lag.ms': long(0, '0', 'Shortest a record stays uncompacted: segments holding a younger record (and those after them) are not compacted'),
  'min.insync.replicas': {
    ...int(1, INT_MAX, '1', 'In-sync replicas an acks=all write needs'),
    check: (v, ctx) => integer(1, INT_MAX)(v, ctx) ?? (Number(v) > ctx.replicationFactor ? `above the replication factor ${ctx.replicationFactor}` : undefined),
  },
  preallocate: bool('false', 'Preallocate segment files (accepted, not applied)', notApplied),
  'remote.log.copy.disable': bool('false', 'Tiered storage: stop copying to remote storage (no tiered storage)', notApplied),
  'remote.log.delete.on.disable': bool('false', 'Tiered storage: delete remote data when disabled (no tiered storage)', notApplied),
  'remote.storage.enable': {
    ...bool('false', 'Tiered storage (not supported: only false)', notApplied),
    check: (v) => (v === 'false' ? undefined : 'tiered storage is not supported'),
    valid: 'false',
  },
  'retention.bytes': long(-1, '-1', 'Largest a partition may grow before old segments go, -1 for no limit', { brokerVariable: 'SLUICE_LOG_RETENTION_BYTES' }),
  'retention.ms': long(-1, '604800000', 'How long records are kept, -1 for ever', { brokerVariable: 'SLUICE_LOG_RETENTION_MS' }),
  'segment.bytes': int(14, INT_MAX, '1073741824', 'Segment file size at which a new segment starts', { brokerVariable: 'SLUICE_LOG_SEGMENT_BYTES' }),
  'segment.index.bytes': int(4, INT_MAX, '10485760', 'Offset-index size limit (indexes grow as needed: accepted, not applied)', notApplied),
  'segment.jitter.ms': long(0, '0', 'Random jitter subtracted from segment.ms (accepted, not applied)', notApplied),
  'segment.ms': long(1, '604800000', 'Age at which a segment rolls even if not full'),
  'unclean.leader.election.enable': bool('false', 'Elect a live out-of-sync replica when no in-sync one is left (losing what it lacks)'),
};

export const topicConfigSpecs: readonly TopicConfigSpec[] = Object.entries(rows)
  .map(([name, row]) => ({ name, ...row }))
  .sort((a, b) => a.name.localeCompare(b.name));

const byName = new Map(topicConfigSpecs.map((s) => [s.name, s]));

export function topicConfigSpec(name: string): TopicConfigSpec | undefined {
  return byName.get(name);
}

/** Why a set of topic configs is invalid, or undefined. A null value removes an override and is always valid. */
export function topicConfigProblem(configs: Record<string, string | null>, replicationFactor: number): string | undefined {
  for (const [name, value] of Object.entries(configs)) {
    const spec = byName.get(name);
    if (!spec) return `unknown topic config "${name}"`;
    if (value === null) continue;
    if (typeof value !== 'string') return `config "${name}" must be a string`;
    const problem = spec.check(value.trim(), { replicationFactor });
    if (problem) return `invalid value "${value}" for config "${name}": must be ${spec.valid}`;
  }
  return undefined;
}

/** A numeric topic config: the override when set (Long.MAX_VALUE as the largest safe integer), else undefined. */
export function topicConfigNumber(configs: Readonly<Record<string, string>>, name: string): number | undefined {
  const raw = configs[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? Math.min(n, Number.MAX_SAFE_INTEGER) : undefined;
}

/** The README table: every topic config, its default and whether Sluice applies it. */
export function topicConfigsMarkdown(): string {
  const rowsOut = topicConfigSpecs.map(
    (s) => `| \`${s.name}\` | \`${s.default === '' ? '""' : s.default}\` | ${s.applied ? 'yes' : 'no'} | ${s.brokerVariable ? `\`${s.brokerVariable}\`` : ''} | ${s.doc} |`,
  );
  return ['| config | Kafka default | applied | broker default from | meaning |', '| --- | --- | --- | --- | --- |', ...rowsOut].join('\n');
}
