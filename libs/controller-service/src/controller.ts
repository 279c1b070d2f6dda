// The controller: the only writer of cluster metadata. Any number of instances run; the one holding the lease in the
// metadata database is active (see controller-lease.ts), the others stand by and serve nothing. The active one is one
// actor whose requests (all but heartbeats) take turns in one queue, so that changes are serialised; each change is
// persisted in one transaction that checks the controller epoch is still its own, then published as ordered,
// offset-numbered deltas.
import { randomUUID, randomInt } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { BusErrorCode, LeaveUnanswered, reply, type Actor, type Reply, type Verb } from '@sluice/bus';
import { applyDelta, SnapshotCache } from '@sluice/metadata';
import { KafkaErrorCode, kafkaError, SluiceError, topicNameProblem, unifyCollisionChars } from '@sluice/protocol';
import { topicConfigProblem, ControllerVerbs, type ControllerAllocateProducerIdsReply, type ControllerAllocateProducerIdsRequest, type ControllerDescribeQuorumReply, type ControllerAlterPartitionReply, type ControllerAlterPartitionRequest, type ControllerAlterReassignmentsReply, type ControllerAlterReassignmentsRequest, type ControllerElectLeadersReply, type ControllerElectLeadersRequest, type NamedPartition, type ControllerAlterTopicConfigsReply, type ControllerAlterTopicConfigsRequest, type ControllerCreatePartitionsReply, type ControllerCreatePartitionsRequest, type CreateTopicSpec, type ControllerCreateTopicsReply, type ControllerCreateTopicsRequest, type ControllerDeleteTopicsReply, type ControllerDeleteTopicsRequest, type ControllerHeartbeatReply, type ControllerHeartbeatRequest, type MetadataDelta, type MetadataImage, type MetadataRecord, type NodeInfo, type NodeRole, type PartitionInfo, type ControllerRegisterReply, type ControllerRegisterRequest, type ControllerSnapshotReply, type ControllerSnapshotRequest, type TopicInfo, type TopicResult, type ControllerUnregisterRequest } from '@sluice/contracts';
import { ConfigError, Counter, Gauge, Histogram, lockDataDir, type DataDirLock, type Readiness, type RunningService, type ServiceDeps } from '@sluice/runtime';
import { resolveDatabaseUrl, type ControllerConfig } from './controller-config.js';
import { ControllerLease } from './controller-lease.js';
import { ControllerFencedError, MetadataStore, type WonLease } from './metadata-store.js';
import { cancelReassignment, cleanLeader, completeReassignment, electPreferred, electUnclean, imbalancedPartitions, startReassignment, targetProblem, type Outcome } from './partition-changes.js';
import { manualAssignmentProblem, newPartition, placementOrder, placeReplicas, type PlacedBroker } from './replica-assignment.js';

const roles: readonly NodeRole[] = ['controller', 'broker', 'group-coordinator', 'gateway'];
/** How often expired sessions are looked for. */
const FENCE_CHECK_INTERVAL_MS = 250;
/** Requests that may wait for their turn; more are refused as a full mailbox would be (retriable). */
const MAX_WAITING_REQUESTS = 10_000;
/** Ids at or below this are configured ones (broker ids); the controller hands out ids above it, as Kafka does. */
const RESERVED_MAX_ID = 1000;
/** Request ids remembered so that a request asked again is answered once. */
const REMEMBERED_REQUESTS = 1000;
/** Producer ids handed to a gateway at a time (Kafka's block size). */
const PRODUCER_ID_BLOCK = 1000;

