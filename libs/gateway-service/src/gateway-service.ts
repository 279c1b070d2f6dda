// The gateway: the edge of the cluster. Holds no durable state; follows the metadata and forwards to owners over the bus.
import { MetadataClient, NodeSession } from '@sluice/metadata';
import type { RunningService, ServiceFactory } from '@sluice/runtime';
import { gatewayConfig, type GatewayConfig } from './gateway-config.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { buildHttpApi } from './http/http-api.js';

export interface Gateway extends RunningService {
  readonly httpPort: number;
}

export const startGateway: ServiceFactory<GatewayConfig> = async (config, deps) => {
  const { logger } = deps;
  const metadata = new MetadataClient({ bus: deps.bus, subjects: deps.subjects, onError: (err) => logger.warn({ err }, 'metadata reload failed') });
  await metadata.start();
  const app = await buildHttpApi({ bus: deps.bus, subjects: deps.subjects, metadata, config, logger, metrics: createGatewayMetrics(deps.registry) });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  logger.info({ port: httpPort, host: config.httpHost }, 'http listening');
  const session = new NodeSession({
    bus: deps.bus,
    subjects: deps.subjects,
    registration: { role: 'gateway', nodeId: config.nodeId >= 0 ? config.nodeId : undefined, host: config.advertisedHost, ports: { http: httpPort } },
  });
  session.on('error', (err) => logger.warn({ err }, 'controller session problem'));
  session.on('registered', (r) => logger.info({ nodeId: r.nodeId, incarnation: r.incarnation }, 'registered with the controller'));
  try {
    await session.start();
  } catch (err) {
    await app.close();
    metadata.close();
    throw err;
  }
  let stopped = false;
  const gateway: Gateway = {
    httpPort,
    readiness: () => ({
      ready: !stopped && session.healthy,
      reason: stopped ? 'stopping' : session.healthy ? undefined : 'no controller session',
      details: { nodeId: session.registered?.nodeId, httpPort },
    }),
    stop: async () => {
      stopped = true;
      await app.close();
      await session.stop();
      metadata.close();
    },
  };
  return gateway;
};

export { gatewayConfig };
