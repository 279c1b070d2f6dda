// The controllers' quorum, kept in the metadata database: exactly one controller instance holds the lease and the
// controller epoch that goes with it; the others stand by and take over when it expires by the database's clock.
// The holder renews it every third of the lease time and counts itself active only while the lease it last renewed
// is surely still its own, measured on its own monotonic clock from before the renewal was sent.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Histogram, Logger } from '@sluice/runtime';
import type { MetadataStore, WonLease } from './metadata-store.js';

export interface LeaseOptions {
  leaseMs: number;
  /** Take the lease at once whatever its expiry: nobody else can run (SQLite's data-directory lock is held). */
  sole: boolean;
  adminPort: number;
  logger: Logger;
  renewals: Histogram;
}

export interface LeaseEvents {
  /** This instance holds the lease for `lease.controllerEpoch`. */
  elected: [lease: WonLease];
  /** It no longer does (another controller took over, or the lease could not be renewed in time). */
  lost: [epoch: number, reason: string];
}

/** Share of the lease time this instance relies on after a renewal: the rest absorbs clock-rate differences. */
const TRUSTED_SHARE = 0.9;

export class ControllerLease extends EventEmitter<LeaseEvents> {
  readonly instance: { id: string; host: string; pid: number; adminPort: number; startedAt: number };
  /** The epoch held, 0 while standing by. */
  private epoch = 0;
  /** performance.now() until which the lease is surely ours. */
  private trustedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastDatabaseError = '';

  constructor(
    private readonly store: MetadataStore,
    private readonly options: LeaseOptions,
  ) {
    super();
    const host = hostname();
    this.instance = { id: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`, host, pid: process.pid, adminPort: options.adminPort, startedAt: Date.now() };
  }

  /** True while this instance holds the lease and may act on it (a sole controller holds it for good). */
  get active(): boolean {
    return this.epoch > 0 && (this.options.sole || performance.now() < this.trustedUntil);
  }

  get heldEpoch(): number {
    return this.epoch;
  }

  /** Tries once for the lease (so a sole controller is active when this resolves), then keeps trying or renewing. */
  async start(): Promise<void> {
    await this.tick();
    // A sole controller holds the lease for good: nothing to renew, and its database is left alone while idle.
    if (this.options.sole && this.epoch > 0) return;
    this.schedule();
  }

  private get interval(): number {
    return this.epoch > 0 ? Math.max(10, Math.floor(this.options.leaseMs / 3)) : Math.max(10, Math.min(1000, Math.floor(this.options.leaseMs / 5)));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule());
    }, this.interval);
  }

  /** One look: renew the lease held, or try to take it; and refresh this instance's row. */
  private async tick(): Promise<void> {
    const sentAt = performance.now();
    try {
      if (this.epoch > 0) await this.renew(sentAt);
      else await this.campaign(sentAt);
      await this.store.touchInstance(this.instance, Math.max(60_000, 10 * this.options.leaseMs));
      this.lastDatabaseError = '';
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A database that stays down is logged once, not at every look.
      if (message !== this.lastDatabaseError) this.options.logger.warn({ err: message }, 'controller lease: database unavailable');
      this.lastDatabaseError = message;
      if (this.epoch > 0 && !this.active) this.lose('the lease could not be renewed within the lease time');
    }
  }

  private async campaign(sentAt: number): Promise<void> {
    const won = await this.store.acquireLease(this.instance.id, this.options.leaseMs, this.options.sole);
    if (!won || this.stopped) return;
    this.epoch = won.controllerEpoch;
    this.trustedUntil = sentAt + this.options.leaseMs * TRUSTED_SHARE;
    this.emit('elected', won);
  }

  private async renew(sentAt: number): Promise<void> {
    const epoch = this.epoch;
    const renewed = await this.store.renewLease(epoch, this.options.leaseMs);
    this.options.renewals.observe((performance.now() - sentAt) / 1000);
    if (epoch !== this.epoch) return;
    if (renewed) this.trustedUntil = sentAt + this.options.leaseMs * TRUSTED_SHARE;
    else this.lose('another controller took over');
  }

  /** Gives up the epoch held (called also when a write of ours was fenced). */
  lose(reason: string): void {
    const epoch = this.epoch;
    if (epoch === 0) return;
    this.epoch = 0;
    this.trustedUntil = 0;
    this.emit('lost', epoch, reason);
  }

  /** Stops looking; a holder ends its lease so a standby takes over at once, and its row is removed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    const epoch = this.epoch;
    this.epoch = 0;
    if (epoch > 0) await this.store.resignLease(epoch).catch(() => undefined);
    await this.store.forgetInstance(this.instance.id).catch(() => undefined);
  }
}
