// One Kafka client connection: splits the byte stream into size-prefixed frames, hands each to the dispatcher, and
// writes the responses back in request order (Kafka clients pipeline and match by order). At most `maxInFlight`
// requests are processed at once; beyond that, and while the socket cannot take more output, the connection stops
// reading, so a fast or stuck client gets TCP backpressure instead of unbounded buffering. A frame larger than the
// limit, or one that cannot be parsed, closes this connection only; so does anything thrown while handling it.
//
// Limits against clients that hold resources without using them: a frame's whole size is reserved from the
// listener's RequestMemory before it is read (so announced-but-unsent frames cannot add up past the budget), a frame
// that has begun must be complete within `requestReadTimeoutMs`, and a connection with nothing in flight and no
// traffic for `idleTimeoutMs` is closed (Kafka's connections.max.idle.ms). Both timeouts are checked by the
// listener's sweep once a second, so the request path sets no timers.
import type { Socket } from 'node:net';
import type { Logger } from '@sluice/runtime';
import type { MemoryWaiter, RequestMemory } from './request-memory.js';
import type { SaslSession } from './sasl.js';

export interface ConnectionInfo {
  readonly id: number;
  readonly remote: string;
  /** SASL state: the mechanism chosen by SaslHandshake, the exchange in progress, and the authenticated user. */
  readonly auth: ConnectionAuth;
}

export interface ConnectionAuth {
  mechanism: string | null;
  session: SaslSession | null;
  principal: string | null;
  /** When the authenticated session expires (connections.max.reauth.ms, KIP-368); null: never. */
  expiresAt: number | null;
}

/** Handles one request frame (without its size prefix); resolves with the response bytes, or null for none (acks=0). */
export type Dispatch = (frame: Buffer, connection: ConnectionInfo) => Promise<Uint8Array[] | null>;

/** Thrown by the dispatcher for a request that must close the connection (malformed, unknown API). */
export class CloseConnection extends Error {}

interface Slot {
  done: boolean;
  response: Uint8Array[] | null;
}

/** A coarse clock the listener advances once a second; connections read it instead of calling Date.now() per frame. */
export interface CoarseClock {
  now: number;
}

export interface ConnectionOptions {
  maxRequestBytes: number;
  /** Largest frame before SASL authentication completes (Kafka's sasl.server.max.receive.size); when SASL is on. */
  maxUnauthenticatedBytes: number;
  saslRequired: boolean;
  maxInFlight: number;
  idleTimeoutMs: number;
  requestReadTimeoutMs: number;
  memory: RequestMemory;
  clock: CoarseClock;
  logger: Logger;
}

const EMPTY = Buffer.alloc(0);
let nextId = 1;

export class KafkaConnection implements ConnectionInfo, MemoryWaiter {
  readonly id = nextId++;
  readonly remote: string;
  readonly auth: ConnectionAuth = { mechanism: null, session: null, principal: null, expiresAt: null };
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the frame being assembled, or -1 before its size prefix is complete. */
  private frameSize = -1;
  /** Bytes reserved for the frame being assembled; -1 while its reservation waits for memory. */
  private reserved = 0;
  private inFlight = 0;
  private readonly slots: Slot[] = [];
  private writeBlocked = false;
  private closed = false;
  private lastActive: number;
  /** When the frame being assembled began (coarse clock), 0 when no frame is partly read. */
  private partialSince = 0;

