// The gateway's configuration (environment variables), validated at start.
import { defineConfig, v } from '@sluice/runtime';

export const gatewayConfig = defineConfig('gateway', {
  httpHost: v.string('SLUICE_HTTP_HOST', 'Interface the HTTP API listens on', { default: '0.0.0.0' }),
  httpPort: v.port('SLUICE_HTTP_PORT', 'Port of the HTTP API (0: any free port)', { default: 8080 }),
  advertisedHost: v.string('SLUICE_ADVERTISED_HOST', 'Host name clients use to reach this gateway', { default: '127.0.0.1' }),
  nodeId: v.int('SLUICE_NODE_ID', 'Node id; unset: the controller assigns one (above 1000)', { default: -1, defaultText: '(assigned)', min: -1 }),
  maxBodyBytes: v.int('SLUICE_HTTP_MAX_BODY_BYTES', 'Largest HTTP request body accepted', { default: 4 * 1024 * 1024, min: 1024 }),
  requestTimeoutMs: v.int('SLUICE_REQUEST_TIMEOUT_MS', 'How long a request may wait for a partition leader (retries included)', {
    default: 30_000,
    min: 100,
  }),
  maxBatchBytes: v.int('SLUICE_MAX_BATCH_BYTES', 'Largest record batch the gateway builds from HTTP records (Kafka batch limit)', {
    default: 1024 * 1024,
    min: 1024,
  }),
});

export type GatewayConfig = ReturnType<typeof gatewayConfig.load>;
