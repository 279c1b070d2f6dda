// The broker process: the partition replicas this broker hosts, served over the bus (see libs/broker-service).
import { brokerConfig, startBroker } from '@sluice/broker-service';
import { hostService } from '@sluice/runtime';

await hostService({
  service: 'broker',
  description: 'hosts partition replicas on local disk and serves produce, fetch and list-offsets for the partitions it leads',
  adminPort: 9602,
  config: brokerConfig,
  start: startBroker,
});
