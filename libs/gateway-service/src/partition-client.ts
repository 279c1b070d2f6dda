// Requests to partition leaders over the bus, following leadership: when a partition has no leader, or the
// addressed broker is not (or no longer) the leader, wait for the metadata to move and try again until the deadline.
import type { Bus, Envelope } from '@sluice/bus';
import type { MetadataClient } from '@sluice/metadata';
import {
  KafkaErrorCode,
  PartitionVerb,
  SluiceError,
  kafkaError,
  type FetchReply,
  type FetchRequest,
  type ListOffsetsReply,
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

  /** acks=0: fire and forget to the current leader. */
  produceNoAck(topicId: string, partition: number, batches: Buffer): void {
    const info = this.partitionInfo(topicId, partition);
    if (info.leader < 0) throw kafkaError('LEADER_NOT_AVAILABLE', `partition ${partition} has no leader`);
    this.bus.tell(this.subjects.partition(topicId, partition, PartitionVerb.produce), { acks: 0, leaderEpoch: info.leaderEpoch, timeoutMs: 0 }, batches);
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
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.metadata.off('change', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.metadata.on('change', done);
    });
  }
}
