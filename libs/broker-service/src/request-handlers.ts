// The broker's verbs (BrokerVerbs): produce, fetch (with its cancel), list-offsets, delete-records and
// offset-for-leader-epoch, each carrying many partitions with their leader epochs and answered per partition. One
// actor per verb, each bounded: at most SLUICE_BROKER_MAX_IN_FLIGHT requests run at once across all gateways, more
// wait in arrival order, and beyond the mailbox they are refused with a retriable error (never unbounded memory).
// Fetches have their own bound, so parked long polls cannot starve produce.
import { resolve } from 'node:path';
import { reply, type Actor, type Bus, type Envelope, type Reply } from '@sluice/bus';
import {
  BrokerVerbs,
  type BrokerDeleteRecordsReply,
  type BrokerDeleteRecordsRequest,
  type BrokerFetchReply,
  type BrokerFetchRequest,
  type BrokerListOffsetsReply,
  type BrokerListOffsetsRequest,
  type BrokerDescribeReplicasReply,
  type BrokerDescribeReplicasRequest,
  type BrokerLogDirsReply,
  type BrokerLogDirsRequest,
  type BrokerOffsetForLeaderEpochReply,
  type BrokerOffsetForLeaderEpochRequest,
  type BrokerProduceReply,
  type BrokerProduceRequest,
  type BrokerReplicaFetchReply,
  type BrokerReplicaFetchRequest,
  type PartitionFetchResult,
  type PartitionOutcome,
  type PartitionRef,
  type Subjects,
} from '@sluice/contracts';
import { KafkaErrorCode, wholeBatchesWithin } from '@sluice/protocol';
import type { BrokerConfig } from './broker-config.js';
import { untilAppended, untilNewData, type FollowerRead, type Partition, type PartitionRead } from './partition.js';
import type { ReplicaManager } from './replica-manager.js';

const EMPTY = Buffer.alloc(0);
/** The longest a fetch may park, whatever it asks. */
const MAX_FETCH_WAIT_MS = 60_000;

export interface RequestHandlersOptions {
  bus: Bus;
  subjects: Subjects;
  brokerId: number;
  config: BrokerConfig;
  replicas: ReplicaManager;
}

/** Cancellable parked fetches by id. */
class FetchCancels {
  private readonly waiting = new Map<string, () => void>();
  private readonly cancelled = new Set<string>();

  /** A cancel source for `untilNewData`, and whether the fetch was cancelled. */
  watch(fetchId: string | undefined): { onCancel(wake: () => void): () => void; readonly cancelled: boolean; release(): void } {
    const { waiting, cancelled } = this;
    return {
      onCancel(wake) {
        if (fetchId === undefined) return () => undefined;
        waiting.set(fetchId, wake);
        return () => waiting.delete(fetchId);
      },
      get cancelled() {
        return fetchId !== undefined && cancelled.has(fetchId);
      },
      release() {
        if (fetchId === undefined) return;
        waiting.delete(fetchId);
        cancelled.delete(fetchId);
      },
    };
  }

  cancel(fetchId: string): void {
    const wake = this.waiting.get(fetchId);
    if (!wake) return;
    this.cancelled.add(fetchId);
    wake();
  }
}

