// The controller quorum with real processes (issue 13): two controller instances on one PostgreSQL database over their
// own nats-server, brokers heartbeating and gateways creating topics and handing out producer ids, while the active
// controller is SIGKILLed or SIGSTOPped. A standby takes over within the lease time plus 2 s; nothing acknowledged is
// lost, no node is fenced because the controller changed, no metadata offset is reused, a paused controller that
// resumes writes nothing, and no producer id is handed out twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bus, NatsTransport } from '@sluice/bus';
import { Subjects, type MetadataRecord } from '@sluice/contracts';
import { ApiKey, kafka } from '@sluice/protocol';
import {
  appEntry,
  createPostgresDatabase,
  freePort,
  queryPostgres,
  ServiceProcess,
  startNatsServer,
  startStack,
  waitFor,
  waitReady,
  type NatsServer,
  type PostgresDatabase,
  type RunningStack,
} from '@sluice/testing';
import { Http } from './http-client.js';
import { WireClient } from './kafka-wire.js';

const LEASE_MS = 3000;
const SESSION_TIMEOUT_MS = 4000;
/** What the issue promises: a standby is active within the lease time plus 2 s of the active one dying. */
const TAKEOVER_BOUND_MS = LEASE_MS + 2000;

let nats: NatsServer;
let db: PostgresDatabase;
let stack: RunningStack;
let http: Http;
let watcher: Bus;
/** Every metadata record published, in arrival order. */
const records: MetadataRecord[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  db = await createPostgresDatabase();
  stack = await startStack({
    natsUrl: nats.url,
    databaseUrl: db.url,
    controllers: 2,
    brokers: 2,
    gateways: 2,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    env: { SLUICE_CONTROLLER_LEASE_MS: String(LEASE_MS) },
  });
  http = new Http(stack.httpUrl);
  watcher = new Bus(await NatsTransport.connect({ servers: [nats.url], name: 'quorum-watcher' }));
  watcher.subscribe(new Subjects(stack.clusterId).metadataEvents(), (event) => records.push(event.meta as MetadataRecord));
  await watcher.flush();
}, 120_000);

afterAll(async () => {
  // SLUICE_KEEP_LOGS=DIR keeps every process's log.
  if (stack && process.env.SLUICE_KEEP_LOGS) await cp(join(stack.dir.path, 'logs'), process.env.SLUICE_KEEP_LOGS, { recursive: true });
  await watcher?.close();
  await stack?.stop();
  await db?.drop();
  await nats?.stop();
});

interface Quorum {
  active: { id: string; epoch: number };
  standbys: Array<{ id: string }>;
}

async function quorum(): Promise<Quorum | null> {
  const res = await http.json<{ controllers: Quorum | null }>('GET', '/cluster');
  expect(res.status).toBe(200);
  return res.body.controllers;
}

/** The instance id a controller process logged when it started looking for the lease. */
function instanceOf(p: ServiceProcess): string {
  const line = p.lines.find((l) => typeof l.json?.instance === 'string');
  if (!line) throw new Error(`${p.name} logged no instance id:\n${p.tail()}`);
  return line.json?.instance as string;
}

function activations(p: ServiceProcess): number {
  return p.lines.filter((l) => l.json?.msg === 'controller active').length;
}

/** Kills `active` with `signal` and waits for `standby` to become active; returns how long that took. */
async function takeOver(active: ServiceProcess, standby: ServiceProcess, signal: NodeJS.Signals): Promise<number> {
  const before = activations(standby);
  const killedAt = Date.now();
  active.kill(signal);
  await waitFor(() => activations(standby) > before, { timeoutMs: TAKEOVER_BOUND_MS, intervalMs: 50, what: `${standby.name} active within ${TAKEOVER_BOUND_MS} ms` });
  return Date.now() - killedAt;
}

