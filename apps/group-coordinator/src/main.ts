// The group coordinator process.
import { groupCoordinatorConfig, startGroupCoordinator } from '@sluice/group-coordinator-service';
import { hostService } from '@sluice/runtime';

await hostService({
  service: 'group-coordinator',
  description: 'consumer groups: membership, rebalances and committed offsets',
  adminPort: 9603,
  config: groupCoordinatorConfig,
  baselineWasm: true,
  start: startGroupCoordinator,
});
