// A service's copy of the cluster metadata: a snapshot at start, then the controller's deltas in offset order;
// a gap (a missed delta) or a new controller epoch reloads the snapshot.
import { EventEmitter } from 'node:events';
import type { Bus, Subscription } from '@sluice/bus';
import type { MetadataImage, MetadataRecord, Subjects } from '@sluice/contracts';
import { applyDelta, emptyImage, MetadataView } from './metadata-image.js';
import { fetchSnapshot } from './metadata-snapshot.js';

export interface MetadataClientOptions {
  bus: Bus;
  subjects: Subjects;
  /** Timeout for the snapshot request. */
  requestTimeoutMs?: number;
  /** start() keeps asking for the snapshot this long (the controller may start after us). Default 30 s. */
  startTimeoutMs?: number;
  /** Called with failures that do not stop the client (a snapshot that could not be loaded and will be retried). */
  onError?: (err: unknown) => void;
}

export interface MetadataClientEvents {
  /** After each change of the image (one delta, or a whole snapshot). */
  change: [image: MetadataImage, record: MetadataRecord | undefined];
}

export class MetadataClient extends EventEmitter<MetadataClientEvents> {
  readonly view: MetadataView;
  private image: MetadataImage;
  private subscription: Subscription | undefined;
  private loading: Promise<void> | undefined;
  private buffered: MetadataRecord[] = [];
  private readonly offsetWaiters = new Set<{ offset: number; resolve: () => void }>();
  private changeWaiters: Array<() => void> = [];
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MetadataClientOptions) {
    super();
    this.image = emptyImage(options.subjects.clusterId);
    this.view = new MetadataView(() => this.image);
  }

  get current(): MetadataImage {
    return this.image;
  }

  get offset(): number {
    return this.image.offset;
  }

  /** Subscribes to deltas, then loads the snapshot (deltas arriving meanwhile are buffered and replayed). */
  async start(): Promise<void> {
    this.subscription = this.options.bus.subscribe(this.options.subjects.metadataEvents(), (event) => this.onRecord(event.meta));
    await this.options.bus.flush();
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 30_000);
    for (;;) {
      try {
        await this.reload();
        return;
      } catch (err) {
        if (this.closed || Date.now() > deadline) throw err;
        this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Loads the whole image now. */
  reload(): Promise<void> {
    this.loading ??= this.loadSnapshot().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async loadSnapshot(): Promise<void> {
    const snapshot = await fetchSnapshot(this.options.bus, this.options.subjects, this.options.requestTimeoutMs ?? 5000);
    if (snapshot.offset >= this.image.offset || snapshot.controllerEpoch > this.image.controllerEpoch) this.image = snapshot;
    const pending = this.buffered;
    this.buffered = [];
    this.emit('change', this.image, undefined);
    this.wakeChangeWaiters();
    for (const record of pending) this.onRecord(record);
    this.notifyWaiters();
  }

  private onRecord(record: MetadataRecord): void {
    if (this.loading) {
      this.buffered.push(record);
      return;
    }
    // A controller that lost its lease may still publish what it wrote before losing it: the new controller's image
    // already has that, so anything from an older epoch is ignored.
    if (record.controllerEpoch < this.image.controllerEpoch) return;
    const newEpoch = record.controllerEpoch > this.image.controllerEpoch && this.image.controllerEpoch !== 0;
    if (record.offset <= this.image.offset && !newEpoch) return;
    if (record.offset !== this.image.offset + 1 || newEpoch) {
      this.buffered.push(record);
      this.scheduleReload();
      return;
    }
    applyDelta(this.image, record.delta);
    this.image.offset = record.offset;
    this.image.controllerEpoch = record.controllerEpoch;
    this.emit('change', this.image, record);
    this.wakeChangeWaiters();
    this.notifyWaiters();
  }

  /**
   * Resolves at the next change of the image, or after `ms`. Many requests may wait at once (every request for a
   * partition without a leader): they share one list instead of adding an event listener each.
   */
  nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.changeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wakeChangeWaiters(): void {
    if (this.changeWaiters.length === 0) return;
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    for (const wake of waiters) wake();
  }

  private scheduleReload(): void {
    if (this.closed) return;
    this.reload().catch((err: unknown) => {
      this.options.onError?.(err);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.scheduleReload(), 500);
    });
  }

  /** Resolves once the image has reached `offset` (e.g. the offset a controller reply named); reloads if it lags. */
  async waitForOffset(offset: number, timeoutMs = 5000): Promise<void> {
    if (this.image.offset >= offset) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = { offset, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.offsetWaiters.delete(waiter);
        reject(new Error(`metadata did not reach offset ${offset} within ${timeoutMs} ms (at ${this.image.offset})`));
      }, timeoutMs);
      this.offsetWaiters.add(waiter);
      // A delta published before we subscribed is never redelivered: fall back to the snapshot after a short wait.
      setTimeout(() => {
        if (this.offsetWaiters.has(waiter)) this.scheduleReload();
      }, 200).unref();
    });
  }

  private notifyWaiters(): void {
    for (const w of this.offsetWaiters) {
      if (this.image.offset >= w.offset) {
        this.offsetWaiters.delete(w);
        w.resolve();
      }
    }
  }

  close(): void {
    this.closed = true;
    this.wakeChangeWaiters();
    clearTimeout(this.retryTimer);
    this.subscription?.unsubscribe();
  }
}
