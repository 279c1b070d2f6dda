// The cluster metadata image and the deltas the controller publishes to change it.

export type NodeRole = 'controller' | 'broker' | 'group-coordinator' | 'gateway';

export type NodeState = 'alive' | 'fenced';

export interface NodeInfo {
  id: number;
  role: NodeRole;
  /** Host and ports the node advertises (gateways: where clients connect). */
  host: string;
  ports: Record<string, number>;
  rack: string | null;
  state: NodeState;
  /** Increases each time the node registers; requests from an older incarnation are fenced. */
  incarnation: number;
}

export interface PartitionInfo {
  partition: number;
  /** Broker id of the leader; -1 when the partition is offline. */
  leader: number;
  leaderEpoch: number;
  /** Bumped on every change of leader, replicas or ISR. */
  partitionEpoch: number;
  /** Preferred (first) replica first. During a reassignment: the target replicas, then those being removed. */
  replicas: number[];
  isr: number[];
  /** During a reassignment (Kafka's KIP-455): target replicas that are catching up. Absent otherwise. */
  addingReplicas?: number[];
  /** During a reassignment: replicas that go once every target replica is in sync. Absent otherwise. */
  removingReplicas?: number[];
}

export interface TopicInfo {
  id: string;
  name: string;
  partitions: PartitionInfo[];
  /** Topic-level config overrides (retention.ms, cleanup.policy, ...). */
  configs: Record<string, string>;
}

export interface MetadataImage {
  clusterId: string;
  /** Offset of the last delta applied; the image is the state after it. */
  offset: number;
  controllerEpoch: number;
  nodes: Record<string, NodeInfo>;
  /** Topics by id. */
  topics: Record<string, TopicInfo>;
}

export type MetadataDelta =
  | { type: 'node-registered'; node: NodeInfo }
  | { type: 'node-fenced'; nodeId: number }
  | { type: 'node-unregistered'; nodeId: number }
  | { type: 'topic-created'; topic: TopicInfo }
  | { type: 'topic-deleted'; topicId: string; name: string }
  | { type: 'partition-changed'; topicId: string; partition: PartitionInfo }
  /** Partitions added to a topic (CreatePartitions), numbered on from its last one. */
  | { type: 'partitions-created'; topicId: string; partitions: PartitionInfo[] }
  | { type: 'topic-configs-changed'; topicId: string; configs: Record<string, string> };

/** One published change: `offset` is strictly increasing and dense per controller. */
export interface MetadataRecord {
  offset: number;
  controllerEpoch: number;
  delta: MetadataDelta;
}
