// Topic administration through the controller, shared by the HTTP API and the Kafka listener: each call asks the
// controller, then waits until this gateway's metadata image has the change, so the caller's next read sees it.
// While controllers change over nobody serves the controller's subjects: a request nobody received is sent again
// until its timeout, and one sent to a controller that died before answering is sent again as soon as its successor
// announces itself, so that callers see a slower answer, not an error. (A change the dead controller made before
// dying is kept: a CreateTopics asked again then answers TOPIC_ALREADY_EXISTS, as Kafka's does when retried.)
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusErrorCode, type Bus, type Subscription, type Verb } from '@sluice/bus';
import { SluiceError } from '@sluice/protocol';
import type { MetadataClient } from '@sluice/metadata';
import {
  ControllerVerbs,
  type ControllerAllocateProducerIdsReply,
  type ControllerAllocateProducerIdsRequest,
  type ControllerDescribeQuorumReply,
  type ControllerAlterReassignmentsRequest,
  type ControllerCreatePartitionsRequest,
  type ControllerElectLeadersRequest,
  type CreateTopicSpec,
  type NamedPartitionResult,
  type Subjects,
  type TopicResult,
} from '@sluice/contracts';

export class ControllerClient {
  /** Asks in flight, woken when a new controller announces itself. */
  private readonly takeoverWaiters = new Set<() => void>();
  private readonly elected: Subscription;

  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly metadata: MetadataClient,
    private readonly timeoutMs: number,
  ) {
    this.elected = bus.subscribe(subjects.controllerElected(), () => {
      for (const wake of this.takeoverWaiters) wake();
    });
  }

  close(): void {
    this.elected.unsubscribe();
  }

  /** One attempt: the reply, or 'again' when a new controller was elected meanwhile (the old one will not answer). */
  private attempt<Req, Res>(verb: Verb<Req, Res, void>, request: Req, timeoutMs: number): Promise<{ meta: Res } | 'again'> {
    let wake!: () => void;
    const takeover = new Promise<'again'>((resolve) => (wake = () => resolve('again')));
    this.takeoverWaiters.add(wake);
    return Promise.race([this.bus.ask(this.subjects.at(verb), request, { timeoutMs }), takeover]).finally(() => this.takeoverWaiters.delete(wake));
  }

  /** Asks the active controller, asking again while no controller is there to receive it (a takeover). */
  private async ask<Req, Res>(verb: Verb<Req, Res, void>, request: Req, timeoutMs = this.timeoutMs): Promise<{ meta: Res }> {
    const deadline = Date.now() + timeoutMs;
    // The controller answers a request id once: asked again, it gives the first answer without doing the work twice.
    const identified = { ...request, requestId: randomUUID() };
    for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
      try {
        const answer = await this.attempt(verb, identified, Math.max(1, deadline - Date.now()));
        if (answer !== 'again') return answer;
        pause = 50;
      } catch (err) {
        const undelivered = err instanceof SluiceError && err.code === BusErrorCode.noResponders;
        if (!undelivered || Date.now() + pause >= deadline) throw err;
        await sleep(pause);
      }
    }
  }

  /** A block of producer ids for this gateway's InitProducerId answers. */
  async allocateProducerIds(request: ControllerAllocateProducerIdsRequest): Promise<ControllerAllocateProducerIdsReply> {
    return (await this.ask(ControllerVerbs.allocateProducerIds, request)).meta;
  }

  /** The active controller, its epoch and the standbys. */
  async describeQuorum(timeoutMs = this.timeoutMs): Promise<ControllerDescribeQuorumReply> {
    return (await this.ask(ControllerVerbs.describeQuorum, {}, timeoutMs)).meta;
  }

  async createTopics(topics: CreateTopicSpec[], validateOnly = false): Promise<TopicResult[]> {
    const res = await this.ask(ControllerVerbs.createTopics, { topics, validateOnly });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  async deleteTopics(names: string[]): Promise<TopicResult[]> {
    const res = await this.ask(ControllerVerbs.deleteTopics, { names });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  /** Grows topics to `count` partitions each. */
  async createPartitions(topics: ControllerCreatePartitionsRequest['topics'], validateOnly = false): Promise<TopicResult[]> {
    const res = await this.ask(ControllerVerbs.createPartitions, { topics, validateOnly });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  /** Sets configs (null removes an override). */
  async alterTopicConfigs(name: string, configs: Record<string, string | null>, validateOnly = false): Promise<TopicResult> {
    const res = await this.ask(ControllerVerbs.alterTopicConfigs, { name, configs, validateOnly });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.result;
  }

  /** Leader elections (Kafka's ElectLeaders), answered per partition. */
  async electLeaders(req: ControllerElectLeadersRequest): Promise<NamedPartitionResult[]> {
    const res = await this.ask(ControllerVerbs.electLeaders, req);
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  /** Starts or cancels partition reassignments (Kafka's AlterPartitionReassignments), answered per partition. */
  async alterReassignments(reassignments: ControllerAlterReassignmentsRequest['reassignments']): Promise<NamedPartitionResult[]> {
    const res = await this.ask(ControllerVerbs.alterReassignments, { reassignments });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }
}
