// One consumer group under the classic group protocol (Kafka's GroupCoordinator semantics): join, sync, heartbeat,
// leave, session and rebalance timeouts, generations, static membership. State changes are synchronous; joins and
// syncs that must wait for the rest of the group are parked and answered when the rebalance step completes.
import { randomUUID } from 'node:crypto';
import { KafkaErrorCode, Reader } from '@sluice/protocol';

export const GroupState = {
  empty: 'Empty',
  preparingRebalance: 'PreparingRebalance',
  completingRebalance: 'CompletingRebalance',
  stable: 'Stable',
  dead: 'Dead',
} as const;
export type GroupState = (typeof GroupState)[keyof typeof GroupState];

export interface GroupConfig {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for more members. */
  initialRebalanceDelayMs: number;
  maxSize: number;
}

export const defaultGroupConfig: GroupConfig = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxSize: Number.MAX_SAFE_INTEGER,
};

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinRequest {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED with its id, then joins with it. */
  requireKnownMemberId: boolean;
}

export interface JoinMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Filled for the leader only. */
  members: JoinMember[];
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  protocolType: string;
  protocolName: string;
  generationId: number;
  leader: string | null;
  members: MemberDescription[];
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  assignment: Buffer;
  awaitingJoin: ((result: JoinResult) => void) | undefined;
  awaitingSync: ((result: SyncResult) => void) | undefined;
  heartbeatTimer: NodeJS.Timeout | undefined;
  /** Joined during the current rebalance (new members get a longer first session: Kafka's new-member timeout). */
  isNew: boolean;
}

export interface GroupEvents {
  /** The group's membership or generation changed in a way worth persisting or logging. */
  onTransition?(group: ConsumerGroup, from: GroupState, to: GroupState): void;
  onMemberRemoved?(group: ConsumerGroup, memberId: string, reason: string): void;
}

