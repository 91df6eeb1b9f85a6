/**
 * 2023 API §1.2: the same requests on two owners of one Pod, one in legacy mode (no account) and
 * one in account mode (registered), side by side for every row of the spec's table; writes alike.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { accountOwner } from './account.js';
import { Owner, usePod } from './helpers.js';

const sorted = (ids: string[]) => [...ids].sort();
const idsOf = (items: { id: string }[]) => sorted(items.map((item) => item.id));
const edgeNames = (entries: { _edge: string }[] | undefined) => (entries ?? []).map((entry) => entry._edge).sort();

/**
 * Items a, x, y and d (deleted); edges a→d "toDeleted", d→a "fromDeleted", a→x "kept", a→x "gone"
 * (its edge item deleted with delete_item) and a→y "removed" (deleted with delete_edge_by_source_target).
 */
async function scene(o: Owner) {
  await o.declare(['name', 'Text']);
  await o.ok('bulk', {
    createItems: ['item-a', 'item-x', 'item-y', 'item-d'].map((id) => ({ type: 'Thing', id, name: id })),
  });
  const edge = (source: string, target: string, name: string) =>
    o.ok('create_edge', { _source: source, _target: target, _name: name }) as Promise<string>;
  const edges = {
    toDeleted: await edge('item-a', 'item-d', 'toDeleted'),
    fromDeleted: await edge('item-d', 'item-a', 'fromDeleted'),
    kept: await edge('item-a', 'item-x', 'kept'),
    gone: await edge('item-a', 'item-x', 'gone'),
    removed: await edge('item-a', 'item-y', 'removed'),
  };
  await o.ok('delete_item', edges.gone);
  await o.ok('delete_edge_by_source_target', { _source: 'item-a', _target: 'item-y', _name: 'removed' });
  await o.ok('delete_item', 'item-d');
  return edges;
}

describe('read modes, legacy and account side by side', () => {
  const pod = usePod();
  let legacy: Owner;
  let account: Owner;
  let edges: Awaited<ReturnType<typeof scene>>;
  before(async () => {
    legacy = new Owner(pod().url);
    account = await accountOwner(pod().url);
    edges = await scene(legacy);
    await scene(account);
  });

  test('get_item of a deleted item: [item] with "deleted": true | []', async () => {
    const [item] = await legacy.ok('get_item', 'item-d');
    assert.equal(item.deleted, true);
    assert.deepEqual(await account.ok('get_item', 'item-d'), []);
    assert.equal((await account.get('item-a')).deleted, false, 'a live item reads alike');
  });

  test('search and bulk.search without "deleted": deleted items included | left out', async () => {
    const everything = ['item-a', 'item-d', 'item-x', 'item-y'];
    assert.deepEqual(idsOf(await legacy.search({ type: 'Thing' })), everything);
    assert.deepEqual(idsOf(await account.search({ type: 'Thing' })), ['item-a', 'item-x', 'item-y']);
    assert.deepEqual(idsOf(await account.search({ name: 'item-d' })), [], 'a property filter too');
    assert.deepEqual(idsOf(await legacy.search({ name: 'item-d' })), ['item-d']);
    const bulk = (o: Owner) => o.ok('bulk', { search: [{ type: 'Thing' }, { id: 'item-d' }] });
    assert.deepEqual((await bulk(legacy)).search.map(idsOf), [everything, ['item-d']]);
    assert.deepEqual((await bulk(account)).search.map(idsOf), [['item-a', 'item-x', 'item-y'], []]);
  });

  test('search with "deleted": true or false filters on it in both modes', async () => {
    for (const o of [legacy, account]) {
      assert.deepEqual(idsOf(await o.search({ type: 'Thing', deleted: true })), ['item-d']);
      assert.deepEqual(idsOf(await o.search({ type: 'Thing', deleted: false })), ['item-a', 'item-x', 'item-y']);
      const [tombstone] = await o.search({ id: 'item-d', deleted: true });
      assert.equal(tombstone.deleted, true);
      assert.equal((await o.search({ type: 'Edge', deleted: true })).length, 2, 'the "gone" and "removed" edge items');
    }
  });

  test('get_edges on a deleted item: its edges | 404, as for an unknown id', async () => {
    const [entry] = await legacy.ok('get_edges', { item: 'item-d' });
    assert.deepEqual(entry, { name: 'fromDeleted', item: { id: 'item-a' } });
    const hidden = await account.fails('get_edges', { item: 'item-d' }, 404);
    const unknown = await account.fails('get_edges', { item: 'item-z' }, 404);
    assert.equal(hidden.text.replace('item-d', '<id>'), unknown.text.replace('item-z', '<id>'));
  });

  test('get_edges, [[edges]] and ~[[edges]] to or from a deleted item: listed | left out', async () => {
    const names = async (o: Owner, direction: 'Outgoing' | 'Incoming') =>
      ((await o.ok('get_edges', { item: 'item-a', direction, expandItems: true })) as { name: string }[])
        .map((entry) => entry.name)
        .sort();
    assert.deepEqual(await names(legacy, 'Outgoing'), ['kept', 'toDeleted']);
    assert.deepEqual(await names(account, 'Outgoing'), ['kept']);
    assert.deepEqual(await names(legacy, 'Incoming'), ['fromDeleted']);
    assert.deepEqual(await names(account, 'Incoming'), []);

    const withEdges = async (o: Owner) => (await o.search({ id: 'item-a', '[[edges]]': {}, '~[[edges]]': {} }))[0];
    const legacyA = await withEdges(legacy);
    assert.deepEqual(edgeNames(legacyA['[[edges]]']), ['kept', 'toDeleted']);
    assert.deepEqual(edgeNames(legacyA['~[[edges]]']), ['fromDeleted']);
    const accountA = await withEdges(account);
    assert.deepEqual(edgeNames(accountA['[[edges]]']), ['kept']);
    assert.deepEqual(edgeNames(accountA['~[[edges]]']), []);
    const [bulkSearch] = (await account.ok('bulk', { search: [{ id: 'item-a', '[[edges]]': {} }] })).search;
    assert.deepEqual(edgeNames(bulkSearch[0]['[[edges]]']), ['kept']);
  });

  test('an edge whose edge item is deleted (delete_item or delete_edge_by_source_target): left out | left out', async () => {
    for (const o of [legacy, account]) {
      const outgoing = (await o.ok('get_edges', { item: 'item-a' })) as { name: string }[];
      assert.ok(!outgoing.some((entry) => entry.name === 'gone' || entry.name === 'removed'));
      const [a] = await o.search({ id: 'item-a', '[[edges]]': {} });
      assert.ok(!edgeNames(a['[[edges]]']).some((name) => name === 'gone' || name === 'removed'));
      const [x] = await o.search({ id: 'item-x', '~[[edges]]': {} });
      assert.deepEqual(edgeNames(x['~[[edges]]']), ['kept']);
    }
    const [tombstone] = await legacy.ok('get_item', edges.removed);
    assert.equal(tombstone.deleted, true, 'the edge item stays readable in legacy mode');
  });

  test('_includeDeleted (ours) reads an account-mode database as legacy mode does: tombstones and their edges', async () => {
    const all = await account.search({ type: 'Thing', _includeDeleted: true, '[[edges]]': {} });
    assert.deepEqual(idsOf(all), ['item-a', 'item-d', 'item-x', 'item-y']);
    assert.deepEqual(edgeNames(all.find((item) => item.id === 'item-a')['[[edges]]']), ['kept', 'toDeleted']);
    assert.deepEqual(
      idsOf(await account.search({ type: 'Thing', _includeDeleted: true, deleted: false })),
      ['item-a', 'item-x', 'item-y'],
      'a "deleted" filter still applies',
    );
    await account.fails('search', { _includeDeleted: 'yes' }, 400);
  });
});

