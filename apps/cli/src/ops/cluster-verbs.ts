// `sluice cluster info|health`.
import { createSluiceClient, ok } from '@sluice/http-client';
import { ExitCode, printJson, table } from './output.js';
import type { Verb } from './verb.js';

const ports = (p: Record<string, number>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}:${v}`)
    .join(',');

export const clusterVerbs: Verb[] = [
  {
    path: ['cluster', 'info'],
    summary: 'brokers (partitions and leaders on each), the active and standby controllers, group coordinators and gateways',
    async run(ctx) {
      const c = await ok(createSluiceClient(ctx.url).GET('/cluster'));
      if (ctx.json) {
        printJson(c);
        return ExitCode.ok;
      }
      const controllers = c.controllers
        ? [
            { ...c.controllers.active, role: `active (epoch ${c.controllers.active.epoch})` },
            ...c.controllers.standbys.map((s) => ({ ...s, role: 'standby' })),
          ]
        : [];
      const out = [
        `cluster ${c.cluster_id}: ${c.topics} topics, ${c.partitions} partitions, ${c.offline_partitions.length} offline, ${c.under_replicated_partitions.length} under-replicated (controller epoch ${c.controller_epoch})`,
        '',
        'CONTROLLERS',
        c.controllers ? table(['INSTANCE', 'HOST', 'PID', 'ADMIN PORT', 'ROLE'], controllers.map((i) => [i.id, i.host, i.pid, i.admin_port, i.role])) : 'no controller answered\n',
        'BROKERS',
        table(
          ['ID', 'HOST', 'RACK', 'STATE', 'PARTITIONS', 'LEADERS'],
          c.brokers.map((b) => [b.id, b.host, b.rack, b.state, b.partitions, b.leaders]),
        ),
      ];
      for (const [title, nodes] of [
        ['GROUP COORDINATORS', c.group_coordinators],
        ['GATEWAYS', c.gateways],
      ] as const) {
        out.push(title, table(['ID', 'HOST', 'PORTS', 'STATE'], nodes.map((n) => [n.id, n.host, ports(n.ports), n.state])));
      }
      process.stdout.write(out.join('\n'));
      return ExitCode.ok;
    },
  },
  {
    path: ['cluster', 'health'],
    summary: 'exit 0 when no partition is offline or under-replicated, 5 otherwise',
    async run(ctx) {
      const c = await ok(createSluiceClient(ctx.url).GET('/cluster'));
      const healthy = c.offline_partitions.length === 0 && c.under_replicated_partitions.length === 0;
      const brokersDown = c.brokers.filter((b) => b.state !== 'alive').map((b) => b.id);
      if (ctx.json) {
        printJson({ healthy, offline_partitions: c.offline_partitions, under_replicated_partitions: c.under_replicated_partitions, brokers_down: brokersDown });
      } else {
        process.stdout.write(
          `${healthy ? 'healthy' : 'unhealthy'}: ${c.partitions} partitions, ${c.offline_partitions.length} offline, ${c.under_replicated_partitions.length} under-replicated, ${c.brokers.length - brokersDown.length}/${c.brokers.length} brokers alive\n`,
        );
        const rows = [...c.offline_partitions.map((p) => ({ ...p, state: 'offline' })), ...c.under_replicated_partitions.map((p) => ({ ...p, state: 'under-replicated' }))];
        if (rows.length > 0) process.stdout.write(table(['TOPIC', 'PARTITION', 'STATE', 'REPLICAS', 'ISR'], rows.map((p) => [p.topic, p.partition, p.state, p.replicas.join(','), p.isr.join(',')])));
      }
      return healthy ? ExitCode.ok : ExitCode.unhealthy;
    },
  },
];
