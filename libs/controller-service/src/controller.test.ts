// The controller against real databases: SQLite over the in-process bus, PostgreSQL over a real NATS server.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { address, Bus, InProcessTransport, NatsTransport, type Transport, type Verb } from '@sluice/bus';
import { applyDelta, emptyImage, fetchSnapshot, MetadataClient, NodeSession } from '@sluice/metadata';
import { KafkaErrorCode, SluiceError } from '@sluice/protocol';
import { ControllerVerbs, Subjects, type CreateTopicSpec, type MetadataRecord, type NodeRole } from '@sluice/contracts';
import { createLogger, createMetricsRegistry } from '@sluice/runtime';
import { createPostgresDatabase, startNatsServer, tempDir, waitFor, type NatsServer, type PostgresDatabase, type TempDir } from '@sluice/testing';
import { controllerConfig } from './controller-config.js';
import { startController, type Controller } from './controller.js';

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});

interface Setup {
  transport(): Promise<Transport>;
  /** A database URL that lives for the whole describe block (restarts reuse it). */
  database(dir: string): Promise<{ url: string; drop(): Promise<void> }>;
}

const setups: Array<[string, Setup]> = [
  [
    'SQLite over the in-process bus',
    {
      transport: async () => new InProcessTransport(),
      database: async (dir) => ({ url: `file:${join(dir, 'controller.db')}`, drop: async () => undefined }),
    },
  ],
  [
    'PostgreSQL over NATS',
    {
      transport: () => NatsTransport.connect({ servers: nats.url }),
      database: async (): Promise<PostgresDatabase> => createPostgresDatabase(),
    },
  ],
];

