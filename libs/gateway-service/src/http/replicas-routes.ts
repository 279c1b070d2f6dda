// Replica administration: leader elections and partition reassignments (what kafka-leader-election.sh and
// kafka-reassign-partitions.sh do over the Kafka protocol), answered per partition.
import type { FastifyPluginAsync } from 'fastify';
import { kafkaErrorName, KafkaErrorCode } from '@sluice/protocol';
import type { NamedPartitionResult } from '@sluice/contracts';
import { errorResponses } from './schemas.js';

const namedPartition = {
  type: 'object',
  properties: { topic: { type: 'string', minLength: 1 }, partition: { type: 'integer', minimum: 0 } },
  required: ['topic', 'partition'],
  additionalProperties: false,
} as const;

const resultsSchema = {
  type: 'object',
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: { topic: { type: 'string' }, partition: { type: 'integer' }, error_code: { type: ['string', 'null'] }, error: { type: ['string', 'null'] } },
      },
    },
  },
} as const;

/** A partition's outcome: error_code null on success, else the Kafka error's name and message. */
function results(list: readonly NamedPartitionResult[]) {
  return {
    results: list.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      error_code: r.errorCode === KafkaErrorCode.NONE ? null : kafkaErrorName(r.errorCode),
      error: r.errorCode === KafkaErrorCode.NONE ? null : r.errorMessage,
    })),
  };
}

export const replicasRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.cluster;

  app.post<{ Body: { type?: 'preferred' | 'unclean'; partitions?: Array<{ topic: string; partition: number }> } }>(
    '/elect-leaders',
    {
      schema: {
        summary: 'Elect leaders: `preferred` moves leadership to each partition’s first replica when it is alive and in sync; `unclean` gives offline partitions a leader, out of sync if need be (losing what it lacks). Without `partitions`, every partition.',
        body: {
          type: 'object',
          properties: { type: { type: 'string', enum: ['preferred', 'unclean'] }, partitions: { type: 'array', items: namedPartition, maxItems: 100_000 } },
          additionalProperties: false,
        },
        response: { 200: resultsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      return results(await ctx.controller.electLeaders({ electionType: body.type ?? 'preferred', partitions: body.partitions ?? null }));
    },
  );

  app.get(
    '/reassignments',
    {
      schema: {
        summary: 'Partition reassignments in progress: the replicas, those being added and those being removed',
        response: {
          200: {
            type: 'object',
            properties: {
              reassignments: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    topic: { type: 'string' },
                    partition: { type: 'integer' },
                    replicas: { type: 'array', items: { type: 'integer' } },
                    adding: { type: 'array', items: { type: 'integer' } },
                    removing: { type: 'array', items: { type: 'integer' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      reassignments: ctx.metadata.view.topics().flatMap((t) =>
        t.partitions
          .filter((p) => p.addingReplicas || p.removingReplicas)
          .map((p) => ({ topic: t.name, partition: p.partition, replicas: p.replicas, adding: p.addingReplicas ?? [], removing: p.removingReplicas ?? [] })),
      ),
    }),
  );

  app.post<{ Body: { reassignments: Array<{ topic: string; partition: number; replicas: number[] | null }> } }>(
    '/reassignments',
    {
      schema: {
        summary: 'Move partitions to other brokers: `replicas` is the target list (preferred leader first); the new replicas copy the log, then the old ones are dropped. `replicas: null` cancels the reassignment in progress.',
        body: {
          type: 'object',
          properties: {
            reassignments: {
              type: 'array',
              maxItems: 100_000,
              items: {
                type: 'object',
                properties: {
                  ...namedPartition.properties,
                  replicas: { anyOf: [{ type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: 1000 }, { type: 'null' }] },
                },
                required: ['topic', 'partition', 'replicas'],
                additionalProperties: false,
              },
            },
          },
          required: ['reassignments'],
          additionalProperties: false,
        },
        response: { 200: resultsSchema, ...errorResponses },
      },
    },
    async (request) => results(await ctx.controller.alterReassignments(request.body.reassignments)),
  );
};
