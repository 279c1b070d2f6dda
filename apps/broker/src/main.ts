// The broker process: partition replicas and their leader actors.
import { brokerConfig, startBroker } from '@sluice/broker-service';
import { hostService } from '@sluice/runtime';

await hostService({
  service: 'broker',
  description: 'hosts partition replicas on local disk and serves produce, fetch and list-offsets for the partitions it leads',
  adminPort: 9602,
  config: brokerConfig,
  start: startBroker,
});
