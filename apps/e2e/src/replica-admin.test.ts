// Moving partitions and leaders on a running 4-broker stack, as an operator does with kafka-reassign-partitions.sh and
// kafka-leader-election.sh (the Kafka APIs, over raw frames) and with the HTTP API: a partition moved from three
// brokers to three others while a KafkaJS idempotent acks=all producer writes loses and duplicates nothing, and the
// broker it left deletes its replica; leadership comes back to the preferred replica when asked.
import { describe, expect, it } from 'vitest';
import { ApiKey, kafka, KafkaErrorCode, type Reader, type Writer } from '@sluice/protocol';
import { waitFor } from '@sluice/testing';
import { WireClient } from './kafka-wire.js';
import { createReplicatedTopic, expectExactlyOnce, inSyncBrokers, partitionView, readPartition, startWriter, useReplicatedStack } from './replicated-stack.js';

const cluster = useReplicatedStack({ SLUICE_REPLICA_LAG_TIME_MAX_MS: '4000', SLUICE_AUTO_LEADER_REBALANCE_ENABLE: 'false' }, 4);
const view = (topic: string) => partitionView(cluster.http, topic);
const brokersOf = (v: Awaited<ReturnType<typeof view>>) => v.replicas.map((r) => r.broker);

async function wire<T>(apiKey: number, version: number, write: (w: Writer) => void, read: (r: Reader, v: number) => T): Promise<T> {
  const client = await WireClient.connect(cluster.stack.kafkaBootstrap);
  try {
    return (await client.request(apiKey, version, write, read)).body;
  } finally {
    client.socket.destroy();
  }
}

const alterReassignments = (topic: string, replicas: number[] | null) =>
  wire(
    ApiKey.AlterPartitionReassignments,
    0,
    (w) => kafka.writeAlterPartitionReassignmentsRequest(w, 0, { timeoutMs: 30_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }] }),
    kafka.readAlterPartitionReassignmentsResponse,
  );

const listReassignments = () =>
  wire(ApiKey.ListPartitionReassignments, 0, (w) => kafka.writeListPartitionReassignmentsRequest(w, 0, { timeoutMs: 30_000, topics: null }), kafka.readListPartitionReassignmentsResponse);

const electPreferred = (topic: string) =>
  wire(
    ApiKey.ElectLeaders,
    2,
    (w) => kafka.writeElectLeadersRequest(w, 2, { electionType: 0, topicPartitions: [{ topic, partitions: [0] }], timeoutMs: 30_000 }),
    kafka.readElectLeadersResponse,
  );

