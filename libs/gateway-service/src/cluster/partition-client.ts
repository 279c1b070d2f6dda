// Requests to the brokers that lead partitions, following leadership. Every verb goes to the leading broker's subject
// with all the partitions it leads, each with the gateway's view of its leader epoch (one bus message per broker).
// A partition whose broker is gone or busy, or which answers that leadership moved (so nothing was done) is sent
// again to its new leader once the metadata changes, until the request's deadline. A partition without a leader is
// offline (no in-sync replica is alive: the controller elects leaders in the same change that fences a broker), so
// it fails at once with LEADER_NOT_AVAILABLE (retriable) and never holds back the other partitions of a request.
import { BusErrorCode, type Bus } from '@sluice/bus';
import type { MetadataClient } from '@sluice/metadata';
import { KafkaErrorCode, kafkaError, SluiceError } from '@sluice/protocol';
import {
  BrokerVerbs,
  type BrokerFetchRequest,
  type PartitionDeleteRecordsResult,
  type PartitionReplicasResult,
  type PartitionEpochEndResult,
  type PartitionFetchResult,
  type PartitionOffsetResult,
  type PartitionOutcome,
  type PartitionProduceResult,
  type Subjects,
} from '@sluice/contracts';

/** Errors after which the same request may go to the (new) leader: nothing was done. */
const leadershipErrors: ReadonlySet<number> = new Set([
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
]);

/** Bus failures after which the request was not worked on: the broker is gone, or refused it unread (busy). */
const notDelivered: ReadonlySet<string> = new Set([BusErrorCode.noResponders, BusErrorCode.mailboxFull]);

/** One partition of a request. */
export interface PartitionTarget {
  topicId: string;
  partition: number;
}

/** One partition's share of a produce request. */
export interface ProducePart extends PartitionTarget {
  batches: Buffer;
}

/** One partition of a fetch. */
export interface FetchPart extends PartitionTarget {
  fetchOffset: number;
  maxBytes: number;
}

/** What a fetch asks of all its partitions together. */
export interface FetchLimits {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: 0 | 1;
  /** Names the fetch so that it can be cancelled while it waits (see cancelFetch). */
  fetchId?: string;
}

/** A fetched partition: its state and the whole batches read (a view into the broker's reply). */
export interface FetchedPartition {
  meta: PartitionFetchResult;
  records: Buffer | undefined;
}

/** One broker's answer for the items sent to it, in order; undefined when it was not delivered (gone or busy). */
type Send<I, R> = (broker: number, items: readonly I[], leaderEpochs: readonly number[]) => Promise<R[] | undefined>;

/**
 * Requests out at brokers, watched for the brokers leaving the cluster (fenced, or registered again as a new
 * incarnation): one metadata listener for all of them, not one per request.
 */
class Departures {
  private readonly watched = new Map<number, { incarnation: number; wakes: Set<() => void> }>();

  constructor(private readonly metadata: MetadataClient) {
    metadata.on('change', () => this.check());
  }

  watch(broker: number): { promise: Promise<undefined>; cancel(): void } {
    let wake: () => void = () => undefined;
    const promise = new Promise<undefined>((resolve) => (wake = () => resolve(undefined)));
    const node = this.metadata.view.image.nodes[broker];
    if (!node || node.state !== 'alive') {
      wake();
      return { promise, cancel: () => undefined };
    }
    let entry = this.watched.get(broker);
    if (!entry) this.watched.set(broker, (entry = { incarnation: node.incarnation, wakes: new Set() }));
    const wakes = entry.wakes;
    wakes.add(wake);
    return {
      promise,
      cancel: () => {
        wakes.delete(wake);
        if (wakes.size === 0 && this.watched.get(broker)?.wakes === wakes) this.watched.delete(broker);
      },
    };
  }

  private check(): void {
    for (const [broker, entry] of this.watched) {
      const node = this.metadata.view.image.nodes[broker];
      if (node && node.state === 'alive' && node.incarnation === entry.incarnation) continue;
      this.watched.delete(broker);
      for (const wake of entry.wakes) wake();
    }
  }
}

