// The Kafka protocol listener: accepts client connections and serves the registered APIs on each.
import { createServer, type Server, type Socket } from 'node:net';
import { apiRegistry, createDispatcher, type ApiRegistry } from './kafka-apis.js';
import { KafkaConnection } from './kafka-connection.js';
import type { KafkaContext } from './kafka-context.js';
import { alterConfigsApi, createPartitionsApi, createTopicsApi, deleteTopicsApi, describeConfigsApi, incrementalAlterConfigsApi } from './handlers/admin.js';
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
  ]);
  return registry;
}

export interface KafkaListener {
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startKafkaListener(ctx: KafkaContext, registry: ApiRegistry = kafkaApis()): Promise<KafkaListener> {
  const dispatch = createDispatcher(registry, ctx);
  const sockets = new Set<Socket>();
  const options = { maxRequestBytes: ctx.config.kafkaMaxRequestBytes, maxInFlight: ctx.config.kafkaMaxInFlight, logger: ctx.logger };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new KafkaConnection(socket, dispatch, options);
  });
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
      return sockets.size;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