describe('replica administration', () => {
  it('moves a partition to other brokers under acks=all writes with nothing lost or duplicated, then deletes the replica it left', async () => {
    await createReplicatedTopic(cluster, 'moving');
    const before = await view('moving');
    const spare = [1, 2, 3, 4].find((b) => !brokersOf(before).includes(b))!;
    // The target drops the current leader, so leadership must move too.
    const target = [...brokersOf(before).filter((b) => b !== before.leader), spare];
    const leftBehind = before.leader;

    // Bad targets are refused per partition, and nothing moves.
    const bad = await alterReassignments('moving', [spare, spare]);
    expect(bad.responses[0].partitions[0]).toMatchObject({ errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: expect.stringContaining('repeat') });
    const unknown = await alterReassignments('no-such-topic', [spare]);
    expect(unknown.responses[0].partitions[0].errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await view('moving')).toEqual(before);

    const w = startWriter(cluster, 'moving');
    try {
      await w.progress(100);
      const started = await alterReassignments('moving', target);
      expect(started.errorCode).toBe(0);
      expect(started.responses).toEqual([{ name: 'moving', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }] }]);
      await waitFor(
        async () => {
          const now = await view('moving');
          return brokersOf(now).join() === target.join() && inSyncBrokers(now).length === 3 && target.includes(now.leader);
        },
        { timeoutMs: 60_000, what: `partition moved to ${target.join(',')}` },
      );
      expect((await listReassignments()).topics).toEqual([]);
      await w.progress(100);
    } finally {
      await w.stop();
    }
    expect(w.failures).toEqual([]);
    expectExactlyOnce(await readPartition(cluster.http, 'moving'), w.acknowledged);
    // The broker the partition left deletes its replica (it logs so).
    await cluster.stack.brokers.get(leftBehind)!.waitForMessage('replica deleted', {}, 30_000);
    // Nothing in progress any more: cancelling is refused.
    const cancel = await alterReassignments('moving', null);
    expect(cancel.responses[0].partitions[0].errorCode).toBe(KafkaErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  });

  it('lists a reassignment in progress and cancels it over HTTP, back to the original replicas', async () => {
    await createReplicatedTopic(cluster, 'undone');
    const before = await view('undone');
    const spare = [1, 2, 3, 4].find((b) => !brokersOf(before).includes(b))!;
    // Stop the spare broker: the reassignment to it cannot complete while it is down.
    await cluster.stack.brokers.get(spare)!.stop();
    try {
      // A broker that is not alive is refused as a target.
      const refused = await cluster.http.json<{ results: Array<{ error_code: string | null; error: string | null }> }>('POST', '/reassignments', {
        reassignments: [{ topic: 'undone', partition: 0, replicas: [spare, ...brokersOf(before).slice(1)] }],
      });
      expect(refused.status).toBe(200);
      expect(refused.body.results[0]).toMatchObject({ error_code: 'INVALID_REPLICA_ASSIGNMENT', error: expect.stringContaining('not alive') });
    } finally {
      await cluster.stack.startBroker(spare);
    }
    await waitFor(async () => (await cluster.http.json<{ brokers: number[] }>('GET', '/brokers')).body.brokers.includes(spare), { what: `broker ${spare} back` });
    // Pause the spare so it registers but cannot catch up, then start the move: it stays in progress.
    const spareProcess = cluster.stack.brokers.get(spare)!;
    const target = [spare, ...brokersOf(before).slice(1)];
    spareProcess.kill('SIGSTOP');
    try {
      const res = await cluster.http.json<{ results: Array<{ topic: string; partition: number; error_code: string | null }> }>('POST', '/reassignments', {
        reassignments: [{ topic: 'undone', partition: 0, replicas: target }],
      });
      expect(res.body.results).toEqual([{ topic: 'undone', partition: 0, error_code: null, error: null }]);
      const listed = await cluster.http.json<{ reassignments: unknown[] }>('GET', '/reassignments');
      expect(listed.body.reassignments).toEqual([{ topic: 'undone', partition: 0, replicas: [...target, before.replicas[0].broker], adding: [spare], removing: [before.replicas[0].broker] }]);
      const overWire = await listReassignments();
      expect(overWire.topics).toEqual([{ name: 'undone', partitions: [{ partitionIndex: 0, replicas: [...target, before.replicas[0].broker], addingReplicas: [spare], removingReplicas: [before.replicas[0].broker] }] }]);
      const moving = await view('undone');
      expect(moving.replicas.find((r) => r.broker === spare)).toMatchObject({ adding: true, in_sync: false });
      const cancelled = await cluster.http.json<{ results: Array<{ error_code: string | null }> }>('POST', '/reassignments', { reassignments: [{ topic: 'undone', partition: 0, replicas: null }] });
      expect(cancelled.body.results[0].error_code).toBeNull();
    } finally {
      spareProcess.kill('SIGCONT');
    }
    const after = await view('undone');
    expect(new Set(brokersOf(after))).toEqual(new Set(brokersOf(before)));
    expect(after.leader).toBe(before.leader);
    expect((await cluster.http.json<{ reassignments: unknown[] }>('GET', '/reassignments')).body.reassignments).toEqual([]);
    // Bad bodies get a 400 naming the problem.
    const malformed = await cluster.http.json<{ message: string }>('POST', '/reassignments', { reassignments: [{ topic: 'undone', partition: -1, replicas: [1] }] });
    expect(malformed.status).toBe(400);
  });

  it('moves leadership back to the preferred replica when asked (ElectLeaders), and says when no election is needed', async () => {
    await createReplicatedTopic(cluster, 'preferred');
    const before = await view('preferred');
    const preferred = before.replicas[0].broker;
    expect(before.leader).toBe(preferred);
    expect((await electPreferred('preferred')).replicaElectionResults[0].partitionResult[0].errorCode).toBe(KafkaErrorCode.ELECTION_NOT_NEEDED);

    // A controlled restart of the preferred replica moves leadership away; automatic rebalancing is off here.
    await cluster.stack.brokers.get(preferred)!.stop();
    await waitFor(async () => (await view('preferred')).leader !== preferred, { what: 'leadership moved away' });
    await cluster.stack.startBroker(preferred);
    await waitFor(async () => inSyncBrokers(await view('preferred')).includes(preferred), { timeoutMs: 30_000, what: `broker ${preferred} in sync again` });
    expect((await view('preferred')).leader).not.toBe(preferred);

    const res = await electPreferred('preferred');
    expect(res.errorCode).toBe(0);
    expect(res.replicaElectionResults).toEqual([{ topic: 'preferred', partitionResult: [{ partitionId: 0, errorCode: 0, errorMessage: null }] }]);
    expect((await view('preferred')).leader).toBe(preferred);
    // Over HTTP too: nothing to do now.
    const again = await cluster.http.json<{ results: Array<{ error_code: string | null }> }>('POST', '/elect-leaders', { partitions: [{ topic: 'preferred', partition: 0 }] });
    expect(again.body.results[0].error_code).toBe('ELECTION_NOT_NEEDED');
  });
});