/** Creates topics one after another until stopped, asking again after any failure; returns the ones acknowledged. */
function createTopicsUntil(prefix: string, stop: { done: boolean }): { created: string[]; failures: string[]; finished: Promise<void> } {
  const created: string[] = [];
  const failures: string[] = [];
  const finished = (async () => {
    for (let i = 0; !stop.done; ) {
      const name = `${prefix}-${i}`;
      const res = await http.json<{ error_code?: string; message?: string }>('POST', '/topics', { name, partitions: 2, replication_factor: 2 }).catch((err: unknown) => ({ status: 0, body: { message: String(err) } }));
      // Created, or created by an earlier attempt whose answer was lost with the controller that wrote it.
      if (res.status === 201 || (res.status === 409 && failures.some((f) => f.startsWith(`${name}:`)))) {
        created.push(name);
        i++;
      } else {
        failures.push(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
        await sleep(100);
      }
    }
  })();
  return { created, failures, finished };
}

async function expectTopicsExist(names: string[]): Promise<void> {
  const res = await http.json<string[]>('GET', '/topics');
  expect(res.status).toBe(200);
  for (const name of names) expect(res.body).toContain(name);
}

/** No node was fenced by any controller, and every broker and gateway is alive. */
async function expectNobodyFenced(): Promise<void> {
  for (const c of stack.controllers) expect(c.lines.filter((l) => l.json?.msg === 'node fenced').map((l) => l.raw)).toEqual([]);
  const res = await http.json<{ brokers: Array<{ state: string }>; gateways: Array<{ state: string }> }>('GET', '/cluster');
  expect(res.body.brokers.map((b) => b.state)).toEqual(['alive', 'alive']);
  expect(res.body.gateways.map((g) => g.state)).toEqual(['alive', 'alive']);
}

/** Each metadata offset was published with one content only, and the database's offset is the last one published. */
async function expectNoOffsetReused(): Promise<void> {
  const byOffset = new Map<number, string>();
  for (const r of records) {
    const delta = JSON.stringify(r.delta);
    const seen = byOffset.get(r.offset);
    if (seen !== undefined) expect(delta, `metadata offset ${r.offset} published twice with different deltas`).toBe(seen);
    byOffset.set(r.offset, delta);
  }
  const offsets = [...byOffset.keys()].sort((a, b) => a - b);
  const [row] = await queryPostgres<{ metadataOffset: number }>(db.url, 'SELECT "metadataOffset" FROM "ClusterState"');
  expect(row.metadataOffset).toBe(offsets[offsets.length - 1]);
}

describe('a controller quorum on PostgreSQL', () => {
  it('has one active controller and one standby, shown over HTTP', async () => {
    const q = await quorum();
    expect(q?.active.id).toBe(instanceOf(stack.controllers[0]));
    expect(q?.standbys.map((s) => s.id)).toEqual([instanceOf(stack.controllers[1])]);
    expect(stack.controllers[1].lines.some((l) => l.json?.msg === 'controller standing by: another instance holds the lease')).toBe(true);
  });

  it('survives SIGKILL of the active controller twice while topics are created and brokers heartbeat', async () => {
    for (const [round, [active, standby]] of [
      [0, [0, 1]],
      [1, [1, 0]],
    ] as const) {
      const stop = { done: false };
      const creator = createTopicsUntil(`kill${round}`, stop);
      await waitFor(() => creator.created.length >= 3, { timeoutMs: 20_000, what: 'topics created before the kill' });
      const epochBefore = (await quorum())?.active.epoch ?? 0;
      const took = await takeOver(stack.controllers[active], stack.controllers[standby], 'SIGKILL');
      const count = creator.created.length;
      await waitFor(() => creator.created.length >= count + 3, { timeoutMs: 20_000, what: `topics created after the takeover (failures: ${creator.failures.slice(-3).join('; ')})` });
      stop.done = true;
      await creator.finished;
      console.log(`round ${round}: standby active ${took} ms after SIGKILL; ${creator.failures.length} creations asked again`);
      const q = await quorum();
      expect(q?.active.id).toBe(instanceOf(stack.controllers[standby]));
      expect(q?.active.epoch).toBeGreaterThan(epochBefore);
      await expectTopicsExist(creator.created);
      await expectNobodyFenced();
      await expectNoOffsetReused();
      // The killed one comes back as a standby for the next round.
      const back = await stack.startController(active);
      expect(back.lines.some((l) => l.json?.msg === 'controller standing by: another instance holds the lease')).toBe(true);
      await waitFor(async () => (await quorum())?.standbys.some((s) => s.id === instanceOf(back)), { what: 'the restarted controller listed as a standby' });
    }
  }, 120_000);

  it('a controller paused past its lease writes nothing when it resumes, and stands by', async () => {
    const active = stack.controllers[0];
    const standby = stack.controllers[1];
    expect((await quorum())?.active.id).toBe(instanceOf(active));
    const oldEpoch = (await quorum())?.active.epoch ?? 0;
    try {
      const pausedFor = await takeOver(active, standby, 'SIGSTOP');
      const pausedAt = Date.now() - pausedFor;
      const created = await http.json('POST', '/topics', { name: 'while-paused', partitions: 1, replication_factor: 2 });
      expect(created.status).toBe(201);
      // Paused long enough that every session the paused controller knows of has expired: on resuming it would fence
      // them all (the time the takeover took counts).
      await sleep(Math.max(0, pausedAt + SESSION_TIMEOUT_MS + 500 - Date.now()));
    } finally {
      active.kill('SIGCONT');
    }
    const resumedAt = records.length;
    const before = await queryPostgres(db.url, 'SELECT "controllerEpoch", "leaseOwner", "metadataOffset" FROM "ClusterState"');
    await active.waitForMessage('controller lost its lease: standing by', {}, 10_000);
    // Listed as a standby: it has made a whole look at the database since stepping down.
    await waitFor(async () => (await quorum())?.standbys.some((s) => s.id === instanceOf(active)), { what: 'the resumed controller listed as a standby' });
    const after = await queryPostgres(db.url, 'SELECT "controllerEpoch", "leaseOwner", "metadataOffset" FROM "ClusterState"');
    expect(after).toEqual(before);
    expect(after[0]).toMatchObject({ controllerEpoch: oldEpoch + 1, leaseOwner: instanceOf(standby) });
    const nodes = await queryPostgres<{ id: number; state: string }>(db.url, 'SELECT "id", "state" FROM "Node" ORDER BY "id"');
    expect(nodes.filter((n) => n.state !== 'alive')).toEqual([]);
    expect(records.slice(resumedAt).filter((r) => r.controllerEpoch === oldEpoch)).toEqual([]);
    expect(active.lines.filter((l) => l.json?.msg === 'node fenced')).toEqual([]);
    await expectTopicsExist(['while-paused']);
    await expectNobodyFenced();
    const q = await quorum();
    expect(q?.active.id).toBe(instanceOf(standby));
  }, 60_000);

  it('never hands out a producer id twice across controller takeovers and gateway restarts', async () => {
    const ids: number[] = [];
    const initProducerIds = async (bootstrap: string, n: number) => {
      const client = await WireClient.connect(bootstrap);
      try {
        for (let i = 0; i < n; i++) {
          const res = await client.request(ApiKey.InitProducerId, 4, (w) => kafka.writeInitProducerIdRequest(w, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }), kafka.readInitProducerIdResponse);
          expect(res.body.errorCode).toBe(0);
          ids.push(Number(res.body.producerId));
        }
      } finally {
        client.socket.destroy();
      }
    };
    const restartGateway = async (index: number) => {
      const old = stack.gateways[index];
      old.process.kill('SIGKILL');
      await old.process.exited;
      const [httpPort, kafkaPort] = [await freePort(), await freePort()];
      const proc = await ServiceProcess.start({
        name: `gateway-${index + 1}-again`,
        entry: appEntry('gateway'),
        env: { SLUICE_NATS_URL: nats.url, SLUICE_CLUSTER_ID: stack.clusterId, SLUICE_ADMIN_PORT: '0', SLUICE_ADMIN_HOST: '127.0.0.1', SLUICE_HTTP_PORT: String(httpPort), SLUICE_KAFKA_PORT: String(kafkaPort) },
      });
      await waitReady(proc, 'gateway');
      stack.gateways[index] = { process: proc, httpUrl: `http://127.0.0.1:${httpPort}`, kafkaBootstrap: `127.0.0.1:${kafkaPort}` };
    };
    const both = () => Promise.all(stack.gateways.map((g) => initProducerIds(g.kafkaBootstrap, 30)));
    await both();
    await restartGateway(1);
    await both();
    // The active controller is the second instance now (the paused one stands by): kill it, the first takes over.
    await takeOver(stack.controllers[1], stack.controllers[0], 'SIGKILL');
    await both();
    await restartGateway(1);
    await stack.startController(1);
    await takeOver(stack.controllers[0], stack.controllers[1], 'SIGKILL');
    await both();
    expect(ids).toHaveLength(8 * 30);
    expect(new Set(ids).size).toBe(ids.length);
  }, 120_000);

  it('elects a new leader for a partition whose leader dies during a controller takeover', async () => {
    await stack.startController(0);
    http = new Http(stack.gateways[0].httpUrl);
    const created = await http.json('POST', '/topics', { name: 'leader-dies', partitions: 1, replication_factor: 2 });
    expect(created.status).toBe(201);
    const leaderOf = async () => (await http.json<{ partitions: Array<{ leader: number }> }>('GET', '/topics/leader-dies')).body.partitions[0].leader;
    const leader = await leaderOf();
    const produced = await http.json('POST', '/topics/leader-dies', { format: 'string', records: [{ value: 'before' }] });
    expect(produced.status).toBe(200);
    // Both at once: the active controller (the second instance) and the partition's leader.
    stack.brokers.get(leader)?.kill('SIGKILL');
    await takeOver(stack.controllers[1], stack.controllers[0], 'SIGKILL');
    const other = [...stack.brokers.keys()].find((id) => id !== leader);
    await waitFor(async () => (await leaderOf()) === other, { timeoutMs: SESSION_TIMEOUT_MS * 3, what: `broker ${other} leading after the takeover` });
    const after = await http.json('POST', '/topics/leader-dies', { format: 'string', records: [{ value: 'after' }] });
    expect(after.status).toBe(200);
    const read = await http.json<Array<{ value: string }>>('GET', '/topics/leader-dies/partitions/0/records?offset=0&format=string');
    expect(read.body.map((r) => r.value)).toEqual(['before', 'after']);
  }, 60_000);
});
