// The actor runtime: ask (request with a mandatory timeout), tell, serve (an actor with a mailbox), publish/subscribe.
// Every call names a typed address made from a verb defined once (see verb.ts), so a sender and its server cannot
// disagree on the subject or on the request and reply types.
import { SluiceError } from '@sluice/protocol';
import type { Transport, TransportSubscription, InboundMessage } from './transport.js';
import { BusErrorCode } from './bus-errors.js';
import { decodeEnvelope, encodeEnvelope, encodeError, type Body, type Envelope } from './envelope.js';
import type { Address, EventStream } from './verb.js';

export interface AskOptions {
  /** Mandatory: there is no request without a deadline. */
  timeoutMs: number;
  body?: Body;
}

export interface ServeOptions {
  /** Queue group, so that only one of several servers answers each request (e.g. the group coordinators). */
  queue?: string;
  /** Requests waiting beyond this are refused with BUS_MAILBOX_FULL (retriable). Default 10,000. */
  mailboxSize?: number;
  /**
   * 'mailbox' (default): one message at a time, in arrival order; the next starts when the handler's promise settles.
   * 'concurrent': handlers may overlap (reads that need no ordering, e.g. fetch long polls), up to `maxInFlight`.
   */
  mode?: 'mailbox' | 'concurrent';
  /**
   * With mode 'concurrent': at most this many handlers run at once; later messages wait in the mailbox, in arrival
   * order (and beyond `mailboxSize` are refused). Unbounded by default.
   */
  maxInFlight?: number;
}

/** What a handler answers: metadata and an optional body (one buffer, or several sent back to back). */
export interface Reply<M> {
  meta: M;
  body?: Body;
}

export type Handler<Req, Res> = (request: Envelope<Req>, subject: string) => Reply<Res> | Promise<Reply<Res>>;

export interface Actor {
  readonly subject: string;
  readonly mailboxDepth: number;
  /** Stops taking messages and waits for the ones already accepted. */
  stop(): Promise<void>;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface BusOptions {
  /** Called for failures that have nobody to report to (a failed tell, a broken subscriber). */
  onError?: (err: unknown, subject: string) => void;
}

/**
 * Thrown by a handler that must not answer at all, so that another server's answer is the one the asker gets (a
 * controller that lost its lease stays silent while the active one answers).
 */
export class LeaveUnanswered extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LeaveUnanswered';
  }
}

/** `reply(meta, body)`: the envelope a handler returns. */
export function reply<M>(meta: M, body?: Body): Reply<M> {
  return body === undefined ? { meta } : { meta, body };
}

/** The longest delay a Node timer takes (about 24.8 days); longer ones fire at once, with a TimeoutOverflowWarning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Bus {
  private readonly onError: (err: unknown, subject: string) => void;

  constructor(
    readonly transport: Transport,
    options: BusOptions = {},
  ) {
    this.onError = options.onError ?? (() => undefined);
  }

  async ask<Req, Res>(to: Address<Req, Res>, meta: NoInfer<Req>, options: AskOptions): Promise<Envelope<Res>> {
    if (!(options.timeoutMs > 0)) throw new SluiceError('BUS_BAD_TIMEOUT', `ask to ${to.subject} needs a positive timeout`);
    // Timeouts often derive from what a client asked for (a JoinGroup's rebalance timeout plus a margin): beyond a
    // Node timer's range (2^31 − 1 ms) setTimeout fires after 1 ms, so longer ones wait that long instead.
    const timeoutMs = Math.min(options.timeoutMs, MAX_TIMER_MS);
    const data = await this.transport.request(to.subject, encodeEnvelope(meta, options.body), timeoutMs);
    return decodeEnvelope<Res>(data);
  }

  /** Fire-and-forget message to an actor (no reply, no delivery guarantee). */
  tell<Req>(to: Address<Req, unknown>, meta: NoInfer<Req>, body?: Body): void {
    this.transport.publish(to.subject, encodeEnvelope(meta, body));
  }

  /** An event for every subscriber. */
  publish<M>(stream: EventStream<M>, meta: NoInfer<M>, body?: Uint8Array): void {
    this.transport.publish(stream.subject, encodeEnvelope(meta, body));
  }

  subscribe<M>(stream: EventStream<M>, handler: (event: Envelope<M>, subject: string) => void, options: { queue?: string } = {}): Subscription {
    return this.transport.subscribe(
      stream.subject,
      (message) => {
        let event: Envelope<M>;
        try {
          event = decodeEnvelope<M>(message.data);
        } catch (err) {
          this.onError(err, message.subject);
          return;
        }
        try {
          handler(event, message.subject);
        } catch (err) {
          this.onError(err, message.subject);
        }
      },
      options,
    );
  }

  serve<Req, Res>(at: Address<Req, Res>, handler: Handler<NoInfer<Req>, NoInfer<Res>>, options: ServeOptions = {}): Actor {
    return new ServedActor<Req, Res>(this.transport, at.subject, handler, options, this.onError);
  }

  flush(): Promise<void> {
    return this.transport.flush();
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

class ServedActor<Req, Res> implements Actor {
  private readonly queue: InboundMessage[] = [];
  private head = 0;
  private running = 0;
  private runners = 0;
  private stopped = false;
  private readonly subscription: TransportSubscription;
  private readonly mailboxSize: number;
  /** Handlers that may run at once: 1 for a mailbox, maxInFlight (or unbounded) when concurrent. */
  private readonly maxRunning: number;
  private idle: (() => void) | undefined;

  constructor(
    transport: Transport,
    readonly subject: string,
    private readonly handler: Handler<Req, Res>,
    options: ServeOptions,
    private readonly onError: (err: unknown, subject: string) => void,
  ) {
    this.mailboxSize = options.mailboxSize ?? 10_000;
    this.maxRunning = options.mode === 'concurrent' ? (options.maxInFlight ?? Number.POSITIVE_INFINITY) : 1;
    this.subscription = transport.subscribe(subject, (m) => this.accept(m), { queue: options.queue });
  }

  get mailboxDepth(): number {
    return this.queue.length - this.head + this.running;
  }

  private accept(message: InboundMessage): void {
    if (this.stopped) return;
    if (this.queue.length - this.head >= this.mailboxSize) {
      const err = new SluiceError(BusErrorCode.mailboxFull, `mailbox of ${this.subject} is full`, { retriable: true });
      if (message.expectsReply) message.respond(encodeError(err));
      else this.onError(err, message.subject);
      return;
    }
    this.queue.push(message);
    if (this.runners < this.maxRunning) void this.runner();
  }

  /** Takes waiting messages in arrival order, one at a time, until none is left; at most `maxRunning` run at once. */
  private async runner(): Promise<void> {
    this.runners++;
    while (this.head < this.queue.length) {
      const message = this.queue[this.head++];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      await this.handle(message);
    }
    this.queue.length = 0;
    this.head = 0;
    this.runners--;
    if (this.runners === 0) this.idle?.();
  }

  private async handle(message: InboundMessage): Promise<void> {
    this.running++;
    try {
      const request = decodeEnvelope<Req>(message.data);
      const result = await this.handler(request, message.subject);
      if (message.expectsReply) message.respond(encodeEnvelope(result.meta, result.body));
    } catch (err) {
      if (err instanceof LeaveUnanswered) return;
      if (message.expectsReply) message.respond(encodeError(err));
      else this.onError(err, message.subject);
    } finally {
      this.running--;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription.unsubscribe();
    if (this.mailboxDepth === 0) return;
    await new Promise<void>((resolve) => {
      this.idle = resolve;
    });
  }
}
