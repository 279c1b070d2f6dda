// A follower's pull from one leader broker, as Kafka's ReplicaFetcherThread: one long-polled, size-bounded request for
// all the partitions this broker follows there, each with its log end, the epoch of its last batch and its view of the
// leader epoch. The leader's batches are appended unchanged; where the histories diverge the log is truncated first;
// a log behind the leader's log start starts over from it. A partition whose leader moved is left to the replica
// manager, which hands it to the fetcher of its new leader.
import { BusErrorCode, type Bus } from '@sluice/bus';
import { BrokerVerbs, type PartitionReplicaFetchResult, type Subjects } from '@sluice/contracts';
import { KafkaErrorCode, SluiceError } from '@sluice/protocol';
import type { Logger } from '@sluice/runtime';
import type { Partition } from './partition.js';

export interface ReplicaFetcherOptions {
  bus: Bus;
  subjects: Subjects;
  brokerId: number;
  leaderId: number;
  logger: Logger;
  maxWaitMs: number;
  maxBytes: number;
  /** The partitions this broker follows from `leaderId` now. */
  partitions: () => Partition[];
}

/** How long to wait after an error before asking the leader again. */
const BACKOFF_MS = 250;
/** Most bytes one partition contributes to a fetch. */
const PARTITION_MAX_BYTES = 1024 * 1024;

export class ReplicaFetcher {
  private stopped = false;
  private running: Promise<void> | undefined;
  private idle: (() => void) | undefined;
  /** Settles when stop() is called: a fetch still waiting at the leader is abandoned rather than waited for. */
  private readonly stopping: Promise<undefined>;
  private signalStop: () => void = () => undefined;

  constructor(private readonly o: ReplicaFetcherOptions) {
    this.stopping = new Promise((resolve) => {
      this.signalStop = () => resolve(undefined);
    });
  }

  get leaderId(): number {
    return this.o.leaderId;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** New partitions to follow: fetch at once rather than after the current wait. */
  wake(): void {
    this.idle?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.idle?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const partitions = this.o.partitions();
      if (partitions.length === 0) {
        await this.pause(1000);
        continue;
      }
      try {
        const progressed = await this.fetchOnce(partitions);
        if (!progressed) await this.pause(BACKOFF_MS);
      } catch (err) {
        if (!(err instanceof SluiceError && (err.code === BusErrorCode.noResponders || err.code === BusErrorCode.timeout || err.code === BusErrorCode.closed))) {
          this.o.logger.warn({ err, leader: this.o.leaderId }, 'replica fetch failed');
        }
        await this.pause(BACKOFF_MS);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idle = () => {
        this.idle = undefined;
        done();
      };
    });
  }

  /** One fetch round; false when every partition was refused (nothing to do but wait). */
  private async fetchOnce(partitions: Partition[]): Promise<boolean> {
    const sent = partitions.map((p) => ({ p, ...p.followerFetchState() }));
    const meta = {
      replicaId: this.o.brokerId,
      maxWaitMs: this.o.maxWaitMs,
      minBytes: 1,
      maxBytes: this.o.maxBytes,
      partitions: sent.map((s) => ({
        topicId: s.p.topicId,
        partition: s.p.partition,
        leaderEpoch: s.leaderEpoch,
        fetchOffset: s.fetchOffset,
        lastFetchedEpoch: s.lastFetchedEpoch,
        maxBytes: PARTITION_MAX_BYTES,
      })),
    };
    const asked = this.o.bus.ask(this.o.subjects.at(BrokerVerbs.replicaFetch, this.o.leaderId), meta, { timeoutMs: this.o.maxWaitMs + 10_000 });
    const reply = await Promise.race([asked, this.stopping]);
    if (!reply) {
      asked.catch(() => undefined);
      return false;
    }
    let at = 0;
    let progressed = false;
    await Promise.all(
      reply.meta.partitions.map((result, i) => {
        const { bytes, ...state } = result;
        const body = bytes > 0 && reply.body ? reply.body.subarray(at, at + bytes) : undefined;
        at += bytes;
        const s = sent[i];
        // The partition moved on (new leader or epoch) while the fetch was out: what came back is not for it.
        if (!s || !s.p.followsAt(s.leaderEpoch)) return undefined;
        return this.apply(s.p, state, body, s.fetchOffset).then(
          (moved) => {
            if (moved) progressed = true;
          },
          (err: unknown) => s.p.logger.warn({ err }, 'replica fetch result not applied'),
        );
      }),
    );
    return progressed;
  }

  /** Applies one partition's result; false when it moved nothing (the round then backs off rather than spin). */
  private async apply(p: Partition, result: PartitionReplicaFetchResult, body: Buffer | undefined, fetchOffset: number): Promise<boolean> {
    switch (result.errorCode) {
      case KafkaErrorCode.NONE:
        if (result.divergingEpoch) return p.truncateToDivergence(result.divergingEpoch);
        if (body) await p.appendFromLeader(body, result, fetchOffset);
        else await p.followLeaderBounds(result);
        return true;
      case KafkaErrorCode.OFFSET_OUT_OF_RANGE:
        await p.resetToLeader(result, fetchOffset);
        return true;
      default:
        // Fenced or unknown leader epoch, not the leader: the metadata will bring the new leader or epoch.
        p.logger.debug({ errorCode: result.errorCode, message: result.errorMessage }, 'the leader refused a replica fetch');
        return false;
    }
  }
}
