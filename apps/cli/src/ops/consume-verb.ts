// `sluice consume TOPIC`: reads partitions from a starting point (or as a member of a group) and prints each record
// through a kcat-like template; follows new records until Ctrl-C, -n COUNT records, or (with --no-follow / -e) the end.
import { randomUUID } from 'node:crypto';
import { createSluiceClient, ok, type SluiceHttpClient } from '@sluice/http-client';
import { ExitCode } from './output.js';
import { intOption, UsageError, type Verb } from './verb.js';

interface Rec {
  topic?: string;
  partition?: number;
  offset?: number;
  timestamp?: number;
  key?: unknown;
  value?: unknown;
  headers?: Array<{ key?: string; value?: string | null }>;
}

type Format = 'string' | 'json' | 'binary';

const LONG_POLL_MS = 1000;

function field(format: Format, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (format === 'json') return JSON.stringify(v);
  return String(v);
}

/** Renders a record with kcat's template tokens: %t topic, %p partition, %o offset, %T timestamp, %k key, %s value, %h headers, %K/%S key/value length. */
export function renderRecord(template: string, format: Format, r: Rec): string {
  const key = field(format, r.key);
  const value = field(format, r.value);
  return template.replace(/%[tpoTksShKS%]|\\[nt\\]/g, (token) => {
    switch (token) {
      case '%t':
        return r.topic ?? '';
      case '%p':
        return String(r.partition ?? '');
      case '%o':
        return String(r.offset ?? '');
      case '%T':
        return String(r.timestamp ?? '');
      case '%k':
        return key;
      case '%s':
        return value;
      case '%K':
        return r.key === null || r.key === undefined ? '-1' : String(Buffer.byteLength(key));
      case '%S':
        return r.value === null || r.value === undefined ? '-1' : String(Buffer.byteLength(value));
      case '%h':
        return (r.headers ?? []).map((h) => `${h.key ?? ''}=${h.value ?? ''}`).join(',');
      case '%%':
        return '%';
      case '\\n':
        return '\n';
      case '\\t':
        return '\t';
      default:
        return '\\';
    }
  });
}

/** Where a partition starts for -o: beginning, end, an offset, or @timestamp (ms since the epoch). */
async function startOffset(client: SluiceHttpClient, topic: string, partition: number, spec: string): Promise<number> {
  const timestamp = spec.startsWith('@') ? Number(spec.slice(1)) : undefined;
  const range = await ok(client.GET('/topics/{topic}/partitions/{partition}/offsets', { params: { path: { topic, partition }, query: timestamp === undefined ? {} : { timestamp } } }));
  if (spec === 'beginning') return range.beginning_offset;
  if (spec === 'end') return range.end_offset;
  if (timestamp !== undefined) return range.timestamp_offset ?? range.end_offset;
  const n = Number(spec);
  // Negative: that many records before the end, as kcat's -o -N.
  return n < 0 ? Math.max(range.beginning_offset, range.end_offset + n) : n;
}

