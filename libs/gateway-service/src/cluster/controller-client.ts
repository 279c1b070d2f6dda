// Topic administration through the controller, shared by the HTTP API and the Kafka listener: each call asks the
// controller, then waits until this gateway's metadata image has the change, so the caller's next read sees it.
import type { Bus } from '@sluice/bus';
import type { MetadataClient } from '@sluice/metadata';
import {
  ControllerVerbs,
  type ControllerAlterReassignmentsRequest,
  type ControllerCreatePartitionsRequest,
  type ControllerElectLeadersRequest,
  type CreateTopicSpec,
  type NamedPartitionResult,
  type Subjects,
  type TopicResult,
} from '@sluice/contracts';

export class ControllerClient {
  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly metadata: MetadataClient,
    private readonly timeoutMs: number,
  ) {}

  async createTopics(topics: CreateTopicSpec[], validateOnly = false): Promise<TopicResult[]> {
    const res = await this.bus.ask(this.subjects.at(ControllerVerbs.createTopics), { topics, validateOnly }, { timeoutMs: this.timeoutMs });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  async deleteTopics(names: string[]): Promise<TopicResult[]> {
    const res = await this.bus.ask(this.subjects.at(ControllerVerbs.deleteTopics), { names }, { timeoutMs: this.timeoutMs });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  /** Grows topics to `count` partitions each. */
  async createPartitions(topics: ControllerCreatePartitionsRequest['topics'], validateOnly = false): Promise<TopicResult[]> {
    const res = await this.bus.ask(
      this.subjects.at(ControllerVerbs.createPartitions),
      { topics, validateOnly },
      { timeoutMs: this.timeoutMs },
    );
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  /** Sets configs (null removes an override). */
  async alterTopicConfigs(name: string, configs: Record<string, string | null>, validateOnly = false): Promise<TopicResult> {
    const res = await this.bus.ask(
      this.subjects.at(ControllerVerbs.alterTopicConfigs),
      { name, configs, validateOnly },
      { timeoutMs: this.timeoutMs },
    );
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.result;
  }

  /** Leader elections (Kafka's ElectLeaders), answered per partition. */
  async electLeaders(req: ControllerElectLeadersRequest): Promise<NamedPartitionResult[]> {
    const res = await this.bus.ask(this.subjects.at(ControllerVerbs.electLeaders), req, { timeoutMs: this.timeoutMs });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }

  /** Starts or cancels partition reassignments (Kafka's AlterPartitionReassignments), answered per partition. */
  async alterReassignments(reassignments: ControllerAlterReassignmentsRequest['reassignments']): Promise<NamedPartitionResult[]> {
    const res = await this.bus.ask(this.subjects.at(ControllerVerbs.alterReassignments), { reassignments }, { timeoutMs: this.timeoutMs });
    await this.metadata.waitForOffset(res.meta.metadataOffset, this.timeoutMs);
    return res.meta.results;
  }
}
