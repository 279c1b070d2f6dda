// The quorum's rules where they are enforced, in the database, on SQLite and PostgreSQL: one lease holder at a time,
// taken over only once expired; a write of an older controller epoch is refused whole; producer id blocks never overlap.
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresDatabase, tempDir, type PostgresDatabase, type TempDir } from '@sluice/testing';
import { ControllerFencedError, MetadataStore } from './metadata-store.js';

const LEASE_MS = 400;

for (const provider of ['sqlite', 'postgresql'] as const) {
  describe(`the metadata store as the controllers' quorum (${provider})`, () => {
    let dir: TempDir | undefined;
    let db: PostgresDatabase | undefined;
    const stores: MetadataStore[] = [];
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      await db?.drop();
      await dir?.remove();
      db = undefined;
      dir = undefined;
    });
    /** Two stores on one database, as two controller instances have. */
    async function twoStores(): Promise<[MetadataStore, MetadataStore]> {
      let url: string;
      if (provider === 'sqlite') {
        dir = await tempDir('sluice-store-');
        url = `file:${dir.path}/controller.db`;
      } else {
        db = await createPostgresDatabase();
        url = db.url;
      }
      const a = (await MetadataStore.open(url)).store;
      const b = (await MetadataStore.open(url)).store;
      stores.push(a, b);
      await a.claimCluster('c1');
      await b.claimCluster('c1');
      return [a, b];
    }

    it('lets one instance hold the lease until it expires or is resigned, each holder with a new epoch', async () => {
      const [a, b] = await twoStores();
      const first = await a.acquireLease('a', LEASE_MS);
      expect(first).toEqual({ controllerEpoch: 1, metadataOffset: 0 });
      expect(await b.acquireLease('b', LEASE_MS)).toBeUndefined();
      expect(await a.renewLease(1, LEASE_MS)).toBe(true);
      await new Promise((r) => setTimeout(r, LEASE_MS + 100));
      expect(await b.acquireLease('b', LEASE_MS)).toEqual({ controllerEpoch: 2, metadataOffset: 0 });
      // The old holder learns it at its next renewal.
      expect(await a.renewLease(1, LEASE_MS)).toBe(false);
      await b.resignLease(2);
      expect(await a.acquireLease('a', 60_000)).toEqual({ controllerEpoch: 3, metadataOffset: 0 });
      // Taken by force only by an instance that knows it is alone (SQLite's locked data directory).
      expect(await b.acquireLease('b', LEASE_MS)).toBeUndefined();
      expect((await b.acquireLease('b', LEASE_MS, true))?.controllerEpoch).toBe(4);
    });

    it('refuses, whole, a write of a controller epoch that is no longer the current one', async () => {
      const [a, b] = await twoStores();
      await a.acquireLease('a', 60_000);
      const topic = (name: string) => ({ id: name, name, configs: {}, partitions: [{ partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1] }] });
      await a.persist(1, [{ type: 'topic-created', topic: topic('t1') }], 1);
      await b.acquireLease('b', 60_000, true);
      await expect(a.persist(1, [{ type: 'topic-created', topic: topic('t2') }], 2)).rejects.toBeInstanceOf(ControllerFencedError);
      await b.persist(2, [{ type: 'topic-created', topic: topic('t3') }], 2);
      const image = await b.load('c1', { controllerEpoch: 2, metadataOffset: 2 });
      expect(Object.keys(image.topics).sort()).toEqual(['t1', 't3']);
      await expect(a.allocateProducerIds(1, 1000)).rejects.toBeInstanceOf(ControllerFencedError);
    });

    it('hands out producer id blocks that never overlap, across holders', async () => {
      const [a, b] = await twoStores();
      await a.acquireLease('a', 60_000);
      const firsts = [await a.allocateProducerIds(1, 1000), await a.allocateProducerIds(1, 1000)];
      await b.acquireLease('b', 60_000, true);
      firsts.push(await b.allocateProducerIds(2, 1000));
      expect(firsts).toEqual([0, 1000, 2000]);
    });

    it('refuses a database that belongs to another cluster', async () => {
      const [a] = await twoStores();
      await expect(a.claimCluster('c2')).rejects.toThrow('belongs to cluster "c1"');
    });
  });
}
