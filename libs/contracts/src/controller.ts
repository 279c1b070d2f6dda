// Requests to and replies from the controller actor (JSON metadata; only snapshot chunks carry a binary body).
import type { NodeRole, PartitionInfo, TopicInfo } from './metadata.js';

export interface ControllerRegisterRequest {
  role: NodeRole;
  /** The node's requested id; omitted to have the controller assign one. */
  nodeId?: number;
  host: string;
  ports: Record<string, number>;
  rack?: string | null;
}
export interface ControllerRegisterReply {
  nodeId: number;
  incarnation: number;
  /** How often to heartbeat and after how long without one the node is fenced. */
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  metadataOffset: number;
}

export interface ControllerHeartbeatRequest {
  nodeId: number;
  incarnation: number;
}
export interface ControllerHeartbeatReply {
  /** False when the controller fenced this incarnation: the node must register again. */
  accepted: boolean;
  metadataOffset: number;
}

export interface ControllerUnregisterRequest {
  nodeId: number;
  incarnation: number;
}
export interface ControllerUnregisterReply {
  metadataOffset: number;
}

/**
 * The metadata image travels as gzip-compressed JSON cut into chunks that each fit a bus message (a 100,000-partition
 * image is about 10 MB of JSON, beyond NATS's message limit). A request without `offset` asks for the current image;
 * the other chunks are asked for by index with the `offset` and `controllerEpoch` the first reply named.
 */
export interface ControllerSnapshotRequest {
  /** Default 0. */
  chunk?: number;
  offset?: number;
  controllerEpoch?: number;
}
/** Metadata of one chunk; the chunk's bytes are the message body. */
export interface ControllerSnapshotReply {
  /** The image's metadata offset and controller epoch: together they name the snapshot. */
  offset: number;
  controllerEpoch: number;
  chunk: number;
  chunks: number;
  encoding: 'gzip-json';
}
export const SnapshotErrorCode = {
  /** The controller no longer holds the snapshot a chunk was asked from (the image moved on): start again. */
  expired: 'SNAPSHOT_EXPIRED',
} as const;

export interface CreateTopicSpec {
  name: string;
  /** -1 for the cluster default. */
  partitions: number;
  /** -1 for the cluster default. */
  replicationFactor: number;
  configs?: Record<string, string>;
  /** Manual replica assignment: the replicas (broker ids, preferred leader first) of each partition, from 0; with it, partitions and replicationFactor are -1. */
  assignments?: number[][];
}
export interface ControllerCreateTopicsRequest {
  topics: CreateTopicSpec[];
  validateOnly?: boolean;
}
export interface TopicResult {
  name: string;
  /** Kafka error code, 0 on success. */
  errorCode: number;
  errorMessage: string | null;
  topic?: TopicInfo;
}
export interface ControllerCreateTopicsReply {
  results: TopicResult[];
  metadataOffset: number;
}

export interface ControllerDeleteTopicsRequest {
  names: string[];
}
export interface ControllerDeleteTopicsReply {
  results: TopicResult[];
  metadataOffset: number;
}

export interface ControllerCreatePartitionsRequest {
  /** `count`: the topic's new number of partitions (more than it has). */
  topics: Array<{ name: string; count: number; /** Manual replica assignment of the new partitions, in order. */ assignments?: number[][] }>;
  validateOnly?: boolean;
}
export interface ControllerCreatePartitionsReply {
  results: TopicResult[];
  metadataOffset: number;
}

export interface ControllerAlterTopicConfigsRequest {
  name: string;
  /** Values to set; null removes an override. */
  configs: Record<string, string | null>;
  validateOnly?: boolean;
}
export interface ControllerAlterTopicConfigsReply {
  result: TopicResult;
  metadataOffset: number;
}

/**
 * A partition leader asks to change its partition's in-sync replicas (Kafka's AlterPartition): checked against the
 * current leader epoch and partition epoch, so a stale or fenced leader changes nothing.
 */
export interface ControllerAlterPartitionRequest {
  brokerId: number;
  /** The leader's registration incarnation: a leader fenced and registered again cannot use an old view. */
  brokerIncarnation: number;
  partitions: Array<{ topicId: string; partition: number; leaderEpoch: number; partitionEpoch: number; newIsr: number[] }>;
}
export interface ControllerAlterPartitionReply {
  /** Per partition, in request order: the partition as it is now (with its new ISR and partition epoch) on success. */
  partitions: Array<{ errorCode: number; errorMessage: string | null; partition?: PartitionInfo }>;
  metadataOffset: number;
}

/** One partition named by topic name, as admin clients name it. */
export interface NamedPartition {
  topic: string;
  partition: number;
}
export interface NamedPartitionResult extends NamedPartition {
  /** Kafka error code, 0 on success. */
  errorCode: number;
  errorMessage: string | null;
}

/**
 * Leader elections on request (Kafka's ElectLeaders): 'preferred' moves leadership to the first replica when it is
 * alive and in sync; 'unclean' elects a leader for offline partitions, out of sync if need be. `partitions: null`
 * means every partition, and then only the partitions an election was tried for are answered.
 */
export interface ControllerElectLeadersRequest {
  electionType: 'preferred' | 'unclean';
  partitions: NamedPartition[] | null;
}
export interface ControllerElectLeadersReply {
  results: Array<NamedPartitionResult & { leader?: number }>;
  metadataOffset: number;
}

/**
 * Partition reassignments (Kafka's AlterPartitionReassignments): `replicas` is the target replica list (preferred
 * first); null cancels the reassignment in progress.
 */
export interface ControllerAlterReassignmentsRequest {
  reassignments: Array<NamedPartition & { replicas: number[] | null }>;
}
export interface ControllerAlterReassignmentsReply {
  results: NamedPartitionResult[];
  metadataOffset: number;
}

/** A block of producer ids for a gateway (Kafka's AllocateProducerIds): never handed out twice, across takeovers. */
export interface ControllerAllocateProducerIdsRequest {
  nodeId: number;
  incarnation: number;
}
export interface ControllerAllocateProducerIdsReply {
  firstProducerId: number;
  count: number;
}

/** One controller instance as the quorum knows it. */
export interface ControllerInstanceInfo {
  id: string;
  host: string;
  pid: number;
  /** Admin HTTP port (health, metrics); 0 when unknown. */
  adminPort: number;
  startedAt: number;
  /** When the instance last refreshed its row (ms since the epoch, database clock). */
  lastSeenAt: number;
}
export type ControllerDescribeQuorumRequest = Record<string, never>;
export interface ControllerDescribeQuorumReply {
  /** The active controller (the one answering) and the epoch of its lease. */
  active: ControllerInstanceInfo & { epoch: number; activeSince: number };
  /** Running standbys: instances that refreshed their row within the last lease time. */
  standbys: ControllerInstanceInfo[];
  leaseMs: number;
}
