// `sluice produce TOPIC`: one record per line of stdin or of a file, sent in batches over the HTTP API.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createSluiceClient, ok, SluiceApiError } from '@sluice/http-client';
import { ExitCode, printJson } from './output.js';
import { intOption, pairs, UsageError, type Verb } from './verb.js';

const BATCH_RECORDS = 5000;
const BATCH_BYTES = 1024 * 1024;

type Format = 'string' | 'json' | 'binary';

function parseField(format: Format, text: string, what: string, lineNo: number): unknown {
  if (format !== 'json') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`line ${lineNo}: the ${what} is not JSON (-f json): ${text.slice(0, 80)}`);
  }
}

export const produceVerb: Verb = {
  path: ['produce'],
  summary: 'produce one record per line of stdin (or of --file)',
  positionals: ['TOPIC'],
  options: {
    file: { type: 'string', value: 'PATH', description: 'read the records from this file instead of stdin (progress on stderr)' },
    'key-separator': { type: 'string', short: 'k', value: 'SEP', description: 'each line is KEY SEP VALUE (split at the first SEP); lines without it have no key' },
    header: { type: 'string', short: 'H', multiple: true, value: 'KEY=VALUE', description: 'a header on every record' },
    partition: { type: 'string', short: 'p', value: 'N', description: 'send every record to this partition (default: by key, sticky without)' },
    acks: { type: 'string', value: 'all|1|0', description: 'acknowledgement to wait for (default: all)' },
    format: { type: 'string', short: 'f', value: 'string|json|binary', description: 'how keys and values are written: text, JSON values, or base64 bytes (default: string)' },
  },
  notes: 'Prints nothing on success but, for --file, the count and rate on stderr; --json prints a summary.',
  async run(ctx) {
    const [topic] = ctx.positionals;
    const format = (ctx.values.format as string | undefined) ?? 'string';
    if (format !== 'string' && format !== 'json' && format !== 'binary') throw new UsageError(`-f must be string, json or binary, not "${format}"`);
    const acks = (ctx.values.acks as string | undefined) ?? 'all';
    if (!['all', '-1', '1', '0'].includes(acks)) throw new UsageError(`--acks must be all, 1 or 0, not "${acks}"`);
    const partition = intOption(ctx, 'partition');
    const separator = ctx.values['key-separator'] as string | undefined;
    if (separator === '') throw new UsageError('-k needs a non-empty separator');
    const headers = pairs(ctx, 'header');
    const file = ctx.values.file as string | undefined;
    const total = file ? statSync(file).size : 0;
    const client = createSluiceClient(ctx.url);

    let produced = 0;
    let failed = 0;
    let bytesRead = 0;
    const partitions: Record<number, { first: number; last: number }> = {};
    const started = performance.now();
    let lastProgress = 0;
    const progress = (final: boolean) => {
      if (!file) return;
      const now = performance.now();
      if (!final && now - lastProgress < 500) return;
      lastProgress = now;
      const seconds = (now - started) / 1000;
      const rate = Math.round(produced / Math.max(seconds, 0.001));
      const pct = total > 0 ? Math.min(100, Math.floor((bytesRead / total) * 100)) : 100;
      const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
      const text = `[${bar}] ${pct}% ${produced} records, ${rate} records/s`;
      if (process.stderr.isTTY) process.stderr.write(`\r${text}${final ? '\n' : ''}`);
      else if (final) process.stderr.write(`${text}, ${seconds.toFixed(1)} s\n`);
    };

    let batch: Array<{ key?: unknown; value: unknown; headers?: Record<string, string> }> = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const body = { format: format as Format, records: batch };
      const query = { acks: acks as 'all' | '-1' | '1' | '0' };
      const res =
        partition === undefined
          ? await ok(client.POST('/topics/{topic}', { params: { path: { topic }, query }, body }))
          : await ok(client.POST('/topics/{topic}/partitions/{partition}', { params: { path: { topic, partition }, query }, body }));
      for (const o of res.offsets ?? []) {
        if (o.error_code !== null && o.error_code !== undefined) {
          failed++;
          if (failed <= 10) process.stderr.write(`record not written (partition ${o.partition}): ${o.error ?? 'error'}\n`);
          continue;
        }
        produced++;
        if (o.partition !== undefined && typeof o.offset === 'number') {
          const p = (partitions[o.partition] ??= { first: o.offset, last: o.offset });
          p.last = Math.max(p.last, o.offset);
        }
      }
      batch = [];
      batchBytes = 0;
      progress(false);
    };

    const input = file ? createReadStream(file) : process.stdin;
    const lines = createInterface({ input, crlfDelay: Infinity });
    let lineNo = 0;
    try {
      for await (const line of lines) {
        lineNo++;
        bytesRead += Buffer.byteLength(line) + 1;
        let key: unknown;
        let value: string = line;
        if (separator !== undefined) {
          const at = line.indexOf(separator);
          if (at >= 0) {
            key = parseField(format, line.slice(0, at), 'key', lineNo);
            value = line.slice(at + separator.length);
          }
        }
        batch.push({ ...(key === undefined ? {} : { key }), value: parseField(format, value, 'value', lineNo), ...(Object.keys(headers).length > 0 ? { headers } : {}) });
        batchBytes += line.length;
        if (batch.length >= BATCH_RECORDS || batchBytes >= BATCH_BYTES) await flush();
      }
      await flush();
    } catch (err) {
      if (err instanceof SluiceApiError) process.stderr.write(`${produced} records produced before the error\n`);
      throw err;
    } finally {
      lines.close();
    }
    progress(true);
    if (ctx.json) printJson({ topic, produced, failed, partitions });
    if (failed > 0) {
      process.stderr.write(`${failed} records were not written\n`);
      return ExitCode.failed;
    }
    return ExitCode.ok;
  },
};
