import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KafkaErrorCode } from '@sluice/protocol';
import { ConsumerGroup, GroupState, type JoinRequest, type JoinResult, type SyncResult } from './consumer-group.js';

const join = (over: Partial<JoinRequest> = {}): JoinRequest => ({
  memberId: '',
  groupInstanceId: null,
  clientId: 'client',
  clientHost: '/127.0.0.1',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 30_000,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from('m') }],
  requireKnownMemberId: true,
  ...over,
});

const config = { minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 300_000, initialRebalanceDelayMs: 3000, maxSize: 100 };

async function settle<T>(value: Promise<T> | T): Promise<T> {
  await vi.advanceTimersByTimeAsync(0);
  return value;
}

/** Runs the two-step v4+ join for a new member and returns its parked join. */
function joinNew(group: ConsumerGroup, over: Partial<JoinRequest> = {}): { memberId: string; result: Promise<JoinResult> | JoinResult } {
  const first = group.join(join(over)) as JoinResult;
  expect(first.errorCode).toBe(KafkaErrorCode.MEMBER_ID_REQUIRED);
  return { memberId: first.memberId, result: group.join(join({ ...over, memberId: first.memberId })) };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('ConsumerGroup', () => {
  it('forms one generation for members joining together, after the initial delay', async () => {
    const g = new ConsumerGroup('g', config);
    const a = joinNew(g);
    const b = joinNew(g);
    const c = joinNew(g);
    expect(g.state).toBe(GroupState.preparingRebalance);
    await vi.advanceTimersByTimeAsync(3000);
    const results = await Promise.all([a.result, b.result, c.result]);
    expect(g.state).toBe(GroupState.completingRebalance);
    expect(new Set(results.map((r) => r.generationId))).toEqual(new Set([1]));
    expect(results.every((r) => r.protocolName === 'range' && r.errorCode === 0)).toBe(true);
    const leader = results.find((r) => r.memberId === r.leader)!;
    expect(leader.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId, c.memberId].sort());
    expect(results.filter((r) => r.members.length > 0)).toHaveLength(1);
  });

  it('distributes the leader’s assignment on sync, an empty one to members it left out', async () => {
    const g = new ConsumerGroup('g', config);
    const a = joinNew(g);
    const b = joinNew(g);
    await vi.advanceTimersByTimeAsync(3000);
    const [ra, rb] = await Promise.all([a.result, b.result]);
    const leader = ra.memberId === ra.leader ? ra : rb;
    const follower = leader === ra ? rb : ra;
    const followerSync = g.sync({ memberId: follower.memberId, groupInstanceId: null, generationId: 1, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(followerSync).toBeInstanceOf(Promise);
    const persisted: string[] = [];
    const leaderSync = g.sync(
      { memberId: leader.memberId, groupInstanceId: null, generationId: 1, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: leader.memberId, assignment: Buffer.from('p0,p1') }] },
      async (group) => void persisted.push(group.groupId),
    );
    const [ls, fs] = (await Promise.all([settle(leaderSync), followerSync])) as SyncResult[];
    expect(persisted).toEqual(['g']);
    expect(ls.assignment.toString()).toBe('p0,p1');
    expect(fs.errorCode).toBe(0);
    expect(fs.assignment.length).toBe(0);
    expect(g.state).toBe(GroupState.stable);
    expect(g.heartbeat(follower.memberId, null, 1)).toBe(KafkaErrorCode.NONE);
  });

  it('fences stale generations and unknown members', async () => {
    const g = new ConsumerGroup('g', config);
    const a = joinNew(g);
    await vi.advanceTimersByTimeAsync(3000);
    const r = await a.result;
    expect(g.heartbeat(r.memberId, null, 0)).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    expect(g.heartbeat('nobody', null, 1)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect((g.sync({ memberId: r.memberId, groupInstanceId: null, generationId: 5, protocolType: null, protocolName: null, assignments: [] }) as SyncResult).errorCode).toBe(
      KafkaErrorCode.ILLEGAL_GENERATION,
    );
    expect((g.join(join({ memberId: 'made-up' })) as JoinResult).errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('refuses bad session timeouts and protocols no member shares', async () => {
    const g = new ConsumerGroup('g', config);
    expect((g.join(join({ sessionTimeoutMs: 10 })) as JoinResult).errorCode).toBe(KafkaErrorCode.INVALID_SESSION_TIMEOUT);
    const a = joinNew(g);
    await vi.advanceTimersByTimeAsync(3000);
    await a.result;
    const other = g.join(join({ requireKnownMemberId: false, protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] })) as JoinResult;
    expect(other.errorCode).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((g.join(join({ protocolType: 'connect' })) as JoinResult).errorCode).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('rebalances when a member joins a stable group: heartbeats say so, everyone rejoins', async () => {
    const g = new ConsumerGroup('g', config);
    const a = joinNew(g);
    await vi.advanceTimersByTimeAsync(3000);
    const ra = await a.result;
    await settle(g.sync({ memberId: ra.memberId, groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null, assignments: [] }));
    expect(g.state).toBe(GroupState.stable);
    const b = joinNew(g);
    expect(g.state).toBe(GroupState.preparingRebalance);
    expect(g.heartbeat(ra.memberId, null, 1)).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    const again = g.join(join({ memberId: ra.memberId }));
    const [r1, r2] = await Promise.all([again, b.result]);
    expect(r1.generationId).toBe(2);
    expect(r2.generationId).toBe(2);
  });

  it('drops a member whose session expires and rebalances the rest', async () => {
    const removed: string[] = [];
    const g = new ConsumerGroup('g', config, { onMemberRemoved: (_g, id, reason) => removed.push(`${id}: ${reason}`) });
    const a = joinNew(g);
    const b = joinNew(g);
    await vi.advanceTimersByTimeAsync(3000);
    const [ra, rb] = await Promise.all([a.result, b.result]);
    const leader = ra.memberId === ra.leader ? ra : rb;
    const quiet = leader === ra ? rb : ra;
    const syncs = [
      g.sync({ memberId: leader.memberId, groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null, assignments: [] }),
      g.sync({ memberId: quiet.memberId, groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null, assignments: [] }),
    ];
    await settle(Promise.all(syncs));
    for (let t = 0; t < 12; t++) {
      await vi.advanceTimersByTimeAsync(1000);
      g.heartbeat(leader.memberId, null, g.generationId);
    }
    expect(removed).toEqual([`${quiet.memberId}: session timeout expired`]);
    expect(g.state).toBe(GroupState.preparingRebalance);
    const rejoin = await g.join(join({ memberId: leader.memberId }));
    expect(rejoin.generationId).toBe(2);
    expect(rejoin.members.map((m) => m.memberId)).toEqual([leader.memberId]);
  });

  it('lets members leave; the last one leaves the group empty', async () => {
    const g = new ConsumerGroup('g', config);
    const a = joinNew(g);
    await vi.advanceTimersByTimeAsync(3000);
    const ra = await a.result;
    expect(g.leave(ra.memberId, null)).toBe(KafkaErrorCode.NONE);
    expect(g.state).toBe(GroupState.empty);
    expect(g.leave(ra.memberId, null)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('lets a static member restart without a rebalance and fences its old incarnation', async () => {
    const g = new ConsumerGroup('g', config);
    const first = g.join(join({ groupInstanceId: 'instance-1' }));
    await vi.advanceTimersByTimeAsync(3000);
    const r1 = await first;
    await settle(
      g.sync({ memberId: r1.memberId, groupInstanceId: 'instance-1', generationId: 1, protocolType: null, protocolName: null, assignments: [{ memberId: r1.memberId, assignment: Buffer.from('all') }] }),
    );
    expect(g.state).toBe(GroupState.stable);
    const restarted = (await g.join(join({ groupInstanceId: 'instance-1' }))) as JoinResult;
    expect(restarted.errorCode).toBe(0);
    expect(restarted.memberId).not.toBe(r1.memberId);
    expect(restarted.generationId).toBe(1);
    expect(g.state).toBe(GroupState.stable);
    const s = (await g.sync({ memberId: restarted.memberId, groupInstanceId: 'instance-1', generationId: 1, protocolType: null, protocolName: null, assignments: [] })) as SyncResult;
    expect(s.assignment.toString()).toBe('all');
    expect(g.heartbeat(restarted.memberId, 'instance-1', 1)).toBe(KafkaErrorCode.NONE);
    expect(g.leave('someone-else', 'instance-1')).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
  });

  it('fences the replaced incarnation of a static member on every request, so that it stops instead of rejoining', async () => {
    const g = new ConsumerGroup('g', config);
    const first = g.join(join({ groupInstanceId: 'instance-1' }));
    await vi.advanceTimersByTimeAsync(3000);
    const old = await first;
    await settle(g.sync({ memberId: old.memberId, groupInstanceId: 'instance-1', generationId: 1, protocolType: null, protocolName: null, assignments: [] }));
    // A second consumer starts with the same group.instance.id while the first still runs.
    const current = (await g.join(join({ groupInstanceId: 'instance-1' }))) as JoinResult;
    expect(current.errorCode).toBe(0);

    // Kafka checks the instance id before the member id: the old one is fenced (fatal), not unknown (rejoin).
    expect(g.heartbeat(old.memberId, 'instance-1', 1)).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    const sync = (await g.sync({ memberId: old.memberId, groupInstanceId: 'instance-1', generationId: 1, protocolType: null, protocolName: null, assignments: [] })) as SyncResult;
    expect(sync.errorCode).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    expect(g.validateMember(old.memberId, 'instance-1')).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    expect((g.join(join({ memberId: old.memberId, groupInstanceId: 'instance-1' })) as JoinResult).errorCode).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    expect(g.leave(old.memberId, 'instance-1')).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    // Without its instance id the old member id is merely unknown; an instance id nobody holds is unknown too.
    expect(g.heartbeat(old.memberId, null, 1)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(g.heartbeat(old.memberId, 'instance-2', 1)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);

    // None of it displaced the current incarnation.
    expect(g.state).toBe(GroupState.stable);
    expect(g.describe().members.map((m) => [m.memberId, m.groupInstanceId])).toEqual([[current.memberId, 'instance-1']]);
    expect(g.heartbeat(current.memberId, 'instance-1', 1)).toBe(KafkaErrorCode.NONE);
  });

  it('answers parked requests when the group shuts down', async () => {
    const g = new ConsumerGroup('g', config);
    const a = joinNew(g);
    g.shutdown();
    expect((await a.result).errorCode).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(g.state).toBe(GroupState.dead);
  });
});
