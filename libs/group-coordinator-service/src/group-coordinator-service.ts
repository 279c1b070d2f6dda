// The group coordinator service: serves the group shards that rendezvous hashing over the live coordinators gives
// it (see contracts/groups.ts), re-evaluated on every metadata change, and expires the offsets of long-empty groups.
import { dirname, join, resolve } from 'node:path';
import type { Actor } from '@sluice/bus';
import { MetadataClient, NodeSession } from '@sluice/metadata';
import { KafkaErrorCode } from '@sluice/protocol';
import { GROUP_SHARDS, GroupVerbs, shardOwner } from '@sluice/contracts';
import { ConfigError, defineConfig, lockDataDir, logFailure, v, type RunningService, type ServiceFactory } from '@sluice/runtime';
import { defaultGroupConfig } from './consumer-group.js';
import { createGroupMetrics, LagMonitor } from './group-metrics.js';
import { GroupShard, type ShardContext } from './group-shard.js';
import { OffsetStore } from './offset-store.js';

export const groupCoordinatorConfig = defineConfig('group-coordinator', {
  nodeId: v.int('SLUICE_NODE_ID', 'Node id; unset: the controller assigns one (above 1000)', {
    default: -1,
    defaultText: '(assigned)',
    min: -1,
  }),
  advertisedHost: v.string('SLUICE_ADVERTISED_HOST', 'Host name other nodes use to reach this coordinator', { default: '127.0.0.1' }),
  dataDir: v.string('SLUICE_DATA_DIR', 'Directory of the SQLite database (when SLUICE_GROUPS_DATABASE_URL is unset)', { default: './data/group-coordinator' }),
  databaseUrl: v.string('SLUICE_GROUPS_DATABASE_URL', 'Offsets database: file:PATH (SQLite) or postgres://...; several coordinators must share one PostgreSQL database', {
    default: '',
    defaultText: '(SQLite in the data dir)',
  }),
  initialRebalanceDelayMs: v.int('SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS', 'How long the first rebalance of an empty group waits for more members', {
    default: 3000,
    min: 0,
  }),
  minSessionTimeoutMs: v.int('SLUICE_GROUP_MIN_SESSION_TIMEOUT_MS', 'Smallest session timeout a member may ask for', { default: 6000, min: 1 }),
  maxSessionTimeoutMs: v.int('SLUICE_GROUP_MAX_SESSION_TIMEOUT_MS', 'Largest session timeout a member may ask for', { default: 1_800_000, min: 1 }),
  offsetsRetentionMinutes: v.int('SLUICE_OFFSETS_RETENTION_MINUTES', 'Committed offsets of a group without members expire after this long', {
    default: 10_080,
    min: 1,
  }),
  offsetMetadataMaxBytes: v.int('SLUICE_OFFSET_METADATA_MAX_BYTES', 'Largest metadata string of a committed offset', { default: 4096, min: 0 }),
  lagRefreshMs: v.int('SLUICE_GROUP_LAG_REFRESH_MS', 'Consumer lag metrics are recomputed on a /metrics scrape at most this often (one offsets query, one request per broker)', {
    default: 5000,
    min: 0,
  }),
});

export type GroupCoordinatorConfig = ReturnType<typeof groupCoordinatorConfig.load>;

function databaseUrl(config: GroupCoordinatorConfig): string {
  const url = config.databaseUrl || `file:${join(resolve(config.dataDir), 'groups.db')}`;
  if (!url.startsWith('file:') && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('SLUICE_GROUPS_DATABASE_URL', `"${url}" is neither a file: URL (SQLite) nor a postgres:// URL`);
  }
  return url;
}

