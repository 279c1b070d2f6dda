// Requests to and replies from a broker (BrokerVerbs): each carries many partitions of the replicas the broker hosts,
// each with the sender's view of its leader epoch, and each partition is answered on its own. Record batches travel as
// the message body (every partition's bytes back to back, `bytes` long each, in request order), never inside the JSON.

/** Kafka's special ListOffsets timestamps. */
export const OffsetSpec = { latest: -1, earliest: -2, maxTimestamp: -3 } as const;

export const IsolationLevel = { readUncommitted: 0, readCommitted: 1 } as const;

/** One partition of a broker request. */
export interface PartitionRef {
  topicId: string;
  partition: number;
  /** The sender's view of the leader epoch, or -1 to skip the check. */
  leaderEpoch: number;
}

/** The outcome for one partition: a Kafka error code (0 for none) and a message for people. */
export interface PartitionOutcome {
  errorCode: number;
  errorMessage: string | null;
}

/** Produce to several partitions: the broker appends each partition's batches in request order, on arrival. */
export interface BrokerProduceRequest {
  /** 0: no reply; 1: after the leader appends; -1 (all): once every in-sync replica has it (the high watermark). */
  acks: 0 | 1 | -1;
  timeoutMs: number;
  partitions: Array<PartitionRef & { bytes: number }>;
}
export interface PartitionProduceResult extends PartitionOutcome {
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** The records of a refused batch that caused the refusal, by index in their batch (KIP-467); absent when none. */
  recordErrors?: Array<{ batchIndex: number; message: string }>;
}
export interface BrokerProduceReply {
  partitions: PartitionProduceResult[];
}

/**
 * Fetch from several partitions: answered once `minBytes` are there over all partitions or `maxWaitMs` has passed.
 * Partitions in request order share `maxBytes` (KIP-74: whole batches; the first batch of the first partition with data
 * comes whole even when larger). A fetch with a `fetchId` may be cancelled (BrokerFetchCancel) while it waits.
 */
export interface BrokerFetchRequest {
  fetchId?: string;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: 0 | 1;
  partitions: Array<PartitionRef & { fetchOffset: number; maxBytes: number }>;
}
export interface PartitionFetchResult extends PartitionOutcome {
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}
export interface BrokerFetchReply {
  partitions: Array<PartitionFetchResult & { bytes: number }>;
}
export interface BrokerFetchCancel {
  fetchId: string;
}

/** ListOffsets: `timestamp` is a time in ms or an OffsetSpec value. */
export interface BrokerListOffsetsRequest {
  isolationLevel: 0 | 1;
  partitions: Array<PartitionRef & { timestamp: number }>;
}
export interface PartitionOffsetResult extends PartitionOutcome {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
  logStartOffset: number;
  highWatermark: number;
}
export interface BrokerListOffsetsReply {
  partitions: PartitionOffsetResult[];
}

/** The leader's view of its partitions' replicas, for operators: offsets, and how far each follower is behind. */
export interface BrokerDescribeReplicasRequest {
  partitions: PartitionRef[];
}
export interface ReplicaState {
  broker: number;
  /** Where the replica's log ends, as its last fetch said (-1: it has not fetched under this leadership). */
  logEndOffset: number;
  /** Records it lacks of the leader's log (-1 when unknown). */
  lagRecords: number;
  /** Milliseconds since it last had everything the leader had (-1: never under this leadership). */
  caughtUpMsAgo: number;
}
export interface PartitionReplicasResult extends PartitionOutcome {
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
  /** Bytes of the leader's log segments on disk. */
  sizeBytes: number;
  /** Every replica, the leader included, in replica order. */
  replicas: ReplicaState[];
}
export interface BrokerDescribeReplicasReply {
  partitions: PartitionReplicasResult[];
}

/** Moves each partition's log start offset up to `offset` (-1: the high watermark). */
export interface BrokerDeleteRecordsRequest {
  partitions: Array<PartitionRef & { offset: number }>;
}
export interface PartitionDeleteRecordsResult extends PartitionOutcome {
  /** The log start offset afterwards. */
  lowWatermark: number;
}
export interface BrokerDeleteRecordsReply {
  partitions: PartitionDeleteRecordsResult[];
}

/** The end offset of a leader epoch: the start of the next epoch, or the log end for the latest one (KIP-101). */
export interface BrokerOffsetForLeaderEpochRequest {
  partitions: Array<PartitionRef & { epoch: number }>;
}
export interface PartitionEpochEndResult extends PartitionOutcome {
  /** The largest epoch at or below the one asked about, -1 when there is none. */
  epoch: number;
  endOffset: number;
}
export interface BrokerOffsetForLeaderEpochReply {
  partitions: PartitionEpochEndResult[];
}

/**
 * A follower pulling from the leader broker, for all the partitions it follows there (Kafka's Fetch from a replica):
 * each with its log end offset (`fetchOffset`), the epoch of its last batch, and its view of the leader epoch. The
 * leader answers with batches up to its log end (not only the high watermark), its high watermark and log start, and,
 * when the follower's history diverges from its own, the epoch and end offset to truncate to instead of data.
 */
export interface BrokerReplicaFetchRequest {
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitions: Array<PartitionRef & { fetchOffset: number; lastFetchedEpoch: number; maxBytes: number }>;
}
export interface PartitionReplicaFetchResult extends PartitionOutcome {
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  /** The follower's log diverges from the leader's: truncate to the end of this epoch (KIP-320 / KIP-595). */
  divergingEpoch?: { epoch: number; endOffset: number };
}
export interface BrokerReplicaFetchReply {
  partitions: Array<PartitionReplicaFetchResult & { bytes: number }>;
}

/** The partition logs a broker holds (Kafka's DescribeLogDirs): its one log directory and each replica's size. */
export interface BrokerLogDirsRequest {
  /** Only these topics (by id); all when absent. */
  topicIds?: string[];
}
export interface BrokerLogDirsReply {
  logDir: string;
  partitions: Array<{
    topicId: string;
    partition: number;
    /** Bytes of the partition's log segments on disk. */
    size: number;
    /** How far this replica's log end is behind the partition's high watermark as this broker knows it (0 on the leader). */
    offsetLag: number;
  }>;
}
