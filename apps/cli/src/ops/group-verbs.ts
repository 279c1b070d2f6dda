// `sluice group list|describe|reset-offsets|delete|delete-offsets`.
import { createSluiceClient, ok } from '@sluice/http-client';
import { ExitCode, printJson, table } from './output.js';
import { intOption, UsageError, type OptionSpec, type Verb, type VerbContext } from './verb.js';

/** The topic and partitions a group verb acts on. */
const topicOptions: Record<string, OptionSpec> = {
  topic: { type: 'string', value: 'TOPIC', description: 'the topic (required)' },
  partition: { type: 'string', short: 'p', multiple: true, value: 'N', description: 'only this partition (default: all)' },
};

export const groupVerbs: Verb[] = [
  {
    path: ['group', 'list'],
    summary: 'consumer groups with their state',
    async run(ctx) {
      const groups = await ok(createSluiceClient(ctx.url).GET('/consumer-groups'));
      if (ctx.json) printJson(groups);
      else process.stdout.write(table(['GROUP', 'STATE', 'PROTOCOL'], groups.map((g) => [g.group_id, g.state, g.protocol_type])));
      return ExitCode.ok;
    },
  },
  {
    path: ['group', 'describe'],
    summary: 'members, their partitions, and the lag of each partition and in total',
    positionals: ['GROUP'],
    async run(ctx) {
      const client = createSluiceClient(ctx.url);
      const path = { group: ctx.positionals[0] };
      const [group, lag] = await Promise.all([ok(client.GET('/consumer-groups/{group}', { params: { path } })), ok(client.GET('/consumer-groups/{group}/lag', { params: { path } }))]);
      lag.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      const totalLag = lag.reduce((sum, l) => sum + (l.lag ?? 0), 0);
      if (ctx.json) {
        printJson({ ...group, lag, total_lag: totalLag });
        return ExitCode.ok;
      }
      const owner = new Map<string, string>();
      for (const m of group.members) for (const a of m.assignments) owner.set(`${a.topic}\0${a.partition}`, m.client_id);
      process.stdout.write(
        [
          `group ${group.group_id}: ${group.state}, ${group.members.length} members${group.protocol ? `, protocol ${group.protocol}` : ''}, total lag ${totalLag}`,
          '',
          group.members.length === 0
            ? 'members: none\n'
            : table(
                ['MEMBER', 'CLIENT', 'HOST', 'PARTITIONS'],
                group.members.map((m) => [m.member_id, m.client_id, m.client_host, m.assignments.map((a) => `${a.topic}:${a.partition}`).join(',')]),
              ),
          lag.length === 0
            ? 'committed offsets: none\n'
            : table(
                ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'CLIENT'],
                lag.map((l) => [l.topic, l.partition, l.committed_offset, l.log_end_offset, l.lag, owner.get(`${l.topic}\0${l.partition}`)]),
              ),
        ].join('\n'),
      );
      return ExitCode.ok;
    },
  },
  {
    path: ['group', 'reset-offsets'],
    summary: 'move the committed offsets of an inactive group on one topic',
    positionals: ['GROUP'],
    options: {
      ...topicOptions,
      'to-earliest': { type: 'boolean', description: 'to the first offset of each partition' },
      'to-latest': { type: 'boolean', description: 'to the end of each partition' },
      'to-offset': { type: 'string', value: 'N', description: 'to offset N' },
      'to-datetime': { type: 'string', value: 'ISO', description: 'to the first record at or after this time (e.g. 2026-01-01T00:00:00Z)' },
      'shift-by': { type: 'string', value: 'N', description: 'by N (negative: back) from the committed offset, kept within the partition' },
      'dry-run': { type: 'boolean', description: 'print the new offsets without committing them' },
    },
    notes: 'Exactly one --to-* or --shift-by. The group must have no active members (exit 4 otherwise).',
    async run(ctx) {
      const topic = requiredTopic(ctx);
      const chosen = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'shift-by'].filter((k) => ctx.values[k] !== undefined && ctx.values[k] !== false);
      if (chosen.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by');
      let body: { topic: string; to: 'earliest' | 'latest' | 'timestamp' | 'offset' | 'shift'; offset?: number; timestamp?: number; shift_by?: number };
      switch (chosen[0]) {
        case 'to-earliest':
          body = { topic, to: 'earliest' };
          break;
        case 'to-latest':
          body = { topic, to: 'latest' };
          break;
        case 'to-offset':
          body = { topic, to: 'offset', offset: intOption(ctx, 'to-offset', 0) };
          break;
        case 'to-datetime': {
          const timestamp = Date.parse(ctx.values['to-datetime'] as string);
          if (!Number.isFinite(timestamp) || timestamp < 0) throw new UsageError(`--to-datetime takes an ISO 8601 time such as 2026-01-01T00:00:00Z, not "${String(ctx.values['to-datetime'])}"`);
          body = { topic, to: 'timestamp', timestamp };
          break;
        }
        default:
          body = { topic, to: 'shift', shift_by: intOption(ctx, 'shift-by', -Number.MAX_SAFE_INTEGER) };
      }
      const partitions = partitionList(ctx);
      const dryRun = ctx.values['dry-run'] === true;
      const result = await ok(
        createSluiceClient(ctx.url).POST('/consumer-groups/{group}/offsets', { params: { path: { group: ctx.positionals[0] } }, body: { ...body, ...(partitions ? { partitions } : {}), dry_run: dryRun } }),
      );
      if (ctx.json) printJson(result);
      else {
        process.stdout.write(table(['TOPIC', 'PARTITION', 'PREVIOUS', 'NEW'], result.offsets.map((o) => [result.topic, o.partition, o.previous_offset, o.offset])));
        process.stderr.write(dryRun ? 'dry run: nothing was committed\n' : `committed the new offsets of group ${result.group_id}\n`);
      }
      return ExitCode.ok;
    },
  },
  {
    path: ['group', 'delete'],
    summary: 'delete an inactive group and its committed offsets',
    positionals: ['GROUP'],
    async run(ctx) {
      const [group] = ctx.positionals;
      await ok(createSluiceClient(ctx.url).DELETE('/consumer-groups/{group}', { params: { path: { group } } }));
      if (ctx.json) printJson({ deleted: group });
      else process.stdout.write(`deleted group ${group}\n`);
      return ExitCode.ok;
    },
  },
  {
    path: ['group', 'delete-offsets'],
    summary: 'delete a group’s committed offsets of one topic (Kafka’s OffsetDelete)',
    positionals: ['GROUP'],
    options: {
      ...topicOptions,
    },
    notes: 'Refused (exit 4) while a member of the group consumes the topic.',
    async run(ctx) {
      const topic = requiredTopic(ctx);
      const partitions = partitionList(ctx);
      const [group] = ctx.positionals;
      const result = await ok(
        createSluiceClient(ctx.url).DELETE('/consumer-groups/{group}/offsets', { params: { path: { group }, query: { topic, ...(partitions ? { partitions: partitions.join(',') } : {}) } } }),
      );
      if (ctx.json) printJson(result);
      else process.stdout.write(`deleted the committed offsets of group ${group} on ${topic} partitions ${(result.partitions ?? []).join(',')}\n`);
      return ExitCode.ok;
    },
  },
];

function requiredTopic(ctx: VerbContext): string {
  const topic = ctx.values.topic as string | undefined;
  if (!topic) throw new UsageError('give --topic TOPIC');
  return topic;
}

/** The repeatable -p option as partition numbers (undefined when absent). */
function partitionList(ctx: VerbContext): number[] | undefined {
  return (ctx.values.partition as string[] | undefined)?.map((p) => {
    if (!/^[0-9]+$/.test(p)) throw new UsageError(`-p takes a partition number, not "${p}"`);
    return Number(p);
  });
}
