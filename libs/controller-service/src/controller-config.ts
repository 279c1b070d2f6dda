// The controller's configuration (environment variables), validated at start.
import { ConfigError, defineConfig, v } from '@sluice/runtime';

export const controllerConfig = defineConfig('controller', {
  dataDir: v.string('SLUICE_DATA_DIR', 'Directory of the controller (its SQLite database by default)', { default: './data/controller' }),
  databaseUrl: v.string('DATABASE_URL', 'Metadata database: file:PATH for SQLite, postgres://... for PostgreSQL', {
    default: '',
    defaultText: 'file:<SLUICE_DATA_DIR>/controller.db',
  }),
  leaseMs: v.int(
    'SLUICE_CONTROLLER_LEASE_MS',
    'Lease of the active controller in the metadata database: a standby takes over this long after the active one stops renewing it',
    { default: 5000, min: 100 },
  ),
  sessionTimeoutMs: v.int('SLUICE_SESSION_TIMEOUT_MS', 'A node that has not heartbeated for this long is fenced', { default: 9000, min: 100 }),
  heartbeatIntervalMs: v.int('SLUICE_HEARTBEAT_INTERVAL_MS', 'How often nodes heartbeat (must be below the session timeout)', {
    default: 2000,
    min: 10,
  }),
  defaultPartitions: v.int('SLUICE_DEFAULT_PARTITIONS', 'Partitions of a topic created without a count (num.partitions)', {
    default: 1,
    min: 1,
  }),
  defaultReplicationFactor: v.int('SLUICE_DEFAULT_REPLICATION_FACTOR', 'Replication factor of a topic created without one', {
    default: 1,
    min: 1,
  }),
  autoLeaderRebalanceEnable: v.bool('SLUICE_AUTO_LEADER_REBALANCE_ENABLE', 'Move leadership back to preferred replicas when brokers are imbalanced (auto.leader.rebalance.enable)', {
    default: true,
  }),
  leaderImbalanceCheckIntervalMs: v.int('SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS', 'How often leader imbalance is checked (leader.imbalance.check.interval.seconds)', {
    default: 300_000,
    min: 100,
  }),
  leaderImbalancePerBrokerPercentage: v.int(
    'SLUICE_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE',
    'Share of a broker’s preferred partitions led elsewhere above which leadership moves back (leader.imbalance.per.broker.percentage)',
    { default: 10, min: 0, max: 100 },
  ),
  maxPartitions: v.int('SLUICE_MAX_PARTITIONS', 'Most partitions one topic may have', { default: 10_000, min: 1 }),
  maxClusterPartitions: v.int(
    'SLUICE_MAX_CLUSTER_PARTITIONS',
    'Most partitions the whole cluster may hold; CreateTopics and CreatePartitions beyond it fail with INVALID_PARTITIONS',
    { default: 100_000, min: 1 },
  ),
});

export type ControllerConfig = ReturnType<typeof controllerConfig.load>;

export function resolveDatabaseUrl(config: ControllerConfig): { provider: 'sqlite' | 'postgresql'; url: string } {
  const url = config.databaseUrl === '' ? `file:${config.dataDir}/controller.db` : config.databaseUrl;
  if (/^postgres(ql)?:\/\//.test(url)) return { provider: 'postgresql', url };
  if (url.startsWith('file:')) return { provider: 'sqlite', url };
  throw new ConfigError('DATABASE_URL', `"${url}" is neither a file: URL (SQLite) nor a postgres:// URL`);
}