describe.each(setups)('controller with %s', (_name, setup) => {
  let dir: TempDir;
  let db: { url: string; drop(): Promise<void> };
  let bus: Bus;
  let controller: Controller | undefined;
  let subjects: Subjects;
  const records: MetadataRecord[] = [];

  const start = async (env: Record<string, string> = {}) => {
    controller = await startController(
      controllerConfig.load({ SLUICE_DATA_DIR: dir.path, DATABASE_URL: db.url, SLUICE_SESSION_TIMEOUT_MS: '2000', SLUICE_HEARTBEAT_INTERVAL_MS: '100', ...env }),
      { bus, subjects, registry: createMetricsRegistry('controller'), logger: createLogger({ service: 'controller', level: (process.env.CTL_LOG as 'info' | undefined) ?? 'silent' }) },
    );
  };
  const ask = async <Req, Res>(verb: Verb<Req, Res, void>, meta: NoInfer<Req>): Promise<Res> => (await bus.ask(subjects.at(verb), meta, { timeoutMs: 60_000 })).meta;
  const register = (nodeId: number | undefined, role: NodeRole = 'broker') => ask(ControllerVerbs.register, { role, nodeId, host: 'localhost', ports: {} });
  const createTopics = (...topics: Array<Partial<CreateTopicSpec> & { name: string }>) =>
    ask(ControllerVerbs.createTopics, { topics: topics.map((t) => ({ partitions: -1, replicationFactor: -1, ...t })) });
  const snapshot = () => fetchSnapshot(bus, subjects, 5000);
  const beats: NodeJS.Timeout[] = [];
  /** Registers brokers that keep heartbeating until the test ends. */
  const registerAlive = async (...ids: number[]) => {
    for (const nodeId of ids) {
      const { incarnation } = await register(nodeId);
      beats.push(setInterval(() => void ask(ControllerVerbs.heartbeat, { nodeId, incarnation }).catch(() => undefined), 100));
    }
  };

  beforeEach(async () => {
    dir = await tempDir('sluice-controller-');
    db = await setup.database(dir.path);
    bus = new Bus(await setup.transport());
    subjects = new Subjects(`ctl_${Math.random().toString(36).slice(2, 8)}`);
    records.length = 0;
    bus.subscribe(subjects.metadataEvents(), (e) => records.push(e.meta));
    await bus.flush();
    await start();
  });

  afterEach(async () => {
    for (const beat of beats.splice(0)) clearInterval(beat);
    await controller?.stop();
    await bus.close();
    await db.drop();
    await dir.remove();
  });

  it('registers brokers and spreads partition leaders evenly over them', async () => {
    for (const id of [1, 2, 3]) expect((await register(id)).nodeId).toBe(id);
    const res = await createTopics({ name: 'orders', partitions: 6, replicationFactor: 3 });
    expect(res.results[0]).toMatchObject({ name: 'orders', errorCode: 0 });
    const topic = res.results[0].topic!;
    for (const broker of [1, 2, 3]) expect(topic.partitions.filter((p) => p.leader === broker)).toHaveLength(2);
    for (const p of topic.partitions) {
      expect(new Set(p.replicas).size).toBe(3);
      expect(p.leader).toBe(p.replicas[0]);
      // Every replica of a new (empty) partition is in sync, as in Kafka.
      expect(p.isr).toEqual(p.replicas);
    }
  });

  it('places replicas rack-aware when every broker has a rack: each partition spans as many racks as it can', async () => {
    await controller!.stop();
    await start({ SLUICE_SESSION_TIMEOUT_MS: '600000' });
    const racks: Record<number, string> = { 1: 'zone-a', 2: 'zone-a', 3: 'zone-b', 4: 'zone-b', 5: 'zone-c', 6: 'zone-c' };
    for (const [id, rack] of Object.entries(racks)) await ask(ControllerVerbs.register, { role: 'broker', nodeId: Number(id), host: 'localhost', ports: {}, rack });
    const topic = (await createTopics({ name: 'zoned', partitions: 12, replicationFactor: 3 })).results[0].topic!;
    for (const p of topic.partitions) expect(new Set(p.replicas.map((b) => racks[b])).size).toBe(3);
    const grown = await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'zoned', count: 18 }] });
    expect(grown.results[0].errorCode).toBe(0);
    const after = Object.values((await snapshot()).topics).find((t) => t.name === 'zoned')!;
    for (const p of after.partitions) expect(new Set(p.replicas.map((b) => racks[b])).size).toBe(3);
  });

  it('answers every bad topic request with the Kafka error, per topic', async () => {
    await register(1);
    await createTopics({ name: 'exists' });
    const res = await createTopics(
      { name: 'bad name!' },
      { name: 'exists' },
      { name: 'zero', partitions: 0 },
      { name: 'too-many-replicas', replicationFactor: 3 },
      { name: 'bad-config', configs: { 'retention.ms': 'soon' } },
      { name: 'unknown-config', configs: { 'no.such.config': '1' } },
      { name: 'a.b' },
      { name: 'a_b' },
      { name: 'ok', configs: { 'cleanup.policy': 'compact,delete', 'retention.ms': '1000' } },
    );
    expect(res.results.map((r) => [r.name, r.errorCode])).toEqual([
      ['bad name!', KafkaErrorCode.INVALID_TOPIC_EXCEPTION],
      ['exists', KafkaErrorCode.TOPIC_ALREADY_EXISTS],
      ['zero', KafkaErrorCode.INVALID_PARTITIONS],
      ['too-many-replicas', KafkaErrorCode.INVALID_REPLICATION_FACTOR],
      ['bad-config', KafkaErrorCode.INVALID_CONFIG],
      ['unknown-config', KafkaErrorCode.INVALID_CONFIG],
      ['a.b', KafkaErrorCode.NONE],
      ['a_b', KafkaErrorCode.INVALID_TOPIC_EXCEPTION],
      ['ok', KafkaErrorCode.NONE],
    ]);
    expect(res.results[3].errorMessage).toBe('Replication factor: 3 larger than available brokers: 1.');
    expect(Object.values((await snapshot()).topics).map((t) => t.name).sort()).toEqual(['a.b', 'exists', 'ok']);
  });

  it('deletes topics and alters configs', async () => {
    await register(1);
    await createTopics({ name: 't1' }, { name: 't2' });
    const del = await ask(ControllerVerbs.deleteTopics, { names: ['t1', 'nope'] });
    expect(del.results.map((r) => r.errorCode)).toEqual([0, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const alter = await ask(ControllerVerbs.alterTopicConfigs, { name: 't2', configs: { 'retention.ms': '5000' } });
    expect(alter.result.errorCode).toBe(0);
    const removed = await ask(ControllerVerbs.alterTopicConfigs, { name: 't2', configs: { 'retention.ms': null, 'segment.bytes': '1048576' } });
    expect(removed.result.errorCode).toBe(0);
    const bad = await ask(ControllerVerbs.alterTopicConfigs, { name: 't2', configs: { 'min.insync.replicas': '2' } });
    expect(bad.result.errorCode).toBe(KafkaErrorCode.INVALID_CONFIG);
    const image = await snapshot();
    expect(Object.values(image.topics).map((t) => [t.name, t.configs])).toEqual([['t2', { 'segment.bytes': '1048576' }]]);
  });

  it('adds partitions to topics, spread over the brokers, kept across a restart, and refuses what Kafka refuses', async () => {
    await registerAlive(1, 2, 3);
    await createTopics({ name: 'grow', partitions: 2, replicationFactor: 2 }, { name: 'other', partitions: 3 });
    const res = await ask(ControllerVerbs.createPartitions, {
      topics: [
        { name: 'grow', count: 8 },
        { name: 'grow', count: 9 },
        { name: 'other', count: 3 },
        { name: 'other', count: 2 },
        { name: 'nope', count: 4 },
      ],
    });
    expect(res.results.map((r) => [r.name, r.errorCode])).toEqual([
      ['grow', KafkaErrorCode.NONE],
      ['grow', KafkaErrorCode.INVALID_REQUEST],
      ['other', KafkaErrorCode.INVALID_PARTITIONS],
      ['other', KafkaErrorCode.INVALID_REQUEST],
      ['nope', KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const shrink = await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'other', count: 2 }] });
    expect(shrink.results[0]).toMatchObject({ errorCode: KafkaErrorCode.INVALID_PARTITIONS, errorMessage: 'topic currently has 3 partitions, which is higher than the requested 2' });
    const dryRun = await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'other', count: 5 }], validateOnly: true });
    expect(dryRun.results[0].errorCode).toBe(0);

    const grown = Object.values((await snapshot()).topics).find((t) => t.name === 'grow')!;
    expect(grown.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const p of grown.partitions) {
      expect(new Set(p.replicas).size).toBe(2);
      expect(p.leader).toBe(p.replicas[0]);
    }
    const leaders = [1, 2, 3].map((b) => grown.partitions.filter((p) => p.leader === b).length);
    expect(Math.max(...leaders) - Math.min(...leaders)).toBeLessThanOrEqual(1);
    expect(Object.values((await snapshot()).topics).find((t) => t.name === 'other')!.partitions).toHaveLength(3);

    await controller!.stop();
    await start();
    expect(Object.values((await snapshot()).topics).find((t) => t.name === 'grow')).toEqual(grown);
  });

  it('publishes dense, ordered deltas that rebuild the snapshot exactly', async () => {
    await register(1);
    await register(2);
    await createTopics({ name: 'a', partitions: 3 });
    await createTopics({ name: 'b' });
    await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'b', count: 3 }] });
    await ask(ControllerVerbs.deleteTopics, { names: ['a'] });
    const image = await snapshot();
    await waitFor(() => records.length === image.offset, { what: 'every delta' });
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: image.offset }, (_, i) => i + 1));
    const rebuilt = emptyImage(subjects.clusterId);
    for (const r of records) applyDelta(rebuilt, r.delta);
    expect(rebuilt.topics).toEqual(image.topics);
    expect(rebuilt.nodes).toEqual(image.nodes);
  });

  it('fences a broker that stops heartbeating, moves or drops its leadership, and restores it when it returns', async () => {
    await register(1);
    const r2 = await register(2);
    const topic = (await createTopics({ name: 'f', partitions: 4, replicationFactor: 1 })).results[0].topic!;
    const led = topic.partitions.filter((p) => p.leader === 2).map((p) => p.partition);
    expect(led.length).toBe(2);
    // Broker 1 keeps heartbeating; broker 2 goes silent.
    const beat = setInterval(() => void ask(ControllerVerbs.heartbeat, { nodeId: 1, incarnation: 1 }).catch(() => undefined), 100);
    try {
      const fenced = await waitFor(async () => {
        const image = await snapshot();
        return image.nodes[2].state === 'fenced' ? image : undefined;
      }, { timeoutMs: 15_000, what: 'broker 2 fenced' });
      expect(fenced.nodes[1].state).toBe('alive');
      for (const p of led) {
        expect(fenced.topics[topic.id].partitions[p]).toMatchObject({ leader: -1, leaderEpoch: 1, isr: [2] });
      }
      const hb = await ask(ControllerVerbs.heartbeat, { nodeId: 2, incarnation: r2.incarnation });
      expect(hb.accepted).toBe(false);
      const again = await register(2);
      expect(again.incarnation).toBe(r2.incarnation + 1);
      const restored = await snapshot();
      for (const p of led) expect(restored.topics[topic.id].partitions[p]).toMatchObject({ leader: 2, leaderEpoch: 2 });
    } finally {
      clearInterval(beat);
    }
  });

  it('moves leadership to another in-sync replica when one exists', async () => {
    await register(1);
    await register(2);
    const topic = (await createTopics({ name: 'm', partitions: 1, replicationFactor: 2 })).results[0].topic!;
    const p = topic.partitions[0];
    const other = p.replicas.find((b) => b !== p.leader)!;
    const beat = setInterval(() => void ask(ControllerVerbs.heartbeat, { nodeId: other, incarnation: 1 }).catch(() => undefined), 100);
    try {
      const moved = await waitFor(async () => {
        const image = await snapshot();
        return image.topics[topic.id].partitions[0].leader === other ? image : undefined;
      }, { timeoutMs: 15_000, what: 'leadership moved' });
      expect(moved.topics[topic.id].partitions[0]).toMatchObject({ leader: other, isr: [other], leaderEpoch: 1 });
    } finally {
      clearInterval(beat);
    }
  });

  /** The leader's ISR change, as its broker sends it. */
  const alterIsr = async (topicId: string, partition: number, newIsr: number[]) => {
    const image = await snapshot();
    const p = image.topics[topicId].partitions[partition];
    const res = await ask(ControllerVerbs.alterPartition, {
      brokerId: p.leader,
      brokerIncarnation: image.nodes[p.leader].incarnation,
      partitions: [{ topicId, partition, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr }],
    });
    return res.partitions[0];
  };
  const partitionOf = async (topicId: string, partition = 0) => (await snapshot()).topics[topicId].partitions[partition];
  /** A topic on brokers 1 and 2 whose preferred replica has left and come back: another broker leads, it is not in sync. */
  const leadershipMovedAway = async (name: string) => {
    const r1 = await register(1);
    const r2 = await register(2);
    const topic = (await createTopics({ name, partitions: 1, replicationFactor: 2 })).results[0].topic!;
    const preferred = topic.partitions[0].replicas[0];
    const other = topic.partitions[0].replicas[1];
    await ask(ControllerVerbs.unregister, { nodeId: preferred, incarnation: preferred === 1 ? r1.incarnation : r2.incarnation });
    await register(preferred);
    expect(await partitionOf(topic.id)).toMatchObject({ leader: other, isr: [other], leaderEpoch: 1 });
    return { topic, preferred, other };
  };

  it('elects preferred leaders on request (ElectLeaders): only alive and in-sync ones, each answered', async () => {
    const { topic, preferred, other } = await leadershipMovedAway('pref');
    const elect = (partitions: Array<{ topic: string; partition: number }> | null) => ask(ControllerVerbs.electLeaders, { electionType: 'preferred', partitions });
    expect((await elect([{ topic: 'pref', partition: 0 }])).results).toEqual([
      { topic: 'pref', partition: 0, errorCode: KafkaErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `the preferred replica ${preferred} is not in sync` },
    ]);
    // The follower caught up: its leader adds it to the ISR.
    expect((await alterIsr(topic.id, 0, [other, preferred])).errorCode).toBe(0);
    const res = await elect([
      { topic: 'pref', partition: 0 },
      { topic: 'pref', partition: 7 },
      { topic: 'nope', partition: 0 },
    ]);
    expect(res.results.map((r) => [r.topic, r.partition, r.errorCode])).toEqual([
      ['pref', 0, 0],
      ['pref', 7, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['nope', 0, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(await partitionOf(topic.id)).toMatchObject({ leader: preferred, leaderEpoch: 2, isr: [preferred, other].sort((a, b) => topic.partitions[0].replicas.indexOf(a) - topic.partitions[0].replicas.indexOf(b)) });
    expect((await elect([{ topic: 'pref', partition: 0 }])).results[0].errorCode).toBe(KafkaErrorCode.ELECTION_NOT_NEEDED);
    // All partitions: those that need no election are left out.
    expect((await elect(null)).results).toEqual([]);
    const bad = await bus.ask(address(subjects.at(ControllerVerbs.electLeaders).subject), { electionType: 'random', partitions: null }, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('moves leadership back to preferred replicas by itself once they are in sync (auto leader rebalance)', async () => {
    await controller!.stop();
    await start({ SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS: '200' });
    const { topic, preferred, other } = await leadershipMovedAway('auto');
    expect((await alterIsr(topic.id, 0, [other, preferred])).errorCode).toBe(0);
    await waitFor(async () => (await partitionOf(topic.id)).leader === preferred, { timeoutMs: 15_000, what: 'the preferred replica leading again' });
    expect((await partitionOf(topic.id)).leaderEpoch).toBe(2);
  });

  it('elects an out-of-sync replica for an offline partition only when asked to (unclean ElectLeaders)', async () => {
    const r1 = await register(1);
    await register(2);
    const topic = (await createTopics({ name: 'unclean', partitions: 1, replicationFactor: 2 })).results[0].topic!;
    const { leader, replicas } = topic.partitions[0];
    const follower = replicas.find((b) => b !== leader)!;
    expect((await alterIsr(topic.id, 0, [leader])).errorCode).toBe(0);
    await ask(ControllerVerbs.unregister, { nodeId: leader, incarnation: leader === 1 ? r1.incarnation : 1 });
    expect(await partitionOf(topic.id)).toMatchObject({ leader: -1, isr: [leader] });
    const preferred = await ask(ControllerVerbs.electLeaders, { electionType: 'preferred', partitions: [{ topic: 'unclean', partition: 0 }] });
    expect(preferred.results[0].errorCode).toBe(KafkaErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    const res = await ask(ControllerVerbs.electLeaders, { electionType: 'unclean', partitions: [{ topic: 'unclean', partition: 0 }] });
    expect(res.results[0]).toMatchObject({ errorCode: 0, leader: follower });
    expect(await partitionOf(topic.id)).toMatchObject({ leader: follower, isr: [follower], leaderEpoch: 2 });
    const again = await ask(ControllerVerbs.electLeaders, { electionType: 'unclean', partitions: [{ topic: 'unclean', partition: 0 }] });
    expect(again.results[0].errorCode).toBe(KafkaErrorCode.ELECTION_NOT_NEEDED);
  });

  it('reassigns a partition: adds the target replicas, completes once they are in sync, moves the leader, survives a restart', async () => {
    await registerAlive(1, 2, 3);
    const topic = (await createTopics({ name: 'moving', partitions: 1, replicationFactor: 2 })).results[0].topic!;
    const [first, second] = topic.partitions[0].replicas;
    const third = [1, 2, 3].find((b) => b !== first && b !== second)!;
    const reassign = (replicas: number[] | null, partition = 0) => ask(ControllerVerbs.alterReassignments, { reassignments: [{ topic: 'moving', partition, replicas }] });
    // Bad targets are refused for that partition, nothing changes.
    for (const [replicas, message] of [
      [[], /non-empty/],
      [[third, third], /repeat/],
      [[third, 99], /99 is not alive/],
    ] as const) {
      expect((await reassign([...replicas])).results[0]).toMatchObject({ errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: expect.stringMatching(message) });
    }
    expect((await reassign([third], 5)).results[0].errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await reassign(null)).results[0].errorCode).toBe(KafkaErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    expect(await partitionOf(topic.id)).toEqual(topic.partitions[0]);

    // From {first, second} to {third, second}: third is added, first goes once third is in sync.
    expect((await reassign([third, second])).results[0]).toEqual({ topic: 'moving', partition: 0, errorCode: 0, errorMessage: null });
    let p = await partitionOf(topic.id);
    expect(p).toMatchObject({ replicas: [third, second, first], addingReplicas: [third], removingReplicas: [first], leader: first, leaderEpoch: 0 });
    // In progress across a controller restart.
    await controller!.stop();
    await start();
    expect(await partitionOf(topic.id)).toEqual(p);
    // The leader adds the caught-up replica to the ISR: the reassignment completes, and leadership leaves `first`.
    const accepted = await alterIsr(topic.id, 0, [first, second, third]);
    expect(accepted.errorCode).toBe(0);
    p = await partitionOf(topic.id);
    expect(p).toEqual({ partition: 0, replicas: [third, second], isr: [third, second], leader: third, leaderEpoch: 1, partitionEpoch: p.partitionEpoch });
    expect(accepted.partition).toEqual(p);
  });

  it('cancels a reassignment in progress: back to the original replicas', async () => {
    await registerAlive(1, 2, 3);
    const topic = (await createTopics({ name: 'undo', partitions: 1, replicationFactor: 2 })).results[0].topic!;
    const original = topic.partitions[0];
    const third = [1, 2, 3].find((b) => !original.replicas.includes(b))!;
    await ask(ControllerVerbs.alterReassignments, { reassignments: [{ topic: 'undo', partition: 0, replicas: [third, original.replicas[1]] }] });
    const res = await ask(ControllerVerbs.alterReassignments, {
      reassignments: [
        { topic: 'undo', partition: 0, replicas: null },
        { topic: 'undo', partition: 0, replicas: null },
      ],
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([0, KafkaErrorCode.INVALID_REQUEST]);
    // As in Kafka, the original replicas come back in the order the reassignment listed them (target first).
    const p = await partitionOf(topic.id);
    expect(p).toEqual({ ...original, replicas: [original.replicas[1], original.replicas[0]], partitionEpoch: p.partitionEpoch });
    expect(p.partitionEpoch).toBe(original.partitionEpoch + 2);
  });

  it('keeps everything across a restart, with a new controller epoch and continuing offsets', async () => {
    await register(1);
    await createTopics({ name: 'durable', partitions: 2 });
    const before = await snapshot();
    await controller!.stop();
    await start();
    const after = await snapshot();
    expect(after.controllerEpoch).toBe(before.controllerEpoch + 1);
    expect(after.offset).toBe(before.offset);
    expect(after.topics).toEqual(before.topics);
    await createTopics({ name: 'next' });
    expect((await snapshot()).offset).toBe(before.offset + 1);
  });

  it('refuses topics and partitions beyond the cluster-wide partition limit with INVALID_PARTITIONS', async () => {
    await controller!.stop();
    await start({ SLUICE_MAX_CLUSTER_PARTITIONS: '10' });
    await register(1);
    const res = await createTopics({ name: 'six', partitions: 6 }, { name: 'five', partitions: 5 }, { name: 'four', partitions: 4 }, { name: 'one', partitions: 1 });
    expect(res.results.map((r) => [r.name, r.errorCode])).toEqual([
      ['six', KafkaErrorCode.NONE],
      ['five', KafkaErrorCode.INVALID_PARTITIONS],
      ['four', KafkaErrorCode.NONE],
      ['one', KafkaErrorCode.INVALID_PARTITIONS],
    ]);
    expect(res.results[1].errorMessage).toBe('5 more partitions would bring the cluster to 11, above its limit of 10 (SLUICE_MAX_CLUSTER_PARTITIONS)');
    const grow = await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'four', count: 5 }] });
    expect(grow.results[0]).toMatchObject({ errorCode: KafkaErrorCode.INVALID_PARTITIONS, errorMessage: expect.stringContaining('above its limit of 10') });
    // Deleting a topic frees its partitions; partitions added earlier in a request count against later topics.
    await ask(ControllerVerbs.deleteTopics, { names: ['six'] });
    expect((await createTopics({ name: 'x', partitions: 1 })).results[0].errorCode).toBe(KafkaErrorCode.NONE);
    const again = await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'four', count: 8 }, { name: 'x', count: 3 }] });
    expect(again.results.map((r) => r.errorCode)).toEqual([KafkaErrorCode.NONE, KafkaErrorCode.INVALID_PARTITIONS]);
    const image = await snapshot();
    expect(Object.values(image.topics).map((t) => [t.name, t.partitions.length]).sort()).toEqual([['four', 8], ['x', 1]]);
  });

  it('starts with 5,000 topics and 100,000 partitions (the default limit), serves their snapshot and fences a broker leading a third of them', async () => {
    // Nodes stay alive while the topics are created, then brokers 1 and 3 heartbeat and broker 2 goes silent.
    await controller!.stop();
    await start({ SLUICE_SESSION_TIMEOUT_MS: '600000' });
    for (const id of [1, 2, 3]) await register(id);
    for (let first = 0; first < 5000; first += 500) {
      const batch = Array.from({ length: 500 }, (_, i) => ({ name: `topic-${first + i}`, partitions: 10, replicationFactor: 3 }));
      const res = await createTopics(...batch);
      expect(res.results.every((r) => r.errorCode === KafkaErrorCode.NONE)).toBe(true);
    }
    for (let i = 0; i < 5; i++) expect((await createTopics({ name: `wide-${i}`, partitions: 10_000, replicationFactor: 3 })).results[0].errorCode).toBe(0);
    const refused = await createTopics({ name: 'one-more', partitions: 1 });
    expect(refused.results[0]).toMatchObject({ errorCode: KafkaErrorCode.INVALID_PARTITIONS, errorMessage: expect.stringContaining('above its limit of 100000') });
    const grow = await ask(ControllerVerbs.createPartitions, { topics: [{ name: 'topic-0', count: 11 }] });
    expect(grow.results[0].errorCode).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    await controller!.stop();

    const beat = setInterval(() => {
      for (const nodeId of [1, 3]) void ask(ControllerVerbs.heartbeat, { nodeId, incarnation: 1 }).catch(() => undefined);
    }, 100);
    let led: string[];
    try {
      await start({ SLUICE_SESSION_TIMEOUT_MS: '3000', SLUICE_HEARTBEAT_INTERVAL_MS: '100' });
      // A service loads the whole image the way brokers and gateways do.
      const client = new MetadataClient({ bus, subjects });
      await client.start();
      const topics = Object.values(client.current.topics);
      client.close();
      expect(topics).toHaveLength(5005);
      expect(topics.reduce((n, t) => n + t.partitions.length, 0)).toBe(100_000);
      for (const t of topics) expect(t.partitions.map((p) => p.partition)).toEqual([...t.partitions.keys()]);
      led = topics.flatMap((t) => t.partitions.filter((p) => p.leader === 2).map((p) => `${t.id}:${p.partition}`));
      expect(led.length).toBeGreaterThan(30_000);
      await waitFor(async () => (await snapshot()).nodes[2].state === 'fenced', { timeoutMs: 90_000, what: 'broker 2 fenced' });
    } finally {
      clearInterval(beat);
    }
    // Every partition broker 2 led moved to another in-sync replica (all replicas of a new partition are in sync);
    // deleting 5,000 topics at once leaves the wide ones; both last.
    const deleted = await ask(ControllerVerbs.deleteTopics, { names: Array.from({ length: 5000 }, (_, i) => `topic-${i}`) });
    expect(deleted.results.filter((r) => r.errorCode !== KafkaErrorCode.NONE)).toEqual([]);
    await controller!.stop();
    await start({ SLUICE_SESSION_TIMEOUT_MS: '600000' });
    const after = await snapshot();
    expect(Object.values(after.nodes).map((n) => [n.id, n.state])).toEqual([[1, 'alive'], [2, 'fenced'], [3, 'alive']]);
    expect(Object.values(after.topics).map((t) => t.name).sort()).toEqual(['wide-0', 'wide-1', 'wide-2', 'wide-3', 'wide-4']);
    const partitions = Object.values(after.topics).flatMap((t) => t.partitions.map((p) => ({ key: `${t.id}:${p.partition}`, p })));
    expect(partitions.filter(({ p }) => p.leader === -1 || p.leader === 2 || p.isr.includes(2))).toEqual([]);
    const moved = partitions.filter(({ p }) => p.leaderEpoch === 1).map(({ key }) => key);
    expect(moved.sort()).toEqual(led.filter((key) => after.topics[key.slice(0, key.indexOf(':'))]).sort());
    expect(moved.length).toBeGreaterThan(15_000);
  }, 240_000);

  it('assigns node ids above 1000 to nodes that do not bring one, and refuses a role change', async () => {
    const gw = await register(undefined, 'gateway');
    expect(gw.nodeId).toBeGreaterThan(1000);
    const second = await register(undefined, 'group-coordinator');
    expect(second.nodeId).toBe(gw.nodeId + 1);
    await expect(register(gw.nodeId, 'broker')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('answers malformed requests with INVALID_REQUEST and keeps serving', async () => {
    // Sent as a client that does not follow the contract would (any subject, any JSON).
    const bad = async (verb: Verb<never, unknown, void>, meta: unknown) => {
      const subject = subjects.at(verb).subject;
      const err = await bus.ask(address(subject), meta, { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('INVALID_REQUEST');
    };
    
    await bad(ControllerVerbs.register, { role: 'wizard', host: 'x' });
    await bad(ControllerVerbs.register, { role: 'broker', host: 42 });
    await bad(ControllerVerbs.heartbeat, { nodeId: 'one' });
    await bad(ControllerVerbs.createTopics, { topics: 'all of them' });
    await bad(ControllerVerbs.createTopics, 'not an object');
    await bad(ControllerVerbs.deleteTopics, {});
    expect((await register(7)).nodeId).toBe(7);
    expect((await createTopics({ name: 'still-works' })).results[0].errorCode).toBe(0);
  });

  it('serves MetadataClient and NodeSession: the client follows, a fenced session registers again', async () => {
    const client = new MetadataClient({ bus, subjects });
    await client.start();
    const session = new NodeSession({ bus, subjects, registration: { role: 'broker', nodeId: 5, host: 'h', ports: {} } });
    const first = await session.start();
    await createTopics({ name: 'followed' });
    await client.waitForOffset((await snapshot()).offset);
    expect(client.view.topicByName('followed')).toBeDefined();
    expect(client.view.liveBrokers().map((b) => b.id)).toEqual([5]);
    // Fence the session by registering the same id elsewhere: the session's next heartbeat is refused.
    let fenced = false;
    session.on('fenced', () => (fenced = true));
    await register(5);
    await waitFor(() => fenced && session.registered!.incarnation > first.incarnation + 1, { what: 'the session to register again' });
    await session.stop();
    client.close();
  });
});

describe('controller whose metadata events cannot be published', () => {
  it('keeps its image whole and answers the request: services catch up through the snapshot', async () => {
    // A delta too big for a NATS message fails to publish after it was persisted.
    class FailingPublish extends InProcessTransport {
      failNext = 0;
      override publish(subject: string, data: Uint8Array): void {
        if (this.failNext > 0 && subject.endsWith('.meta.events')) {
          this.failNext--;
          throw new Error('MAX_PAYLOAD_EXCEEDED');
        }
        super.publish(subject, data);
      }
    }
    const dir = await tempDir('sluice-controller-');
    const transport = new FailingPublish();
    const bus = new Bus(transport);
    const subjects = new Subjects('publish_fails');
    const controller = await startController(controllerConfig.load({ SLUICE_DATA_DIR: dir.path }), {
      bus,
      subjects,
      registry: createMetricsRegistry('controller'),
      logger: createLogger({ service: 'controller', level: (process.env.CTL_LOG as 'info' | undefined) ?? 'silent' }),
    });
    try {
      await bus.ask(subjects.at(ControllerVerbs.register), { role: 'broker', nodeId: 1, host: 'h', ports: {} }, { timeoutMs: 5000 });
      const client = new MetadataClient({ bus, subjects });
      await client.start();
      transport.failNext = 1;
      const created = await bus.ask(
        subjects.at(ControllerVerbs.createTopics),
        { topics: [{ name: 'lost', partitions: 1, replicationFactor: 1 }, { name: 'sent', partitions: 1, replicationFactor: 1 }] },
        { timeoutMs: 5000 },
      );
      expect(created.meta.results.map((r) => r.errorCode)).toEqual([0, 0]);
      await client.waitForOffset(created.meta.metadataOffset);
      expect(client.view.topics().map((t) => t.name)).toEqual(['lost', 'sent']);
      expect(client.current).toEqual(await fetchSnapshot(bus, subjects, 5000));
      client.close();
    } finally {
      await controller.stop();
      await bus.close();
      await dir.remove();
    }
  });
});
