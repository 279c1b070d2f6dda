// The topic configs Sluice knows, with Kafka's names, and their validation.

type Check = (value: string, ctx: { replicationFactor: number }) => string | undefined;

const long =
  (min: number): Check =>
  (v) =>
    /^-?\d+$/.test(v) && Number(v) >= min && Number.isSafeInteger(Number(v)) ? undefined : `must be an integer ≥ ${min}`;
/** A duration that may be Kafka's Long.MAX_VALUE ("no bound"), which is beyond a safe integer. */
const longMs: Check = (v) => (/^\d+$/.test(v) && (Number.isSafeInteger(Number(v)) || v === '9223372036854775807') ? undefined : 'must be an integer ≥ 0');
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;

const checks: Record<string, Check> = {
  'retention.ms': long(-1),
  'retention.bytes': long(-1),
  'cleanup.policy': (v) => {
    const parts = v.split(',').map((s) => s.trim());
    return parts.length > 0 && parts.length <= 2 && parts.every((p) => p === 'delete' || p === 'compact') && new Set(parts).size === parts.length
      ? undefined
      : 'must be delete, compact or compact,delete';
  },
  'segment.bytes': (v, ctx) => long(14)(v, ctx) ?? (Number(v) > 2 ** 31 - 1 ? 'must be at most 2147483647 (positions in a segment are 32-bit)' : undefined),
  'segment.ms': long(1),
  'min.insync.replicas': (v, ctx) => {
    const bad = long(1)(v, ctx);
    if (bad) return bad;
    return Number(v) > ctx.replicationFactor ? `must not exceed the replication factor ${ctx.replicationFactor}` : undefined;
  },
  'max.message.bytes': long(0),
  'message.timestamp.type': oneOf('CreateTime', 'LogAppendTime'),
  'message.timestamp.before.max.ms': longMs,
  'message.timestamp.after.max.ms': longMs,
  'compression.type': oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'),
  'delete.retention.ms': long(0),
  'min.cleanable.dirty.ratio': (v) => (/^\d*\.?\d+$/.test(v) && Number(v) >= 0 && Number(v) <= 1 ? undefined : 'must be a number from 0 to 1'),
  'flush.messages': long(1),
  'flush.ms': long(0),
  'index.interval.bytes': long(0),
  'unclean.leader.election.enable': oneOf('true', 'false'),
};

export const knownTopicConfigs: readonly string[] = Object.keys(checks);

/** Why a set of topic configs is invalid, or undefined. */
export function topicConfigProblem(configs: Record<string, string | null>, replicationFactor: number): string | undefined {
  for (const [name, value] of Object.entries(configs)) {
    const check = checks[name];
    if (!check) return `unknown topic config "${name}"`;
    if (value === null) continue;
    if (typeof value !== 'string') return `config "${name}" must be a string`;
    const problem = check(value, { replicationFactor });
    if (problem) return `invalid value "${value}" for config "${name}": ${problem}`;
  }
  return undefined;
}
