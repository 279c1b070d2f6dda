// A transport inside one process that behaves like NATS where it matters: bytes are copied,
// delivery is asynchronous, queue groups get one delivery each, and requests fail with no responders or a timeout.
import type { InboundMessage, SubscribeOptions, Transport, TransportSubscription } from './transport.js';
import { busClosed, noResponders, requestTimeout } from './bus-errors.js';
import { isWildcard, subjectMatches } from './subject-matcher.js';

interface Sub {
  subject: string;
  queue: string | undefined;
  handler: (message: InboundMessage) => void;
  active: boolean;
}

type ReplyTo = (data: Uint8Array) => boolean;

export class InProcessTransport implements Transport {
  readonly kind = 'in-process' as const;
  private readonly exact = new Map<string, Sub[]>();
  private readonly wildcards: Sub[] = [];
  private readonly queueCursor = new Map<string, number>();
  private closed = false;
  private pending = 0;
  /** Requests waiting for a reply, failed with BUS_CLOSED when the transport closes. */
  private readonly waiting = new Set<(err: Error) => void>();
  private readonly idleWaiters: Array<() => void> = [];

  publish(subject: string, data: Uint8Array): void {
    if (this.closed) throw busClosed();
    this.deliver(subject, data.slice(), undefined);
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(busClosed());
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const fail = (err: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiting.delete(fail);
        reject(err);
      };
      const timer = setTimeout(() => fail(requestTimeout(subject, timeoutMs)), timeoutMs);
      this.waiting.add(fail);
      const replyTo: ReplyTo = (reply) => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        this.waiting.delete(fail);
        const copy = reply.slice();
        // Replies arrive asynchronously, as they would from a server.
        setImmediate(() => resolve(copy));
        return true;
      };
      const delivered = this.deliver(subject, data.slice(), replyTo);
      if (delivered === 0) {
        done = true;
        clearTimeout(timer);
        this.waiting.delete(fail);
        setImmediate(() => reject(noResponders(subject)));
      }
    });
  }

  subscribe(subject: string, handler: (message: InboundMessage) => void, options: SubscribeOptions = {}): TransportSubscription {
    if (this.closed) throw busClosed();
    const sub: Sub = { subject, queue: options.queue, handler, active: true };
    if (isWildcard(subject)) this.wildcards.push(sub);
    else {
      const list = this.exact.get(subject);
      if (list) list.push(sub);
      else this.exact.set(subject, [sub]);
    }
    return {
      unsubscribe: () => {
        if (!sub.active) return;
        sub.active = false;
        if (isWildcard(subject)) this.wildcards.splice(this.wildcards.indexOf(sub), 1);
        else {
          const list = this.exact.get(subject) ?? [];
          list.splice(list.indexOf(sub), 1);
          if (list.length === 0) this.exact.delete(subject);
        }
      },
    };
  }

  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const fail of [...this.waiting]) fail(busClosed());
    this.exact.clear();
    this.wildcards.length = 0;
  }

  /** Delivers to every plain subscriber and to one member of each queue group; returns how many got it. */
  private deliver(subject: string, data: Uint8Array, replyTo: ReplyTo | undefined): number {
    const plain: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    const consider = (sub: Sub): void => {
      if (sub.queue === undefined) plain.push(sub);
      else {
        const key = `${sub.subject}\u0000${sub.queue}`;
        const g = groups.get(key);
        if (g) g.push(sub);
        else groups.set(key, [sub]);
      }
    };
    for (const sub of this.exact.get(subject) ?? []) consider(sub);
    for (const sub of this.wildcards) if (subjectMatches(sub.subject, subject)) consider(sub);
    const targets = plain;
    for (const [key, members] of groups) {
      const next = (this.queueCursor.get(key) ?? 0) % members.length;
      this.queueCursor.set(key, next + 1);
      targets.push(members[next]);
    }
    for (const sub of targets) {
      this.pending++;
      const message: InboundMessage = {
        subject,
        data,
        expectsReply: replyTo !== undefined,
        respond: (reply) => (replyTo ? replyTo(reply) : false),
      };
      setImmediate(() => {
        this.pending--;
        if (sub.active) sub.handler(message);
        if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
    return targets.length;
  }
}
