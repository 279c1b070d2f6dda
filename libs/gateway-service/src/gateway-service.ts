// The gateway: the edge of the cluster. Holds no durable state; follows the metadata and forwards to owners over the bus.
import { MetadataClient, NodeSession } from '@sluice/metadata';
import type { ControllerRegisterReply } from '@sluice/contracts';
import { kafkaError } from '@sluice/protocol';
import type { RunningService, ServiceDeps } from '@sluice/runtime';
import { gatewayConfig, type GatewayConfig } from './gateway-config.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { GatewayCluster } from './cluster/gateway-cluster.js';
import { ProducerIdPool } from './cluster/producer-ids.js';
import { buildHttpApi } from './http/http-api.js';
import { startKafkaListener, type KafkaListener } from './kafka/kafka-server.js';
import { SaslAuthenticator } from './kafka/sasl.js';

export interface Gateway extends RunningService {
  readonly httpPort: number;
  readonly kafkaPort: number;
}

export const startGateway = async (config: GatewayConfig, deps: ServiceDeps): Promise<Gateway> => {
  const { logger } = deps;
  // Checked before anything starts: a bad SASL setting stops the gateway naming the variable.
  const sasl = new SaslAuthenticator(config.saslMechanisms, config.saslUsers);
  const metadata = new MetadataClient({ bus: deps.bus, subjects: deps.subjects, onError: (err) => logger.warn({ err }, 'metadata reload failed') });
  await metadata.start();
  // One view of the cluster (bus clients, fetch merger, topic lookup) for both edges.
  const cluster = new GatewayCluster({ bus: deps.bus, subjects: deps.subjects, metadata, config, logger, metrics: createGatewayMetrics(deps.registry) });
  const app = await buildHttpApi(cluster);
  await app.listen({ host: config.httpHost, port: config.httpPort });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  logger.info({ port: httpPort, host: config.httpHost }, 'http listening');
  let nodeId = config.nodeId;
  let registration: ControllerRegisterReply | undefined;
  const producerIds = new ProducerIdPool(() => {
    if (!registration) throw kafkaError('COORDINATOR_NOT_AVAILABLE', 'the gateway has not registered with the controller yet');
    return cluster.controller.allocateProducerIds({ nodeId: registration.nodeId, incarnation: registration.incarnation });
  });
  let kafkaAdvertisedPort = config.kafkaAdvertisedPort;
  let kafka: KafkaListener;
  try {
    kafka = await startKafkaListener({
      bus: cluster.bus,
      subjects: cluster.subjects,
      metadata,
      partitions: cluster.partitions,
      fetcher: cluster.fetcher,
      controller: cluster.controller,
      groups: cluster.groups,
      producerIds,
      sasl,
      config,
      logger,
      self: () => ({ nodeId, host: config.advertisedHost, port: kafkaAdvertisedPort, rack: null }),
    });
  } catch (err) {
    await app.close();
    cluster.controller.close();
    metadata.close();
    throw err;
  }
  if (kafkaAdvertisedPort < 0) kafkaAdvertisedPort = kafka.port;
  logger.info({ port: kafka.port, host: config.kafkaHost, advertised: `${config.advertisedHost}:${kafkaAdvertisedPort}`, sasl: sasl.mechanisms }, 'kafka listening');
  const session = new NodeSession({
    bus: deps.bus,
    subjects: deps.subjects,
    registration: {
      role: 'gateway',
      nodeId: config.nodeId >= 0 ? config.nodeId : undefined,
      host: config.advertisedHost,
      ports: { http: httpPort, kafka: kafkaAdvertisedPort },
    },
  });
  session.on('error', (err) => logger.warn({ err }, 'controller session problem'));
  session.on('registered', (r) => {
    nodeId = r.nodeId;
    registration = r;
    logger.info({ nodeId: r.nodeId, incarnation: r.incarnation }, 'registered with the controller');
  });
  try {
    await session.start();
  } catch (err) {
    await kafka.close();
    await app.close();
    cluster.controller.close();
    metadata.close();
    throw err;
  }
  let stopped = false;
  const gateway: Gateway = {
    httpPort,
    kafkaPort: kafka.port,
    readiness: () => ({
      ready: !stopped && session.healthy,
      reason: stopped ? 'stopping' : session.healthy ? undefined : 'no controller session',
      details: { nodeId: session.registered?.nodeId, httpPort, kafkaPort: kafka.port, kafkaConnections: kafka.connections },
    }),
    stop: async () => {
      stopped = true;
      await kafka.close();
      await app.close();
      await session.stop();
      cluster.controller.close();
      metadata.close();
    },
  };
  return gateway;
};

export { gatewayConfig };