function invalid(message: string): never {
  throw kafkaError('INVALID_REQUEST', message);
}
function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Controller implements RunningService {
  private image!: MetadataImage;
  private store: MetadataStore | undefined;
  private lease: ControllerLease | undefined;
  /** Becoming active and standing by, in the order the lease changed. */
  private transitions: Promise<void> = Promise.resolve();
  /** When this instance last became active (ms since the epoch). */
  private activeSince = 0;
  private readonly takeovers: Counter;
  /** Answers to the latest requests that carried a request id, by id. */
  private readonly recentRequests = new Map<string, Promise<unknown>>();
  private readonly leaseRenewals: Histogram;
  private lock: DataDirLock | undefined;
  private actors: Actor[] = [];
  private readonly lastHeartbeat = new Map<number, number>();
  private fenceTimer: NodeJS.Timeout | undefined;
  private rebalanceTimer: NodeJS.Timeout | undefined;
  /** When the session timer last fired. */
  private lastSessionCheck = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** Requests waiting for their turn. */
  private waiting = 0;
  private serving = false;
  private readonly fencings: Counter;
  private readonly isrChanges: Counter;
  private readonly elections: Counter;
  private readonly snapshots = new SnapshotCache();
  /** Topics by name, rebuilt after each change. */
  private nameIndex: Map<string, TopicInfo> | undefined;

  constructor(
    private readonly config: ControllerConfig,
    private readonly deps: ServiceDeps,
  ) {
    const registry = deps.registry;
    // A standby's image is stale: it reports nothing.
    const image = (): MetadataImage | undefined => (this.lease?.active ? this.image : undefined);
    this.fencings = new Counter({ name: 'sluice_controller_fencings_total', help: 'Nodes fenced for missing their session timeout', registers: [registry] });
    this.isrChanges = new Counter({ name: 'sluice_controller_isr_changes_total', help: 'In-sync replica sets changed, by direction', labelNames: ['change'], registers: [registry] });
    this.elections = new Counter({ name: 'sluice_controller_leader_elections_total', help: 'Partition leaders elected, by kind (clean, unclean, restored, preferred)', labelNames: ['kind'], registers: [registry] });
    this.takeovers = new Counter({ name: 'sluice_controller_takeovers_total', help: 'Times this instance took the lease and became the active controller', registers: [registry] });
    this.leaseRenewals = new Histogram({
      name: 'sluice_controller_lease_renewal_seconds',
      help: 'Time to renew the active controller’s lease in the metadata database',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const lease = () => this.lease;
    new Gauge({
      name: 'sluice_controller_active',
      help: '1 while this instance is the active controller, 0 while it stands by',
      registers: [registry],
      collect() {
        this.set(lease()?.active ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sluice_controller_epoch',
      help: 'Controller epoch held by this instance (0 while standing by)',
      registers: [registry],
      collect() {
        this.set(lease()?.active ? (lease()?.heldEpoch ?? 0) : 0);
      },
    });
    new Gauge({
      name: 'sluice_controller_partitions',
      help: 'Partitions by state: online, offline (no leader), under-replicated (ISR smaller than replicas), under-min-isr',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        let online = 0;
        let offline = 0;
        let under = 0;
        let underMin = 0;
        for (const t of Object.values(image()?.topics ?? {})) {
          const min = Number(t.configs['min.insync.replicas'] ?? 1);
          for (const p of t.partitions) {
            if (p.leader < 0) offline++;
            else online++;
            if (p.isr.length < p.replicas.length) under++;
            if (p.isr.length < min) underMin++;
          }
        }
        this.set({ state: 'online' }, online);
        this.set({ state: 'offline' }, offline);
        this.set({ state: 'under-replicated' }, under);
        this.set({ state: 'under-min-isr' }, underMin);
      },
    });
    new Gauge({
      name: 'sluice_controller_nodes',
      help: 'Registered nodes by role and state',
      labelNames: ['role', 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const n of Object.values(image()?.nodes ?? {})) this.inc({ role: n.role, state: n.state });
      },
    });
    new Gauge({
      name: 'sluice_controller_topics',
      help: 'Topics',
      registers: [registry],
      collect() {
        this.set(Object.keys(image()?.topics ?? {}).length);
      },
    });
    new Gauge({
      name: 'sluice_controller_metadata_offset',
      help: 'Offset of the last metadata delta',
      registers: [registry],
      collect() {
        this.set(image()?.offset ?? 0);
      },
    });
  }

  async start(): Promise<void> {
    const { logger, subjects } = this.deps;
    const { provider, url } = resolveDatabaseUrl(this.config);
    // SQLite serves one controller: a second one on the same file refuses to start (the data directory is locked).
    if (provider === 'sqlite') this.lock = await lockDataDir(dirname(resolve(url.slice('file:'.length))), 'controller', logger);
    const { store, applied } = await MetadataStore.open(url, { idleInTransactionMs: this.config.leaseMs });
    this.store = store;
    logger.info({ provider, applied }, applied.length > 0 ? 'applied database migrations' : 'database schema up to date');
    await store.claimCluster(subjects.clusterId);
    const lease = new ControllerLease(store, {
      leaseMs: this.config.leaseMs,
      sole: provider === 'sqlite',
      adminPort: this.deps.adminPort ?? 0,
      logger,
      renewals: this.leaseRenewals,
    });
    this.lease = lease;
    lease.on('elected', (won) => this.transition(() => this.becomeActive(won)));
    lease.on('lost', (epoch, reason) => this.transition(() => this.standBy(epoch, reason)));
    await lease.start();
    await this.transitions;
    if (lease.heldEpoch === 0) logger.info({ instance: lease.instance.id, leaseMs: this.config.leaseMs }, 'controller standing by: another instance holds the lease');
  }

  private transition(work: () => Promise<void>): void {
    this.transitions = this.transitions.then(work).catch((err: unknown) => {
      this.deps.logger.error({ err }, 'controller role change failed; standing by');
      this.lease?.lose('the role change failed');
    });
  }

  /** Loads the metadata as the database holds it and serves the controller's verbs for `won`'s epoch. */
  private async becomeActive(won: WonLease): Promise<void> {
    const { logger, subjects, bus } = this.deps;
    const store = this.store;
    if (!store || this.lease?.heldEpoch !== won.controllerEpoch) return;
    this.image = await store.load(subjects.clusterId, won);
    this.nameIndex = undefined;
    const now = Date.now();
    // Every node gets a full session from now: none is fenced because the controller changed.
    this.lastHeartbeat.clear();
    for (const id of Object.keys(this.image.nodes)) this.lastHeartbeat.set(Number(id), now);
    const epoch = won.controllerEpoch;
    // One actor per verb. A request goes to every active-looking instance (one queue group per epoch): an old
    // controller paused past its lease stays silent (LeaveUnanswered), so the asker gets the current one's answer.
    // Heartbeats are answered as they arrive; every other request waits its turn (see `queued`).
    const guarded = async <Res>(work: () => Res | Promise<Res>): Promise<Res> => {
      if (!this.actingFor(epoch)) throw new LeaveUnanswered(`controller epoch ${epoch} is no longer held`);
      try {
        return await work();
      } catch (err) {
        if (err instanceof ControllerFencedError) {
          this.lease?.lose('a write was fenced: another controller took over');
          throw new LeaveUnanswered(err.message);
        }
        throw err;
      }
    };
    const options = { queue: `controller-${epoch}`, mode: 'concurrent' } as const;
    // A request asked again (its asker saw this controller announce itself while waiting on the previous one) may
    // have reached this one the first time too: the same request id gets the same answer, the work done once.
    this.recentRequests.clear();
    const serve = <Req, Res>(verb: Verb<Req, Res, void>, handle: (meta: Req) => Res | Promise<Res>, immediate = false): Actor =>
      bus.serve(
        subjects.at(verb),
        (req) => {
          const meta = (isObject(req.meta) ? req.meta : invalid('the request must be a JSON object')) as Req & { requestId?: unknown };
          const run = async () => reply(await guarded(() => handle(meta)));
          if (immediate) return run();
          const id = typeof meta.requestId === 'string' ? meta.requestId : undefined;
          const earlier = id === undefined ? undefined : this.recentRequests.get(id);
          if (earlier) return earlier as Promise<Reply<Res>>;
          const answer = this.queued(run);
          if (id !== undefined) this.rememberRequest(id, answer);
          return answer;
        },
        options,
      );
    this.actors = [
      serve(ControllerVerbs.heartbeat, (m) => this.heartbeat(m), true),
      serve(ControllerVerbs.describeQuorum, () => this.describeQuorum(), true),
      serve(ControllerVerbs.register, (m) => this.register(m)),
      serve(ControllerVerbs.unregister, (m) => this.unregister(m)),
      bus.serve(subjects.at(ControllerVerbs.snapshot), (req) => this.queued(() => guarded(() => this.snapshot(isObject(req.meta) ? req.meta : {}))), options),
      serve(ControllerVerbs.createTopics, (m) => this.createTopics(m)),
      serve(ControllerVerbs.deleteTopics, (m) => this.deleteTopics(m)),
      serve(ControllerVerbs.alterTopicConfigs, (m) => this.alterTopicConfigs(m)),
      serve(ControllerVerbs.createPartitions, (m) => this.createPartitions(m)),
      serve(ControllerVerbs.alterPartition, (m) => this.alterPartition(m)),
      serve(ControllerVerbs.electLeaders, (m) => this.electLeaders(m)),
      serve(ControllerVerbs.alterReassignments, (m) => this.alterReassignments(m)),
      serve(ControllerVerbs.allocateProducerIds, (m) => this.allocateProducerIds(m)),
    ];
    await bus.flush();
    bus.publish(subjects.controllerElected(), { controllerEpoch: epoch, instance: this.lease?.instance.id ?? '' });
    this.serving = true;
    this.activeSince = now;
    this.takeovers.inc();
    this.lastSessionCheck = now;
    this.fenceTimer = setInterval(() => this.checkSessions(), FENCE_CHECK_INTERVAL_MS);
    this.fenceTimer.unref();
    if (this.config.autoLeaderRebalanceEnable) {
      this.rebalanceTimer = setInterval(() => {
        if (!this.actingFor(epoch)) return;
        void this.exclusive(() => this.rebalanceLeaders()).catch((err: unknown) => this.deps.logger.error({ err }, 'leader rebalance failed'));
      }, this.config.leaderImbalanceCheckIntervalMs);
      this.rebalanceTimer.unref();
    }
    logger.info(
      { controllerEpoch: epoch, metadataOffset: this.image.offset, topics: Object.keys(this.image.topics).length, instance: this.lease?.instance.id },
      'controller active',
    );
  }

  private rememberRequest(id: string, answer: Promise<unknown>): void {
    answer.catch(() => undefined);
    this.recentRequests.set(id, answer);
    if (this.recentRequests.size > REMEMBERED_REQUESTS) this.recentRequests.delete(this.recentRequests.keys().next().value as string);
  }

  /** True while this instance holds `epoch`'s lease and serves it. */
  private actingFor(epoch: number): boolean {
    return this.lease?.active === true && this.lease.heldEpoch === epoch && this.image?.controllerEpoch === epoch;
  }

  /** Stops serving after losing the lease of `epoch`; the lease keeps looking, so this instance may take over again. */
  private async standBy(epoch: number, reason: string): Promise<void> {
    this.deps.logger.warn({ controllerEpoch: epoch, reason }, 'controller lost its lease: standing by');
    await this.stopServing();
  }

  private async stopServing(): Promise<void> {
    this.serving = false;
    clearInterval(this.fenceTimer);
    clearInterval(this.rebalanceTimer);
    const actors = this.actors;
    this.actors = [];
    await Promise.all(actors.map((a) => a.stop()));
    await this.queue;
  }

  /** Ready as the active controller or as a standby: both are doing their job. */
  readiness(): Readiness {
    const lease = this.lease;
    if (!lease) return { ready: false, reason: 'starting' };
    const role = this.serving && lease.active ? 'active' : 'standby';
    return {
      ready: true,
      details: { role, instance: lease.instance.id, controllerEpoch: role === 'active' ? lease.heldEpoch : undefined, metadataOffset: role === 'active' ? this.image.offset : undefined },
    };
  }

  /** Runs `work` after everything queued before it: requests and the fencing timer share one order. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Heartbeats are answered as they arrive: were they queued behind work that holds the controller for seconds (fencing
   * a broker that led 30,000 partitions), the next look for expired sessions would fence every other node too. Every
   * other request waits its turn, in arrival order, a bounded number at a time.
   */
  private queued<T>(work: () => Promise<T>): Promise<T> {
    if (this.waiting >= MAX_WAITING_REQUESTS) {
      return Promise.reject(new SluiceError(BusErrorCode.mailboxFull, `the controller has ${this.waiting} requests waiting`, { retriable: true }));
    }
    this.waiting++;
    return this.exclusive(work).finally(() => this.waiting--);
  }

  private async snapshot(req: ControllerSnapshotRequest): Promise<Reply<ControllerSnapshotReply>> {
    const { offset, controllerEpoch, chunk } = req;
    if ([offset, controllerEpoch, chunk].some((v) => v !== undefined && !isInt(v))) invalid('offset, controllerEpoch and chunk must be integers');
    const part = await this.snapshots.chunk(this.image, { offset, controllerEpoch, chunk });
    return reply(part.meta, part.body);
  }

  /** Persists the deltas, applies them to the image and publishes them, in order. */
  private async commit(deltas: MetadataDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    if (!this.store) throw kafkaError('NOT_CONTROLLER', 'the controller is not started');
    try {
      await this.store.persist(this.image.controllerEpoch, deltas, this.image.offset + deltas.length);
    } catch (err) {
      if (err instanceof ControllerFencedError) this.lease?.lose('a write was fenced: another controller took over');
      throw err;
    }
    this.nameIndex = undefined;
    for (const delta of deltas) {
      applyDelta(this.image, delta);
      this.image.offset++;
      const record: MetadataRecord = { offset: this.image.offset, controllerEpoch: this.image.controllerEpoch, delta };
      try {
        this.deps.bus.publish(this.deps.subjects.metadataEvents(), record);
      } catch (err) {
        // Persisted all the same, so the image must go on: services see the gap at the next delta and reload the snapshot.
        this.deps.logger.error({ err, metadataOffset: record.offset, type: delta.type }, 'metadata delta not published');
      }
    }
  }

  // ---- nodes -------------------------------------------------------------------------------------------------------

  private async register(req: ControllerRegisterRequest): Promise<ControllerRegisterReply> {
    if (!roles.includes(req.role)) invalid(`role must be one of ${roles.join(', ')}`);
    if (typeof req.host !== 'string') invalid('host must be a string');
    if (req.ports !== undefined && !isObject(req.ports)) invalid('ports must be an object');
    if (req.nodeId !== undefined && req.nodeId !== null && (!isInt(req.nodeId) || req.nodeId < -1)) invalid('nodeId must be an integer');
    let id = req.nodeId ?? -1;
    if (id < 0) id = Math.max(RESERVED_MAX_ID, ...Object.keys(this.image.nodes).map(Number)) + 1;
    const existing = this.image.nodes[id];
    if (existing && existing.role !== req.role) invalid(`node id ${id} belongs to a ${existing.role}`);
    if (existing?.state === 'alive') {
      // A new incarnation of a live node (it restarted before its session expired): the old one is fenced first, so a
      // broker that restarted (maybe with an empty disk) leads nothing and is in no ISR until it has caught up again.
      if (Date.now() - (this.lastHeartbeat.get(id) ?? 0) < this.config.sessionTimeoutMs) {
        this.deps.logger.warn({ nodeId: id, role: req.role }, 'node registered again while its previous incarnation was alive');
      }
      if (existing.role === 'broker') await this.commit(this.removeNode(existing));
    }
    const node: NodeInfo = {
      id,
      role: req.role,
      host: req.host,
      ports: (req.ports ?? {}) as Record<string, number>,
      rack: typeof req.rack === 'string' ? req.rack : null,
      state: 'alive',
      incarnation: (existing?.incarnation ?? 0) + 1,
    };
    const deltas: MetadataDelta[] = [{ type: 'node-registered', node }];
    if (node.role === 'broker') deltas.push(...this.restoreLeadership(id));
    await this.commit(deltas);
    this.lastHeartbeat.set(id, Date.now());
    this.deps.logger.info({ nodeId: id, role: node.role, incarnation: node.incarnation }, 'node registered');
    return {
      nodeId: id,
      incarnation: node.incarnation,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      metadataOffset: this.image.offset,
    };
  }

  /** Offline partitions whose in-sync replicas include a broker that came back get it as leader. */
  private restoreLeadership(brokerId: number): MetadataDelta[] {
    const deltas: MetadataDelta[] = [];
    for (const topic of Object.values(this.image.topics)) {
      for (const p of topic.partitions) {
        if (p.leader < 0 && p.isr.includes(brokerId)) {
          deltas.push({ type: 'partition-changed', topicId: topic.id, partition: { ...p, leader: brokerId, leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 } });
        }
      }
    }
    return deltas;
  }

  private heartbeat(req: ControllerHeartbeatRequest): ControllerHeartbeatReply {
    if (!isInt(req.nodeId) || !isInt(req.incarnation)) invalid('nodeId and incarnation must be integers');
    const node = this.image.nodes[req.nodeId];
    if (!node || node.incarnation !== req.incarnation || node.state !== 'alive') return { accepted: false, metadataOffset: this.image.offset };
    this.lastHeartbeat.set(node.id, Date.now());
    return { accepted: true, metadataOffset: this.image.offset };
  }

  private async unregister(req: ControllerUnregisterRequest): Promise<{ metadataOffset: number }> {
    if (!isInt(req.nodeId) || !isInt(req.incarnation)) invalid('nodeId and incarnation must be integers');
    const node = this.image.nodes[req.nodeId];
    if (node && node.incarnation === req.incarnation && node.state === 'alive') {
      await this.commit(this.removeNode(node));
      this.deps.logger.info({ nodeId: node.id, role: node.role }, 'node left');
    }
    return { metadataOffset: this.image.offset };
  }

  /**
   * The session timer: finds the nodes not heard from within the session timeout and queues their fencing. A timer that
   * fires late measures how long the event loop was held (a commit of 30,000 partition changes is written and published
   * synchronously for seconds): nobody could be heard meanwhile, so that time counts against no session.
   */
  private checkSessions(): void {
    // A controller resumed after a pause past its lease must not fence nodes that were heartbeating to its successor.
    if (!this.actingFor(this.image.controllerEpoch)) return;
    const now = Date.now();
    const late = now - this.lastSessionCheck - FENCE_CHECK_INTERVAL_MS;
    this.lastSessionCheck = now;
    if (late > FENCE_CHECK_INTERVAL_MS) for (const [id, at] of this.lastHeartbeat) this.lastHeartbeat.set(id, at + late);
    const expired = Object.values(this.image.nodes).filter((n) => n.state === 'alive' && this.sessionExpired(n.id, now));
    if (expired.length === 0) return;
    void this.exclusive(() => this.fence(expired.map((n) => n.id), now)).catch((err: unknown) => this.deps.logger.error({ err }, 'fencing failed'));
  }

  private sessionExpired(nodeId: number, now: number): boolean {
    return now - (this.lastHeartbeat.get(nodeId) ?? 0) > this.config.sessionTimeoutMs;
  }

  /** Fences the nodes found expired at `foundAt`, unless they were heard from (or fenced) since. */
  private async fence(nodeIds: number[], foundAt: number): Promise<void> {
    for (const id of nodeIds) {
      const node = this.image.nodes[id];
      if (node?.state !== 'alive' || !this.sessionExpired(id, foundAt)) continue;
      await this.commit(this.removeNode(node));
      this.fencings.inc();
      this.deps.logger.warn({ nodeId: node.id, role: node.role, sessionTimeoutMs: this.config.sessionTimeoutMs }, 'node fenced');
    }
  }

  /**
   * A broker is fenced (or leaves cleanly) and its leaderships move: it leaves every ISR it is in (but the last member of
   * one, which holds the latest data and must lead again), and a partition it led gets the next live in-sync replica
   * in replica order, with a new leader epoch. With no live in-sync replica the partition goes offline (leader -1),
   * unless its topic allows unclean.leader.election.enable, which elects a live out-of-sync replica and loses what it
   * lacks. Any other node is simply removed.
   */
  private removeNode(node: NodeInfo): MetadataDelta[] {
    if (node.role !== 'broker') return [{ type: 'node-unregistered', nodeId: node.id }];
    const deltas: MetadataDelta[] = [{ type: 'node-fenced', nodeId: node.id }];
    const alive = (id: number) => id !== node.id && this.aliveBroker(id);
    for (const topic of Object.values(this.image.topics)) {
      for (const p of topic.partitions) {
        if (p.leader !== node.id && !p.isr.includes(node.id)) continue;
        const isr = p.isr.length > 1 ? p.isr.filter((b) => b !== node.id) : p.isr;
        let next: PartitionInfo = { ...p, isr, partitionEpoch: p.partitionEpoch + 1 };
        if (p.isr.includes(node.id) && isr.length < p.isr.length) this.isrChanges.inc({ change: 'shrink' });
        if (p.leader === node.id) {
          let leader = cleanLeader({ ...p, isr }, alive);
          let kind = 'clean';
          if (leader < 0 && topic.configs['unclean.leader.election.enable'] === 'true') {
            leader = p.replicas.find(alive) ?? -1;
            if (leader >= 0) {
              kind = 'unclean';
              next = { ...next, isr: [leader] };
              this.deps.logger.error(
                { topic: topic.name, partition: p.partition, leader, lostIsr: p.isr },
                'unclean leader election: an out-of-sync replica leads, records it lacks are lost',
              );
            }
          }
          if (leader >= 0) this.elections.inc({ kind });
          next = { ...next, leader, leaderEpoch: p.leaderEpoch + 1 };
        }
        deltas.push({ type: 'partition-changed', topicId: topic.id, partition: next });
      }
    }
    return deltas;
  }

  private aliveBroker(id: number): boolean {
    const n = this.image.nodes[id];
    return n?.state === 'alive' && n.role === 'broker';
  }

  /**
   * A leader's ISR change (Kafka's AlterPartition): accepted only from the partition's current leader, registered in
   * this incarnation, at the current leader epoch and partition epoch; the new ISR holds the leader, only replicas of
   * the partition, and no fenced broker it does not already hold. Each accepted change bumps the partition epoch.
   */
  private async alterPartition(req: ControllerAlterPartitionRequest): Promise<ControllerAlterPartitionReply> {
    if (!isInt(req.brokerId) || !isInt(req.brokerIncarnation) || !Array.isArray(req.partitions)) invalid('brokerId, brokerIncarnation and partitions are required');
    const node = this.image.nodes[req.brokerId];
    const current = node?.role === 'broker' && node.state === 'alive' && node.incarnation === req.brokerIncarnation;
    const deltas: MetadataDelta[] = [];
    const results: ControllerAlterPartitionReply['partitions'] = [];
    for (const change of req.partitions) {
      const refuse = (name: Parameters<typeof kafkaError>[0], message: string) => results.push({ errorCode: KafkaErrorCode[name], errorMessage: message });
      const topic = this.image.topics[change?.topicId];
      const p = topic?.partitions[change?.partition];
      const newIsr = Array.isArray(change?.newIsr) ? change.newIsr : [];
      if (!current) refuse('STALE_BROKER_EPOCH', `broker ${req.brokerId} incarnation ${req.brokerIncarnation} is not the registered one`);
      else if (!topic || !p) refuse('UNKNOWN_TOPIC_OR_PARTITION', `partition ${change?.partition} of topic ${change?.topicId} does not exist`);
      else if (p.leader !== req.brokerId) refuse('NOT_LEADER_OR_FOLLOWER', `broker ${req.brokerId} does not lead ${topic.name}-${p.partition} (leader ${p.leader})`);
      else if (change.leaderEpoch !== p.leaderEpoch) {
        refuse(change.leaderEpoch < p.leaderEpoch ? 'FENCED_LEADER_EPOCH' : 'UNKNOWN_LEADER_EPOCH', `leader epoch ${change.leaderEpoch} is not ${p.leaderEpoch}`);
      } else if (change.partitionEpoch !== p.partitionEpoch) refuse('INVALID_UPDATE_VERSION', `partition epoch ${change.partitionEpoch} is not ${p.partitionEpoch}`);
      else if (!newIsr.every(isInt) || !newIsr.includes(p.leader) || newIsr.some((b) => !p.replicas.includes(b)) || new Set(newIsr).size !== newIsr.length) {
        refuse('INVALID_REQUEST', `ISR ${JSON.stringify(newIsr)} must hold the leader and only replicas of the partition, once each`);
      } else if (newIsr.some((b) => !p.isr.includes(b) && !this.aliveBroker(b))) refuse('INELIGIBLE_REPLICA', `ISR ${JSON.stringify(newIsr)} adds a fenced broker`);
      else {
        const isr = p.replicas.filter((b) => newIsr.includes(b));
        let next: PartitionInfo = { ...p, isr, partitionEpoch: p.partitionEpoch + 1 };
        this.isrChanges.inc({ change: isr.length > p.isr.length ? 'expand' : 'shrink' });
        this.deps.logger.info({ topic: topic.name, partition: p.partition, isr, previous: p.isr, partitionEpoch: next.partitionEpoch }, 'ISR changed');
        // The last target replica of a reassignment caught up: the reassignment completes in the same change.
        const completed = completeReassignment(next, (b) => this.aliveBroker(b));
        if (completed) {
          this.logReassignmentDone(topic.name, next, completed);
          next = completed;
        }
        deltas.push({ type: 'partition-changed', topicId: topic.id, partition: next });
        results.push({ errorCode: KafkaErrorCode.NONE, errorMessage: null, partition: next });
      }
    }
    await this.commit(deltas);
    return { partitions: results, metadataOffset: this.image.offset };
  }

  // ---- elections and reassignments ---------------------------------------------------------------------------------

  /** The partitions a request names (all of them for null), each with its topic, or the error for a name not found. */
  private *namedPartitions(refs: NamedPartition[] | null): Iterable<{ ref: NamedPartition; topicId?: string; p?: PartitionInfo }> {
    if (refs === null) {
      for (const topic of Object.values(this.image.topics)) for (const p of topic.partitions) yield { ref: { topic: topic.name, partition: p.partition }, topicId: topic.id, p };
      return;
    }
    if (!Array.isArray(refs)) invalid('partitions must be an array or null');
    for (const ref of refs) {
      const topic = isObject(ref) && typeof ref.topic === 'string' ? this.topicByName(ref.topic) : undefined;
      const p = topic && isInt(ref.partition) ? topic.partitions[ref.partition] : undefined;
      yield { ref: { topic: String(ref?.topic), partition: Number(ref?.partition) }, topicId: topic?.id, p };
    }
  }

  /** Kafka's ElectLeaders: preferred or unclean elections for the partitions named (or all). */
  private async electLeaders(req: ControllerElectLeadersRequest): Promise<ControllerElectLeadersReply> {
    if (req.electionType !== 'preferred' && req.electionType !== 'unclean') invalid("electionType must be 'preferred' or 'unclean'");
    const all = req.partitions === null;
    const alive = (b: number) => this.aliveBroker(b);
    const deltas: MetadataDelta[] = [];
    const results: ControllerElectLeadersReply['results'] = [];
    for (const { ref, topicId, p } of this.namedPartitions(req.partitions)) {
      if (!topicId || !p) {
        results.push({ ...ref, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `partition ${ref.partition} of topic "${ref.topic}" does not exist` });
        continue;
      }
      const outcome = req.electionType === 'preferred' ? electPreferred(p, alive) : electUnclean(p, alive);
      if (outcome.next) {
        const unclean = 'unclean' in outcome && outcome.unclean === true;
        deltas.push({ type: 'partition-changed', topicId, partition: outcome.next });
        this.elections.inc({ kind: unclean ? 'unclean' : req.electionType });
        const log = { topic: ref.topic, partition: ref.partition, leader: outcome.next.leader, previous: p.leader, leaderEpoch: outcome.next.leaderEpoch };
        if (unclean) this.deps.logger.error({ ...log, lostIsr: p.isr }, 'unclean leader election (asked for): an out-of-sync replica leads, records it lacks are lost');
        else this.deps.logger.info(log, `${req.electionType} leader elected`);
        results.push({ ...ref, errorCode: KafkaErrorCode.NONE, errorMessage: null, leader: outcome.next.leader });
      } else if (!(all && outcome.errorCode === KafkaErrorCode.ELECTION_NOT_NEEDED)) {
        results.push({ ...ref, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage });
      }
    }
    await this.commit(deltas);
    return { results, metadataOffset: this.image.offset };
  }

  /**
   * Kafka's auto leader rebalance: every SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS, leadership moves back to
   * preferred replicas on brokers whose share of preferred partitions led elsewhere is above the threshold.
   */
  private async rebalanceLeaders(): Promise<void> {
    const alive = (b: number) => this.aliveBroker(b);
    const deltas: MetadataDelta[] = [];
    for (const { topicId, partition } of imbalancedPartitions(this.image, alive, this.config.leaderImbalancePerBrokerPercentage)) {
      const outcome = electPreferred(partition, alive);
      if (outcome.next) deltas.push({ type: 'partition-changed', topicId, partition: outcome.next });
    }
    if (deltas.length === 0) return;
    await this.commit(deltas);
    this.elections.inc({ kind: 'preferred' }, deltas.length);
    this.deps.logger.info({ partitions: deltas.length }, 'leadership moved back to preferred replicas');
  }

  /** Kafka's AlterPartitionReassignments: start (or replace) a reassignment to the target replicas, or cancel one. */
  private async alterReassignments(req: ControllerAlterReassignmentsRequest): Promise<ControllerAlterReassignmentsReply> {
    if (!Array.isArray(req.reassignments)) invalid('reassignments must be an array');
    const alive = (b: number) => this.aliveBroker(b);
    const deltas: MetadataDelta[] = [];
    const results: ControllerAlterReassignmentsReply['results'] = [];
    const seen = new Set<string>();
    for (const [i, { ref, topicId, p }] of [...this.namedPartitions(req.reassignments)].entries()) {
      const target = req.reassignments[i]?.replicas;
      const answer = (outcome: Outcome) => results.push({ ...ref, errorCode: outcome.errorCode ?? KafkaErrorCode.NONE, errorMessage: outcome.errorCode === undefined ? null : outcome.errorMessage });
      const key = `${ref.topic}:${ref.partition}`;
      if (!topicId || !p) {
        answer({ errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `partition ${ref.partition} of topic "${ref.topic}" does not exist` });
        continue;
      }
      if (seen.has(key)) {
        answer({ errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `${key} appears more than once in the request` });
        continue;
      }
      seen.add(key);
      const problem = target === null ? undefined : targetProblem(target, alive);
      if (problem) {
        answer({ errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: problem });
        continue;
      }
      const outcome = target === null ? cancelReassignment(p, alive) : startReassignment(p, target, alive);
      answer(outcome);
      if (!outcome.next || outcome.next === p) continue;
      deltas.push({ type: 'partition-changed', topicId, partition: outcome.next });
      const done = !outcome.next.addingReplicas && !outcome.next.removingReplicas;
      if (target === null) this.deps.logger.info({ topic: ref.topic, partition: ref.partition, replicas: outcome.next.replicas }, 'reassignment cancelled');
      else if (done) this.logReassignmentDone(ref.topic, p, outcome.next);
      else this.deps.logger.info({ topic: ref.topic, partition: ref.partition, target, adding: outcome.next.addingReplicas, removing: outcome.next.removingReplicas }, 'reassignment started');
    }
    await this.commit(deltas);
    return { results, metadataOffset: this.image.offset };
  }

  private logReassignmentDone(topic: string, before: PartitionInfo, after: PartitionInfo): void {
    this.deps.logger.info({ topic, partition: after.partition, replicas: after.replicas, leader: after.leader, previousLeader: before.leader }, 'reassignment completed');
  }

  // ---- topics ------------------------------------------------------------------------------------------------------

  private topicByName(name: string): TopicInfo | undefined {
    this.nameIndex ??= new Map(Object.values(this.image.topics).map((t) => [t.name, t]));
    return this.nameIndex.get(name);
  }

  private partitionCount(): number {
    let count = 0;
    for (const topic of Object.values(this.image.topics)) count += topic.partitions.length;
    return count;
  }

  /** Why adding `added` partitions to the `current` ones would break the cluster-wide limit, or undefined. */
  private clusterLimitProblem(current: number, added: number): string | undefined {
    const limit = this.config.maxClusterPartitions;
    if (current + added <= limit) return undefined;
    return `${added} more partitions would bring the cluster to ${current + added}, above its limit of ${limit} (SLUICE_MAX_CLUSTER_PARTITIONS)`;
  }

  private async createTopics(req: ControllerCreateTopicsRequest): Promise<ControllerCreateTopicsReply> {
    if (!Array.isArray(req.topics)) invalid('topics must be an array');
    const results: TopicResult[] = [];
    const deltas: MetadataDelta[] = [];
    const claimed = new Set(Object.values(this.image.topics).map((t) => unifyCollisionChars(t.name)));
    let partitions = this.partitionCount();
    for (const spec of req.topics) {
      const result = this.planTopic(spec, claimed, partitions);
      results.push(result);
      if (result.errorCode === KafkaErrorCode.NONE && result.topic) {
        claimed.add(unifyCollisionChars(result.topic.name));
        partitions += result.topic.partitions.length;
        deltas.push({ type: 'topic-created', topic: result.topic });
      }
    }
    if (!req.validateOnly) {
      await this.commit(deltas);
      for (const d of deltas) if (d.type === 'topic-created') this.deps.logger.info({ topic: d.topic.name, partitions: d.topic.partitions.length }, 'topic created');
    }
    return { results, metadataOffset: this.image.offset };
  }

  /** `clusterPartitions`: how many partitions the cluster holds with the topics planned before this one. */
  private planTopic(spec: CreateTopicSpec, claimed: Set<string>, clusterPartitions: number): TopicResult {
    const fail = (errorCode: number, errorMessage: string): TopicResult => ({ name: String(spec?.name), errorCode, errorMessage });
    if (!isObject(spec) || typeof spec.name !== 'string') return fail(KafkaErrorCode.INVALID_REQUEST, 'a topic needs a name');
    const problem = topicNameProblem(spec.name);
    if (problem) return fail(KafkaErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (this.topicByName(spec.name)) return fail(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `topic "${spec.name}" already exists`);
    if (claimed.has(unifyCollisionChars(spec.name))) {
      return fail(KafkaErrorCode.INVALID_TOPIC_EXCEPTION, `topic "${spec.name}" collides with an existing topic ('.' and '_' are the same in metric names)`);
    }
    const manual = spec.assignments !== undefined;
    if (manual && ((spec.partitions ?? -1) !== -1 || (spec.replicationFactor ?? -1) !== -1)) {
      return fail(KafkaErrorCode.INVALID_REQUEST, 'both the number of partitions or replication factor and a replica assignment were given');
    }
    const manualProblem = manual ? manualAssignmentProblem(spec.assignments, this.brokerIds(), new Set(this.liveBrokers().map((b) => b.id))) : undefined;
    if (manualProblem) return fail(KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, manualProblem);
    const partitions = manual ? (spec.assignments?.length ?? 0) : spec.partitions === -1 || spec.partitions === undefined ? this.config.defaultPartitions : spec.partitions;
    if (!isInt(partitions) || partitions < 1 || partitions > this.config.maxPartitions) {
      return fail(KafkaErrorCode.INVALID_PARTITIONS, `number of partitions must be between 1 and ${this.config.maxPartitions}, got ${partitions}`);
    }
    const overLimit = this.clusterLimitProblem(clusterPartitions, partitions);
    if (overLimit) return fail(KafkaErrorCode.INVALID_PARTITIONS, overLimit);
    const rf = manual ? (spec.assignments?.[0]?.length ?? 0) : spec.replicationFactor === -1 || spec.replicationFactor === undefined ? this.config.defaultReplicationFactor : spec.replicationFactor;
    const brokers = this.liveBrokers();
    if (!isInt(rf) || rf < 1) return fail(KafkaErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${rf}`);
    if (rf > brokers.length && !manual) return fail(KafkaErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${rf} larger than available brokers: ${brokers.length}.`);
    const configs = spec.configs ?? {};
    if (!isObject(configs)) return fail(KafkaErrorCode.INVALID_CONFIG, 'configs must be an object');
    const configProblem = topicConfigProblem(configs as Record<string, string>, rf);
    if (configProblem) return fail(KafkaErrorCode.INVALID_CONFIG, configProblem);
    const start = randomInt(brokers.length);
    const alive = new Set(brokers.map((b) => b.id));
    // Every replica of a new partition is in sync (all are empty), as in Kafka: acks=all can be answered as soon as
    // the followers have fetched, and one that does not fetch leaves the ISR after replica.lag.time.max.ms.
    const topic: TopicInfo = {
      id: randomUUID(),
      name: spec.name,
      configs: configs as Record<string, string>,
      partitions: (spec.assignments ?? placeReplicas(brokers, partitions, rf, start, randomInt(brokers.length))).map((replicas, partition) => newPartition(partition, replicas, alive)),
    };
    return { name: spec.name, errorCode: KafkaErrorCode.NONE, errorMessage: null, topic };
  }

  private async deleteTopics(req: ControllerDeleteTopicsRequest): Promise<ControllerDeleteTopicsReply> {
    if (!Array.isArray(req.names)) invalid('names must be an array');
    const results: TopicResult[] = [];
    const deltas: MetadataDelta[] = [];
    const deleting = new Set<string>();
    for (const name of req.names) {
      const topic = typeof name === 'string' ? this.topicByName(name) : undefined;
      if (!topic) {
        results.push({ name: String(name), errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic "${name}" does not exist` });
        continue;
      }
      if (deleting.has(topic.id)) continue;
      deleting.add(topic.id);
      deltas.push({ type: 'topic-deleted', topicId: topic.id, name: topic.name });
      results.push({ name: topic.name, errorCode: KafkaErrorCode.NONE, errorMessage: null });
    }
    await this.commit(deltas);
    for (const d of deltas) if (d.type === 'topic-deleted') this.deps.logger.info({ topic: d.name }, 'topic deleted');
    return { results, metadataOffset: this.image.offset };
  }

  /**
   * Adds partitions to topics, as Kafka's CreatePartitions: `count` is the new total and must exceed the current one;
   * new partitions get the topic's replication factor, placed as at creation, continuing from the last partition.
   */
  private async createPartitions(req: ControllerCreatePartitionsRequest): Promise<ControllerCreatePartitionsReply> {
    if (!Array.isArray(req.topics)) invalid('topics must be an array');
    const results: TopicResult[] = [];
    const deltas: MetadataDelta[] = [];
    const seen = new Set<string>();
    const brokers = this.liveBrokers();
    const alive = new Set(brokers.map((b) => b.id));
    let partitions = this.partitionCount();
    for (const spec of req.topics) {
      const name = isObject(spec) && typeof spec.name === 'string' ? spec.name : String(spec?.name);
      const fail = (errorCode: number, errorMessage: string): void => void results.push({ name, errorCode, errorMessage });
      if (seen.has(name)) {
        fail(KafkaErrorCode.INVALID_REQUEST, `topic "${name}" appears more than once in the request`);
        continue;
      }
      seen.add(name);
      const topic = this.topicByName(name);
      if (!topic) {
        fail(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
        continue;
      }
      const current = topic.partitions.length;
      const count = spec.count;
      if (!isInt(count) || count > this.config.maxPartitions) {
        fail(KafkaErrorCode.INVALID_PARTITIONS, `number of partitions must be an integer up to ${this.config.maxPartitions}, got ${count}`);
        continue;
      }
      if (count < current) {
        fail(KafkaErrorCode.INVALID_PARTITIONS, `topic currently has ${current} partitions, which is higher than the requested ${count}`);
        continue;
      }
      if (count === current) {
        fail(KafkaErrorCode.INVALID_PARTITIONS, `topic already has ${current} partitions`);
        continue;
      }
      const overLimit = this.clusterLimitProblem(partitions, count - current);
      if (overLimit) {
        fail(KafkaErrorCode.INVALID_PARTITIONS, overLimit);
        continue;
      }
      const rf = topic.partitions[0]?.replicas.length ?? 1;
      const manualProblem = spec.assignments !== undefined ? manualAssignmentProblem(spec.assignments, this.brokerIds(), alive, rf) : undefined;
      if (manualProblem || (spec.assignments !== undefined && spec.assignments.length !== count - current)) {
        fail(KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, manualProblem ?? `the assignment lists ${spec.assignments?.length} partitions, not the ${count - current} added`);
        continue;
      }
      if (rf > brokers.length && spec.assignments === undefined) {
        fail(KafkaErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${rf} is larger than the ${brokers.length} live brokers`);
        continue;
      }
      // Leaders go on round-robin from where the topic's first partition started.
      const first = Math.max(0, placementOrder(brokers).indexOf(topic.partitions[0]?.replicas[0] ?? -1));
      const added = (spec.assignments ?? placeReplicas(brokers, count - current, rf, (first + current) % brokers.length, randomInt(brokers.length))).map(
        (replicas, i): PartitionInfo => newPartition(current + i, replicas, alive),
      );
      deltas.push({ type: 'partitions-created', topicId: topic.id, partitions: added });
      partitions += added.length;
      results.push({ name, errorCode: KafkaErrorCode.NONE, errorMessage: null });
    }
    if (!req.validateOnly) {
      await this.commit(deltas);
      for (const d of deltas) {
        if (d.type === 'partitions-created') this.deps.logger.info({ topicId: d.topicId, added: d.partitions.length }, 'partitions created');
      }
    }
    return { results, metadataOffset: this.image.offset };
  }

  /** Every registered broker, alive or not (manual replica assignments may name any). */
  private brokerIds(): Set<number> {
    return new Set(Object.values(this.image.nodes).filter((n) => n.role === 'broker').map((n) => n.id));
  }

  /** The live brokers with their racks, in id order. */
  private liveBrokers(): PlacedBroker[] {
    return Object.values(this.image.nodes)
      .filter((n) => n.role === 'broker' && n.state === 'alive')
      .map((n) => ({ id: n.id, rack: n.rack }))
      .sort((a, b) => a.id - b.id);
  }

  private async alterTopicConfigs(req: ControllerAlterTopicConfigsRequest): Promise<ControllerAlterTopicConfigsReply> {
    if (typeof req.name !== 'string' || !isObject(req.configs)) invalid('name and configs are required');
    const topic = this.topicByName(req.name);
    const fail = (errorCode: number, errorMessage: string): ControllerAlterTopicConfigsReply => ({
      result: { name: req.name, errorCode, errorMessage },
      metadataOffset: this.image.offset,
    });
    if (!topic) return fail(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${req.name}" does not exist`);
    const problem = topicConfigProblem(req.configs, topic.partitions[0]?.replicas.length ?? 1);
    if (problem) return fail(KafkaErrorCode.INVALID_CONFIG, problem);
    const configs: Record<string, string> = { ...topic.configs };
    for (const [k, v] of Object.entries(req.configs)) {
      if (v === null) delete configs[k];
      else configs[k] = v;
    }
    if (!req.validateOnly) await this.commit([{ type: 'topic-configs-changed', topicId: topic.id, configs }]);
    return { result: { name: topic.name, errorCode: KafkaErrorCode.NONE, errorMessage: null }, metadataOffset: this.image.offset };
  }

  // ---- the quorum and producer ids -------------------------------------------------------------------------------

  private async describeQuorum(): Promise<ControllerDescribeQuorumReply> {
    const lease = this.lease;
    if (!lease || !this.store) throw kafkaError('NOT_CONTROLLER', 'the controller is not started');
    const seen = await this.store.instances(2 * this.config.leaseMs);
    const self = seen.find((i) => i.id === lease.instance.id) ?? { ...lease.instance, lastSeenAt: Date.now() };
    return {
      active: { ...self, epoch: lease.heldEpoch, activeSince: this.activeSince },
      standbys: seen.filter((i) => i.id !== lease.instance.id),
      leaseMs: this.config.leaseMs,
    };
  }

  private async allocateProducerIds(req: ControllerAllocateProducerIdsRequest): Promise<ControllerAllocateProducerIdsReply> {
    if (!isInt(req.nodeId) || !isInt(req.incarnation)) invalid('nodeId and incarnation must be integers');
    const node = this.image.nodes[req.nodeId];
    if (!node || node.incarnation !== req.incarnation || node.state !== 'alive') {
      throw kafkaError('STALE_BROKER_EPOCH', `node ${req.nodeId} incarnation ${req.incarnation} is not registered`);
    }
    if (!this.store) throw kafkaError('NOT_CONTROLLER', 'the controller is not started');
    const firstProducerId = await this.store.allocateProducerIds(this.image.controllerEpoch, PRODUCER_ID_BLOCK);
    this.deps.logger.debug({ nodeId: node.id, firstProducerId, count: PRODUCER_ID_BLOCK }, 'producer ids allocated');
    return { firstProducerId, count: PRODUCER_ID_BLOCK };
  }

  async stop(): Promise<void> {
    await this.stopServing();
    await this.lease?.stop();
    await this.store?.close();
    await this.lock?.release();
  }
}

export async function startController(config: ControllerConfig, deps: ServiceDeps): Promise<Controller> {
  if (config.heartbeatIntervalMs >= config.sessionTimeoutMs) {
    throw new ConfigError('SLUICE_HEARTBEAT_INTERVAL_MS', 'must be below SLUICE_SESSION_TIMEOUT_MS');
  }
  const controller = new Controller(config, deps);
  try {
    await controller.start();
  } catch (err) {
    await controller.stop().catch(() => undefined);
    throw err;
  }
  return controller;
}
