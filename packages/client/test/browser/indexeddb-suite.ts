/**
 * What IndexedDbStore adds to the shared LocalStore suite, run in a browser page (page.ts) and
 * collected by name in Node (indexeddb.test.ts): its pages survive a reload folded as they were
 * written, compaction keeps every answer the same (also when aborted half-way, as a closed page
 * would leave it), and a replica of layout 1 (a record per item) opens without losing anything.
 */
import assert from 'node:assert/strict';
import type { EdgeEnds, PendingChange, PodItem } from '@pod/client';
import { IndexedDbStore } from '@pod/client/browser';
import type { Harness } from '../local-store-suite.js';

const item = (id: string, dateServerModified: number, title = `${id}@${dateServerModified}`): PodItem => ({
  id,
  type: 'Note',
  dateCreated: 1,
  dateModified: 2,
  dateServerModified,
  deleted: false,
  title,
});

const change = (id: string, seq: number): PendingChange => ({
  id,
  type: 'Note',
  patch: { title: `local ${id}` },
  base: 1,
  dateModified: 7,
  seq,
});

let opened = 0;
/** A name no other case uses, in this page's origin. */
const fresh = (what: string) => `indexeddb-suite-${what}-${++opened}-${Date.now()}`;

/** Everything a store answers, to compare before and after. */
async function everything(store: IndexedDbStore) {
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const items = [...(await store.items())].sort(byId);
  const edges = await Promise.all(items.map(async (held) => store.edgesFrom(held.id)));
  return {
    items,
    edges: edges.flat().sort(byId),
    notes: (await store.itemsOfType('Note')).length,
    cursor: await store.cursor(),
    pending: await store.pendingChanges(),
    outbox: await store.outbox(),
    schemaHash: await store.schemaHash(),
  };
}

/** Resolves once `condition` holds, checking at each turn of the event loop; fails after 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`waited 10 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve));
  }
}

/**
 * Runs `then` right after the next page is added to an IndexedDB object store (the compaction's
 * new page, its old ones deleted already), while `compact` runs; its outcome.
 */
async function duringCompaction(then: () => void, compact: () => Promise<void>): Promise<void> {
  const add = IDBObjectStore.prototype.add;
  IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
    IDBObjectStore.prototype.add = add;
    const request = add.apply(this, args);
    then();
    return request;
  };
  try {
    await compact();
  } finally {
    IDBObjectStore.prototype.add = add;
  }
}

/** A database of layout 1 (IndexedDbStore before pages), as a browser of before would hold it. */
async function layout1(
  name: string,
  {
    items,
    edges,
    pending,
    state,
    meta,
  }: {
    items: PodItem[];
    edges: EdgeEnds[];
    pending: PendingChange[];
    state: Record<string, unknown>;
    meta: Record<string, string>;
  },
): Promise<void> {
  const request = indexedDB.open(name, 1);
  request.onupgradeneeded = () => {
    const db = request.result;
    db.createObjectStore('items', { keyPath: 'id' }).createIndex('type', 'type');
    db.createObjectStore('edges', { keyPath: 'id' }).createIndex('source', 'source');
    db.createObjectStore('pending', { keyPath: 'id' }).createIndex('seq', 'seq');
    db.createObjectStore('state');
    db.createObjectStore('meta');
  };
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const transaction = db.transaction(['items', 'edges', 'pending', 'state', 'meta'], 'readwrite');
  for (const one of items) transaction.objectStore('items').put(one);
  for (const one of edges) transaction.objectStore('edges').put(one);
  for (const one of pending) transaction.objectStore('pending').put(one);
  for (const [key, value] of Object.entries(state)) transaction.objectStore('state').put(value, key);
  for (const [key, value] of Object.entries(meta)) transaction.objectStore('meta').put(value, key);
  await new Promise<void>((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error);
  });
  db.close();
}

