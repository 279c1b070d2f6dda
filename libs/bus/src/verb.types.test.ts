// Type tests: a sender and a server of one verb cannot disagree. Every `@ts-expect-error` below must be an error, or
// `tsc --noEmit` (the typecheck target) fails with "Unused '@ts-expect-error' directive"; vitest runs the one check.
import { describe, expect, it } from 'vitest';
import { Bus, reply } from './bus.js';
import { InProcessTransport } from './in-process-transport.js';
import { addressOf, defineVerb } from './verb.js';

interface PingRequest {
  n: number;
}
interface PingReply {
  doubled: number;
}
const Ping = defineVerb<PingRequest, PingReply, number>('test', 'ping', 'tester');

// Never called: only compiled.
export function mismatches(bus: Bus): void {
  const at = addressOf(Ping, 'sluice.t', 1);
  // @ts-expect-error the request has the wrong shape
  void bus.ask(at, { wrong: true }, { timeoutMs: 1 });
  // @ts-expect-error a server answering with another verb's reply
  bus.serve(at, () => reply({ somethingElse: 'x' }));
  // @ts-expect-error a server reading a field the request does not have
  bus.serve(at, (req) => reply({ doubled: req.meta.missing }));
  void bus.ask(at, { n: 1 }, { timeoutMs: 1 }).then((r) => {
    // @ts-expect-error the reply has no such field
    return r.meta.n;
  });
}

describe('typed verbs', () => {
  it('build the subject from the prefix and key, and carry the types to ask and serve', async () => {
    const bus = new Bus(new InProcessTransport());
    const at = addressOf(Ping, 'sluice.t', 7);
    expect(at.subject).toBe('sluice.t.test.7.ping');
    const actor = bus.serve(at, (req) => reply({ doubled: req.meta.n * 2 }));
    const answer = await bus.ask(at, { n: 21 }, { timeoutMs: 1000 });
    expect(answer.meta.doubled).toBe(42);
    await actor.stop();
    await bus.close();
  });
});
