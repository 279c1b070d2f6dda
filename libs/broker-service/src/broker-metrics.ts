// Prometheus metrics of a broker (shared when several brokers run in one process, as in the embedded mode).
import { sharedCounter, sharedGauge, type Counter, type Registry } from '@sluice/runtime';

export interface BrokerMetrics {
  recordsIn: Counter;
  bytesIn: Counter;
  bytesOut: Counter;
  setPartitions(leaders: number, replicas: number): void;
}

export function createBrokerMetrics(registry: Registry, brokerId: () => number): BrokerMetrics {
  const leaders = sharedGauge(registry, 'sluice_broker_leader_partitions', 'Partitions this broker leads', ['broker']);
  const replicas = sharedGauge(registry, 'sluice_broker_replica_partitions', 'Partition replicas on this broker', ['broker']);
  return {
    recordsIn: sharedCounter(registry, 'sluice_broker_records_in_total', 'Records appended as leader'),
    bytesIn: sharedCounter(registry, 'sluice_broker_bytes_in_total', 'Record batch bytes appended as leader'),
    bytesOut: sharedCounter(registry, 'sluice_broker_bytes_out_total', 'Record batch bytes returned by fetches'),
    setPartitions(leaderCount, replicaCount) {
      const broker = String(brokerId());
      leaders.set({ broker }, leaderCount);
      replicas.set({ broker }, replicaCount);
    },
  };
}
