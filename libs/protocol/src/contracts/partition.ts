// Requests to and replies from a partition leader actor. Record batches travel as the message body, never inside the JSON.

/** Kafka's special ListOffsets timestamps. */
export const OffsetSpec = { latest: -1, earliest: -2, maxTimestamp: -3 } as const;

export interface ProduceRequest {
  /** 0: no reply; 1: after the leader appends; -1 (all): after every in-sync replica has it. */
  acks: 0 | 1 | -1;
  /** The sender's view of the leader epoch, or -1 to skip the check. */
  leaderEpoch: number;
  timeoutMs: number;
}
export interface ProduceReply {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** The records of a refused batch that caused the refusal, by index in their batch (KIP-467); absent when none. */
  recordErrors?: Array<{ batchIndex: number; message: string }>;
}

/**
 * Produce to several partitions that one broker leads, in one bus message: the body is every partition's record
 * batches back to back, `partitions[i].bytes` long each, in order. The broker appends them in this order on arrival.
 */
export interface BrokerProduceRequest {
  acks: 0 | 1 | -1;
  timeoutMs: number;
  partitions: Array<{ topicId: string; partition: number; leaderEpoch: number; bytes: number }>;
}
/** One reply per requested partition, in request order. */
export interface BrokerProduceReply {
  partitions: ProduceReply[];
}

export const IsolationLevel = { readUncommitted: 0, readCommitted: 1 } as const;

export interface FetchRequest {
  fetchOffset: number;
  leaderEpoch: number;
  maxBytes: number;
  minBytes: number;
  maxWaitMs: number;
  isolationLevel: 0 | 1;
}
/** Body: whole record batches starting with the one that holds fetchOffset. */
export interface FetchReply {
  errorCode: number;
  errorMessage: string | null;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

/**
 * Fetch from several partitions one broker leads, in one bus message: answered once `minBytes` are there (over all
 * partitions, whole partitions until `maxBytes`, always the first with data) or `maxWaitMs` has passed. The reply's
 * body is each partition's batches back to back, `partitions[i].bytes` long each, in request order.
 */
export interface BrokerFetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: 0 | 1;
  partitions: Array<{ topicId: string; partition: number; fetchOffset: number; maxBytes: number; leaderEpoch: number }>;
}
export interface BrokerFetchReply {
  partitions: Array<FetchReply & { bytes: number }>;
}

/** Moves the log start offset up to `offset` (-1: the high watermark); records below it are no longer readable. */
export interface DeleteRecordsRequest {
  offset: number;
  leaderEpoch: number;
}
export interface DeleteRecordsReply {
  errorCode: number;
  errorMessage: string | null;
  /** The log start offset afterwards. */
  lowWatermark: number;
}

/** The end offset of a leader epoch: the start of the next epoch, or the log end for the latest one (KIP-101). */
export interface OffsetForLeaderEpochRequest {
  epoch: number;
  /** The sender's view of the current leader epoch, or -1 to skip the check. */
  leaderEpoch: number;
}
export interface OffsetForLeaderEpochReply {
  errorCode: number;
  errorMessage: string | null;
  /** The largest epoch at or below the one asked about, -1 when there is none. */
  epoch: number;
  endOffset: number;
}

export interface ListOffsetsRequest {
  /** A timestamp in ms, or an OffsetSpec value. */
  timestamp: number;
  leaderEpoch: number;
  isolationLevel: 0 | 1;
}
export interface ListOffsetsReply {
  errorCode: number;
  errorMessage: string | null;
  offset: number;
  timestamp: number;
  leaderEpoch: number;
  logStartOffset: number;
  highWatermark: number;
}
