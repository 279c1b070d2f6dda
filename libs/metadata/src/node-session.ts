// A node's membership in the cluster: register with the controller, heartbeat, register again if fenced, unregister on stop.
import { EventEmitter } from 'node:events';
import type { Bus } from '@sluice/bus';
import { ControllerVerbs, type ControllerHeartbeatRequest, type ControllerRegisterReply, type ControllerRegisterRequest, type Subjects, type ControllerUnregisterRequest } from '@sluice/contracts';

export interface NodeSessionOptions {
  bus: Bus;
  subjects: Subjects;
  registration: ControllerRegisterRequest;
  requestTimeoutMs?: number;
  /** Registration is retried until it succeeds or this passes (the controller may start after us). */
  registerTimeoutMs?: number;
}

export interface NodeSessionEvents {
  registered: [reply: ControllerRegisterReply];
  /** The controller no longer knows this incarnation (it fenced us); a new registration follows. */
  fenced: [];
  error: [err: unknown];
}

export class NodeSession extends EventEmitter<NodeSessionEvents> {
  private registration: ControllerRegisterReply | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastHeartbeatOk = 0;
  /** The last failure reported: the same one again (no controller while they change over) is not repeated. */
  private lastFailure = '';

  constructor(private readonly options: NodeSessionOptions) {
    super();
  }

  get nodeId(): number {
    if (!this.registration) throw new Error('node is not registered');
    return this.registration.nodeId;
  }

  get registered(): ControllerRegisterReply | undefined {
    return this.registration;
  }

  /** True while heartbeats are being accepted within the session timeout. */
  get healthy(): boolean {
    return this.registration !== undefined && Date.now() - this.lastHeartbeatOk < this.registration.sessionTimeoutMs;
  }

  async start(): Promise<ControllerRegisterReply> {
    const deadline = Date.now() + (this.options.registerTimeoutMs ?? 30_000);
    for (;;) {
      try {
        const reply = await this.register();
        this.scheduleHeartbeat();
        return reply;
      } catch (err) {
        if (Date.now() > deadline || this.stopped) throw err;
        this.report(err);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async register(): Promise<ControllerRegisterReply> {
    const res = await this.options.bus.ask(this.options.subjects.at(ControllerVerbs.register), this.options.registration, {
      timeoutMs: this.options.requestTimeoutMs ?? 5000,
    });
    this.registration = res.meta;
    // Keep the id on re-registration so a node does not change identity when it was fenced.
    this.options.registration = { ...this.options.registration, nodeId: res.meta.nodeId };
    this.lastHeartbeatOk = Date.now();
    this.lastFailure = '';
    this.emit('registered', res.meta);
    return res.meta;
  }

  private scheduleHeartbeat(): void {
    if (this.stopped || !this.registration) return;
    this.timer = setTimeout(() => void this.heartbeat(), this.registration.heartbeatIntervalMs);
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    const current = this.registration;
    if (this.stopped || !current) return;
    try {
      const request: ControllerHeartbeatRequest = { nodeId: current.nodeId, incarnation: current.incarnation };
      const res = await this.options.bus.ask(this.options.subjects.at(ControllerVerbs.heartbeat), request, {
        timeoutMs: this.options.requestTimeoutMs ?? 5000,
      });
      if (res.meta.accepted) {
        this.lastHeartbeatOk = Date.now();
        this.lastFailure = '';
      } else {
        this.emit('fenced');
        await this.register();
      }
    } catch (err) {
      this.report(err);
    }
    this.scheduleHeartbeat();
  }

  private report(err: unknown): void {
    const failure = err instanceof Error ? err.message : String(err);
    if (failure === this.lastFailure) return;
    this.lastFailure = failure;
    this.emit('error', err);
  }

  /**
   * Stops heartbeating and tells the controller this node is leaving; resolves with the metadata offset of the change
   * (a broker's leaderships have moved by then), or undefined when the controller could not be told.
   */
  async stop(): Promise<number | undefined> {
    this.stopped = true;
    clearTimeout(this.timer);
    const current = this.registration;
    if (!current) return undefined;
    const request: ControllerUnregisterRequest = { nodeId: current.nodeId, incarnation: current.incarnation };
    try {
      return (await this.options.bus.ask(this.options.subjects.at(ControllerVerbs.unregister), request, { timeoutMs: this.options.requestTimeoutMs ?? 5000 })).meta.metadataOffset;
    } catch (err) {
      this.emit('error', err);
      return undefined;
    }
  }
}
