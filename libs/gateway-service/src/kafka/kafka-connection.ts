// One Kafka client connection: splits the byte stream into size-prefixed frames, hands each to the dispatcher, and
// writes the responses back in request order (Kafka clients pipeline and match by order). At most `maxInFlight`
// requests are processed at once; beyond that, and while the socket cannot take more output, the connection stops
// reading, so a fast or stuck client gets TCP backpressure instead of unbounded buffering. A frame larger than the
// limit, or one that cannot be parsed, closes this connection only.
import type { Socket } from 'node:net';
import type { Logger } from '@sluice/runtime';
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
}

/** Handles one request frame (without its size prefix); resolves with the response bytes, or null for none (acks=0). */
export type Dispatch = (frame: Buffer, connection: ConnectionInfo) => Promise<Uint8Array[] | null>;

/** Thrown by the dispatcher for a request that must close the connection (malformed, unknown API). */
export class CloseConnection extends Error {}

interface Slot {
  done: boolean;
  response: Uint8Array[] | null;
}

export interface ConnectionOptions {
  maxRequestBytes: number;
  maxInFlight: number;
  logger: Logger;
}

let nextId = 1;

export class KafkaConnection implements ConnectionInfo {
  readonly id = nextId++;
  readonly remote: string;
  readonly auth: ConnectionAuth = { mechanism: null, session: null, principal: null };
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the frame being assembled, or -1 before its size prefix is complete. */
  private frameSize = -1;
  private inFlight = 0;
  private readonly slots: Slot[] = [];
  private writeBlocked = false;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly options: ConnectionOptions,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.readFrames();
    });
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.readFrames();
    });
    socket.on('error', (err) => this.options.logger.debug({ err, remote: this.remote }, 'kafka connection error'));
    socket.on('close', () => (this.closed = true));
  }

  close(reason: string, details: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.options.logger.warn({ remote: this.remote, ...details }, `closing kafka connection: ${reason}`);
    this.socket.destroy();
  }

  private get canRead(): boolean {
    return !this.closed && !this.writeBlocked && this.inFlight < this.options.maxInFlight;
  }

  private readFrames(): void {
    while (this.canRead) {
      if (this.frameSize < 0) {
        if (this.pendingBytes < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < 0 || size > this.options.maxRequestBytes) {
          this.close('request too large', { size, limit: this.options.maxRequestBytes });
          return;
        }
        this.frameSize = size;
      }
      if (this.pendingBytes < this.frameSize) break;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      this.start(frame);
    }
    if (this.canRead) this.socket.resume();
    else if (!this.closed) this.socket.pause();
  }

  /** Removes the first `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
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

  private start(frame: Buffer): void {
    const slot: Slot = { done: false, response: null };
    this.slots.push(slot);
    this.inFlight++;
    this.dispatch(frame, this).then(
      (response) => {
        slot.response = response;
        slot.done = true;
        this.inFlight--;
        this.writeResponses();
        this.readFrames();
      },
      (err: unknown) => {
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
    this.socket.cork();
    while (this.slots.length > 0 && this.slots[0].done) {
      const { response } = this.slots.shift() as Slot;
      if (!response) continue;
      for (const chunk of response) if (!this.socket.write(chunk)) this.writeBlocked = true;
    }
    this.socket.uncork();
  }
}
