// The cluster as this gateway's metadata image shows it: brokers, group coordinators and gateways, partition and leader
// counts per broker, and the partitions that are offline or under-replicated (what `sluice cluster info|health`
// prints); the controllers (not in the image) as the active one describes them.
import type { FastifyPluginAsync } from 'fastify';
import { BrokerVerbs, type ControllerInstanceInfo, type NodeInfo, type NodeRole } from '@sluice/contracts';
import { clusterSchema } from './schemas.js';

function describeNode(n: NodeInfo) {
  return { id: n.id, host: n.host, ports: n.ports, rack: n.rack, state: n.state };
}

/** How long GET /cluster waits for the active controller to describe the quorum, and for each broker's log sizes. */
const QUORUM_TIMEOUT_MS = 1000;

function describeInstance(i: ControllerInstanceInfo) {
  return { id: i.id, host: i.host, pid: i.pid, admin_port: i.adminPort, started_at: new Date(i.startedAt).toISOString(), last_seen_at: new Date(i.lastSeenAt).toISOString() };
}

export const clusterRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;

  app.get('/cluster', { schema: { summary: 'Nodes of every role, partitions and leaders per broker, offline and under-replicated partitions', response: { 200: clusterSchema } } }, async () => {
    const view = ctx.metadata.view;
    const image = view.image;
    const alive = new Set(view.liveBrokers().map((b) => b.id));
    // Asked at once, each bounded: the controllers, and every broker for the bytes its replicas hold on disk.
    const brokerIds = view.nodes('broker').map((b) => b.id);
    const [quorum, logBytes] = await Promise.all([
      ctx.controller.describeQuorum(QUORUM_TIMEOUT_MS).catch(() => undefined),
      Promise.all(
        brokerIds.map((id) =>
          alive.has(id)
            ? ctx.bus
                .ask(ctx.subjects.at(BrokerVerbs.logDirs, id), {}, { timeoutMs: QUORUM_TIMEOUT_MS })
                .then((r) => r.meta.partitions.reduce((sum, p) => sum + p.size, 0))
                .catch(() => null)
            : null,
        ),
      ),
    ]);
    const replicasOf = new Map<number, number>();
    const leadersOf = new Map<number, number>();
    const offline: Array<{ topic: string; partition: number; replicas: number[]; isr: number[] }> = [];
    const underReplicated: Array<{ topic: string; partition: number; replicas: number[]; isr: number[] }> = [];
    let total = 0;
    for (const topic of view.topics()) {
      for (const p of topic.partitions) {
        total++;
        for (const r of p.replicas) replicasOf.set(r, (replicasOf.get(r) ?? 0) + 1);
        const entry = { topic: topic.name, partition: p.partition, replicas: p.replicas, isr: p.isr };
        if (p.leader < 0 || !alive.has(p.leader)) offline.push(entry);
        else {
          leadersOf.set(p.leader, (leadersOf.get(p.leader) ?? 0) + 1);
          if (p.isr.length < p.replicas.length - (p.removingReplicas?.length ?? 0)) underReplicated.push(entry);
        }
      }
    }
    const nodes = (role: NodeRole) => view.nodes(role).map(describeNode);
    return {
      cluster_id: image.clusterId,
      controller_epoch: image.controllerEpoch,
      metadata_offset: image.offset,
      controllers: quorum
        ? {
            active: { ...describeInstance(quorum.active), epoch: quorum.active.epoch, active_since: new Date(quorum.active.activeSince).toISOString() },
            standbys: quorum.standbys.map(describeInstance),
            lease_ms: quorum.leaseMs,
          }
        : null,
      brokers: view.nodes('broker').map((b, i) => ({ ...describeNode(b), partitions: replicasOf.get(b.id) ?? 0, leaders: leadersOf.get(b.id) ?? 0, log_bytes: logBytes[i] })),
      group_coordinators: nodes('group-coordinator'),
      gateways: nodes('gateway'),
      topics: view.topics().length,
      partitions: total,
      offline_partitions: offline,
      under_replicated_partitions: underReplicated,
    };
  });
};
