// Requests to partition leaders over the bus, following leadership: when a partition has no leader, or the
// addressed broker is not (or no longer) the leader, wait for the metadata to move and try again until the deadline.
import type { Bus, Envelope } from '@sluice/bus';
import type { MetadataClient } from '@sluice/metadata';
import {
  BrokerVerb,
  KafkaErrorCode,
  PartitionVerb,
  SluiceError,
  kafkaError,
  type FetchReply,
  type FetchRequest,
  type BrokerFetchReply,
  type BrokerFetchRequest,
  type BrokerProduceReply,
  type BrokerProduceRequest,
  type DeleteRecordsReply,
  type ListOffsetsReply,
  type OffsetForLeaderEpochReply,
  type PartitionInfo,
  type ProduceReply,
  type Subjects,
} from '@sluice/protocol';

/** Errors after which the same request may go to the (new) leader: nothing was written. */
const leadershipErrors: ReadonlySet<number> = new Set([
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
]);

/** One partition's share of a produce request. */
export interface ProducePart {
  topicId: string;
  partition: number;
  batches: Buffer;
}

/** One partition of a fetch. */
export interface FetchPart {
  topicId: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

/** What a fetch asks of all its partitions together. */
export interface FetchLimits {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: 0 | 1;
}

interface Reply {
  errorCode: number;
  errorMessage: string | null;
}

export class PartitionClient {
  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly metadata: MetadataClient,
  ) {}

  produce(topicId: string, partition: number, batches: Buffer, acks: 0 | 1 | -1, deadline: number): Promise<ProduceReply> {
    return this.call<ProduceReply>(topicId, partition, PartitionVerb.produce, deadline, (info) => ({
      meta: { acks, leaderEpoch: info.leaderEpoch, timeoutMs: Math.max(1, deadline - Date.now()) },
      body: batches,
    }));
  }

  /**
   * Produces to several partitions with one bus message per leading broker (a Kafka produce request usually carries
   * batches for many partitions of the same broker). Partitions without a leader, or whose broker answers that
   * leadership moved, go the single-partition way, which follows leadership until the deadline.
   */
  produceMany(parts: readonly ProducePart[], acks: 1 | -1, deadline: number): Promise<Array<PromiseSettledResult<ProduceReply>>> {
    const results = new Array<Promise<ProduceReply>>(parts.length);
    const { leaderless, byBroker } = this.byLeader(parts);
    for (const i of leaderless) results[i] = this.produce(parts[i].topicId, parts[i].partition, parts[i].batches, acks, deadline);
    for (const [broker, indexes] of byBroker) {
      const sent = this.askBroker(broker, indexes.map((i) => parts[i]), acks, deadline);
      indexes.forEach((i, n) =>
        (results[i] = sent.then((replies) => {
          const r = replies?.[n];
          if (r && !leadershipErrors.has(r.errorCode)) return r;
          return this.produce(parts[i].topicId, parts[i].partition, parts[i].batches, acks, deadline);
        })),
      );
    }
    return Promise.allSettled(results);
  }

