/**
 * One suite for every LocalStore: what the sync engine relies on, whatever keeps the data. It runs
 * under node:test and, bundled, in a browser (browser/runner.ts), so it takes `describe` and `it`
 * and uses nothing of Node but `node:assert/strict` (which the browser bundle maps to browser/assert.ts).
 */
import assert from 'node:assert/strict';
import type { LocalStore, PendingChange, PodItem } from '@pod/client';

/** What the suite needs of a test framework: node:test's `describe` and `it` fit. */
export interface Harness {
  describe(name: string, define: () => void): unknown;
  it(name: string, run: () => Promise<void>): unknown;
}

const item = (
  id: string,
  dateServerModified: number,
  fields: Record<string, string | number | boolean> = {},
): PodItem => ({
  id,
  type: 'Note',
  dateCreated: 1,
  dateModified: 2,
  dateServerModified,
  deleted: false,
  ...fields,
});

const change = (
  id: string,
  seq: number,
  patch: PendingChange['patch'] = {},
  base: number | null = 5,
): PendingChange => ({
  id,
  type: 'Note',
  patch,
  base,
  dateModified: 7,
  seq,
});

export function localStoreSuite(
  name: string,
  makeStore: () => LocalStore | Promise<LocalStore>,
  { describe, it }: Harness,
): void {
  describe(`LocalStore: ${name}`, () => {
    it('starts empty', async () => {
      const store = await makeStore();
      assert.equal(await store.item('nope'), undefined);
      assert.deepEqual(await store.items(), []);
      assert.equal(await store.cursor(), 0);
      assert.deepEqual(await store.pendingChanges(), []);
      assert.equal(await store.pendingCount(), 0);
      assert.equal(await store.outbox(), undefined);
      assert.equal(await store.schemaHash(), undefined);
      assert.equal(await store.meta('x'), undefined);
      await store.close();
    });

    it('keeps items with every field, the newest version winning', async () => {
      const store = await makeStore();
      await store.write({ items: [item('a', 10, { title: 'ü', n: 1.5, flag: true }), item('b', 10)], cursor: 11 });
      assert.deepEqual(await store.item('a'), item('a', 10, { title: 'ü', n: 1.5, flag: true }));
      await store.write({ items: [item('a', 9, { title: 'older' }), item('b', 12, { title: 'newer' })] });
      assert.equal((await store.item('a'))!.title, 'ü', 'an older version is ignored');
      assert.equal((await store.item('b'))!.title, 'newer');
      await store.write({ items: [item('b', 12, { title: 'same version again' })] });
      assert.equal((await store.item('b'))!.title, 'same version again', 'the same version replaces');
      await store.write({ items: [item('a', 11, { title: 'newer than its own, older than b' })] });
      assert.equal((await store.item('a'))!.title, 'newer than its own, older than b');
      await store.write({ items: [item('c', 20, { title: 'new' }), item('c', 15, { title: 'old' })] });
      assert.equal((await store.item('c'))!.title, 'new', 'within one write, too, the newest wins');
      assert.equal(await store.cursor(), 11);
      assert.deepEqual((await store.items()).map((i) => i.id).sort(), ['a', 'b', 'c']);
      await store.write({ items: [{ ...item('s', 13), type: 'ItemPropertySchema', propertyName: 'title' }] });
      assert.deepEqual(
        (await store.itemsOfType('ItemPropertySchema')).map((i) => i.id),
        ['s'],
      );
      await store.close();
    });

    it('keeps edge ends, once', async () => {
      const store = await makeStore();
      await store.write({
        edges: [
          { id: 'e1', source: 'a', target: 'b', name: 'next' },
          { id: 'e2', source: 'a', target: 'c', name: 'next' },
        ],
      });
      await store.write({ edges: [{ id: 'e1', source: 'x', target: 'y', name: 'other' }] });
      assert.deepEqual(await store.edge('e1'), { id: 'e1', source: 'a', target: 'b', name: 'next' });
      assert.deepEqual((await store.edgesFrom('a')).map((e) => e.id).sort(), ['e1', 'e2']);
      assert.deepEqual(await store.edgesFrom('b'), []);
      await store.close();
    });

    it('keeps pending changes in seq order, replaced by id, settled before new ones are put', async () => {
      const store = await makeStore();
      await store.write({
        pending: [change('c', 3), change('a', 1, { title: 'x', gone: null }), change('b', 2, {}, null)],
      });
      assert.deepEqual(
        (await store.pendingChanges()).map((c) => c.id),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(
        (await store.pendingChanges(2)).map((c) => c.id),
        ['a', 'b'],
      );
      assert.deepEqual(await store.pending('a'), change('a', 1, { title: 'x', gone: null }));
      assert.equal((await store.pending('b'))!.base, null);
      await store.write({ pending: [change('a', 1, { title: 'y' })] });
      assert.deepEqual((await store.pending('a'))!.patch, { title: 'y' });
      await store.write({ settled: ['a', 'c'], pending: [change('c', 4, { again: 1 })] });
      assert.deepEqual(
        (await store.pendingChanges()).map((c) => c.id),
        ['b', 'c'],
      );
      assert.equal(await store.pendingCount(), 2);
      const edge = { ...change('e', 5), edge: { source: 'a', target: 'b', name: 'next' } };
      await store.write({ pending: [edge] });
      assert.deepEqual(await store.pending('e'), edge);
      await store.close();
    });

    it('returns copies: changing what it returned changes nothing stored', async () => {
      const store = await makeStore();
      await store.write({
        pending: [change('a', 1, { title: 'x' })],
        outbox: { batchId: 'b1', changes: [change('o', 0)] },
      });
      (await store.pending('a'))!.patch.title = 'changed';
      (await store.outbox())!.changes.length = 0;
      assert.equal((await store.pending('a'))!.patch.title, 'x');
      assert.equal((await store.outbox())!.changes.length, 1);
      await store.close();
    });

    it('keeps the outbox, the schema hash and meta', async () => {
      const store = await makeStore();
      const outbox = { batchId: 'batch-1', changes: [change('a', 1, { title: 'x' })] };
      await store.write({ outbox, schemaHash: 'h1', meta: { device: 'phone', other: 'x' } });
      assert.deepEqual(await store.outbox(), outbox);
      assert.equal(await store.schemaHash(), 'h1');
      assert.equal(await store.meta('device'), 'phone');
      await store.write({ outbox: null, meta: { other: null } });
      assert.equal(await store.outbox(), undefined);
      assert.equal(await store.meta('other'), undefined);
      assert.equal(await store.meta('device'), 'phone');
      await store.close();
    });

    it('applies a write as a whole or not at all', async () => {
      const store = await makeStore();
      await store.write({ cursor: 5, pending: [change('a', 1)] });
      // A change that cannot be stored (a cycle does not serialize; structuredClone refuses a function).
      const broken = change('b', 2) as PendingChange & { patch: Record<string, unknown> };
      broken.patch.bad = (() => {}) as never;
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      broken.patch.cycle = circular as never;
      await assert.rejects(async () => store.write({ cursor: 9, settled: ['a'], pending: [broken] }));
      assert.equal(await store.cursor(), 5);
      assert.deepEqual(
        (await store.pendingChanges()).map((c) => c.id),
        ['a'],
      );
      await store.close();
    });
  });
}
