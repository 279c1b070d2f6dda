// The group coordinator service. For now it joins the cluster (registers, heartbeats, follows metadata) and reports
// health; the group protocol and committed offsets arrive with the consumer-groups work.
import { MetadataClient, NodeSession } from '@sluice/metadata';
import { defineConfig, v, type RunningService, type ServiceFactory } from '@sluice/runtime';

export const groupCoordinatorConfig = defineConfig('group-coordinator', {
  nodeId: v.int('SLUICE_NODE_ID', 'Node id; unset: the controller assigns one (above 1000)', {
    default: -1,
    defaultText: '(assigned)',
    min: -1,
  }),
  advertisedHost: v.string('SLUICE_ADVERTISED_HOST', 'Host name other nodes use to reach this coordinator', { default: '127.0.0.1' }),
});

export type GroupCoordinatorConfig = ReturnType<typeof groupCoordinatorConfig.load>;

export const startGroupCoordinator: ServiceFactory<GroupCoordinatorConfig> = async (config, deps) => {
  const metadata = new MetadataClient({ bus: deps.bus, subjects: deps.subjects, onError: (err) => deps.logger.warn({ err }, 'metadata reload failed') });
  const session = new NodeSession({
    bus: deps.bus,
    subjects: deps.subjects,
    registration: { role: 'group-coordinator', nodeId: config.nodeId >= 0 ? config.nodeId : undefined, host: config.advertisedHost, ports: {} },
  });
  session.on('error', (err) => deps.logger.warn({ err }, 'controller session problem'));
  session.on('registered', (r) => deps.logger.info({ nodeId: r.nodeId, incarnation: r.incarnation }, 'registered with the controller'));
  await metadata.start();
  await session.start();
  let stopped = false;
  const service: RunningService = {
    readiness: () => ({
      ready: !stopped && session.healthy,
      reason: session.healthy ? undefined : 'no controller session',
      details: { nodeId: session.registered?.nodeId },
    }),
    stop: async () => {
      stopped = true;
      metadata.close();
      await session.stop();
    },
  };
  return service;
};
