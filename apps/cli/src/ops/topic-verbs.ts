// `sluice topic create|list|describe|alter-config|add-partitions|delete`.
import { createSluiceClient, ok } from '@sluice/http-client';
import { ExitCode, printJson, table } from './output.js';
import { intOption, pairs, stringList, UsageError, type Verb } from './verb.js';

const replicaList = (replicas: Array<{ broker?: number; in_sync?: boolean }> | undefined, inSyncOnly = false) =>
  (replicas ?? [])
    .filter((r) => !inSyncOnly || r.in_sync)
    .map((r) => r.broker)
    .join(',');

const sortedEntries = (configs: Record<string, string>) => Object.entries(configs).sort(([a], [b]) => a.localeCompare(b));

export const topicVerbs: Verb[] = [
  {
    path: ['topic', 'create'],
    summary: 'create a topic',
    positionals: ['NAME'],
    options: {
      partitions: { type: 'string', short: 'p', value: 'N', description: 'partitions (default: the broker default)' },
      'replication-factor': { type: 'string', short: 'r', value: 'N', description: 'replicas of each partition (default: the broker default)' },
      config: { type: 'string', short: 'c', multiple: true, value: 'KEY=VALUE', description: 'a topic config, e.g. retention.ms=60000' },
    },
    async run(ctx) {
      const [name] = ctx.positionals;
      const topic = await ok(
        createSluiceClient(ctx.url).POST('/topics', {
          body: { name, partitions: intOption(ctx, 'partitions', 1), replication_factor: intOption(ctx, 'replication-factor', 1), configs: pairs(ctx, 'config') },
        }),
      );
      if (ctx.json) printJson(topic);
      else process.stdout.write(`created topic ${topic.name} with ${topic.partitions?.length ?? 0} partitions\n`);
      return ExitCode.ok;
    },
  },
  {
    path: ['topic', 'list'],
    summary: 'topics with their partition count and replication factor',
    async run(ctx) {
      const client = createSluiceClient(ctx.url);
      const names = await ok(client.GET('/topics'));
      const topics = await Promise.all(names.map((topic) => ok(client.GET('/topics/{topic}', { params: { path: { topic } } }))));
      const rows = topics.map((t) => ({ name: t.name ?? '', partitions: t.partitions?.length ?? 0, replication_factor: t.partitions?.[0]?.replicas?.length ?? 0, configs: t.configs ?? {} }));
      if (ctx.json) printJson(rows);
      else process.stdout.write(table(['NAME', 'PARTITIONS', 'REPLICAS', 'CONFIGS'], rows.map((t) => [t.name, t.partitions, t.replication_factor, sortedEntries(t.configs).map(([k, v]) => `${k}=${v}`).join(',')])));
      return ExitCode.ok;
    },
  },
  {
    path: ['topic', 'describe'],
    summary: 'partitions (leader, replicas, ISR, start and end offsets) and configs of a topic',
    positionals: ['NAME'],
    async run(ctx) {
      const client = createSluiceClient(ctx.url);
      const path = { topic: ctx.positionals[0] };
      const [topic, partitions] = await Promise.all([ok(client.GET('/topics/{topic}', { params: { path } })), ok(client.GET('/topics/{topic}/partitions', { params: { path } }))]);
      if (ctx.json) {
        printJson({ ...topic, partitions });
        return ExitCode.ok;
      }
      const configs = sortedEntries(topic.configs ?? {});
      process.stdout.write(
        [
          `topic ${topic.name} (id ${topic.id}): ${partitions.length} partitions`,
          '',
          table(
            ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'START', 'END', 'ERROR'],
            partitions.map((p) => [p.partition, p.leader !== undefined && p.leader >= 0 ? p.leader : 'none', p.leader_epoch, replicaList(p.replicas), replicaList(p.replicas, true), p.beginning_offset, p.end_offset, p.error ?? '']),
          ),
          configs.length === 0 ? 'configs: (broker defaults)\n' : table(['CONFIG', 'VALUE'], configs),
        ].join('\n'),
      );
      return ExitCode.ok;
    },
  },
  {
    path: ['topic', 'alter-config'],
    summary: 'set or remove (back to the default) topic configs',
    positionals: ['NAME'],
    options: {
      set: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'set a config' },
      delete: { type: 'string', multiple: true, value: 'KEY', description: 'remove an override' },
    },
    async run(ctx) {
      const configs: Record<string, string | null> = pairs(ctx, 'set');
      for (const key of stringList(ctx, 'delete')) configs[key] = null;
      if (Object.keys(configs).length === 0) throw new UsageError('give --set KEY=VALUE or --delete KEY');
      const topic = await ok(createSluiceClient(ctx.url).PUT('/topics/{topic}/configs', { params: { path: { topic: ctx.positionals[0] } }, body: { configs } }));
      if (ctx.json) printJson(topic.configs ?? {});
      else {
        const entries = sortedEntries(topic.configs ?? {});
        process.stdout.write(`updated ${topic.name}\n${entries.length === 0 ? 'configs: (broker defaults)\n' : table(['CONFIG', 'VALUE'], entries)}`);
      }
      return ExitCode.ok;
    },
  },
  {
    path: ['topic', 'add-partitions'],
    summary: 'grow a topic to N partitions in total',
    positionals: ['NAME'],
    options: { partitions: { type: 'string', short: 'n', value: 'N', description: 'the new partition count (required)' } },
    async run(ctx) {
      const partitions = intOption(ctx, 'partitions', 1);
      if (partitions === undefined) throw new UsageError('give the new partition count with -n N');
      const topic = await ok(createSluiceClient(ctx.url).POST('/topics/{topic}/partitions', { params: { path: { topic: ctx.positionals[0] } }, body: { partitions } }));
      if (ctx.json) printJson(topic);
      else process.stdout.write(`${topic.name} has ${topic.partitions?.length ?? 0} partitions\n`);
      return ExitCode.ok;
    },
  },
  {
    path: ['topic', 'delete'],
    summary: 'delete a topic and its records',
    positionals: ['NAME'],
    async run(ctx) {
      const [topic] = ctx.positionals;
      await ok(createSluiceClient(ctx.url).DELETE('/topics/{topic}', { params: { path: { topic } } }));
      if (ctx.json) printJson({ deleted: topic });
      else process.stdout.write(`deleted topic ${topic}\n`);
      return ExitCode.ok;
    },
  },
];
