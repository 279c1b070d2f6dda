// KafkaConnection over real sockets with a small dispatcher: framing edge cases, the read timeout, idle connections,
// and the shared request memory (reserved before a frame is read, given back when it is answered or the client leaves).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/runtime';
import { waitFor } from '@sluice/testing';
import { CloseConnection, KafkaConnection, type CoarseClock, type Dispatch } from './kafka-connection.js';
import { RequestMemory } from './request-memory.js';

const logger = createLogger({ service: 'test', level: 'silent' });

interface Harness {
  port: number;
  memory: RequestMemory;
  clock: CoarseClock;
  connections: KafkaConnection[];
  /** Advances the coarse clock and runs the sweep, as the listener does once a second. */
  tick(ms: number): void;
}

let servers: Server[] = [];
let clients: Socket[] = [];

afterEach(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  clients = [];
});

/** Answers each frame with its length (4 bytes); an empty frame or one starting with 0xff is malformed. */
const echoLength: Dispatch = async (frame) => {
  if (frame.length === 0 || frame[0] === 0xff) throw new CloseConnection('malformed request header');
  if (frame[0] === 0xfe) throw new TypeError('a bug in a handler');
  const out = Buffer.alloc(8);
  out.writeInt32BE(4, 0);
  out.writeInt32BE(frame.length, 4);
  return [out];
};

async function harness(options: { memory?: number; dispatch?: Dispatch; maxRequestBytes?: number } = {}): Promise<Harness> {
  const memory = new RequestMemory(options.memory ?? 1024 * 1024);
  const clock: CoarseClock = { now: 1_000_000 };
  const connections: KafkaConnection[] = [];
  const server = createServer((socket) => {
    connections.push(
      new KafkaConnection(socket, options.dispatch ?? echoLength, {
        maxRequestBytes: options.maxRequestBytes ?? 1024 * 1024,
        maxUnauthenticatedBytes: 1024,
        saslRequired: false,
        maxInFlight: 4,
        idleTimeoutMs: 60_000,
        requestReadTimeoutMs: 10_000,
        memory,
        clock,
        logger,
      }),
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    memory,
    clock,
    connections,
    tick(ms) {
      clock.now += ms;
      for (const c of connections) c.checkTimeouts(clock.now);
    },
  };
}

class Client {
  private buffered = Buffer.alloc(0);
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.buffered = Buffer.concat([this.buffered, chunk])));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static async open(port: number): Promise<Client> {
    const socket = connect(port, '127.0.0.1');
    clients.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    return new Client(socket);
  }
  /** The lengths the server echoed so far. */
  answers(): number[] {
    const out: number[] = [];
    for (let at = 0; at + 8 <= this.buffered.length; at += 8) out.push(this.buffered.readInt32BE(at + 4));
    return out;
  }
}

function frame(size: number, fill = 1): Buffer {
  const out = Buffer.alloc(4 + size, fill);
  out.writeInt32BE(size, 0);
  return out;
}

describe('KafkaConnection', () => {
  it('closes only the connection that sends a zero-length frame, alone or after a valid frame in one read', async () => {
    const h = await harness();
    const alone = await Client.open(h.port);
    alone.socket.write(Buffer.alloc(4));
    await waitFor(() => alone.closed);
    const after = await Client.open(h.port);
    after.socket.write(Buffer.concat([frame(10), Buffer.alloc(4)]));
    await waitFor(() => after.closed);
    const other = await Client.open(h.port);
    other.socket.write(frame(5));
    await waitFor(() => other.answers().length === 1);
    expect(other.answers()).toEqual([5]);
  });

  it('closes the connection when a handler throws, and keeps serving others', async () => {
    const h = await harness();
    const bad = await Client.open(h.port);
    const good = await Client.open(h.port);
    bad.socket.write(frame(3, 0xfe));
    good.socket.write(frame(7));
    await waitFor(() => bad.closed && good.answers().length === 1);
    expect(h.memory.reservedBytes).toBe(0);
  });

  it('answers frames split at every byte boundary', async () => {
    const h = await harness();
    const client = await Client.open(h.port);
    const bytes = Buffer.concat([frame(3), frame(1), frame(300)]);
    for (const byte of bytes) {
      client.socket.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => client.answers().length === 3);
    expect(client.answers()).toEqual([3, 1, 300]);
  });

  it('closes a connection whose frame does not arrive whole within the read timeout, counting from its first byte', async () => {
    const h = await harness();
    const prefixOnly = await Client.open(h.port);
    prefixOnly.socket.write(Buffer.from([0, 0]));
    const halfFrame = await Client.open(h.port);
    halfFrame.socket.write(frame(100).subarray(0, 50));
    const quiet = await Client.open(h.port);
    await waitFor(() => h.connections.length === 3 && h.memory.reservedBytes === 100);
    h.tick(9_000);
    expect(prefixOnly.closed || halfFrame.closed).toBe(false);
    h.tick(1_000);
    await waitFor(() => prefixOnly.closed && halfFrame.closed);
    expect(quiet.closed).toBe(false);
    expect(h.memory.reservedBytes).toBe(0);
  });

  it('closes connections idle for connections.max.idle.ms, not those with a request in flight', async () => {
    let release: () => void = () => undefined;
    const parked = new Promise<void>((r) => (release = r));
    const h = await harness({
      dispatch: async (f) => {
        if (f[0] === 2) await parked;
        return echoLength(f, undefined as never);
      },
    });
    const idle = await Client.open(h.port);
    const busy = await Client.open(h.port);
    busy.socket.write(frame(4, 2));
    await waitFor(() => h.connections.length === 2 && h.memory.reservedBytes === 4);
    h.tick(59_000);
    expect(idle.closed).toBe(false);
    h.tick(1_000);
    await waitFor(() => idle.closed);
    expect(busy.closed).toBe(false);
    release();
    await waitFor(() => busy.answers().length === 1);
  });

  it('reserves each announced frame from the shared memory: a frame that does not fit waits unread, and memory returns when clients leave', async () => {
    const h = await harness({ memory: 1000, maxRequestBytes: 1000 });
    const first = await Client.open(h.port);
    first.socket.write(frame(800).subarray(0, 100));
    await waitFor(() => h.memory.reservedBytes === 800);
    const second = await Client.open(h.port);
    second.socket.write(frame(600));
    await waitFor(() => h.memory.waiting === 1);
    expect(second.answers()).toEqual([]);
    // Waiting for memory is not the client's fault: no read timeout while it waits.
    h.tick(10_000);
    expect(second.closed).toBe(false);
    await waitFor(() => first.closed);
    await waitFor(() => second.answers().length === 1);
    expect(second.answers()).toEqual([600]);
    await waitFor(() => h.memory.reservedBytes === 0);

    // Many clients announcing big frames and leaving hold nothing afterwards.
    const leaving = await Promise.all(Array.from({ length: 10 }, () => Client.open(h.port)));
    for (const c of leaving) c.socket.write(frame(900).subarray(0, 200));
    await waitFor(() => h.memory.reservedBytes === 900 && h.memory.waiting === 9);
    for (const c of leaving) c.socket.destroy();
    await waitFor(() => h.memory.reservedBytes === 0 && h.memory.waiting === 0);
  });
});
