// The client's side of the metadata protocol: snapshot, ordered deltas, and a reload when a delta goes missing.
// The controller here is a scripted publisher; the real controller is exercised in controller-service's tests.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus, InProcessTransport } from '@sluice/bus';
import { ControllerVerbs, Subjects, type MetadataDelta, type MetadataImage, type MetadataRecord, type ControllerSnapshotRequest, type TopicInfo } from '@sluice/contracts';
import { applyDelta, emptyImage } from './metadata-image.js';
import { MetadataClient } from './metadata-client.js';
import { SnapshotCache } from './metadata-snapshot.js';

const subjects = new Subjects('t');
const topic = (id: string, name: string, partitions = 1): TopicInfo => ({
  id,
  name,
  configs: {},
  partitions: Array.from({ length: partitions }, (_, partition) => ({ partition, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1] })),
});

function scriptedController(bus: Bus, options: { chunkBytes?: number; keep?: number; beforeChunk?: (request: ControllerSnapshotRequest) => Promise<void> } = {}) {
  const image: MetadataImage = { ...emptyImage('t'), controllerEpoch: 1 };
  const cache = new SnapshotCache(options);
  let snapshots = 0;
  let chunks = 0;
  const actor = bus.serve(subjects.at(ControllerVerbs.snapshot), async (req) => {
    if (req.meta.offset === undefined) snapshots++;
    chunks++;
    await options.beforeChunk?.(req.meta);
    return cache.chunk(image, req.meta);
  });
  return {
    image,
    cache,
    get snapshots() {
      return snapshots;
    },
    /** Chunk requests answered or refused, first chunks included. */
    get chunks() {
      return chunks;
    },
    /** Applies a delta; publishes it unless `drop`. */
    change(delta: MetadataDelta, drop = false) {
      applyDelta(image, delta);
      image.offset++;
      const record: MetadataRecord = { offset: image.offset, controllerEpoch: image.controllerEpoch, delta };
      if (!drop) bus.publish(subjects.metadataEvents(), record);
    },
    stop: () => actor.stop(),
  };
}

let bus: Bus;
afterEach(async () => {
  await bus?.close();
});

