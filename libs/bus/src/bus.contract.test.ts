// One contract for both transports: the in-process bus must behave like NATS where it matters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError, kafkaError } from '@sluice/protocol';
import { startNatsServer, type NatsServer } from '@sluice/testing';
import { Bus, reply } from './bus.js';
import { address, eventStream, type Address } from './verb.js';
import { BusErrorCode } from './bus-errors.js';
import { InProcessTransport } from './in-process-transport.js';
import { NatsTransport } from './nats-transport.js';
import type { Transport } from './transport.js';

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});

const transports: Array<[string, () => Promise<Transport>]> = [
  ['in-process', async () => new InProcessTransport()],
  ['nats', async () => NatsTransport.connect({ servers: nats.url, name: 'contract-test' })],
];

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe.each(transports)('bus over %s', (_name, makeTransport) => {
  let bus: Bus;
  let n = 0;
  const subject = <Req = unknown, Res = unknown>(s: string): Address<Req, Res> => address<Req, Res>(`test.${++n}.${s}`);

  beforeAll(async () => {
    bus = new Bus(await makeTransport());
  });
  afterAll(async () => {
    await bus.close();
  });

  it('asks and gets the reply with metadata and a binary body intact', async () => {
    const s = subject<{ n: number }, { doubled: number }>('echo');
    const actor = bus.serve(s, (req) => reply({ doubled: req.meta.n * 2 }, req.body));
    await bus.flush();
    const body = Buffer.from([0, 1, 2, 255, 254]);
    const res = await bus.ask(s, { n: 21 }, { timeoutMs: 2000, body });
    expect(res.meta.doubled).toBe(42);
    expect(Buffer.compare(res.body!, body)).toBe(0);
    await actor.stop();
  });

  it('fails fast with no responders when nobody serves the subject', async () => {
    const started = Date.now();
    const err = await bus.ask(subject('nobody'), {}, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe(BusErrorCode.noResponders);
    expect((err as SluiceError).retriable).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('times out when the actor does not answer in time', async () => {
    const s = subject('slow');
    const gate = deferred();
    const actor = bus.serve(s, async () => {
      await gate.promise;
      return reply({});
    });
    await bus.flush();
    const err = await bus.ask(s, {}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as SluiceError).code).toBe(BusErrorCode.timeout);
    gate.resolve();
    await actor.stop();
  });

  it('waits for a reply when the timeout is beyond a Node timer\'s range (found by apps/fuzz)', async () => {
    // A JoinGroup with rebalanceTimeoutMs 2^31 − 1 made the gateway ask with that plus a margin: the in-process timer
    // overflowed, fired after 1 ms and the join failed at once with a timeout.
    const s = subject('patient');
    const actor = bus.serve(s, async () => {
      await new Promise((r) => setTimeout(r, 50));
      return reply({ ok: true });
    });
    await bus.flush();
    const res = await bus.ask(s, {}, { timeoutMs: 2 ** 31 - 1 + 10_000 });
    expect(res.meta).toEqual({ ok: true });
    await actor.stop();
  });

  it('routes each of many concurrent replies, answered out of order, to its own request', async () => {
    const s = subject<{ i: number }, { i: number }>('shuffle');
    const actor = bus.serve(
      s,
      async (req) => {
        await new Promise((r) => setTimeout(r, (req.meta.i * 7919) % 23));
        return reply({ i: req.meta.i }, Buffer.from(String(req.meta.i)));
      },
      { mode: 'concurrent' },
    );
    await bus.flush();
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => bus.ask(s, { i }, { timeoutMs: 5000 })));
    replies.forEach((r, i) => {
      expect(r.meta.i).toBe(i);
      expect(r.body?.toString()).toBe(String(i));
    });
    await actor.stop();
  });

  it('fails the requests in flight when the connection closes', async () => {
    const other = new Bus(await makeTransport());
    const s = subject('never');
    const gate = deferred();
    const actor = other.serve(s, async () => {
      await gate.promise;
      return reply({});
    });
    await other.flush();
    const asked = other.ask(s, {}, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await other.close();
    const err = await asked;
    expect((err as SluiceError).code).toBe(BusErrorCode.closed);
    expect(Date.now() - started).toBeLessThan(5000);
    gate.resolve();
    await actor.stop();
  });

  it('carries typed errors across as codes', async () => {
    const s = subject('fail');
    const actor = bus.serve(s, () => {
      throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', 'no such topic');
    });
    await bus.flush();
    const err = (await bus.ask(s, {}, { timeoutMs: 2000 }).catch((e: unknown) => e)) as SluiceError;
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(err.kafkaCode).toBe(3);
    expect(err.message).toBe('no such topic');
    await actor.stop();
  });

  it('runs a mailbox actor one message at a time, in arrival order', async () => {
    const s = subject<{ i: number }, { i: number }>('mailbox');
    const seen: number[] = [];
    let inside = 0;
    let maxInside = 0;
    const actor = bus.serve(s, async (req) => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, req.meta.i % 3));
      seen.push(req.meta.i);
      inside--;
      return reply({ i: req.meta.i });
    });
    await bus.flush();
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => bus.ask(s, { i }, { timeoutMs: 5000 })));
    expect(replies.map((r) => r.meta.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(maxInside).toBe(1);
    await actor.stop();
  });

  it('lets a concurrent actor overlap handlers', async () => {
    const s = subject('concurrent');
    let inside = 0;
    let maxInside = 0;
    const actor = bus.serve(
      s,
      async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 20));
        inside--;
        return reply({});
      },
      { mode: 'concurrent' },
    );
    await bus.flush();
    await Promise.all(Array.from({ length: 5 }, () => bus.ask(s, {}, { timeoutMs: 5000 })));
    expect(maxInside).toBeGreaterThan(1);
    await actor.stop();
  });

  it('bounds a concurrent actor at maxInFlight handlers, starting waiting messages in arrival order', async () => {
    const s = subject<{ i: number }, { i: number }>('in-flight');
    let inside = 0;
    let maxInside = 0;
    const started: number[] = [];
    const actor = bus.serve(
      s,
      async (req) => {
        started.push(req.meta.i);
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5 + ((req.meta.i * 7) % 11)));
        inside--;
        return reply({ i: req.meta.i });
      },
      { mode: 'concurrent', maxInFlight: 3 },
    );
    await bus.flush();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => bus.ask(s, { i }, { timeoutMs: 5000 })));
    expect(replies.map((r) => r.meta.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(maxInside).toBe(3);
    expect(started).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await actor.stop();
  });

  it('delivers tell to the actor without a reply', async () => {
    const s = subject<{ v: number }>('tell');
    const got = deferred();
    let value = 0;
    const actor = bus.serve(s, (req) => {
      value = req.meta.v;
      got.resolve();
      return reply({});
    });
    await bus.flush();
    bus.tell(s, { v: 7 });
    await got.promise;
    expect(value).toBe(7);
    await actor.stop();
  });

  it('publishes to every subscriber, wildcards included, and one member per queue group', async () => {
    const base = subject('events').subject;
    const received: string[] = [];
    const all = deferred();
    const check = (): void => {
      if (received.length === 4) all.resolve();
    };
    const subs = [
      bus.subscribe(eventStream(`${base}.a`), () => (received.push('exact'), check())),
      bus.subscribe(eventStream(`${base}.*`), () => (received.push('star'), check())),
      bus.subscribe(eventStream(`${base}.>`), () => (received.push('gt'), check())),
      bus.subscribe(eventStream(`${base}.a`), () => (received.push('q1'), check()), { queue: 'q' }),
      bus.subscribe(eventStream(`${base}.a`), () => (received.push('q2'), check()), { queue: 'q' }),
    ];
    await bus.flush();
    bus.publish(eventStream(`${base}.a`), { hello: 'world' });
    await all.promise;
    await new Promise((r) => setTimeout(r, 50));
    expect(received.filter((r) => r === 'q1' || r === 'q2')).toHaveLength(1);
    expect(received.filter((r) => r === 'exact' || r === 'star' || r === 'gt').sort()).toEqual(['exact', 'gt', 'star']);
    for (const sub of subs) sub.unsubscribe();
  });

  it('answers a request from only one server of a queue group', async () => {
    const s = subject('queue');
    let calls = 0;
    const a = bus.serve(s, () => (calls++, reply({ who: 'a' })), { queue: 'ctl' });
    const b = bus.serve(s, () => (calls++, reply({ who: 'b' })), { queue: 'ctl' });
    await bus.flush();
    for (let i = 0; i < 10; i++) await bus.ask(s, {}, { timeoutMs: 2000 });
    expect(calls).toBe(10);
    await a.stop();
    await b.stop();
  });

  it('copies payloads: a sender mutating its buffer after sending changes nothing', async () => {
    const s = subject('copy');
    const actor = bus.serve(s, async (req) => {
      await new Promise((r) => setTimeout(r, 20));
      return reply({}, req.body);
    });
    await bus.flush();
    const body = Buffer.from('original');
    const pending = bus.ask(s, {}, { timeoutMs: 2000, body });
    body.write('mutated!');
    const res = await pending;
    expect(res.body!.toString()).toBe('original');
    await actor.stop();
  });

  it('stops serving: later requests get no responders, accepted ones still finish', async () => {
    const s = subject<unknown, { ok: boolean }>('stop');
    const gate = deferred();
    const actor = bus.serve(s, async () => {
      await gate.promise;
      return reply({ ok: true });
    });
    await bus.flush();
    const first = bus.ask(s, {}, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    const stopping = actor.stop();
    gate.resolve();
    expect((await first).meta.ok).toBe(true);
    await stopping;
    await bus.flush();
    const err = (await bus.ask(s, {}, { timeoutMs: 2000 }).catch((e: unknown) => e)) as SluiceError;
    expect(err.code).toBe(BusErrorCode.noResponders);
  });

  it('refuses work beyond the mailbox bound with a retriable error', async () => {
    const s = subject('bounded');
    const gate = deferred();
    const actor = bus.serve(
      s,
      async () => {
        await gate.promise;
        return reply({});
      },
      { mailboxSize: 2 },
    );
    await bus.flush();
    const asks = Array.from({ length: 6 }, () => bus.ask(s, {}, { timeoutMs: 5000 }).then(() => 'ok', (e: SluiceError) => e.code));
    await new Promise((r) => setTimeout(r, 100));
    gate.resolve();
    const results = await Promise.all(asks);
    expect(results.filter((r) => r === BusErrorCode.mailboxFull).length).toBeGreaterThan(0);
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(2);
    await actor.stop();
  });

  it('requires a timeout on every ask', async () => {
    await expect(bus.ask(subject('x'), {}, { timeoutMs: 0 })).rejects.toThrow(/positive timeout/);
  });
});
