// The controller process: the owner of cluster metadata.
import { controllerConfig, startController } from '@sluice/controller-service';
import { hostService } from '@sluice/runtime';

await hostService({
  service: 'controller',
  description: 'owns cluster metadata (brokers, topics, partitions, leaders) and publishes it to every service',
  adminPort: 9601,
  config: controllerConfig,
  baselineWasm: true,
  start: startController,
});