describe('writes behave the same in both modes', () => {
  const pod = usePod();

  for (const mode of ['legacy', 'account'] as const)
    test(`${mode}: update and restore a deleted item, delete idempotently, ids stay taken, deletions bump dateServerModified`, async () => {
      const o = mode === 'account' ? await accountOwner(pod().url) : new Owner(pod().url);
      await o.declare(['name', 'Text']);
      const id = await o.create({ type: 'Thing', id: 'thing-1', name: 'one' });
      const created = (await o.search({ id, deleted: false }))[0].dateServerModified;
      await o.ok('delete_item', id);
      const [deleted] = await o.search({ id, deleted: true });
      assert.ok(deleted.dateServerModified > created, 'the deletion bumped dateServerModified');
      assert.deepEqual(await o.ok('delete_item', id), {}, 'idempotent');
      assert.deepEqual(await o.ok('update_item', { id, name: 'renamed while deleted' }), {});
      await o.fails('create_item', { type: 'Thing', id }, 409);
      assert.deepEqual(await o.ok('update_item', { id, deleted: false }), {}, 'restored');
      const restored = await o.get(id);
      assert.equal(restored.deleted, false);
      assert.equal(restored.name, 'renamed while deleted');
    });
});

describe('the change feed in account mode', () => {
  const pod = usePod();

  test('delivers tombstones: a syncing client learns of deletions', async () => {
    const o = await accountOwner(pod().url);
    const id = await o.create({ type: 'Thing' });
    await o.ok('delete_item', id);
    const controller = new AbortController();
    const response = await fetch(`${o.url}/v4/${o.owner}/changes`, {
      method: 'POST',
      body: JSON.stringify({ auth: o.auth, payload: {} }),
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    let tombstone: { deleted?: boolean } | undefined;
    while (!tombstone) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      for (const [, data] of text.matchAll(/^data: (.*)$/gm))
        tombstone ??= (JSON.parse(data!) as { id: string; deleted: boolean }[]).find((item) => item.id === id);
    }
    controller.abort();
    assert.equal(tombstone?.deleted, true);
  });
});