const EMPTY = Buffer.alloc(0);
/** Kafka keeps a joining new member for 5 minutes at most if it never comes back (new.member.join.timeout). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export class ConsumerGroup {
  state: GroupState = GroupState.empty;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  private readonly members = new Map<string, Member>();
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet. */
  private readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private initialDelayRemainingMs = 0;

  constructor(
    readonly groupId: string,
    private readonly config: GroupConfig = defaultGroupConfig,
    private readonly events: GroupEvents = {},
  ) {}

  get size(): number {
    return this.members.size;
  }

  /**
   * Whether a request comes from a current member. A static member is checked by its instance id first, as Kafka
   * does: an incarnation replaced by a newer one with the same group.instance.id gets FENCED_INSTANCE_ID (fatal for
   * the client, which stops) rather than UNKNOWN_MEMBER_ID (which would make it rejoin and displace the newer one).
   */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return KafkaErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? KafkaErrorCode.NONE : KafkaErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** The member a request comes from, or the error to answer it with (validateMember). */
  private requestingMember(memberId: string, groupInstanceId: string | null): Member | number {
    const error = this.validateMember(memberId, groupInstanceId);
    return error === KafkaErrorCode.NONE ? (this.members.get(memberId) as Member) : error;
  }

  // ---- JoinGroup ---------------------------------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> | JoinResult {
    const fail = (errorCode: number, memberId = req.memberId): JoinResult => ({
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      memberId,
      members: [],
    });
    if (this.state === GroupState.dead) return fail(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return fail(KafkaErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (req.protocolType === '' || req.protocols.length === 0) return fail(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (!this.supportsProtocols(req.protocolType, req.protocols)) return fail(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    if (req.memberId === '') return this.joinUnknownMember(req, fail);
    return this.joinKnownMember(req, fail);
  }

  private joinUnknownMember(req: JoinRequest, fail: (code: number, memberId?: string) => JoinResult): Promise<JoinResult> | JoinResult {
    const newId = `${req.clientId || 'member'}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const previous = this.staticMembers.get(req.groupInstanceId);
      if (previous !== undefined && this.members.has(previous)) return this.replaceStaticMember(req, previous, newId);
      if (this.members.size >= this.config.maxSize) return fail(KafkaErrorCode.GROUP_MAX_SIZE_REACHED, '');
      return this.addMemberAndRebalance(req, newId);
    }
    if (req.requireKnownMemberId) {
      if (this.members.size + this.pendingMembers.size >= this.config.maxSize) return fail(KafkaErrorCode.GROUP_MAX_SIZE_REACHED, '');
      const timer = setTimeout(() => this.pendingMembers.delete(newId), req.sessionTimeoutMs);
      timer.unref();
      this.pendingMembers.set(newId, timer);
      return fail(KafkaErrorCode.MEMBER_ID_REQUIRED, newId);
    }
    if (this.members.size >= this.config.maxSize) return fail(KafkaErrorCode.GROUP_MAX_SIZE_REACHED, '');
    return this.addMemberAndRebalance(req, newId);
  }

  private joinKnownMember(req: JoinRequest, fail: (code: number, memberId?: string) => JoinResult): Promise<JoinResult> | JoinResult {
    const pending = this.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(req, req.memberId);
    }
    const member = this.requestingMember(req.memberId, req.groupInstanceId);
    if (typeof member === 'number') return fail(member);
    switch (this.state) {
      case GroupState.preparingRebalance:
        return this.updateMemberAndRebalance(member, req);
      case GroupState.completingRebalance:
        if (sameProtocols(member.protocols, req.protocols)) {
          // A resent JoinGroup (the response was lost): answer with the current generation.
          this.scheduleHeartbeatExpiry(member);
          return this.joinResultFor(member);
        }
        return this.updateMemberAndRebalance(member, req);
      case GroupState.stable:
        if (member.memberId === this.leaderId || !sameProtocols(member.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(member, req);
        }
        this.scheduleHeartbeatExpiry(member);
        return this.joinResultFor(member);
      default:
        return fail(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private replaceStaticMember(req: JoinRequest, oldId: string, newId: string): Promise<JoinResult> | JoinResult {
    const old = this.members.get(oldId);
    if (!old) return this.addMemberAndRebalance(req, newId);
    // The old incarnation is fenced: its pending join or sync gets FENCED_INSTANCE_ID.
    old.awaitingJoin?.(this.errorJoin(KafkaErrorCode.FENCED_INSTANCE_ID, oldId));
    old.awaitingSync?.({ errorCode: KafkaErrorCode.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    clearTimeout(old.heartbeatTimer);
    this.members.delete(oldId);
    const member: Member = { ...old, memberId: newId, awaitingJoin: undefined, awaitingSync: undefined, heartbeatTimer: undefined };
    this.members.set(newId, member);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    const unchanged = sameProtocols(old.protocols, req.protocols);
    if (this.state === GroupState.stable && unchanged) {
      // A static member restarting within its session timeout: no rebalance, it gets its assignment back on sync.
      this.scheduleHeartbeatExpiry(member);
      return this.joinResultFor(member);
    }
    return this.updateMemberAndRebalance(member, req);
  }

  private addMemberAndRebalance(req: JoinRequest, memberId: string): Promise<JoinResult> {
    const member: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      awaitingJoin: undefined,
      awaitingSync: undefined,
      heartbeatTimer: undefined,
      isNew: true,
    };
    if (this.members.size === 0) this.protocolType = req.protocolType;
    this.members.set(memberId, member);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    if (this.leaderId === null) this.leaderId = memberId;
    const result = this.park(member);
    this.prepareRebalance(`member ${memberId} joined`);
    this.maybeCompleteJoin();
    return result;
  }

  private updateMemberAndRebalance(member: Member, req: JoinRequest): Promise<JoinResult> {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    const result = this.park(member);
    this.prepareRebalance(`member ${member.memberId} rejoined`);
    this.maybeCompleteJoin();
    return result;
  }

  private park(member: Member): Promise<JoinResult> {
    // A second join from the same member replaces the first; the first learns it was superseded.
    member.awaitingJoin?.(this.errorJoin(KafkaErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    return new Promise((resolve) => {
      member.awaitingJoin = resolve;
    });
  }

  private errorJoin(errorCode: number, memberId: string): JoinResult {
    return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
  }

  private joinResultFor(member: Member): JoinResult {
    const isLeader = member.memberId === this.leaderId;
    return {
      errorCode: KafkaErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...this.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  private supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.members.size === 0) return true;
    if (protocolType !== this.protocolType) return false;
    const names = new Set(protocols.map((p) => p.name));
    // Some protocol must be supported by every current member and by the newcomer.
    return [...this.candidateProtocols()].some((name) => names.has(name));
  }

  private candidateProtocols(): Set<string> {
    let common: Set<string> | undefined;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      common = common === undefined ? names : new Set([...common].filter((n) => names.has(n)));
    }
    return common ?? new Set();
  }

  /** Kafka's selection: each member votes for its most preferred common protocol; the most votes win. */
  private selectProtocol(): string | null {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  // ---- Rebalance ---------------------------------------------------------------------------------------------------

  private transition(to: GroupState): void {
    const from = this.state;
    this.state = to;
    if (from !== to) this.events.onTransition?.(this, from, to);
  }

  private prepareRebalance(_reason: string): void {
    if (this.state === GroupState.preparingRebalance) return;
    // Members waiting for their assignment must rejoin.
    if (this.state === GroupState.completingRebalance) {
      for (const m of this.members.values()) {
        m.awaitingSync?.({ errorCode: KafkaErrorCode.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: EMPTY });
        m.awaitingSync = undefined;
      }
    }
    const wasEmpty = this.state === GroupState.empty;
    this.transition(GroupState.preparingRebalance);
    const rebalanceTimeout = Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
    clearTimeout(this.rebalanceTimer);
    if (wasEmpty && this.config.initialRebalanceDelayMs > 0) {
      // The first rebalance of an empty group waits a little so that a group starting together rebalances once.
      this.initialDelayRemainingMs = Math.max(0, rebalanceTimeout - this.config.initialRebalanceDelayMs);
      this.rebalanceTimer = setTimeout(() => this.onInitialDelayExpired(), Math.min(this.config.initialRebalanceDelayMs, rebalanceTimeout));
    } else {
      this.initialDelayRemainingMs = -1;
      this.rebalanceTimer = setTimeout(() => this.onRebalanceTimeout(), rebalanceTimeout);
    }
    this.rebalanceTimer.unref();
  }

  private onInitialDelayExpired(): void {
    this.rebalanceTimer = undefined;
    this.initialDelayRemainingMs = -1;
    this.maybeCompleteJoin();
  }

  private onRebalanceTimeout(): void {
    this.rebalanceTimer = undefined;
    // Members that did not rejoin in time leave the group.
    for (const m of [...this.members.values()]) {
      if (!m.awaitingJoin) this.removeMember(m, 'did not rejoin within the rebalance timeout');
    }
    this.maybeCompleteJoin(true);
  }

  private maybeCompleteJoin(timedOut = false): void {
    if (this.state !== GroupState.preparingRebalance) return;
    if (this.initialDelayRemainingMs >= 0 && !timedOut) return;
    const allJoined = [...this.members.values()].every((m) => m.awaitingJoin !== undefined);
    if (!allJoined && !timedOut) return;
    clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = undefined;
    this.completeJoin();
  }

  private completeJoin(): void {
    this.generationId++;
    if (this.members.size === 0) {
      this.protocolName = null;
      this.leaderId = null;
      this.transition(GroupState.empty);
      return;
    }
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value ?? null;
    this.protocolName = this.selectProtocol();
    this.transition(GroupState.completingRebalance);
    for (const m of this.members.values()) {
      const respond = m.awaitingJoin;
      m.awaitingJoin = undefined;
      m.isNew = false;
      this.scheduleHeartbeatExpiry(m);
      respond?.(this.joinResultFor(m));
    }
  }

  // ---- SyncGroup ---------------------------------------------------------------------------------------------------

  /**
   * The leader's sync carries the assignment; `persist` makes it durable before anyone is answered
   * (Kafka writes the group metadata to its log before completing the sync).
   */
  sync(req: SyncRequest, persist: (group: ConsumerGroup) => Promise<void> = async () => undefined): Promise<SyncResult> | SyncResult {
    const fail = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    if (this.state === GroupState.dead) return fail(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    const member = this.requestingMember(req.memberId, req.groupInstanceId);
    if (typeof member === 'number') return fail(member);
    if (req.generationId !== this.generationId) return fail(KafkaErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== this.protocolType) || (req.protocolName !== null && req.protocolName !== this.protocolName)) {
      return fail(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (this.state) {
      case GroupState.preparingRebalance:
        return fail(KafkaErrorCode.REBALANCE_IN_PROGRESS);
      case GroupState.stable:
        this.scheduleHeartbeatExpiry(member);
        return this.syncResult(member);
      case GroupState.completingRebalance: {
        this.scheduleHeartbeatExpiry(member);
        const result = new Promise<SyncResult>((resolve) => {
          member.awaitingSync?.(fail(KafkaErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
        });
        if (member.memberId === this.leaderId) {
          const generation = this.generationId;
          const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
          persist(this).then(
            () => {
              if (this.state === GroupState.completingRebalance && this.generationId === generation) {
                this.transition(GroupState.stable);
                for (const m of this.members.values()) {
                  m.awaitingSync?.(this.syncResult(m));
                  m.awaitingSync = undefined;
                }
              }
            },
            () => {
              for (const m of this.members.values()) m.assignment = EMPTY;
              for (const m of this.members.values()) {
                m.awaitingSync?.(fail(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE));
                m.awaitingSync = undefined;
              }
              this.prepareRebalance('the assignment could not be stored');
            },
          );
        }
        return result;
      }
      default:
        return fail(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private syncResult(member: Member): SyncResult {
    return { errorCode: KafkaErrorCode.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment: member.assignment };
  }

  // ---- Heartbeat, leave, expiry ------------------------------------------------------------------------------------

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === GroupState.dead) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    const member = this.requestingMember(memberId, groupInstanceId);
    if (typeof member === 'number') return member;
    if (generationId !== this.generationId) return KafkaErrorCode.ILLEGAL_GENERATION;
    this.scheduleHeartbeatExpiry(member);
    return this.state === GroupState.preparingRebalance ? KafkaErrorCode.REBALANCE_IN_PROGRESS : KafkaErrorCode.NONE;
  }

  /** LeaveGroup for one member (v3+ sends several); `memberId` may be empty when `groupInstanceId` names a static member. */
  leave(memberId: string, groupInstanceId: string | null): number {
    if (this.state === GroupState.dead) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    let id = memberId;
    if (groupInstanceId !== null) {
      const known = this.staticMembers.get(groupInstanceId);
      if (known === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && memberId !== known) return KafkaErrorCode.FENCED_INSTANCE_ID;
      id = known;
    }
    const pending = this.pendingMembers.get(id);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingMembers.delete(id);
      return KafkaErrorCode.NONE;
    }
    const member = this.members.get(id);
    if (!member) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndRebalance(member, 'left the group');
    return KafkaErrorCode.NONE;
  }

  private scheduleHeartbeatExpiry(member: Member): void {
    clearTimeout(member.heartbeatTimer);
    const timeout = member.isNew ? Math.max(member.sessionTimeoutMs, NEW_MEMBER_JOIN_TIMEOUT_MS) : member.sessionTimeoutMs;
    member.heartbeatTimer = setTimeout(() => {
      if (this.members.get(member.memberId) !== member) return;
      // A member parked in a join is waiting for others, not gone.
      if (member.awaitingJoin) return;
      this.removeMemberAndRebalance(member, 'session timeout expired');
    }, timeout);
    member.heartbeatTimer.unref();
  }

  private removeMember(member: Member, reason: string): void {
    clearTimeout(member.heartbeatTimer);
    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === member.memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    member.awaitingJoin?.(this.errorJoin(KafkaErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.awaitingSync?.({ errorCode: KafkaErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.events.onMemberRemoved?.(this, member.memberId, reason);
  }

  private removeMemberAndRebalance(member: Member, reason: string): void {
    this.removeMember(member, reason);
    if (this.state === GroupState.preparingRebalance) {
      this.maybeCompleteJoin();
      return;
    }
    if (this.members.size === 0 && this.state !== GroupState.dead) {
      clearTimeout(this.rebalanceTimer);
      this.generationId++;
      this.protocolName = null;
      this.leaderId = null;
      this.transition(GroupState.empty);
      return;
    }
    this.prepareRebalance(reason);
    this.maybeCompleteJoin();
  }

  // ---- Admin -------------------------------------------------------------------------------------------------------

  describe(): GroupDescription {
    return {
      groupId: this.groupId,
      state: this.state,
      protocolType: this.protocolType ?? '',
      protocolName: this.state === GroupState.stable ? (this.protocolName ?? '') : '',
      generationId: this.generationId,
      leader: this.leaderId,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    };
  }

  /**
   * The topics the members subscribe to, from their subscriptions for the group's protocol (consumer protocol
   * groups); null when they cannot be known (another protocol type, or a subscription that does not decode).
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer') return this.members.size === 0 ? new Set() : null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const chosen = m.protocols.find((p) => p.name === this.protocolName) ?? m.protocols[0];
      if (!chosen) continue;
      try {
        // The topics come first in every version of the subscription (after its int16 version).
        const r = new Reader(chosen.metadata);
        r.int16();
        for (const t of r.array(false, () => r.string())) topics.add(t);
      } catch {
        return null;
      }
    }
    return topics;
  }

  /** Marks the group dead (deleted, or its shard moved away): every parked request is answered. */
  shutdown(errorCode: number = KafkaErrorCode.NOT_COORDINATOR): void {
    clearTimeout(this.rebalanceTimer);
    for (const timer of this.pendingMembers.values()) clearTimeout(timer);
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      clearTimeout(m.heartbeatTimer);
      m.awaitingJoin?.(this.errorJoin(errorCode, m.memberId));
      m.awaitingSync?.({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
      m.awaitingJoin = undefined;
      m.awaitingSync = undefined;
    }
    this.transition(GroupState.dead);
  }
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && Buffer.compare(p.metadata, b[i].metadata) === 0);
}
