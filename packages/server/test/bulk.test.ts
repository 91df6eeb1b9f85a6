/** Spec §3 `bulk`: one transaction, creates → updates → deletes → edges → searches, all or nothing. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod, declare, Owner } from './helpers.js';

describe('bulk', () => {
  const pod = usePod();

  test('an empty bulk answers the full result shape', async () => {
    const o = new Owner(pod().url);
    assert.deepEqual(await o.ok('bulk', {}), { createItems: [], createEdges: [], search: [] });
  });

  test('order: creates, updates, deletes, edges, searches; result {createItems, createEdges, search}', async () => {
    const o = new Owner(pod().url);
    const existing = await o.create({ type: 'Old' });
    const result = await o.ok('bulk', {
      // keys deliberately out of order: the pod applies its own order
      search: [{ id: 'bulkItemA1', '[[edges]]': {} }, { id: 'bulkItemB1' }, { type: 'Old' }, { bulkProp: 'updated' }],
      createEdges: [
        { _source: 'bulkItemA1', _target: 'bulkItemB1', _name: 'rel' },
        { _source: existing, _target: 'bulkItemA1', _name: 'old-to-new' },
      ],
      deleteItems: ['bulkItemB1', existing],
      updateItems: [{ id: 'bulkItemA1', bulkProp: 'updated' }],
      createItems: [
        declare('bulkProp', 'Text', 'Thing'),
        { id: 'bulkItemA1', type: 'Thing', bulkProp: 'original' },
        { id: 'bulkItemB1', type: 'Thing', bulkProp: 'other' },
      ],
    });
    assert.deepEqual(Object.keys(result).sort(), ['createEdges', 'createItems', 'search']);
    assert.equal(result.createItems.length, 3);
    assert.match(result.createItems[0], /^[0-9a-f]{32}$/);
    assert.deepEqual(result.createItems.slice(1), ['bulkItemA1', 'bulkItemB1']);
    assert.equal(result.createEdges.length, 2);
    for (const id of result.createEdges) assert.equal(typeof id, 'string');

    assert.equal(result.search.length, 4);
    const [[a], [b], [old], byProp] = result.search;
    assert.equal(a.id, 'bulkItemA1');
    assert.equal(a.bulkProp, 'updated', 'updates ran after creates');
    assert.equal(a.deleted, false);
    assert.equal(a['[[edges]]'].length, 1, 'edges ran before searches');
    assert.equal(a['[[edges]]'][0]._edge, 'rel');
    assert.equal(a['[[edges]]'][0].id, result.createEdges[0]);
    assert.equal(a['[[edges]]'][0]._item.id, 'bulkItemB1');
    assert.equal(b.id, 'bulkItemB1');
    assert.equal(b.deleted, true, 'deletes ran before searches');
    assert.equal(old.id, existing);
    assert.equal(old.deleted, true);
    assert.deepEqual(
      byProp.map((i: any) => i.id),
      ['bulkItemA1'],
    );

    // all of it is committed
    assert.equal((await o.get('bulkItemA1')).bulkProp, 'updated');
    assert.equal((await o.get('bulkItemB1')).deleted, true);
    const edges = await o.ok('get_edges', { item: existing, direction: 'Outgoing', expandItems: false });
    assert.deepEqual(edges, [{ name: 'old-to-new', item: { id: 'bulkItemA1' } }]);
  });

  test('a schema item created earlier in the bulk is in force for later items of that bulk', async () => {
    const o = new Owner(pod().url);
    const result = await o.ok('bulk', {
      createItems: [
        declare('laterProp', 'Integer', 'X'),
        { type: 'Y', laterProp: 5 },
        declare('evenLater', 'Real', 'X'),
        { type: 'Z', laterProp: 6, evenLater: 2 },
      ],
      updateItems: [],
      search: [{ laterProp: 6 }],
    });
    assert.equal(result.createItems.length, 4);
    assert.equal((await o.get(result.createItems[1])).laterProp, 5);
    assert.equal(result.search[0][0].id, result.createItems[3]);
    assert.match(await o.getText(result.createItems[3]), /"evenLater"\s*:\s*2\.0\b/);
  });

  test('every write of one bulk shares one dateServerModified, later than the previous transaction', async () => {
    const o = new Owner(pod().url);
    await o.declare(['n', 'Integer']);
    const first = await o.create({ type: 'T', n: 0 });
    const firstDsm = (await o.get(first)).dateServerModified;
    const result = await o.ok('bulk', {
      createItems: Array.from({ length: 10 }, (_, i) => ({ type: 'T', n: i + 1 })),
      updateItems: [{ id: first, n: 100 }],
    });
    const items = await o.search({ type: 'T' });
    assert.equal(items.length, 11);
    const values = new Set(items.map((i) => i.dateServerModified));
    assert.equal(values.size, 1, `one bulk, one dateServerModified: ${[...values]}`);
    assert.ok([...values][0] > firstDsm);
    assert.equal(result.createItems.length, 10);
  });

  test('a failing update (unknown id) rolls back everything, including schema declared in the bulk', async () => {
    const o = new Owner(pod().url);
    await o.declare(['keep', 'Text']);
    const existing = await o.create({ type: 'Existing', keep: 'before' });
    const before = await o.get(existing);
    const r = await o.call('bulk', {
      createItems: [
        declare('rbProp', 'Text', 'X'),
        { id: 'rollbackItem1', type: 'X', rbProp: 'x' },
        { id: 'rollbackItem2', type: 'X' },
      ],
      updateItems: [
        { id: existing, keep: 'after' },
        { id: 'rollbackItem1', rbProp: 'y' },
        { id: 'noSuchItem42', keep: 'x' },
      ],
      deleteItems: [existing],
    });
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(await o.ok('get_item', 'rollbackItem1'), []);
    assert.deepEqual(await o.ok('get_item', 'rollbackItem2'), []);
    assert.deepEqual(await o.get(existing), before);
    await o.fails('create_item', { type: 'X', rbProp: 'x' }, 400);
    assert.deepEqual(await o.search({ type: 'ItemPropertySchema', propertyName: 'rbProp' }), []);
    // the ids are free again
    assert.equal(await o.create({ id: 'rollbackItem1', type: 'X' }), 'rollbackItem1');
  });

  test('a later item with a wrong value type rolls back everything (400)', async () => {
    const o = new Owner(pod().url);
    const r = await o.call('bulk', {
      createItems: [
        declare('typedProp', 'Integer', 'X'),
        { id: 'typedItem01', type: 'X', typedProp: 1 },
        { id: 'typedItem02', type: 'X', typedProp: 'not an integer' },
      ],
    });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(await o.ok('get_item', 'typedItem01'), []);
    await o.fails('create_item', { type: 'X', typedProp: 1 }, 400);
    // and re-declaring with another type now works: the failed declaration left no trace
    await o.create(declare('typedProp', 'Text', 'X'));
    await o.create({ type: 'X', typedProp: 'text now' });
  });

  test('a duplicate id inside a bulk → 409 and nothing is written', async () => {
    const o = new Owner(pod().url);
    const r = await o.call('bulk', {
      createItems: [
        { id: 'dupInBulk1', type: 'X' },
        { id: 'otherItem1', type: 'X' },
        { id: 'dupInBulk1', type: 'X' },
      ],
    });
    assert.equal(r.status, 409, r.text);
    assert.deepEqual(await o.search({ type: 'X' }), []);
  });

  test('a failing edge (missing target) rolls back the creates and updates → 404', async () => {
    const o = new Owner(pod().url);
    const r = await o.call('bulk', {
      createItems: [{ id: 'edgeRbItem1', type: 'X' }],
      createEdges: [{ _source: 'edgeRbItem1', _target: 'missingTgt1', _name: 'x' }],
    });
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(await o.ok('get_item', 'edgeRbItem1'), []);
  });

  test('a failing search (undeclared filter) rolls back the writes before it → 400', async () => {
    const o = new Owner(pod().url);
    const r = await o.call('bulk', {
      createItems: [{ id: 'searchRb01', type: 'X' }],
      search: [{ type: 'X' }, { notDeclaredAnywhere: 1 }],
    });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(await o.ok('get_item', 'searchRb01'), []);
  });

  test('a failing delete (unknown id) rolls back → 404', async () => {
    const o = new Owner(pod().url);
    const r = await o.call('bulk', {
      createItems: [{ id: 'deleteRb01', type: 'X' }],
      deleteItems: ['deleteRb01', 'unknownDel1'],
    });
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(await o.ok('get_item', 'deleteRb01'), []);
  });

  test('malformed bulk payloads → 400', async () => {
    const o = new Owner(pod().url);
    await o.fails('bulk', { createItems: 'nope' }, 400);
    await o.fails('bulk', { createItems: [{ id: 'noTypeAtAll' }] }, 400);
    await o.fails('bulk', { deleteItems: [{ id: 'x' }] }, 400);
    await o.fails('bulk', [], 400);
    assert.deepEqual(await o.ok('get_item', 'noTypeAtAll'), []);
  });

  test("a bulk's bad items are named by index, each with NewItem's own words, and nothing is written", async () => {
    const o = new Owner(pod().url);
    const createItems = [{ type: 'X', id: 'fineItem1' }, { id: 'noType1' }, 'text', { type: '' }, [], { type: 7 }];
    const r = await o.fails('bulk', { createItems, batchId: '' }, 400);
    assert.equal(
      JSON.parse(r.text).message,
      'payload.batchId: Too small: expected string to have >=1 characters; ' +
        'payload.createItems.1.type: an item needs a "type" string; ' +
        'payload.createItems.2: Invalid input: expected object, received string; ' +
        'payload.createItems.3.type: an item "type" must not be empty; ' +
        'payload.createItems.4: Invalid input: expected object, received array; ' +
        'payload.createItems.5.type: an item needs a "type" string',
    );
    assert.deepEqual(await o.ok('get_item', 'fineItem1'), []);
  });

  test('push like the sync client: updates erasing with null, pushed items carrying every base field', async () => {
    const o = new Owner(pod().url);
    await o.declare(['a', 'Text'], ['b', 'Text']);
    const id = await o.create({ type: 'Note', a: '1', b: '2' });
    const full = await o.get(id);
    await o.ok('bulk', { updateItems: [{ id, a: 'one', b: null }] });
    const item = await o.get(id);
    assert.equal(item.a, 'one');
    assert.ok(item.b === undefined || item.b === null);
    // a client pushing a new item with all base fields it knows of
    const pushed = { ...full, id: 'pushedItem01', a: 'pushed' };
    delete pushed.b;
    const res = await o.ok('bulk', { createItems: [pushed] });
    assert.deepEqual(res.createItems, ['pushedItem01']);
    const got = await o.get('pushedItem01');
    assert.equal(got.a, 'pushed');
    assert.equal(got.dateCreated, full.dateCreated);
    assert.ok(got.dateServerModified > full.dateServerModified);
  });
});
