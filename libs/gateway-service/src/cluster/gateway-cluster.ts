// The gateway's one view of the cluster, built once and shared by the Kafka listener, the HTTP API and the HTTP
// consumers: the metadata it follows, the bus clients (partition leaders, the controller, group coordinators), the
// fetch merger, and topic lookup. Errors here are domain errors (SluiceError with a Kafka code where one applies);
// each edge maps them to its own protocol.
import type { Bus } from '@sluice/bus';
import type { PartitionInfo, Subjects, TopicInfo } from '@sluice/contracts';
import type { MetadataClient } from '@sluice/metadata';
import { kafkaError, SluiceError } from '@sluice/protocol';
import type { Logger } from '@sluice/runtime';
import type { GatewayConfig } from '../gateway-config.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { ControllerClient } from './controller-client.js';
import { FetchMerger } from './fetch-merger.js';
import { GroupClient } from './group-client.js';
import { PartitionClient } from './partition-client.js';

export interface GatewayClusterDeps {
  bus: Bus;
  subjects: Subjects;
  metadata: MetadataClient;
  config: GatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
}

export class GatewayCluster {
  readonly bus: Bus;
  readonly subjects: Subjects;
  readonly metadata: MetadataClient;
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly partitions: PartitionClient;
  readonly controller: ControllerClient;
  readonly groups: GroupClient;
  readonly fetcher: FetchMerger;

  constructor(deps: GatewayClusterDeps) {
    ({ bus: this.bus, subjects: this.subjects, metadata: this.metadata, config: this.config, logger: this.logger, metrics: this.metrics } = deps);
    this.partitions = new PartitionClient(deps.bus, deps.subjects, deps.metadata);
    this.controller = new ControllerClient(deps.bus, deps.subjects, deps.metadata, deps.config.requestTimeoutMs);
    this.groups = new GroupClient(deps.bus, deps.subjects, deps.logger, deps.config.requestTimeoutMs);
    this.fetcher = new FetchMerger(this.partitions);
  }

  /** A deadline for work on behalf of one request. */
  deadline(): number {
    return Date.now() + this.config.requestTimeoutMs;
  }

  /** The topic of that name; UNKNOWN_TOPIC_OR_PARTITION when there is none. */
  topic(name: string): TopicInfo {
    const topic = this.metadata.view.topicByName(name);
    if (!topic) throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${name}" does not exist`);
    return topic;
  }

  /** A partition of a topic; UNKNOWN_PARTITION (Kafka's UNKNOWN_TOPIC_OR_PARTITION) when the topic has no such partition. */
  partition(name: string, partition: number): { topic: TopicInfo; info: PartitionInfo } {
    const topic = this.topic(name);
    const info = topic.partitions[partition];
    if (!info) throw unknownPartition(name, partition);
    return { topic, info };
  }
}

/** A partition a topic does not have (told apart from an unknown topic for HTTP's error codes). */
export function unknownPartition(topic: string, partition: number): SluiceError {
  return new SluiceError('UNKNOWN_PARTITION', `topic "${topic}" has no partition ${partition}`, { kafkaCode: 3 });
}
