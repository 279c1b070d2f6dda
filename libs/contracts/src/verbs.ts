// Every bus verb of Sluice, defined once: owner, subject, request and reply types. Senders (`bus.ask`) and servers
// (`bus.serve`) both take these definitions through `subjects.at(verb, key)`, so they cannot disagree.
import { defineVerb } from '@sluice/bus';
import type {
  BrokerDeleteRecordsReply,
  BrokerDeleteRecordsRequest,
  BrokerFetchCancel,
  BrokerFetchReply,
  BrokerFetchRequest,
  BrokerListOffsetsReply,
  BrokerLogDirsReply,
  BrokerLogDirsRequest,
  BrokerListOffsetsRequest,
  BrokerDescribeReplicasReply,
  BrokerDescribeReplicasRequest,
  BrokerOffsetForLeaderEpochReply,
  BrokerOffsetForLeaderEpochRequest,
  BrokerProduceReply,
  BrokerProduceRequest,
  BrokerReplicaFetchReply,
  BrokerReplicaFetchRequest,
} from './broker.js';
import type {
  ControllerAllocateProducerIdsReply,
  ControllerAllocateProducerIdsRequest,
  ControllerAlterPartitionReply,
  ControllerAlterPartitionRequest,
  ControllerDescribeQuorumReply,
  ControllerDescribeQuorumRequest,
  ControllerAlterReassignmentsReply,
  ControllerAlterReassignmentsRequest,
  ControllerElectLeadersReply,
  ControllerElectLeadersRequest,
  ControllerAlterTopicConfigsReply,
  ControllerAlterTopicConfigsRequest,
  ControllerCreatePartitionsReply,
  ControllerCreatePartitionsRequest,
  ControllerCreateTopicsReply,
  ControllerCreateTopicsRequest,
  ControllerDeleteTopicsReply,
  ControllerDeleteTopicsRequest,
  ControllerHeartbeatReply,
  ControllerHeartbeatRequest,
  ControllerRegisterReply,
  ControllerRegisterRequest,
  ControllerSnapshotReply,
  ControllerSnapshotRequest,
  ControllerUnregisterReply,
  ControllerUnregisterRequest,
} from './controller.js';
import type { GroupApiReply, GroupApiRequest } from './groups.js';

/** The active controller (only the lease holder serves these): `sluice.<c>.ctl.<verb>`. */
export const ControllerVerbs = {
  /** A node (any role) registers; answers with its node id and session settings. */
  register: defineVerb<ControllerRegisterRequest, ControllerRegisterReply>('ctl', 'register', 'controller'),
  heartbeat: defineVerb<ControllerHeartbeatRequest, ControllerHeartbeatReply>('ctl', 'heartbeat', 'controller'),
  /** A node leaving cleanly. */
  unregister: defineVerb<ControllerUnregisterRequest, ControllerUnregisterReply>('ctl', 'unregister', 'controller'),
  /** One chunk of the metadata image (the chunk's bytes are the reply body). */
  snapshot: defineVerb<ControllerSnapshotRequest, ControllerSnapshotReply>('ctl', 'snapshot', 'controller'),
  createTopics: defineVerb<ControllerCreateTopicsRequest, ControllerCreateTopicsReply>('ctl', 'create-topics', 'controller'),
  deleteTopics: defineVerb<ControllerDeleteTopicsRequest, ControllerDeleteTopicsReply>('ctl', 'delete-topics', 'controller'),
  alterTopicConfigs: defineVerb<ControllerAlterTopicConfigsRequest, ControllerAlterTopicConfigsReply>('ctl', 'alter-topic-configs', 'controller'),
  createPartitions: defineVerb<ControllerCreatePartitionsRequest, ControllerCreatePartitionsReply>('ctl', 'create-partitions', 'controller'),
  /** A partition leader's ISR change, checked against its leader and partition epochs. */
  alterPartition: defineVerb<ControllerAlterPartitionRequest, ControllerAlterPartitionReply>('ctl', 'alter-partition', 'controller'),
  /** Preferred or unclean leader elections asked for by an operator. */
  electLeaders: defineVerb<ControllerElectLeadersRequest, ControllerElectLeadersReply>('ctl', 'elect-leaders', 'controller'),
  /** Start or cancel partition reassignments. */
  alterReassignments: defineVerb<ControllerAlterReassignmentsRequest, ControllerAlterReassignmentsReply>('ctl', 'alter-reassignments', 'controller'),
  /** A block of producer ids for a gateway's InitProducerId. */
  allocateProducerIds: defineVerb<ControllerAllocateProducerIdsRequest, ControllerAllocateProducerIdsReply>('ctl', 'allocate-producer-ids', 'controller'),
  /** The active controller, its epoch and the standbys. */
  describeQuorum: defineVerb<ControllerDescribeQuorumRequest, ControllerDescribeQuorumReply>('ctl', 'describe-quorum', 'controller'),
} as const;

/**
 * A broker, for the partition replicas it hosts: `sluice.<c>.brk.<broker id>.<verb>`. Every request carries many
 * partitions, each with the sender's view of its leader epoch; each partition is answered on its own.
 */
export const BrokerVerbs = {
  produce: defineVerb<BrokerProduceRequest, BrokerProduceReply, number>('brk', 'produce', 'broker'),
  fetch: defineVerb<BrokerFetchRequest, BrokerFetchReply, number>('brk', 'fetch', 'broker'),
  /** A fetch whose answer is no longer wanted (the gateway answered its client from other brokers): stop waiting. */
  fetchCancel: defineVerb<BrokerFetchCancel, never, number>('brk', 'fetch-cancel', 'broker'),
  listOffsets: defineVerb<BrokerListOffsetsRequest, BrokerListOffsetsReply, number>('brk', 'list-offsets', 'broker'),
  deleteRecords: defineVerb<BrokerDeleteRecordsRequest, BrokerDeleteRecordsReply, number>('brk', 'delete-records', 'broker'),
  offsetForLeaderEpoch: defineVerb<BrokerOffsetForLeaderEpochRequest, BrokerOffsetForLeaderEpochReply, number>('brk', 'offset-for-leader-epoch', 'broker'),
  /** The leader's view of its partitions' replicas (offsets and follower lag), for operators. */
  describeReplicas: defineVerb<BrokerDescribeReplicasRequest, BrokerDescribeReplicasReply, number>('brk', 'describe-replicas', 'broker'),
  /** The partition logs this broker holds and their sizes (DescribeLogDirs). */
  logDirs: defineVerb<BrokerLogDirsRequest, BrokerLogDirsReply, number>('brk', 'log-dirs', 'broker'),
  /** A follower pulling the partitions it follows from this leader broker. */
  replicaFetch: defineVerb<BrokerReplicaFetchRequest, BrokerReplicaFetchReply, number>('brk', 'replica-fetch', 'broker'),
} as const;

/** The coordinator of a group shard: `sluice.<c>.grp.<shard>.<verb>`. */
export const GroupVerbs = {
  /** A Kafka group API request, its body encoded as the Kafka protocol does. */
  kafka: defineVerb<GroupApiRequest, GroupApiReply, number>('grp', 'kafka', 'group-coordinator'),
} as const;
