// The NATS transport: core NATS request/reply and publish/subscribe (no JetStream on the data path).
// Requests share one reply subscription (`<inbox>.*`) and one timer: a request costs a publish and a map entry, with
// no per-request Error objects, timers or subscriptions (nats.js's own request path builds two Errors per call).
import { connect, createInbox, errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { InboundMessage, SubscribeOptions, Transport, TransportSubscription } from './transport.js';
import { busClosed, noResponders, requestTimeout } from './bus-errors.js';

export interface NatsTransportOptions {
  servers: string | string[];
  /** Connection name shown by the server (e.g. "broker-1"). */
  name?: string;
  /** Give up connecting at start after this long (default 10 s); once connected, reconnects forever. */
  connectTimeoutMs?: number;
}

interface PendingRequest {
  subject: string;
  timeoutMs: number;
  expires: number;
  resolve: (data: Uint8Array) => void;
  reject: (err: Error) => void;
}

/** How often pending requests are checked for expiry: a request times out at most this much late. */
const EXPIRY_TICK_MS = 20;

export class NatsTransport implements Transport {
  readonly kind = 'nats' as const;
  private readonly inbox = createInbox();
  private readonly pending = new Map<string, PendingRequest>();
  private replies: Subscription | undefined;
  private nextToken = 0;
  private expiryTimer: NodeJS.Timeout | undefined;

  private constructor(readonly connection: NatsConnection) {
    void connection.closed().then(() => this.failPending(busClosed()));
  }

  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    const nc = await connect({
      servers: options.servers,
      name: options.name,
      timeout: options.connectTimeoutMs ?? 10_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 10_000,
    });
    return new NatsTransport(nc);
  }

  /** The largest payload the server accepts. */
  get maxPayload(): number {
    return this.connection.info?.max_payload ?? 1024 * 1024;
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.connection.isClosed()) return Promise.reject(busClosed());
    this.replies ??= this.connection.subscribe(`${this.inbox}.*`, { callback: (err, msg) => this.onReply(err, msg) });
    const token = (this.nextToken++).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      try {
        this.connection.publish(subject, data, { reply: `${this.inbox}.${token}` });
      } catch (err) {
        reject(translate(err, subject, timeoutMs));
        return;
      }
      this.pending.set(token, { subject, timeoutMs, expires: Date.now() + timeoutMs, resolve, reject });
      this.expiryTimer ??= setInterval(() => this.expire(), EXPIRY_TICK_MS).unref();
    });
  }

  private onReply(err: Error | null, msg: Msg): void {
    if (err) return;
    const token = msg.subject.slice(this.inbox.length + 1);
    const request = this.pending.get(token);
    if (!request) return;
    this.pending.delete(token);
    // The server answers 503 on the reply subject when nobody subscribes to the request's subject.
    if (msg.data.length === 0 && msg.headers?.code === 503) request.reject(noResponders(request.subject));
    else request.resolve(msg.data);
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, request] of this.pending) {
      if (request.expires > now) continue;
      this.pending.delete(token);
      request.reject(requestTimeout(request.subject, request.timeoutMs));
    }
    if (this.pending.size === 0) {
      clearInterval(this.expiryTimer);
      this.expiryTimer = undefined;
    }
  }

  private failPending(err: Error): void {
    for (const request of this.pending.values()) request.reject(err);
    this.pending.clear();
    clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  publish(subject: string, data: Uint8Array): void {
    try {
      this.connection.publish(subject, data);
    } catch (err) {
      throw translate(err, subject, 0);
    }
  }

  subscribe(subject: string, handler: (message: InboundMessage) => void, options: SubscribeOptions = {}): TransportSubscription {
    const sub = this.connection.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) return;
        handler({
          subject: msg.subject,
          data: msg.data,
          expectsReply: msg.reply !== undefined && msg.reply !== '',
          respond: (reply) => msg.respond(reply),
        });
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  flush(): Promise<void> {
    return this.connection.flush();
  }

  async close(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch(() => this.connection.close());
    this.failPending(busClosed());
  }
}

function translate(err: unknown, subject: string, timeoutMs: number): Error {
  if (err instanceof errors.RequestError && err.isNoResponders()) return noResponders(subject, err);
  if (err instanceof errors.NoRespondersError) return noResponders(subject, err);
  if (err instanceof errors.TimeoutError || (err instanceof errors.RequestError && err.cause instanceof errors.TimeoutError)) {
    return requestTimeout(subject, timeoutMs, err);
  }
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) return busClosed(err);
  return err instanceof Error ? err : new Error(String(err));
}