  constructor(
    private readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly options: ConnectionOptions,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.lastActive = options.clock.now;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.lastActive = this.options.clock.now;
      this.guarded(() => this.readFrames());
    });
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.guarded(() => this.readFrames());
    });
    socket.on('error', (err) => this.options.logger.debug({ err, remote: this.remote }, 'kafka connection error'));
    socket.on('close', () => this.release());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason: string, details: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.options.logger.warn({ remote: this.remote, ...details }, `closing kafka connection: ${reason}`);
    this.dispose();
  }

  /** Closes without a word (idle connections, a listener shutting down). */
  dispose(): void {
    this.release();
    this.socket.destroy();
  }

  /** Called by the listener's sweep: closes the connection if a frame is overdue or it has been idle too long. */
  checkTimeouts(now: number): void {
    if (this.closed) return;
    if (this.partialSince > 0 && now - this.partialSince >= this.options.requestReadTimeoutMs) {
      this.close('request not received in time', { timeoutMs: this.options.requestReadTimeoutMs, bufferedBytes: this.pendingBytes, frameSize: this.frameSize });
    } else if (this.inFlight === 0 && this.partialSince === 0 && this.reserved >= 0 && now - this.lastActive >= this.options.idleTimeoutMs) {
      this.options.logger.debug({ remote: this.remote }, 'closing idle kafka connection');
      this.dispose();
    }
  }

  /** MemoryWaiter: the reservation for the frame being assembled was granted. */
  granted(): void {
    if (this.closed) {
      this.options.memory.release(this.frameSize);
      return;
    }
    this.reserved = this.frameSize;
    this.partialSince = this.options.clock.now;
    this.guarded(() => this.readFrames());
  }

  /** Nothing thrown while handling this connection may leave it: it closes the connection and is logged. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.options.logger.error({ err, remote: this.remote }, 'kafka connection failed');
      this.close('internal error');
    }
  }

  /** Gives back what this connection holds: its buffered bytes and the reservation of a frame not yet dispatched. */
  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.reserved > 0) this.options.memory.release(this.reserved);
    else if (this.reserved < 0) this.options.memory.cancel(this);
    this.reserved = 0;
  }

  private get canRead(): boolean {
    return !this.closed && !this.writeBlocked && this.inFlight < this.options.maxInFlight && this.reserved >= 0;
  }

  private frameLimit(): number {
    return this.options.saslRequired && this.auth.principal === null ? this.options.maxUnauthenticatedBytes : this.options.maxRequestBytes;
  }

  private readFrames(): void {
    while (this.canRead) {
      if (this.frameSize < 0) {
        if (this.pendingBytes < 4) break;
        const size = this.take(4).readInt32BE(0);
        const limit = this.frameLimit();
        if (size < 0 || size > limit) {
          this.close('request too large', { size, limit });
          return;
        }
        this.frameSize = size;
        if (!this.options.memory.reserve(size, this)) {
          this.reserved = -1;
          this.partialSince = 0;
          break;
        }
        this.reserved = size;
      }
      if (this.pendingBytes < this.frameSize) break;
      const frame = this.take(this.frameSize);
      const reserved = this.reserved;
      this.frameSize = -1;
      this.reserved = 0;
      this.partialSince = 0;
      this.start(frame, reserved);
    }
    if (this.closed) return;
    // A frame begun and not complete starts the read timeout (not while it waits for memory: that is not the client's doing).
    if (this.partialSince === 0 && this.reserved >= 0 && (this.frameSize >= 0 || (this.pendingBytes > 0 && this.pendingBytes < 4))) {
      this.partialSince = this.options.clock.now;
    }
    if (this.canRead) this.socket.resume();
    else this.socket.pause();
  }

  /** Removes the first `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.pendingBytes -= n;
    const first = this.pending[0];
    if (first.length === n) return this.pending.shift() as Buffer;
    if (first.length > n) {
      this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.pending[0];
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(part);
    }
    return out;
  }

  private start(frame: Buffer, reserved: number): void {
    const slot: Slot = { done: false, response: null };
    this.slots.push(slot);
    this.inFlight++;
    let work: Promise<Uint8Array[] | null>;
    try {
      work = this.dispatch(frame, this);
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(
      (response) => {
        this.options.memory.release(reserved);
        slot.response = response;
        slot.done = true;
        this.inFlight--;
        this.guarded(() => {
          this.writeResponses();
          this.readFrames();
        });
      },
      (err: unknown) => {
        this.options.memory.release(reserved);
        this.inFlight--;
        if (err instanceof CloseConnection) this.close(err.message);
        else {
          this.options.logger.error({ err, remote: this.remote }, 'kafka request failed');
          this.close('internal error');
        }
      },
    );
  }

  private writeResponses(): void {
    if (this.closed) return;
    this.lastActive = this.options.clock.now;
    this.socket.cork();
    while (this.slots.length > 0 && this.slots[0].done) {
      const { response } = this.slots.shift() as Slot;
      if (!response) continue;
      for (const chunk of response) if (!this.socket.write(chunk)) this.writeBlocked = true;
    }
    this.socket.uncork();
  }
}
