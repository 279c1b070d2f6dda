// The Kafka protocol listener: accepts client connections and serves the registered APIs on each.
import { createServer, type Server } from 'node:net';
import { apiRegistry, createDispatcher, type ApiRegistry } from './kafka-apis.js';
import { KafkaConnection, type CoarseClock } from './kafka-connection.js';
import { RequestMemory } from './request-memory.js';
import type { KafkaContext } from './kafka-context.js';
import { alterPartitionReassignmentsApi, electLeadersApi, listPartitionReassignmentsApi } from './handlers/replicas.js';
import { alterConfigsApi, createPartitionsApi, createTopicsApi, deleteTopicsApi, describeConfigsApi, describeLogDirsApi, incrementalAlterConfigsApi } from './handlers/admin.js';
import { apiVersionsApi, describeClusterApi, initProducerIdApi, metadataApi } from './handlers/cluster.js';
import {
  deleteGroupsApi,
  describeGroupsApi,
  findCoordinatorApi,
  heartbeatApi,
  joinGroupApi,
  leaveGroupApi,
  listGroupsApi,
  offsetCommitApi,
  offsetDeleteApi,
  offsetFetchApi,
  syncGroupApi,
} from './handlers/groups.js';
import { deleteRecordsApi, fetchApi, listOffsetsApi, offsetForLeaderEpochApi, produceApi } from './handlers/records.js';
import { saslAuthenticateApi, saslHandshakeApi } from './handlers/sasl.js';

/** Every API this gateway serves over the Kafka protocol; ApiVersions advertises exactly these. */
export function kafkaApis(): ApiRegistry {
  const registry: ApiRegistry = apiRegistry([
    produceApi,
    fetchApi,
    listOffsetsApi,
    deleteRecordsApi,
    offsetForLeaderEpochApi,
    metadataApi,
    offsetCommitApi,
    offsetFetchApi,
    findCoordinatorApi,
    joinGroupApi,
    heartbeatApi,
    leaveGroupApi,
    syncGroupApi,
    describeGroupsApi,
    listGroupsApi,
    saslHandshakeApi,
    apiVersionsApi(() => registry),
    createTopicsApi,
    createPartitionsApi,
    deleteTopicsApi,
    initProducerIdApi,
    describeConfigsApi,
    alterConfigsApi,
    incrementalAlterConfigsApi,
    saslAuthenticateApi,
    deleteGroupsApi,
    describeClusterApi,
    electLeadersApi,
    alterPartitionReassignmentsApi,
    listPartitionReassignmentsApi,
    offsetDeleteApi,
    describeLogDirsApi,
  ]);
  return registry;
}

export interface KafkaListener {
  readonly port: number;
  readonly connections: number;
  /** Bytes reserved for requests being read or processed, over all connections. */
  readonly reservedRequestBytes: number;
  close(): Promise<void>;
}

/** Kafka's sasl.server.max.receive.size: the largest frame a client may send before it has authenticated. */
const MAX_UNAUTHENTICATED_FRAME = 512 * 1024;
const SWEEP_INTERVAL_MS = 1000;

export async function startKafkaListener(ctx: KafkaContext, registry: ApiRegistry = kafkaApis()): Promise<KafkaListener> {
  const dispatch = createDispatcher(registry, ctx);
  const connections = new Set<KafkaConnection>();
  const clock: CoarseClock = { now: Date.now() };
  const memory = new RequestMemory(ctx.config.kafkaMaxQueuedRequestBytes);
  const options = {
    maxRequestBytes: ctx.config.kafkaMaxRequestBytes,
    maxUnauthenticatedBytes: Math.min(MAX_UNAUTHENTICATED_FRAME, ctx.config.kafkaMaxRequestBytes),
    saslRequired: ctx.sasl.enabled,
    maxInFlight: ctx.config.kafkaMaxInFlight,
    idleTimeoutMs: ctx.config.kafkaConnectionsMaxIdleMs,
    requestReadTimeoutMs: ctx.config.kafkaRequestReadTimeoutMs,
    memory,
    clock,
    logger: ctx.logger,
  };
  const server: Server = createServer((socket) => {
    const connection = new KafkaConnection(socket, dispatch, options);
    connections.add(connection);
    ctx.metrics.connectionsAccepted.kafka.inc();
    ctx.metrics.connections.inc({ protocol: 'kafka' });
    socket.on('close', () => {
      connections.delete(connection);
      ctx.metrics.connections.dec({ protocol: 'kafka' });
    });
  });
  const sweep = setInterval(() => {
    clock.now = Date.now();
    for (const c of connections) c.checkTimeouts(clock.now);
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.config.kafkaPort, ctx.config.kafkaHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : ctx.config.kafkaPort;
  return {
    port,
    get connections() {
      return connections.size;
    },
    get reservedRequestBytes() {
      return memory.reservedBytes;
    },
    close: async () => {
      clearInterval(sweep);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.dispose();
      await closed;
    },
  };
}