export function indexedDbSuite({ describe, it }: Harness): void {
  describe('IndexedDbStore pages', () => {
    it('stores a pulled batch as pages of 2,000, folded again on open as they were written', async () => {
      const name = fresh('pages');
      const store = await IndexedDbStore.open(name);
      const batch = Array.from({ length: 4_500 }, (_, i) => item(`n${i}`, 10));
      await store.write({ items: batch, edges: [{ id: 'e', source: 'n1', target: 'n2', name: 'next' }], cursor: 11 });
      assert.deepEqual(store.layout(), { pages: 3, stored: 4_501, live: 4_501 }, 'three records for 4,500 items');
      await store.write({ items: [item('n1', 9, 'older'), item('n2', 12, 'newer'), item('n3', 10, 'same again')] });
      assert.deepEqual(store.layout(), { pages: 4, stored: 4_503, live: 4_501 }, 'the older version is not stored');
      const before = await everything(store);
      store.close();

      const again = await IndexedDbStore.open(name);
      assert.deepEqual(await everything(again), before);
      assert.equal(again.item('n2')?.title, 'newer');
      assert.equal(
        again.item('n3')?.title,
        'same again',
        'the same version written later replaces, after a reload too',
      );
      assert.equal(again.item('n1')?.title, 'n1@10');
      again.close();
      await IndexedDbStore.delete(name);
    });

    it('leaves memory and disk as they were when a write with items fails', async () => {
      const name = fresh('failed');
      const store = await IndexedDbStore.open(name);
      await store.write({ items: [item('a', 1)], cursor: 1 });
      const broken = { ...change('b', 1), patch: { bad: (() => {}) as never } };
      await assert.rejects(store.write({ items: [item('a', 2), item('new', 2)], cursor: 2, pending: [broken] }));
      assert.equal(store.item('a')?.dateServerModified, 1);
      assert.equal(store.item('new'), undefined);
      assert.deepEqual(store.layout(), { pages: 1, stored: 1, live: 1 });
      store.close();
      const again = await IndexedDbStore.open(name);
      assert.equal(again.item('new'), undefined);
      assert.equal(await again.cursor(), 1);
      again.close();
      await IndexedDbStore.delete(name);
    });
  });

  describe('IndexedDbStore compaction', () => {
    it('rewrites small and superseded pages into full ones, every answer the same, before and after a reload', async () => {
      const name = fresh('compact');
      const store = await IndexedDbStore.open(name);
      await store.write({ items: Array.from({ length: 2_000 }, (_, i) => item(`n${i}`, 1)), cursor: 1 });
      // More than half of that page superseded by the next pull's page, a few more items one at a
      // time as the live feed would (a record of one each), an edge's ends, local changes.
      await store.write({ items: Array.from({ length: 1_001 }, (_, i) => item(`n${i}`, 2)), cursor: 2 });
      for (const i of [1_500, 1_600, 1_700]) await store.write({ items: [item(`n${i}`, i)], cursor: i });
      await store.write({ edges: [{ id: 'e', source: 'n0', target: 'n5', name: 'next' }] });
      await store.write({ pending: [change('n7', 1)], outbox: { batchId: 'b', changes: [change('n8', 0)] } });
      const before = await everything(store);
      assert.deepEqual(store.layout(), { pages: 6, stored: 3_005, live: 2_001 });

      await store.compact();
      assert.deepEqual(
        store.layout(),
        { pages: 2, stored: 2_001, live: 2_001 },
        'the second pull page stays, the live rest of the others is one page',
      );
      assert.deepEqual(await everything(store), before);
      store.close();
      const again = await IndexedDbStore.open(name);
      assert.deepEqual(again.layout(), { pages: 2, stored: 2_001, live: 2_001 });
      assert.deepEqual(await everything(again), before);
      again.close();
      await IndexedDbStore.delete(name);
    });

    it('starts by itself once 32 pages are sparse, and writes go on meanwhile', async () => {
      const name = fresh('background');
      const store = await IndexedDbStore.open(name);
      for (let i = 0; i < 32; i++) await store.write({ items: [item(`n${i}`, i)], cursor: i });
      await store.write({ items: [item('during', 100)] });
      await until(() => store.layout().pages <= 2, 'the background compaction');
      assert.equal(store.layout().live, 33);
      assert.equal(store.item('during')?.dateServerModified, 100);
      store.close();
      const again = await IndexedDbStore.open(name);
      assert.equal(again.items().length, 33);
      assert.equal(await again.cursor(), 31);
      again.close();
      await IndexedDbStore.delete(name);
    });

    it('failed or aborted half-way (its transaction aborted), leaves every page as it was', async () => {
      const name = fresh('aborted');
      const store = await IndexedDbStore.open(name);
      await store.write({ items: [item('a', 1), item('b', 1)], cursor: 1 });
      for (let i = 2; i < 20; i++) await store.write({ items: [item(i % 2 ? 'a' : 'b', i)], cursor: i });
      await store.write({ pending: [change('a', 1)] });
      const before = await everything(store);
      const layout = store.layout();
      assert.deepEqual(layout, { pages: 19, stored: 20, live: 2 });

      // Once the compaction has deleted the old pages and added the new one: no room left, say.
      await assert.rejects(
        duringCompaction(
          () => {
            throw new DOMException('no room left', 'QuotaExceededError');
          },
          () => store.compact(),
        ),
      );
      assert.deepEqual(store.layout(), layout, 'memory still maps the pages that are there');
      assert.deepEqual(await everything(store), before);
      // The same, aborted by its signal (as a page closed mid-compaction aborts its transaction).
      const stop = new AbortController();
      await assert.rejects(
        duringCompaction(
          () => stop.abort(),
          () => store.compact({ signal: stop.signal }),
        ),
      );
      assert.deepEqual(store.layout(), layout);
      store.close();

      const again = await IndexedDbStore.open(name);
      assert.deepEqual(again.layout(), layout, 'nothing of the failed compactions was stored');
      assert.deepEqual(await everything(again), before);
      await again.compact();
      assert.deepEqual(again.layout(), { pages: 1, stored: 2, live: 2 });
      assert.deepEqual(await everything(again), before);
      again.close();
      await IndexedDbStore.delete(name);
    });
  });

  describe('IndexedDbStore upgrading layout 1', () => {
    it('moves items and edges into pages and keeps pending changes, the outbox, the cursor and meta', async () => {
      const name = fresh('layout1');
      const items = Array.from({ length: 2_500 }, (_, i) => item(`n${i}`, i + 1));
      const edges = [
        { id: 'e1', source: 'n0', target: 'n1', name: 'next' },
        { id: 'e2', source: 'n0', target: 'n2', name: 'next' },
      ];
      const pending = [change('n5', 2), change('local', 1)];
      const outbox = { batchId: 'batch-1', changes: [change('n6', 0)] };
      const state = { cursor: 2_500, outbox, schemaHash: 'h1', newestItem: 2_500 };
      await layout1(name, { items, edges, pending, state, meta: { device: 'phone' } });

      const store = await IndexedDbStore.open(name);
      assert.deepEqual(store.layout(), { pages: 2, stored: 2_502, live: 2_502 });
      assert.equal(store.items().length, 2_500);
      assert.deepEqual(store.item('n7'), items[7]);
      assert.deepEqual(
        store
          .edgesFrom('n0')
          .map((edge) => edge.id)
          .sort(),
        ['e1', 'e2'],
      );
      assert.deepEqual(await store.pendingChanges(), [pending[1], pending[0]]);
      assert.deepEqual(await store.outbox(), outbox);
      assert.equal(await store.cursor(), 2_500);
      assert.equal(await store.schemaHash(), 'h1');
      assert.equal(await store.meta('device'), 'phone');
      // Newest-wins goes on over the moved items.
      await store.write({ items: [item('n9', 5, 'older'), item('n10', 3_000, 'newer')] });
      assert.equal(store.item('n9')?.title, 'n9@10');
      assert.equal(store.item('n10')?.title, 'newer');
      store.close();

      const again = await IndexedDbStore.open(name);
      assert.equal(again.items().length, 2_500);
      assert.equal(again.item('n10')?.title, 'newer');
      assert.equal(await again.pendingCount(), 2);
      again.close();
      await IndexedDbStore.delete(name);
    });
  });
}