export class PartitionClient {
  private readonly departures: Departures;

  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly metadata: MetadataClient,
  ) {
    this.departures = new Departures(metadata);
  }

  /**
   * Produces to several partitions with one bus message per leading broker (a Kafka produce request usually carries
   * batches for many partitions of the same broker); each partition's answer settles on its own.
   */
  produceMany(parts: readonly ProducePart[], acks: 1 | -1, deadline: number): Promise<Array<PromiseSettledResult<PartitionProduceResult>>> {
    const send: Send<ProducePart, PartitionProduceResult> = async (broker, items, epochs) => {
      const meta = { acks, timeoutMs: remaining(deadline), partitions: items.map((p, i) => ({ topicId: p.topicId, partition: p.partition, leaderEpoch: epochs[i], bytes: p.batches.length })) };
      const reply = await this.delivered(broker, this.bus.ask(this.subjects.at(BrokerVerbs.produce, broker), meta, { timeoutMs: remaining(deadline), body: items.map((p) => p.batches) }));
      return reply?.partitions;
    };
    return Promise.allSettled(this.route(parts, deadline, send, (outcome) => ({ ...outcome, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 })));
  }

  /** acks=0: fire and forget to the current leaders, one bus message per broker; partitions without a leader are dropped. */
  produceNoAck(parts: readonly ProducePart[]): void {
    for (const [broker, indexes] of this.byLeader(parts).byBroker) {
      const list = indexes.map((i) => parts[i]);
      const meta = { acks: 0 as const, timeoutMs: 0, partitions: list.map((p) => ({ topicId: p.topicId, partition: p.partition, leaderEpoch: this.leaderEpoch(p) ?? -1, bytes: p.batches.length })) };
      this.bus.tell(this.subjects.at(BrokerVerbs.produce, broker), meta, list.map((p) => p.batches));
    }
  }

  /**
   * Fetches several partitions with one bus message per leading broker; each broker answers once its share has
   * `minBytes` or `maxWaitMs` has passed. One promise per partition, settled when its broker answers, so a caller can
   * answer as soon as enough has arrived from any of them (see FetchMerger).
   */
  fetchMany(parts: readonly FetchPart[], limits: FetchLimits, deadline: number): Array<Promise<FetchedPartition>> {
    const send: Send<FetchPart, FetchedPartition> = async (broker, items, epochs) => {
      const meta: BrokerFetchRequest = {
        ...limits,
        partitions: items.map((p, i) => ({ topicId: p.topicId, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.maxBytes, leaderEpoch: epochs[i] })),
      };
      const reply = await this.delivered(broker, this.bus.ask(this.subjects.at(BrokerVerbs.fetch, broker), meta, { timeoutMs: remaining(deadline) + limits.maxWaitMs }), true);
      if (!reply) return undefined;
      const out: FetchedPartition[] = [];
      let at = 0;
      for (const { bytes, ...result } of reply.partitions) {
        out.push({ meta: result, records: bytes > 0 && reply.body ? reply.body.subarray(at, at + bytes) : undefined });
        at += bytes;
      }
      return out;
    };
    return this.route(parts, deadline, send, (outcome) => ({ meta: { ...outcome, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 }, records: undefined }), (r) => r.meta.errorCode);
  }

  /** Tells the brokers a fetch no longer needs an answer (it answered from others): they stop waiting, read nothing more. */
  cancelFetch(fetchId: string, parts: readonly PartitionTarget[]): void {
    for (const broker of this.byLeader(parts).byBroker.keys()) this.bus.tell(this.subjects.at(BrokerVerbs.fetchCancel, broker), { fetchId });
  }

  listOffsets(topicId: string, partition: number, timestamp: number, deadline: number): Promise<PartitionOffsetResult> {
    const send: Send<PartitionTarget & { timestamp: number }, PartitionOffsetResult> = (broker, items, epochs) =>
      this.delivered(
        broker,
        this.bus.ask(this.subjects.at(BrokerVerbs.listOffsets, broker), { isolationLevel: 0, partitions: items.map((p, i) => ({ ...p, leaderEpoch: epochs[i] })) }, { timeoutMs: remaining(deadline) }),
      ).then((r) => r?.partitions);
    return this.route([{ topicId, partition, timestamp }], deadline, send, (o) => ({ ...o, offset: -1, timestamp: -1, leaderEpoch: -1, logStartOffset: -1, highWatermark: -1 }))[0];
  }

  /** The leader's offsets and view of each replica (how far behind it is). */
  describeReplicas(topicId: string, partition: number, deadline: number): Promise<PartitionReplicasResult> {
    const send: Send<PartitionTarget, PartitionReplicasResult> = (broker, items, epochs) =>
      this.delivered(
        broker,
        this.bus.ask(this.subjects.at(BrokerVerbs.describeReplicas, broker), { partitions: items.map((p, i) => ({ ...p, leaderEpoch: epochs[i] })) }, { timeoutMs: remaining(deadline) }),
      ).then((r) => r?.partitions);
    return this.route([{ topicId, partition }], deadline, send, (o) => ({ ...o, logStartOffset: -1, highWatermark: -1, logEndOffset: -1, sizeBytes: -1, replicas: [] }))[0];
  }

  deleteRecords(topicId: string, partition: number, offset: number, deadline: number): Promise<PartitionDeleteRecordsResult> {
    const send: Send<PartitionTarget & { offset: number }, PartitionDeleteRecordsResult> = (broker, items, epochs) =>
      this.delivered(
        broker,
        this.bus.ask(this.subjects.at(BrokerVerbs.deleteRecords, broker), { partitions: items.map((p, i) => ({ ...p, leaderEpoch: epochs[i] })) }, { timeoutMs: remaining(deadline) }),
      ).then((r) => r?.partitions);
    return this.route([{ topicId, partition, offset }], deadline, send, (o) => ({ ...o, lowWatermark: -1 }))[0];
  }

  /**
   * `currentLeaderEpoch` is the client's view of the leader epoch (-1: not checked): one older than the metadata's is
   * fenced, a newer one unknown, as a Kafka leader answers; the leader then checks the gateway's view as usual.
   */
  async offsetForLeaderEpoch(topicId: string, partition: number, epoch: number, currentLeaderEpoch: number, deadline: number): Promise<PartitionEpochEndResult> {
    const current = this.leaderEpoch({ topicId, partition });
    if (current === undefined) throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${partition} of topic ${topicId} does not exist`);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch !== current) {
      const errorCode = currentLeaderEpoch < current ? KafkaErrorCode.FENCED_LEADER_EPOCH : KafkaErrorCode.UNKNOWN_LEADER_EPOCH;
      return { errorCode, errorMessage: `leader epoch ${currentLeaderEpoch} does not match ${current}`, epoch: -1, endOffset: -1 };
    }
    const send: Send<PartitionTarget & { epoch: number }, PartitionEpochEndResult> = (broker, items, epochs) =>
      this.delivered(
        broker,
        this.bus.ask(this.subjects.at(BrokerVerbs.offsetForLeaderEpoch, broker), { partitions: items.map((p, i) => ({ ...p, leaderEpoch: epochs[i] })) }, { timeoutMs: remaining(deadline) }),
      ).then((r) => r?.partitions);
    return this.route([{ topicId, partition, epoch }], deadline, send, (o) => ({ ...o, epoch: -1, endOffset: -1 }))[0];
  }

  /**
   * A reply's meta, or undefined when the request was not delivered (the broker is gone or refused it unread) or the
   * broker left the cluster while the request was out: a broker that dies holding a request never answers it, and
   * waiting for the request's deadline would stall the client as long (a Kafka client's connection would break at once).
   */
  private async delivered<M>(broker: number, ask: Promise<{ meta: M; body?: Buffer }>, withBody?: false): Promise<M | undefined>;
  private async delivered<M>(broker: number, ask: Promise<{ meta: M; body?: Buffer }>, withBody: true): Promise<(M & { body?: Buffer }) | undefined>;
  private async delivered<M>(broker: number, ask: Promise<{ meta: M; body?: Buffer }>, withBody = false): Promise<M | undefined> {
    const gone = this.departures.watch(broker);
    try {
      const reply = await Promise.race([ask, gone.promise]);
      if (reply === undefined) {
        ask.catch(() => undefined);
        return undefined;
      }
      return withBody ? { ...reply.meta, body: reply.body } : reply.meta;
    } catch (err) {
      if (err instanceof SluiceError && notDelivered.has(err.code)) return undefined;
      throw err;
    } finally {
      gone.cancel();
    }
  }

  /**
   * Sends every item to its partition's leading broker (one message per broker), and again, alone, to the new leader
   * when it was not delivered or leadership moved, until the deadline; then it answers LEADER_NOT_AVAILABLE
   * (retriable). One promise per item. A partition that does not exist fails its promise.
   */
  private route<I extends PartitionTarget, R>(
    items: readonly I[],
    deadline: number,
    send: Send<I, R>,
    failed: (outcome: PartitionOutcome) => R,
    errorCodeOf: (r: R) => number = (r) => (r as PartitionOutcome).errorCode,
  ): Array<Promise<R>> {
    const results = new Array<Promise<R>>(items.length);
    const { leaderless, byBroker, unknown } = this.byLeader(items);
    for (const i of unknown) results[i] = Promise.reject(kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${items[i].partition} of topic ${items[i].topicId} does not exist`));
    for (const i of leaderless) results[i] = Promise.resolve(failed(offline(items[i])));
    for (const [broker, indexes] of byBroker) {
      const group = indexes.map((i) => items[i]);
      const answer = send(broker, group, group.map((p) => this.leaderEpoch(p) ?? -1));
      indexes.forEach((i, n) => {
        results[i] = answer.then((replies) => {
          const r = replies?.[n];
          if (r !== undefined && !leadershipErrors.has(errorCodeOf(r))) return r;
          return this.followLeader(items[i], deadline, send, failed, errorCodeOf, r === undefined ? 'the broker is gone or busy' : 'leadership moved', true);
        });
      });
    }
    return results;
  }

  private async followLeader<I extends PartitionTarget, R>(
    item: I,
    deadline: number,
    send: Send<I, R>,
    failed: (outcome: PartitionOutcome) => R,
    errorCodeOf: (r: R) => number,
    problem: string,
    waitFirst = false,
  ): Promise<R> {
    let lastProblem = problem;
    for (let wait = waitFirst; ; wait = true) {
      if (wait) await this.metadata.nextChange(Math.min(Math.max(0, deadline - Date.now()), 250));
      if (Date.now() >= deadline) {
        return failed({ errorCode: KafkaErrorCode.LEADER_NOT_AVAILABLE, errorMessage: `partition ${item.partition} is not available (${lastProblem}); try again` });
      }
      const info = this.metadata.view.partition(item.topicId, item.partition);
      if (!info) throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${item.partition} of topic ${item.topicId} does not exist`);
      if (info.leader < 0) return failed(offline(item));
      const r = (await send(info.leader, [item], [info.leaderEpoch]))?.[0];
      if (r !== undefined && !leadershipErrors.has(errorCodeOf(r))) return r;
      lastProblem = r === undefined ? 'the broker is gone or busy' : 'leadership moved';
    }
  }

  private leaderEpoch(p: PartitionTarget): number | undefined {
    return this.metadata.view.partition(p.topicId, p.partition)?.leaderEpoch;
  }

  /** The indexes of `parts` grouped by the broker that leads each partition; those without a leader; unknown ones. */
  private byLeader(parts: readonly PartitionTarget[]): { leaderless: number[]; byBroker: Map<number, number[]>; unknown: number[] } {
    const leaderless: number[] = [];
    const unknown: number[] = [];
    const byBroker = new Map<number, number[]>();
    parts.forEach((part, i) => {
      const info = this.metadata.view.partition(part.topicId, part.partition);
      if (!info) unknown.push(i);
      else if (info.leader < 0) leaderless.push(i);
      else {
        const list = byBroker.get(info.leader);
        if (list) list.push(i);
        else byBroker.set(info.leader, [i]);
      }
    });
    return { leaderless, byBroker, unknown };
  }
}

function offline(p: PartitionTarget): PartitionOutcome {
  return { errorCode: KafkaErrorCode.LEADER_NOT_AVAILABLE, errorMessage: `partition ${p.partition} is offline: none of its in-sync replicas is alive` };
}

function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}
