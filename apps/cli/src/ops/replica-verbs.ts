// `sluice partition reassign|reassignments` and `sluice leader elect`: moving partitions between brokers and leadership
// back to preferred replicas, as kafka-reassign-partitions.sh and kafka-leader-election.sh do.
import { createSluiceClient, ok } from '@sluice/http-client';
import { ExitCode, printJson, table } from './output.js';
import { UsageError, type Verb, type VerbContext } from './verb.js';

interface PartitionResult {
  topic?: string;
  partition?: number;
  error_code?: string | null;
  error?: string | null;
}

/** A non-negative integer positional (undefined when absent), or a usage error naming it. */
function intPositional(ctx: VerbContext, index: number, name: string): number | undefined {
  const raw = ctx.positionals[index];
  if (raw === undefined) return undefined;
  return parsePartition(raw, name);
}

function parsePartition(raw: string, name: string): number {
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new UsageError(`${name} must be a non-negative integer, not "${raw}"`);
  return Number(raw);
}

/** Per-partition results as a table (or JSON); exit 1 when any failed (except when no election was needed). */
function printResults(ctx: VerbContext, results: PartitionResult[], done: string, harmless: readonly string[] = []): number {
  if (ctx.json) printJson(results);
  else process.stdout.write(table(['TOPIC', 'PARTITION', 'RESULT'], results.map((r) => [r.topic, r.partition, r.error_code ? `${r.error_code}: ${r.error ?? ''}` : done])));
  return results.every((r) => !r.error_code || harmless.includes(r.error_code)) ? ExitCode.ok : ExitCode.failed;
}

export const replicaVerbs: Verb[] = [
  {
    path: ['partition', 'reassign'],
    summary: 'move a partition to other brokers (the new replicas copy the log, then the old ones are dropped), or cancel a move',
    positionals: ['TOPIC', 'PARTITION'],
    options: {
      replicas: { type: 'string', value: 'IDS', description: 'target broker ids, preferred leader first, e.g. 4,2,3' },
      cancel: { type: 'boolean', description: 'cancel the reassignment in progress (back to the original replicas)' },
    },
    notes: 'The move goes on in the background; `sluice partition reassignments` lists those in progress.',
    async run(ctx) {
      const topic = ctx.positionals[0];
      const partition = parsePartition(ctx.positionals[1], 'PARTITION');
      const raw = ctx.values.replicas;
      if ((raw === undefined) === (ctx.values.cancel !== true)) throw new UsageError('give either --replicas IDS or --cancel');
      let replicas: number[] | null = null;
      if (typeof raw === 'string') {
        replicas = raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
        if (replicas.length === 0 || !replicas.every((b) => Number.isSafeInteger(b) && b >= 0)) throw new UsageError(`--replicas takes broker ids separated by commas, not "${raw}"`);
      }
      const res = await ok(createSluiceClient(ctx.url).POST('/reassignments', { body: { reassignments: [{ topic, partition, replicas }] } }));
      return printResults(ctx, res.results ?? [], replicas === null ? 'cancelled' : 'started');
    },
  },
  {
    path: ['partition', 'reassignments'],
    summary: 'partition reassignments in progress',
    async run(ctx) {
      const res = await ok(createSluiceClient(ctx.url).GET('/reassignments'));
      const rows = res.reassignments ?? [];
      if (ctx.json) printJson(rows);
      else process.stdout.write(table(['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'REMOVING'], rows.map((r) => [r.topic, r.partition, r.replicas?.join(','), r.adding?.join(','), r.removing?.join(',')])));
      return ExitCode.ok;
    },
  },
  {
    path: ['leader', 'elect'],
    summary: 'move leadership to preferred replicas (the first of each partition) when they are in sync; --unclean gives offline partitions a leader that may lack records',
    positionals: ['[TOPIC]', '[PARTITION]'],
    options: {
      unclean: { type: 'boolean', description: 'elect out-of-sync replicas for offline partitions (what they lack is lost)' },
    },
    notes: 'Without TOPIC, every partition; with TOPIC alone, each of its partitions. ELECTION_NOT_NEEDED is not a failure.',
    async run(ctx) {
      const client = createSluiceClient(ctx.url);
      const [topic] = ctx.positionals;
      const partition = intPositional(ctx, 1, 'PARTITION');
      let partitions: Array<{ topic: string; partition: number }> | undefined;
      if (topic !== undefined) {
        const described = await ok(client.GET('/topics/{topic}', { params: { path: { topic } } }));
        const all = (described.partitions ?? []).map((p) => p.partition ?? 0);
        partitions = (partition === undefined ? all : [partition]).map((p) => ({ topic, partition: p }));
      }
      const res = await ok(client.POST('/elect-leaders', { body: { type: ctx.values.unclean === true ? 'unclean' : 'preferred', partitions } }));
      return printResults(ctx, res.results ?? [], 'elected', ['ELECTION_NOT_NEEDED']);
    },
  },
];
