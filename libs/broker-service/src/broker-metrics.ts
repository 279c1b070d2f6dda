// Prometheus metrics of a broker (shared when several brokers run in one process, as in the embedded mode).
import { sharedCounter, sharedCounterFamily, sharedGauge, type Counter, type CounterCell, type Registry } from '@sluice/runtime';

/** The replication state of the partitions a broker leads, as Kafka's ReplicaManager gauges report it. */
export interface ReplicationSnapshot {
  /** Led partitions whose ISR is smaller than their replica list. */
  underReplicated: number;
  /** Led partitions whose ISR is smaller than the topic's min.insync.replicas (acks=all writes fail). */
  underMinIsr: number;
  /** The largest number of records any follower is behind a partition this broker leads (0 when none lags). */
  maxFollowerLag: number;
  /** Replicas on this broker whose partition has no leader (offline) as its metadata has it. */
  offline: number;
}

/** One topic's traffic through this process's brokers: kept by each Partition, counted per batch, never looked up per record. */
export interface TopicTraffic {
  recordsIn: CounterCell;
  bytesIn: CounterCell;
  recordsOut: CounterCell;
  bytesOut: CounterCell;
}

export interface BrokerMetrics {
  /** The traffic counters of a topic (created once per topic; a Partition keeps them). */
  topic(name: string): TopicTraffic;
  /** ISR changes this broker made as a leader, by direction (Kafka's IsrShrinksPerSec / IsrExpandsPerSec). */
  isrChanges: Counter;
  setPartitions(leaders: number, replicas: number): void;
  setReplication(snapshot: ReplicationSnapshot): void;
}

export function createBrokerMetrics(registry: Registry, brokerId: () => number): BrokerMetrics {
  const gauge = (name: string, help: string) => sharedGauge(registry, name, help, ['broker']);
  const leaders = gauge('sluice_broker_leader_partitions', 'Partitions this broker leads');
  const replicas = gauge('sluice_broker_replica_partitions', 'Partition replicas on this broker');
  const underReplicated = gauge('sluice_broker_under_replicated_partitions', 'Partitions this broker leads whose ISR is smaller than their replica list');
  const underMinIsr = gauge('sluice_broker_under_min_isr_partitions', 'Partitions this broker leads whose ISR is below min.insync.replicas');
  const maxLag = gauge('sluice_broker_max_follower_lag_records', 'Most records any follower is behind a partition this broker leads');
  const offline = gauge('sluice_broker_offline_replica_partitions', 'Replicas on this broker whose partition has no leader');
  const family = (name: string, help: string) => sharedCounterFamily(registry, name, help, ['topic']);
  const recordsIn = family('sluice_broker_records_in_total', 'Records appended as leader, by topic');
  const bytesIn = family('sluice_broker_bytes_in_total', 'Record batch bytes appended as leader, by topic');
  const recordsOut = family('sluice_broker_records_out_total', 'Records in the batches returned to consumer fetches (from the fetch offset on), by topic');
  const bytesOut = family('sluice_broker_bytes_out_total', 'Record batch bytes returned to consumer fetches, by topic');
  const labels = () => ({ broker: String(brokerId()) });
  return {
    topic: (name) => ({ recordsIn: recordsIn.child(name), bytesIn: bytesIn.child(name), recordsOut: recordsOut.child(name), bytesOut: bytesOut.child(name) }),
    isrChanges: sharedCounter(registry, 'sluice_broker_isr_changes_total', 'ISR shrinks and expands made by partition leaders', ['change']),
    setPartitions(leaderCount, replicaCount) {
      leaders.set(labels(), leaderCount);
      replicas.set(labels(), replicaCount);
    },
    setReplication(snapshot) {
      underReplicated.set(labels(), snapshot.underReplicated);
      underMinIsr.set(labels(), snapshot.underMinIsr);
      maxLag.set(labels(), snapshot.maxFollowerLag);
      offline.set(labels(), snapshot.offline);
    },
  };
}