export function serveBrokerVerbs(o: RequestHandlersOptions): Actor[] {
  const { bus, subjects, brokerId, config, replicas } = o;
  const bounded = { mode: 'concurrent' as const, maxInFlight: config.maxInFlight, mailboxSize: config.maxQueuedRequests };
  const cancels = new FetchCancels();
  const notHere = (ref: PartitionRef): PartitionOutcome => ({
    errorCode: KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    errorMessage: `broker ${brokerId} does not host partition ${ref.partition} of ${ref.topicId}`,
  });

  /**
   * Produce: each partition's batches go to it in request order, synchronously on arrival (so appends keep the order
   * requests arrive in); the answers come back together.
   */
  const produce = async (req: Envelope<BrokerProduceRequest>): Promise<Reply<BrokerProduceReply>> => {
    const { acks, timeoutMs, partitions } = req.meta;
    const body = req.body ?? EMPTY;
    let offset = 0;
    const results = partitions.map((p) => {
      const bytes = body.subarray(offset, offset + p.bytes);
      offset += p.bytes;
      const partition = replicas.get(p.topicId, p.partition);
      if (!partition) return Promise.resolve({ ...notHere(p), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 });
      return partition.produce(acks, p.leaderEpoch, bytes, timeoutMs);
    });
    return reply({ partitions: await Promise.all(results) });
  };

  /**
   * Fetch: one read of every partition without waiting; below `minBytes` (and with no partition in error) it parks
   * until new data in any of them, the end of `maxWaitMs`, or a cancel, then reads again. Partitions in request order
   * share `maxBytes` (KIP-74), and the reply is one bus message: never more than SLUICE_FETCH_MAX_BYTES.
   */
  const fetch = async (req: Envelope<BrokerFetchRequest>): Promise<Reply<BrokerFetchReply>> => {
    const { partitions, fetchId } = req.meta;
    const deadline = Date.now() + Math.max(0, Math.min(req.meta.maxWaitMs | 0, MAX_FETCH_WAIT_MS));
    const hosted = partitions.map((p) => replicas.get(p.topicId, p.partition));
    const maxBytes = Math.min(Math.max(1, req.meta.maxBytes | 0), config.maxFetchBytes);
    const watch = cancels.watch(fetchId);
    try {
      for (;;) {
        const results = await Promise.all(
          partitions.map((p, i): Promise<PartitionRead> | PartitionRead => {
            const partition = hosted[i];
            if (watch.cancelled) return { meta: emptyFetch(KafkaErrorCode.NONE, null), bytes: EMPTY };
            if (!partition) {
              const outcome = notHere(p);
              return { meta: emptyFetch(outcome.errorCode, outcome.errorMessage), bytes: EMPTY };
            }
            return partition.read(p.fetchOffset, Math.min(p.maxBytes, maxBytes), p.leaderEpoch);
          }),
        );
        let total = 0;
        for (const r of results) {
          if (r.bytes.length === 0) continue;
          r.bytes = wholeBatchesWithin(r.bytes, maxBytes - total, total === 0);
          total += r.bytes.length;
        }
        const failed = results.some((r) => r.meta.errorCode !== KafkaErrorCode.NONE);
        const wait = deadline - Date.now();
        if (failed || total >= Math.max(1, req.meta.minBytes) || wait <= 0 || watch.cancelled) {
          results.forEach((r, i) => hosted[i]?.countOut(r.bytes, partitions[i].fetchOffset));
          return reply({ partitions: results.map((r) => ({ ...r.meta, bytes: r.bytes.length })) }, results.map((r) => r.bytes));
        }
        await untilNewData(hosted, wait, watch);
      }
    } finally {
      watch.release();
    }
  };

  /**
   * A follower's fetch: every partition it follows here at once, read up to the log end; below `minBytes` (and with
   * no partition in error or diverging) it parks until any of them gets appended data or `maxWaitMs` passes. Reading
   * records the follower's position first, which may move the high watermark and answer acks=all produces.
   */
  const replicaFetch = async (req: Envelope<BrokerReplicaFetchRequest>): Promise<Reply<BrokerReplicaFetchReply>> => {
    const { partitions, replicaId } = req.meta;
    const deadline = Date.now() + Math.max(0, Math.min(req.meta.maxWaitMs | 0, MAX_FETCH_WAIT_MS));
    const hosted = partitions.map((p) => replicas.get(p.topicId, p.partition));
    const maxBytes = Math.min(Math.max(1, req.meta.maxBytes | 0), config.maxFetchBytes);
    for (;;) {
      const results = await Promise.all(
        partitions.map((p, i): Promise<FollowerRead> | FollowerRead => {
          const partition = hosted[i];
          if (!partition) {
            const outcome = notHere(p);
            return { meta: { ...outcome, highWatermark: -1, logStartOffset: -1, logEndOffset: -1 }, bytes: EMPTY };
          }
          return partition.readForFollower(replicaId, p.fetchOffset, p.lastFetchedEpoch, p.leaderEpoch, Math.min(p.maxBytes, maxBytes));
        }),
      );
      let total = 0;
      for (const r of results) {
        if (r.bytes.length === 0) continue;
        r.bytes = wholeBatchesWithin(r.bytes, maxBytes - total, total === 0);
        total += r.bytes.length;
      }
      const settled = results.some((r) => r.meta.errorCode !== KafkaErrorCode.NONE || r.meta.divergingEpoch);
      const wait = deadline - Date.now();
      if (settled || total >= Math.max(1, req.meta.minBytes) || wait <= 0) {
        return reply({ partitions: results.map((r) => ({ ...r.meta, bytes: r.bytes.length })) }, results.map((r) => r.bytes));
      }
      await untilAppended(hosted, wait);
    }
  };

  /** Answers every partition of a request with `work`, or NOT_LEADER_OR_FOLLOWER where this broker has no replica. */
  const perPartition =
    <P extends PartitionRef, R extends PartitionOutcome>(work: (partition: Partition, p: P) => R | Promise<R>, missing: (outcome: PartitionOutcome) => R) =>
    async (req: Envelope<{ partitions: P[] }>): Promise<Reply<{ partitions: R[] }>> => {
      const results = await Promise.all(
        req.meta.partitions.map((p) => {
          const partition = replicas.get(p.topicId, p.partition);
          return partition ? work(partition, p) : missing(notHere(p));
        }),
      );
      return reply({ partitions: results });
    };

  const listOffsets = perPartition<BrokerListOffsetsRequest['partitions'][number], BrokerListOffsetsReply['partitions'][number]>(
    (partition, p) => partition.listOffsets(p.timestamp, p.leaderEpoch),
    (outcome) => ({ ...outcome, offset: -1, timestamp: -1, leaderEpoch: -1, logStartOffset: -1, highWatermark: -1 }),
  );
  const describeReplicas = perPartition<BrokerDescribeReplicasRequest['partitions'][number], BrokerDescribeReplicasReply['partitions'][number]>(
    (partition, p) => partition.describeReplicas(p.leaderEpoch),
    (outcome) => ({ ...outcome, logStartOffset: -1, highWatermark: -1, logEndOffset: -1, sizeBytes: -1, replicas: [] }),
  );
  const deleteRecords = perPartition<BrokerDeleteRecordsRequest['partitions'][number], BrokerDeleteRecordsReply['partitions'][number]>(
    (partition, p) => partition.deleteRecords(p.offset, p.leaderEpoch),
    (outcome) => ({ ...outcome, lowWatermark: -1 }),
  );
  const offsetForLeaderEpoch = perPartition<BrokerOffsetForLeaderEpochRequest['partitions'][number], BrokerOffsetForLeaderEpochReply['partitions'][number]>(
    (partition, p) => partition.offsetForLeaderEpoch(p.epoch, p.leaderEpoch),
    (outcome) => ({ ...outcome, epoch: -1, endOffset: -1 }),
  );

  const logDirs = async (req: Envelope<BrokerLogDirsRequest>): Promise<Reply<BrokerLogDirsReply>> => {
    const wanted = req.meta.topicIds ? new Set(req.meta.topicIds) : null;
    const partitions: BrokerLogDirsReply['partitions'] = [];
    for (const p of replicas.partitions()) {
      if (wanted && !wanted.has(p.topicId)) continue;
      partitions.push({ topicId: p.topicId, partition: p.partition, size: p.log.size, offsetLag: Math.max(0, p.log.highWatermark - p.log.logEndOffset) });
    }
    return reply({ logDir: resolve(config.dataDir), partitions });
  };

  return [
    bus.serve(subjects.at(BrokerVerbs.produce, brokerId), produce, bounded),
    bus.serve(subjects.at(BrokerVerbs.fetch, brokerId), fetch, { ...bounded, maxInFlight: config.maxParkedFetches }),
    bus.serve(
      subjects.at(BrokerVerbs.fetchCancel, brokerId),
      (req) => {
        cancels.cancel(req.meta.fetchId);
        return reply(undefined as never);
      },
      { mode: 'concurrent' },
    ),
    bus.serve(subjects.at(BrokerVerbs.replicaFetch, brokerId), replicaFetch, { ...bounded, maxInFlight: config.maxParkedFetches }),
    bus.serve(subjects.at(BrokerVerbs.listOffsets, brokerId), listOffsets, bounded),
    bus.serve(subjects.at(BrokerVerbs.deleteRecords, brokerId), deleteRecords, bounded),
    bus.serve(subjects.at(BrokerVerbs.describeReplicas, brokerId), describeReplicas, bounded),
    bus.serve(subjects.at(BrokerVerbs.offsetForLeaderEpoch, brokerId), offsetForLeaderEpoch, bounded),
    bus.serve(subjects.at(BrokerVerbs.logDirs, brokerId), logDirs, { mode: 'concurrent' }),
  ];
}

function emptyFetch(errorCode: number, errorMessage: string | null): PartitionFetchResult {
  return { errorCode, errorMessage, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 };
}