export const consumeVerb: Verb = {
  path: ['consume'],
  summary: 'print the records of a topic, following new ones',
  positionals: ['TOPIC'],
  options: {
    group: { type: 'string', short: 'g', value: 'GROUP', description: 'consume as a member of this group (committing what is printed)' },
    offset: { type: 'string', short: 'o', value: 'WHERE', description: 'beginning, end, OFFSET, -N (N before the end) or @TIMESTAMP_MS (default: beginning; with -g: where the group is, else beginning|end)' },
    count: { type: 'string', short: 'n', value: 'COUNT', description: 'exit after COUNT records' },
    partition: { type: 'string', short: 'p', value: 'N', description: 'only this partition (not with -g)' },
    'no-follow': { type: 'boolean', short: 'e', description: 'exit at the end of the partitions instead of waiting for more' },
    template: { type: 'string', short: 'F', value: 'FMT', description: "print each record as FMT, one per line (default '%s'): %t topic %p partition %o offset %T timestamp %k key %s value %h headers %K/%S key/value length" },
    format: { type: 'string', short: 'f', value: 'string|json|binary', description: 'decode keys and values as text, JSON or base64 (default: string)' },
  },
  notes: '--json prints one JSON object per record (NDJSON). Ctrl-C stops (with -g, after committing what was printed).',
  async run(ctx) {
    const [topic] = ctx.positionals;
    const format = ((ctx.values.format as string | undefined) ?? 'string') as Format;
    if (!['string', 'json', 'binary'].includes(format)) throw new UsageError(`-f must be string, json or binary, not "${format}"`);
    const spec = (ctx.values.offset as string | undefined) ?? (ctx.values.group ? '' : 'beginning');
    if (spec !== '' && !/^(beginning|end|-?[0-9]+|@[0-9]+)$/.test(spec)) throw new UsageError(`-o must be beginning, end, an offset, -N or @TIMESTAMP_MS, not "${spec}"`);
    const limit = intOption(ctx, 'count', 1) ?? Infinity;
    const follow = ctx.values['no-follow'] !== true;
    const template = (ctx.values.template as string | undefined) ?? '%s';
    const client = createSluiceClient(ctx.url);
    let printed = 0;
    const print = (r: Rec) => {
      process.stdout.write(ctx.json ? JSON.stringify(r) + '\n' : renderRecord(template, format, r) + '\n');
      printed++;
    };
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      if (ctx.values.group) return await consumeInGroup(client, ctx.values.group as string, topic, spec, format, limit, follow, print, () => printed, stop.signal, ctx.values.partition !== undefined);
      const path = { topic };
      const topicInfo = await ok(client.GET('/topics/{topic}', { params: { path } }));
      const all = (topicInfo.partitions ?? []).map((p) => p.partition ?? 0);
      const only = intOption(ctx, 'partition');
      if (only !== undefined && !all.includes(only)) throw new UsageError(`topic "${topic}" has no partition ${only} (it has ${all.length})`);
      const chosen = only === undefined ? all : [only];
      await Promise.all(
        chosen.map(async (partition) => {
          let offset = await startOffset(client, topic, partition, spec);
          while (!stop.signal.aborted && printed < limit) {
            const end = follow ? undefined : (await ok(client.GET('/topics/{topic}/partitions/{partition}/offsets', { params: { path: { topic, partition } } }))).end_offset;
            if (end !== undefined && offset >= end) return;
            let records: Rec[];
            try {
              records = await ok(
                client.GET('/topics/{topic}/partitions/{partition}/records', {
                  params: { path: { topic, partition }, query: { offset, format, timeout: follow ? LONG_POLL_MS : 0, count: Number.isFinite(limit) ? Math.min(100_000, limit - printed) : undefined } },
                  signal: stop.signal,
                }),
              );
            } catch (err) {
              if (stop.signal.aborted) return;
              throw err;
            }
            for (const r of records) {
              if (printed >= limit) break;
              print(r);
              offset = (r.offset ?? offset) + 1;
            }
          }
        }),
      );
      return ExitCode.ok;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

async function consumeInGroup(
  client: SluiceHttpClient,
  group: string,
  topic: string,
  spec: string,
  format: Format,
  limit: number,
  follow: boolean,
  print: (r: Rec) => void,
  printed: () => number,
  signal: AbortSignal,
  partitionGiven: boolean,
): Promise<number> {
  if (partitionGiven) throw new UsageError('-p cannot be used with -g: the group assigns the partitions');
  if (spec !== '' && spec !== 'beginning' && spec !== 'end') throw new UsageError('with -g, -o is beginning or end (where partitions without a committed offset start); reset a group with `sluice group reset-offsets`');
  const name = `sluice-cli-${randomUUID()}`;
  const consumers = await ok(
    client.POST('/consumers/{group}', { params: { path: { group } }, body: { name, format, 'auto.offset.reset': spec === 'end' ? 'latest' : 'earliest', 'auto.commit.enable': 'false' } }),
  );
  void consumers;
  const instance = { params: { path: { group, name } } };
  try {
    await ok(client.POST('/consumers/{group}/instances/{name}/subscription', { ...instance, body: { topics: [topic] } }));
    let idlePolls = 0;
    while (!signal.aborted && printed() < limit) {
      const records = (await ok(client.GET('/consumers/{group}/instances/{name}/records', { params: { path: { group, name }, query: { timeout: LONG_POLL_MS } } }))) as Rec[];
      const offsets: Array<{ topic: string; partition: number; offset: number }> = [];
      for (const r of records) {
        if (printed() >= limit) break;
        print(r);
        offsets.push({ topic: r.topic ?? topic, partition: r.partition ?? 0, offset: (r.offset ?? -1) + 1 });
      }
      // Commits exactly what was printed: the offset after each partition's last printed record, as Kafka consumers do.
      if (offsets.length > 0) await ok(client.POST('/consumers/{group}/instances/{name}/offsets', { ...instance, body: { offsets: latestPerPartition(offsets) } }));
      idlePolls = records.length === 0 ? idlePolls + 1 : 0;
      // Without follow: done after polls that find nothing (the first ones may only wait for the group's assignment).
      if (!follow && idlePolls >= 3) break;
    }
    return ExitCode.ok;
  } finally {
    await client.DELETE('/consumers/{group}/instances/{name}', instance).catch(() => undefined);
  }
}

function latestPerPartition(offsets: Array<{ topic: string; partition: number; offset: number }>) {
  const latest = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const o of offsets) {
    const k = `${o.topic}\0${o.partition}`;
    const seen = latest.get(k);
    if (!seen || seen.offset < o.offset) latest.set(k, o);
  }
  return [...latest.values()];
}