describe('MetadataClient', () => {
  it('wakes every request waiting for a change at the next delta, without an event listener each', async () => {
    bus = new Bus(new InProcessTransport());
    const ctl = scriptedController(bus);
    const client = new MetadataClient({ bus, subjects });
    await client.start();
    const listeners = client.listenerCount('change');
    let woken = 0;
    const waits = Array.from({ length: 1000 }, () => client.nextChange(60_000).then(() => woken++));
    expect(client.listenerCount('change')).toBe(listeners);
    ctl.change({ type: 'topic-created', topic: topic('a', 'alpha') });
    await Promise.all(waits);
    expect(woken).toBe(1000);
    // Without a change, a wait ends at its timeout.
    await client.nextChange(20);
    // Names resolve across deltas that change a topic in place, and a re-created name resolves to the new topic.
    ctl.change({ type: 'partition-changed', topicId: 'a', partition: { partition: 0, leader: 2, leaderEpoch: 1, partitionEpoch: 1, replicas: [1], isr: [1] } });
    await client.waitForOffset(2);
    expect(client.view.topicByName('alpha')?.partitions[0].leader).toBe(2);
    ctl.change({ type: 'topic-deleted', topicId: 'a', name: 'alpha' });
    ctl.change({ type: 'topic-created', topic: topic('a2', 'alpha') });
    await client.waitForOffset(4);
    expect(client.view.topicByName('alpha')?.id).toBe('a2');
    client.close();
    await ctl.stop();
  });

  it('loads the snapshot and follows deltas in order', async () => {
    bus = new Bus(new InProcessTransport());
    const ctl = scriptedController(bus);
    ctl.change({ type: 'topic-created', topic: topic('a', 'alpha') });
    const client = new MetadataClient({ bus, subjects });
    await client.start();
    expect(client.view.topicByName('alpha')?.id).toBe('a');
    ctl.change({ type: 'topic-created', topic: topic('b', 'beta') });
    ctl.change({ type: 'topic-deleted', topicId: 'a', name: 'alpha' });
    await client.waitForOffset(3);
    expect(client.view.topics().map((t) => t.name)).toEqual(['beta']);
    expect(client.current).toEqual(ctl.image);
    client.close();
    await ctl.stop();
  });

  it('reloads the snapshot when a delta is missing', async () => {
    bus = new Bus(new InProcessTransport());
    const ctl = scriptedController(bus);
    const client = new MetadataClient({ bus, subjects });
    await client.start();
    const before = ctl.snapshots;
    ctl.change({ type: 'topic-created', topic: topic('a', 'alpha') }, true);
    ctl.change({ type: 'topic-created', topic: topic('b', 'beta') });
    await client.waitForOffset(2);
    expect(ctl.snapshots).toBeGreaterThan(before);
    expect(client.view.topics().map((t) => t.name)).toEqual(['alpha', 'beta']);
    client.close();
    await ctl.stop();
  });

  it('waits for a controller that starts after it', async () => {
    bus = new Bus(new InProcessTransport());
    const errors: unknown[] = [];
    const client = new MetadataClient({ bus, subjects, onError: (err) => errors.push(err) });
    const starting = client.start();
    await new Promise((r) => setTimeout(r, 400));
    const ctl = scriptedController(bus);
    ctl.change({ type: 'topic-created', topic: topic('a', 'alpha') });
    await starting;
    expect(client.view.topicByName('alpha')).toBeDefined();
    expect(errors.length).toBeGreaterThan(0);
    client.close();
    await ctl.stop();
  });

  it('gives up after its start timeout', async () => {
    bus = new Bus(new InProcessTransport());
    const client = new MetadataClient({ bus, subjects, startTimeoutMs: 300 });
    await expect(client.start()).rejects.toMatchObject({ code: 'BUS_NO_RESPONDERS' });
    client.close();
  });

  it('loads a snapshot of many chunks', async () => {
    bus = new Bus(new InProcessTransport());
    const ctl = scriptedController(bus, { chunkBytes: 1024 });
    // Random ids, so that the image does not compress into one chunk.
    for (let i = 0; i < 200; i++) ctl.change({ type: 'topic-created', topic: topic(randomUUID(), `t${i}`, 5) });
    const client = new MetadataClient({ bus, subjects });
    await client.start();
    expect(ctl.chunks).toBeGreaterThan(3);
    expect(client.current).toEqual(ctl.image);
    client.close();
    await ctl.stop();
  });

  it('starts over when the image moves on while it fetches the chunks', async () => {
    bus = new Bus(new InProcessTransport());
    let moved = false;
    const ctl = scriptedController(bus, {
      chunkBytes: 1024,
      keep: 1,
      beforeChunk: async (request) => {
        if (request.chunk !== 1 || moved) return;
        // Another service asks for the image after a change: the one being fetched is no longer held.
        moved = true;
        ctl.change({ type: 'topic-created', topic: topic('late', 'late') });
        await ctl.cache.chunk(ctl.image, {});
      },
    });
    for (let i = 0; i < 200; i++) ctl.change({ type: 'topic-created', topic: topic(randomUUID(), `t${i}`, 5) });
    const client = new MetadataClient({ bus, subjects });
    await client.start();
    expect(moved).toBe(true);
    expect(ctl.snapshots).toBe(2);
    expect(client.view.topicByName('late')).toBeDefined();
    expect(client.current).toEqual(ctl.image);
    client.close();
    await ctl.stop();
  });

  it('refuses a chunk that does not exist', async () => {
    const cache = new SnapshotCache();
    const image = { ...emptyImage('t'), offset: 3, controllerEpoch: 1 };
    const first = await cache.chunk(image, {});
    expect(first.meta).toEqual({ offset: 3, controllerEpoch: 1, chunk: 0, chunks: 1, encoding: 'gzip-json' });
    await expect(cache.chunk(image, { offset: 3, controllerEpoch: 1, chunk: 1 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(cache.chunk(image, { offset: 2, controllerEpoch: 1, chunk: 0 })).rejects.toMatchObject({ code: 'SNAPSHOT_EXPIRED', retriable: true });
  });

  it('applies partition and node changes', () => {
    const image = emptyImage('t');
    applyDelta(image, { type: 'topic-created', topic: topic('a', 'alpha') });
    applyDelta(image, {
      type: 'partition-changed',
      topicId: 'a',
      partition: { partition: 0, leader: -1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1], isr: [1] },
    });
    applyDelta(image, { type: 'node-registered', node: { id: 1, role: 'broker', host: 'h', ports: {}, rack: null, state: 'alive', incarnation: 1 } });
    applyDelta(image, { type: 'node-fenced', nodeId: 1 });
    expect(image.topics.a.partitions[0].leader).toBe(-1);
    expect(image.nodes[1].state).toBe('fenced');
  });
});
