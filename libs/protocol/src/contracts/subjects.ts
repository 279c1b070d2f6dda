// Bus addresses. Topic names may contain '.', so partition subjects carry the topic id (a UUID), never the name.

export type NodeRole = 'controller' | 'broker' | 'group-coordinator' | 'gateway';

export const ControllerVerb = {
  /** Register a node (any role); answers with its node id and session settings. */
  register: 'register',
  heartbeat: 'heartbeat',
  /** A node leaving cleanly. */
  unregister: 'unregister',
  snapshot: 'snapshot',
  createTopics: 'create-topics',
  deleteTopics: 'delete-topics',
  alterTopicConfigs: 'alter-topic-configs',
  createPartitions: 'create-partitions',
} as const;
export type ControllerVerb = (typeof ControllerVerb)[keyof typeof ControllerVerb];

export const PartitionVerb = {
  produce: 'produce',
  fetch: 'fetch',
  listOffsets: 'list-offsets',
  deleteRecords: 'delete-records',
  offsetForLeaderEpoch: 'offset-for-leader-epoch',
} as const;
export type PartitionVerb = (typeof PartitionVerb)[keyof typeof PartitionVerb];

/** Requests to a broker as a whole (several of its partitions at once). */
export const BrokerVerb = {
  produce: 'produce',
  fetch: 'fetch',
} as const;
export type BrokerVerb = (typeof BrokerVerb)[keyof typeof BrokerVerb];

export const NodeVerb = {
  health: 'health',
  stats: 'stats',
} as const;
export type NodeVerb = (typeof NodeVerb)[keyof typeof NodeVerb];

/** Subject builders for one cluster. */
export class Subjects {
  readonly prefix: string;

  constructor(readonly clusterId: string) {
    if (!/^[A-Za-z0-9_-]+$/.test(clusterId)) throw new Error(`cluster id "${clusterId}" may only hold letters, digits, '_' and '-'`);
    this.prefix = `sluice.${clusterId}`;
  }

  controller(verb: ControllerVerb): string {
    return `${this.prefix}.ctl.${verb}`;
  }

  /** Metadata deltas, published by the active controller in metadata-offset order. */
  metadataEvents(): string {
    return `${this.prefix}.meta.events`;
  }

  partition(topicId: string, partition: number, verb: PartitionVerb): string {
    return `${this.prefix}.part.${topicId}.${partition}.${verb}`;
  }

  broker(brokerId: number, verb: BrokerVerb): string {
    return `${this.prefix}.brk.${brokerId}.${verb}`;
  }

  groupShard(shard: number, verb: string): string {
    return `${this.prefix}.grp.${shard}.${verb}`;
  }

  node(nodeId: number | string, verb: NodeVerb): string {
    return `${this.prefix}.node.${nodeId}.${verb}`;
  }
}