  /** One broker's share; undefined when the broker is gone (its partitions then follow leadership one by one). */
  private async askBroker(broker: number, parts: ProducePart[], acks: 1 | -1, deadline: number): Promise<ProduceReply[] | undefined> {
    const meta: BrokerProduceRequest = { acks, timeoutMs: Math.max(1, deadline - Date.now()), partitions: this.describe(parts) };
    try {
      const reply = await this.bus.ask<BrokerProduceReply>(this.subjects.broker(broker, BrokerVerb.produce), meta, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        body: parts.map((p) => p.batches),
      });
      return reply.meta.partitions;
    } catch (err) {
      if (err instanceof SluiceError && err.code === 'BUS_NO_RESPONDERS') return undefined;
      throw err;
    }
  }

  /**
   * Fetches several partitions with one bus message per leading broker; each broker answers once its share has
   * `minBytes` or `maxWaitMs` has passed. Returns one promise per partition, settled when its broker answers, so a
   * caller can answer as soon as enough has arrived from any of them. Partitions without a leader, or whose broker
   * answers that leadership moved, go the single-partition way, which follows leadership.
   */
  fetchMany(parts: readonly FetchPart[], limits: FetchLimits, deadline: number): Array<Promise<Envelope<FetchReply>>> {
    const results = new Array<Promise<Envelope<FetchReply>>>(parts.length);
    const single = (part: FetchPart): Promise<Envelope<FetchReply>> =>
      this.fetch(part.topicId, part.partition, { fetchOffset: part.fetchOffset, maxBytes: part.maxBytes, minBytes: 1, maxWaitMs: limits.maxWaitMs, isolationLevel: limits.isolationLevel }, deadline);
    const { leaderless, byBroker } = this.byLeader(parts);
    for (const i of leaderless) results[i] = single(parts[i]);
    for (const [broker, indexes] of byBroker) {
      const meta: BrokerFetchRequest = {
        ...limits,
        partitions: indexes.map((i) => ({
          topicId: parts[i].topicId,
          partition: parts[i].partition,
          fetchOffset: parts[i].fetchOffset,
          maxBytes: parts[i].maxBytes,
          leaderEpoch: this.metadata.view.partition(parts[i].topicId, parts[i].partition)?.leaderEpoch ?? -1,
        })),
      };
      const answer = this.bus
        .ask<BrokerFetchReply>(this.subjects.broker(broker, BrokerVerb.fetch), meta, { timeoutMs: Math.max(1, deadline - Date.now()) + limits.maxWaitMs })
        .then(
          (reply) => {
            const split: Array<Envelope<FetchReply>> = [];
            let at = 0;
            for (const p of reply.meta.partitions) {
              const { bytes, ...fetchReply } = p;
              split.push({ meta: fetchReply, body: bytes > 0 && reply.body ? reply.body.subarray(at, at + bytes) : undefined });
              at += bytes;
            }
            return split;
          },
          (err: unknown) => {
            if (err instanceof SluiceError && err.code === 'BUS_NO_RESPONDERS') return undefined;
            throw err;
          },
        );
      indexes.forEach((i, n) => {
        results[i] = answer.then((split) => {
          const r = split?.[n];
          return r && !leadershipErrors.has(r.meta.errorCode) ? r : single(parts[i]);
        });
      });
    }
    return results;
  }

  /** acks=0: fire and forget to the current leaders, one bus message per broker; partitions without a leader are dropped. */
  produceNoAck(parts: readonly ProducePart[]): void {
    for (const [broker, indexes] of this.byLeader(parts).byBroker) {
      const list = indexes.map((i) => parts[i]);
      const meta: BrokerProduceRequest = { acks: 0, timeoutMs: 0, partitions: this.describe(list) };
      this.bus.tell(this.subjects.broker(broker, BrokerVerb.produce), meta, list.map((p) => p.batches));
    }
  }

  /** The indexes of `parts` grouped by the broker that leads each partition, and those of partitions without a leader. */
  private byLeader(parts: ReadonlyArray<{ topicId: string; partition: number }>): { leaderless: number[]; byBroker: Map<number, number[]> } {
    const leaderless: number[] = [];
    const byBroker = new Map<number, number[]>();
    parts.forEach((part, i) => {
      const leader = this.metadata.view.partition(part.topicId, part.partition)?.leader ?? -1;
      if (leader < 0) leaderless.push(i);
      else {
        const list = byBroker.get(leader);
        if (list) list.push(i);
        else byBroker.set(leader, [i]);
      }
    });
    return { leaderless, byBroker };
  }

  private describe(parts: readonly ProducePart[]): BrokerProduceRequest['partitions'] {
    return parts.map((p) => ({
      topicId: p.topicId,
      partition: p.partition,
      leaderEpoch: this.metadata.view.partition(p.topicId, p.partition)?.leaderEpoch ?? -1,
      bytes: p.batches.length,
    }));
  }

  fetch(topicId: string, partition: number, request: Omit<FetchRequest, 'leaderEpoch'>, deadline: number): Promise<Envelope<FetchReply>> {
    return this.callEnvelope<FetchReply>(
      topicId,
      partition,
      PartitionVerb.fetch,
      deadline,
      (info) => ({ meta: { ...request, leaderEpoch: info.leaderEpoch } }),
      request.maxWaitMs,
    );
  }

  listOffsets(topicId: string, partition: number, timestamp: number, deadline: number): Promise<ListOffsetsReply> {
    return this.call<ListOffsetsReply>(topicId, partition, PartitionVerb.listOffsets, deadline, (info) => ({
      meta: { timestamp, leaderEpoch: info.leaderEpoch, isolationLevel: 0 },
    }));
  }

  deleteRecords(topicId: string, partition: number, offset: number, deadline: number): Promise<DeleteRecordsReply> {
    return this.call<DeleteRecordsReply>(topicId, partition, PartitionVerb.deleteRecords, deadline, (info) => ({ meta: { offset, leaderEpoch: info.leaderEpoch } }));
  }

  /**
   * `currentLeaderEpoch` is the client's view of the leader epoch (-1: not checked): one older than the metadata's is
   * fenced, a newer one unknown, as a Kafka leader answers; the leader then checks the gateway's view as usual.
   */
  async offsetForLeaderEpoch(topicId: string, partition: number, epoch: number, currentLeaderEpoch: number, deadline: number): Promise<OffsetForLeaderEpochReply> {
    const current = this.partitionInfo(topicId, partition).leaderEpoch;
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch !== current) {
      const errorCode = currentLeaderEpoch < current ? KafkaErrorCode.FENCED_LEADER_EPOCH : KafkaErrorCode.UNKNOWN_LEADER_EPOCH;
      return { errorCode, errorMessage: `leader epoch ${currentLeaderEpoch} does not match ${current}`, epoch: -1, endOffset: -1 };
    }
    return this.call<OffsetForLeaderEpochReply>(topicId, partition, PartitionVerb.offsetForLeaderEpoch, deadline, (info) => ({ meta: { epoch, leaderEpoch: info.leaderEpoch } }));
  }

  private partitionInfo(topicId: string, partition: number): PartitionInfo {
    const info = this.metadata.view.partition(topicId, partition);
    if (!info) throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${partition} of topic ${topicId} does not exist`);
    return info;
  }

  private async call<R extends Reply>(
    topicId: string,
    partition: number,
    verb: PartitionVerb,
    deadline: number,
    build: (info: PartitionInfo) => { meta: unknown; body?: Buffer },
  ): Promise<R> {
    return (await this.callEnvelope<R>(topicId, partition, verb, deadline, build, 0)).meta;
  }

  private async callEnvelope<R extends Reply>(
    topicId: string,
    partition: number,
    verb: PartitionVerb,
    deadline: number,
    build: (info: PartitionInfo) => { meta: unknown; body?: Buffer },
    extraWaitMs: number,
  ): Promise<Envelope<R>> {
    let lastProblem = 'no leader';
    for (;;) {
      const info = this.partitionInfo(topicId, partition);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw kafkaError('LEADER_NOT_AVAILABLE', `partition ${partition} is not available (${lastProblem}); try again`);
      }
      if (info.leader < 0) {
        lastProblem = 'the partition has no leader';
        await this.metadataChange(Math.min(remaining, 500));
        continue;
      }
      const { meta, body } = build(info);
      try {
        const reply = await this.bus.ask<R>(this.subjects.partition(topicId, partition, verb), meta, {
          timeoutMs: remaining + extraWaitMs,
          body,
        });
        if (!leadershipErrors.has(reply.meta.errorCode)) return reply;
        lastProblem = reply.meta.errorMessage ?? 'leadership moved';
      } catch (err) {
        if (!(err instanceof SluiceError) || err.code !== 'BUS_NO_RESPONDERS') throw err;
        lastProblem = 'no broker serves the partition';
      }
      await this.metadataChange(Math.min(Math.max(0, deadline - Date.now()), 250));
    }
  }

  /** Resolves at the next metadata change, or after `ms`. */
  private metadataChange(ms: number): Promise<void> {
    return this.metadata.nextChange(ms);
  }
}
