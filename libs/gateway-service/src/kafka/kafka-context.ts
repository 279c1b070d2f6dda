// What Kafka API handlers need, and the cluster as Kafka clients see it: the gateways are the brokers, and each
// partition is "led" by one of them (spread evenly, stable for a metadata version). Any gateway serves any
// partition, forwarding to the real leader over the bus, so the choice only spreads client connections.
import type { Bus } from '@sluice/bus';
import type { MetadataClient } from '@sluice/metadata';
import type { Logger } from '@sluice/runtime';
import type { Subjects, TopicInfo } from '@sluice/contracts';
import type { GatewayConfig } from '../gateway-config.js';
import type { ControllerClient } from '../cluster/controller-client.js';
import type { FetchMerger } from '../cluster/fetch-merger.js';
import type { GroupClient } from '../cluster/group-client.js';
import type { PartitionClient } from '../cluster/partition-client.js';
import type { ProducerIdPool } from '../cluster/producer-ids.js';
import type { SaslAuthenticator } from './sasl.js';

export interface KafkaContext {
  bus: Bus;
  subjects: Subjects;
  metadata: MetadataClient;
  partitions: PartitionClient;
  fetcher: FetchMerger;
  controller: ControllerClient;
  groups: GroupClient;
  producerIds: ProducerIdPool;
  sasl: SaslAuthenticator;
  config: GatewayConfig;
  logger: Logger;
  /** This gateway as a Kafka broker (its node id is known once it has registered). */
  self(): KafkaBroker;
}

export interface KafkaBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** The live gateways that serve Kafka clients, by node id; this gateway is always among them. */
export function kafkaBrokers(ctx: KafkaContext): KafkaBroker[] {
  const self = ctx.self();
  const brokers = new Map<number, KafkaBroker>();
  for (const node of ctx.metadata.view.nodes('gateway', 'alive')) {
    if (node.ports.kafka === undefined) continue;
    brokers.set(node.id, { nodeId: node.id, host: node.host, port: node.ports.kafka, rack: node.rack });
  }
  brokers.set(self.nodeId, self);
  return [...brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The gateway named leader of a partition in Metadata answers. */
export function gatewayFor(brokers: readonly KafkaBroker[], topic: TopicInfo, partition: number): KafkaBroker {
  return brokers[(hash(topic.id) + partition) % brokers.length];
}