export const startGroupCoordinator: ServiceFactory<GroupCoordinatorConfig> = async (config, deps) => {
  const { logger, bus, subjects } = deps;
  if (config.minSessionTimeoutMs > config.maxSessionTimeoutMs) {
    throw new ConfigError('SLUICE_GROUP_MIN_SESSION_TIMEOUT_MS', 'must not exceed SLUICE_GROUP_MAX_SESSION_TIMEOUT_MS');
  }
  const url = databaseUrl(config);
  // A second coordinator on the same SQLite database would serve the same shards beside this one.
  const lock = url.startsWith('file:') ? await lockDataDir(dirname(resolve(url.slice('file:'.length))), 'group-coordinator', logger) : undefined;
  const opened = await OffsetStore.open(url).catch(async (err: unknown) => {
    await lock?.release();
    throw err;
  });
  const { store, applied } = opened;
  logger.info({ provider: store.provider, applied }, applied.length > 0 ? 'applied database migrations' : 'database schema up to date');
  const metadata = new MetadataClient({ bus, subjects, onError: (err) => logFailure(logger, err, 'metadata reload failed') });
  const session = new NodeSession({
    bus,
    subjects,
    registration: { role: 'group-coordinator', nodeId: config.nodeId >= 0 ? config.nodeId : undefined, host: config.advertisedHost, ports: {} },
  });
  session.on('error', (err) => logFailure(logger, err, 'controller session problem'));
  session.on('registered', (r) => logger.info({ nodeId: r.nodeId, incarnation: r.incarnation }, 'registered with the controller'));

  const owned = new Map<number, { shard: GroupShard; actor: Actor }>();
  const lag = new LagMonitor({ store, metadata, bus, subjects, logger, shards: () => [...owned.keys()] }, config.lagRefreshMs);
  const metrics = createGroupMetrics(deps.registry, lag, () => {
    const states = new Map<string, number>();
    let members = 0;
    for (const { shard } of owned.values()) members += shard.countGroups(states);
    return { states, members, shards: owned.size };
  });
  const context: ShardContext = {
    store,
    groupConfig: {
      ...defaultGroupConfig,
      initialRebalanceDelayMs: config.initialRebalanceDelayMs,
      minSessionTimeoutMs: config.minSessionTimeoutMs,
      maxSessionTimeoutMs: config.maxSessionTimeoutMs,
    },
    topicExists: (name) => metadata.view.topicByName(name) !== undefined,
    offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
    logger,
    onRebalance: (groupId) => metrics.rebalances.child(groupId).inc(),
  };
  let stopped = false;

  const serveShard = (index: number): void => {
    const shard = new GroupShard(index, context);
    const actor = bus.serve(
      subjects.at(GroupVerbs.kafka, index),
      async (request) => {
        try {
          const body = await shard.handle(request.meta, Buffer.from(request.body ?? new Uint8Array(0)));
          return { meta: { errorCode: KafkaErrorCode.NONE, errorMessage: null }, body };
        } catch (err) {
          logger.warn({ err, shard: index, apiKey: request.meta.apiKey }, 'group request failed');
          return { meta: { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: (err as Error).message } };
        }
      },
      // Joins park until their rebalance completes, so requests overlap; group state changes are synchronous.
      { mode: 'concurrent' },
    );
    owned.set(index, { shard, actor });
  };

  /** Serves the shards this coordinator owns now and lets go of the others. */
  const reconcile = (): void => {
    const me = session.registered?.nodeId;
    if (stopped || me === undefined) return;
    const coordinators = metadata.view.nodes('group-coordinator', 'alive').map((n) => n.id);
    const gained: number[] = [];
    const lost: number[] = [];
    for (let index = 0; index < GROUP_SHARDS; index++) {
      const mine = shardOwner(index, coordinators) === me;
      if (mine && !owned.has(index)) {
        serveShard(index);
        gained.push(index);
      } else if (!mine && owned.has(index)) {
        const { shard, actor } = owned.get(index) as { shard: GroupShard; actor: Actor };
        owned.delete(index);
        shard.shutdown();
        void actor.stop();
        lost.push(index);
      }
    }
    if (gained.length + lost.length > 0) logger.info({ gained, lost, shards: owned.size }, 'group shards changed');
  };

  const expireOffsets = async (): Promise<void> => {
    const shards = [...owned.keys()];
    if (shards.length === 0) return;
    const active = new Set([...owned.values()].flatMap((o) => [...o.shard.activeGroups()]));
    const candidates = (await store.groups(shards)).map((g) => g.groupId).filter((id) => !active.has(id));
    const expired = await store.expire(candidates, Date.now() - config.offsetsRetentionMinutes * 60_000);
    if (expired.length > 0) logger.info({ groups: expired }, 'expired the committed offsets of empty groups');
  };

  metadata.on('change', () => reconcile());
  session.on('registered', () => reconcile());
  try {
    await metadata.start();
    await session.start();
  } catch (err) {
    metadata.close();
    await store.close();
    await lock?.release();
    throw err;
  }
  reconcile();
  const expiry = setInterval(() => void expireOffsets().catch((err: unknown) => logger.warn({ err }, 'offset expiry failed')), Math.min(600_000, config.offsetsRetentionMinutes * 15_000));
  expiry.unref();

  const service: RunningService = {
    readiness: () => ({
      ready: !stopped && session.healthy,
      reason: session.healthy ? undefined : 'no controller session',
      details: { nodeId: session.registered?.nodeId, shards: owned.size },
    }),
    stop: async () => {
      stopped = true;
      clearInterval(expiry);
      for (const { shard, actor } of owned.values()) {
        shard.shutdown();
        await actor.stop();
      }
      owned.clear();
      metadata.close();
      await session.stop();
      await store.close();
      await lock?.release();
    },
  };
  return service;
};
