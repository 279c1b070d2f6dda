// The gateway process: the HTTP API (and, next, the Kafka wire protocol) in front of the cluster.
import { gatewayConfig, startGateway } from '@sluice/gateway-service';
import { hostService } from '@sluice/runtime';

await hostService({
  service: 'gateway',
  description: 'the edge of the cluster: the HTTP API for producers, consumers and administrators',
  adminPort: 9604,
  config: gatewayConfig,
  start: startGateway,
});
