// Replica administration over the Kafka protocol (what kafka-leader-election.sh and kafka-reassign-partitions.sh
// use): ElectLeaders and AlterPartitionReassignments are forwarded to the controller and answered per partition;
// ListPartitionReassignments reads this gateway's metadata image.
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import type { NamedPartition, NamedPartitionResult, PartitionInfo } from '@sluice/contracts';
import { defineApi, errorCodeOf, errorMessageOf } from '../kafka-apis.js';
import type { KafkaContext } from '../kafka-context.js';

const ELECTION_UNCLEAN = 1;

/** Per-partition results grouped by topic, topics in the order they first appear. */
function byTopic<T>(results: readonly NamedPartitionResult[], entry: (r: NamedPartitionResult) => T): Array<{ topic: string; partitions: T[] }> {
  const topics = new Map<string, T[]>();
  for (const r of results) {
    let list = topics.get(r.topic);
    if (!list) topics.set(r.topic, (list = []));
    list.push(entry(r));
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

/** Every partition of `wanted` answered with the error the controller call failed with. */
async function perPartition(wanted: readonly NamedPartition[], call: () => Promise<NamedPartitionResult[]>): Promise<NamedPartitionResult[]> {
  try {
    return await call();
  } catch (err) {
    return wanted.map((p) => ({ ...p, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err) }));
  }
}

export const electLeadersApi = defineApi<kafka.ElectLeadersRequest, kafka.ElectLeadersResponse>({
  key: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  minVersion: 0,
  maxVersion: 2,
  read: kafka.readElectLeadersRequest,
  write: kafka.writeElectLeadersResponse,
  handle: async (req, _info, ctx) => {
    const electionType = req.electionType === ELECTION_UNCLEAN ? 'unclean' : 'preferred';
    if (req.electionType !== undefined && req.electionType !== 0 && req.electionType !== ELECTION_UNCLEAN) {
      return { throttleTimeMs: 0, errorCode: KafkaErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
    }
    const partitions = req.topicPartitions === null ? null : req.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    const results = await perPartition(partitions ?? [], () => ctx.controller.electLeaders({ electionType, partitions }));
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      replicaElectionResults: byTopic(results, (r) => ({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })).map(
        ({ topic, partitions: partitionResult }) => ({ topic, partitionResult }),
      ),
    };
  },
});

export const alterPartitionReassignmentsApi = defineApi<kafka.AlterPartitionReassignmentsRequest, kafka.AlterPartitionReassignmentsResponse>({
  key: ApiKey.AlterPartitionReassignments,
  name: 'AlterPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  read: kafka.readAlterPartitionReassignmentsRequest,
  write: kafka.writeAlterPartitionReassignmentsResponse,
  handle: async (req, _info, ctx) => {
    const reassignments = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas ?? null })));
    const results = await perPartition(reassignments, () => ctx.controller.alterReassignments(reassignments));
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      responses: byTopic(results, (r) => ({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })).map(({ topic, partitions }) => ({
        name: topic,
        partitions,
      })),
    };
  },
});

const reassigning = (p: PartitionInfo | undefined): p is PartitionInfo => p !== undefined && (p.addingReplicas !== undefined || p.removingReplicas !== undefined);

export const listPartitionReassignmentsApi = defineApi<kafka.ListPartitionReassignmentsRequest, kafka.ListPartitionReassignmentsResponse>({
  key: ApiKey.ListPartitionReassignments,
  name: 'ListPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  read: kafka.readListPartitionReassignmentsRequest,
  write: kafka.writeListPartitionReassignmentsResponse,
  handle: async (req, _info, ctx: KafkaContext) => {
    const view = ctx.metadata.view;
    // Every reassignment in progress, or those of the partitions asked for (unknown ones are left out, as Kafka does).
    const wanted =
      req.topics == null
        ? view.topics().map((topic) => ({ topic, partitions: topic.partitions }))
        : req.topics.flatMap((t) => {
            const topic = view.topicByName(t.name);
            return topic ? [{ topic, partitions: t.partitionIndexes.map((i) => topic.partitions[i]) }] : [];
          });
    const topics = wanted
      .map(({ topic, partitions }) => ({
        name: topic.name,
        partitions: partitions.filter(reassigning).map((p) => ({
          partitionIndex: p.partition,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas ?? [],
          removingReplicas: p.removingReplicas ?? [],
        })),
      }))
      .filter((t) => t.partitions.length > 0);
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, errorMessage: null, topics };
  },
});
