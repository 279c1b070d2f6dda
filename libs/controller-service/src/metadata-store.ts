// Durable metadata through Prisma (SQLite via libSQL, or PostgreSQL): the image is loaded at start, and each batch
// of deltas is written in one transaction together with the new metadata offset.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPrismaClient, type Provider } from '@sluice/database';
import type { MetadataDelta, MetadataImage, NodeInfo, NodeRole, NodeState, PartitionInfo, TopicInfo } from '@sluice/protocol';
import type { Prisma, PrismaClient } from './generated/prisma-sqlite/client.js';

type PrismaPromise<T> = Prisma.PrismaPromise<T>;

const prismaDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');

export interface LoadedState {
  clusterId: string;
  controllerEpoch: number;
  image: MetadataImage;
}

export class MetadataStore {
  private constructor(
    private readonly prisma: PrismaClient,
    readonly provider: Provider,
  ) {}

  /** Connects, applies pending migrations, and returns the store with the names of the migrations it applied. */
  static async open(url: string): Promise<{ store: MetadataStore; applied: string[] }> {
    const { client, provider, applied } = await openPrismaClient<PrismaClient>(url, prismaDir, {
      sqlite: () => import('./generated/prisma-sqlite/client.js'),
      postgres: () => import('./generated/prisma-postgres/client.js'),
    });
    return { store: new MetadataStore(client, provider), applied };
  }

  /** Loads the image and starts a new controller epoch. */
  async load(clusterId: string): Promise<LoadedState> {
    const previous = await this.prisma.clusterState.findUnique({ where: { id: 1 } });
    if (previous && previous.clusterId !== clusterId) {
      throw new Error(`the metadata database belongs to cluster "${previous.clusterId}", not "${clusterId}"`);
    }
    const controllerEpoch = (previous?.controllerEpoch ?? 0) + 1;
    const offset = previous?.metadataOffset ?? 0;
    await this.prisma.clusterState.upsert({
      where: { id: 1 },
      create: { id: 1, clusterId, controllerEpoch, metadataOffset: offset },
      update: { controllerEpoch },
    });
    const [nodes, topics] = await Promise.all([
      this.prisma.node.findMany(),
      this.prisma.topic.findMany({ include: { partitions: { orderBy: { partition: 'asc' } } } }),
    ]);
    const image: MetadataImage = { clusterId, offset, controllerEpoch, nodes: {}, topics: {} };
    for (const n of nodes) {
      image.nodes[n.id] = {
        id: n.id,
        role: n.role as NodeRole,
        host: n.host,
        ports: JSON.parse(n.ports) as Record<string, number>,
        rack: n.rack,
        state: n.state as NodeState,
        incarnation: n.incarnation,
      };
    }
    for (const t of topics) {
      image.topics[t.id] = {
        id: t.id,
        name: t.name,
        configs: JSON.parse(t.configs) as Record<string, string>,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          replicas: JSON.parse(p.replicas) as number[],
          isr: JSON.parse(p.isr) as number[],
        })),
      };
    }
    return { clusterId, controllerEpoch, image };
  }

  /** Writes the deltas and the metadata offset they lead to, atomically. */
  async persist(deltas: readonly MetadataDelta[], metadataOffset: number): Promise<void> {
    const p = this.prisma;
    const ops = deltas.flatMap((d) => this.writesFor(d));
    await p.$transaction([...ops, p.clusterState.update({ where: { id: 1 }, data: { metadataOffset } })]);
  }

  private writesFor(delta: MetadataDelta): Array<PrismaPromise<unknown>> {
    const p = this.prisma;
    switch (delta.type) {
      case 'node-registered': {
        const row = nodeRow(delta.node);
        return [p.node.upsert({ where: { id: row.id }, create: row, update: row })];
      }
      case 'node-fenced':
        return [p.node.update({ where: { id: delta.nodeId }, data: { state: 'fenced' } })];
      case 'node-unregistered':
        return [p.node.deleteMany({ where: { id: delta.nodeId } })];
      case 'topic-created':
        return [
          p.topic.create({
            data: {
              id: delta.topic.id,
              name: delta.topic.name,
              configs: JSON.stringify(delta.topic.configs),
              partitions: { create: delta.topic.partitions.map(partitionRow) },
            },
          }),
        ];
      case 'topic-deleted':
        return [p.partition.deleteMany({ where: { topicId: delta.topicId } }), p.topic.deleteMany({ where: { id: delta.topicId } })];
      case 'partition-changed':
        return [
          p.partition.update({
            where: { topicId_partition: { topicId: delta.topicId, partition: delta.partition.partition } },
            data: partitionRow(delta.partition),
          }),
        ];
      case 'partitions-created':
        return delta.partitions.map((partition) => p.partition.create({ data: { topicId: delta.topicId, ...partitionRow(partition) } }));
      case 'topic-configs-changed':
        return [p.topic.update({ where: { id: delta.topicId }, data: { configs: JSON.stringify(delta.configs) } })];
    }
  }

  close(): Promise<void> {
    return this.prisma.$disconnect();
  }
}

function nodeRow(n: NodeInfo) {
  return { id: n.id, role: n.role, host: n.host, ports: JSON.stringify(n.ports), rack: n.rack, state: n.state, incarnation: n.incarnation };
}

function partitionRow(p: PartitionInfo) {
  return {
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    replicas: JSON.stringify(p.replicas),
    isr: JSON.stringify(p.isr),
  };
}

export type { TopicInfo };
