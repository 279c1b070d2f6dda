// The NATS transport: core NATS request/reply and publish/subscribe (no JetStream on the data path).
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import type { InboundMessage, SubscribeOptions, Transport, TransportSubscription } from './transport.js';
import { busClosed, noResponders, requestTimeout } from './bus-errors.js';

export interface NatsTransportOptions {
  servers: string | string[];
  /** Connection name shown by the server (e.g. "broker-1"). */
  name?: string;
  /** Give up connecting at start after this long (default 10 s); once connected, reconnects forever. */
  connectTimeoutMs?: number;
}

export class NatsTransport implements Transport {
  readonly kind = 'nats' as const;

  private constructor(readonly connection: NatsConnection) {}

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

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      const reply = await this.connection.request(subject, data, { timeout: timeoutMs });
      return reply.data;
    } catch (err) {
      throw translate(err, subject, timeoutMs);
    }
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
