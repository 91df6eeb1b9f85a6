/** Spec §3 `create_edge` and `get_edges`. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod, Owner } from './helpers.js';

describe('edges', () => {
  const pod = usePod();

  const owner = async () => {
    const o = new Owner(pod().url);
    await o.declare(['name', 'Text'], ['strength', 'Real'], ['label', 'Text']);
    return o;
  };

  test('create_edge returns an id; the edge is an item of type Edge that can carry properties', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person', name: 'A' });
    const b = await o.create({ type: 'Person', name: 'B' });
    const edge = await o.ok('create_edge', { _source: a, _target: b, _name: 'friend' });
    assert.equal(typeof edge, 'string');
    assert.match(edge, /^[0-9a-f]{32}$/);
    const item = await o.get(edge);
    assert.equal(item.type, 'Edge');
    assert.equal(item.deleted, false);
    assert.equal(typeof item.dateServerModified, 'number');
    assert.deepEqual(await o.ok('update_item', { id: edge, strength: 0.75, label: 'close' }), {});
    const updated = await o.get(edge);
    assert.equal(updated.strength, 0.75);
    assert.equal(updated.label, 'close');
    await o.fails('update_item', { id: edge, undeclaredEdgeProp: 1 }, 400);
    // the edge item is searchable like any item
    assert.deepEqual(
      (await o.search({ type: 'Edge', label: 'close' })).map((i) => i.id),
      [edge],
    );
    // and its properties show in [[edges]] entries
    const [withEdges] = await o.search({ id: a, '[[edges]]': {} });
    assert.equal(withEdges['[[edges]]'].length, 1);
    assert.equal(withEdges['[[edges]]'][0].strength, 0.75);
    assert.equal(withEdges['[[edges]]'][0]._edge, 'friend');
  });

  test('source or target missing → 404, nothing created', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person' });
    await o.fails('create_edge', { _source: a, _target: 'missingTarget1', _name: 'x' }, 404);
    await o.fails('create_edge', { _source: 'missingSource1', _target: a, _name: 'x' }, 404);
    assert.deepEqual(await o.ok('get_edges', { item: a, direction: 'Outgoing', expandItems: false }), []);
    assert.deepEqual(await o.ok('get_edges', { item: a, direction: 'Incoming', expandItems: false }), []);
    assert.deepEqual(await o.search({ type: 'Edge' }), []);
  });

  test('malformed edges → 400 (missing _source/_target/_name, empty _name)', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person' });
    const b = await o.create({ type: 'Person' });
    await o.fails('create_edge', { _target: b, _name: 'x' }, 400);
    await o.fails('create_edge', { _source: a, _name: 'x' }, 400);
    await o.fails('create_edge', { _source: a, _target: b }, 400);
    await o.fails('create_edge', { _source: a, _target: b, _name: '' }, 400);
    await o.fails('create_edge', 'not an object', 400);
  });

  test('edge names are any non-empty string; several edges may share a name', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person' });
    const b = await o.create({ type: 'Person' });
    const c = await o.create({ type: 'Person' });
    const name = 'has friend ✓ (weird name)';
    await o.ok('create_edge', { _source: a, _target: b, _name: name });
    await o.ok('create_edge', { _source: a, _target: c, _name: name });
    await o.ok('create_edge', { _source: a, _target: b, _name: name });
    const edges = await o.ok('get_edges', { item: a, direction: 'Outgoing', expandItems: false });
    assert.equal(edges.length, 3);
    for (const e of edges) assert.equal(e.name, name);
    assert.deepEqual(edges.map((e: any) => e.item.id).sort(), [b, b, c].sort());
  });

  test('_self naming an existing item makes that item the edge', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person', name: 'A' });
    const b = await o.create({ type: 'Person', name: 'B' });
    const self = await o.create({ type: 'Friendship', label: 'since 2020' });
    const edge = await o.ok('create_edge', { _source: a, _target: b, _name: 'friendship', _self: self });
    assert.equal(edge, self);
    const item = await o.get(self);
    assert.equal(item.type, 'Friendship');
    assert.equal(item.label, 'since 2020');
    const edges = await o.ok('get_edges', { item: a, direction: 'Outgoing', expandItems: true });
    assert.equal(edges.length, 1);
    assert.equal(edges[0].name, 'friendship');
    assert.equal(edges[0].item.id, b);
    const [withEdges] = await o.search({ id: a, '[[edges]]': {} });
    assert.equal(withEdges['[[edges]]'][0].id, self);
    assert.equal(withEdges['[[edges]]'][0].type, 'Friendship');
    assert.equal(withEdges['[[edges]]'][0].label, 'since 2020');
    assert.equal(withEdges['[[edges]]'][0]._item.id, b);
    assert.deepEqual(await o.search({ type: 'Edge' }), []);
  });

  test("creating an edge bumps the source item's dateServerModified", async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person' });
    const b = await o.create({ type: 'Person' });
    const before = (await o.get(a)).dateServerModified;
    // no pause needed: the store's dateServerModified strictly increases, within a millisecond too
    const cursor = (await o.get(b)).dateServerModified + 1;
    const edge = await o.ok('create_edge', { _source: a, _target: b, _name: 'knows' });
    const after = (await o.get(a)).dateServerModified;
    assert.ok(after > before, `source dateServerModified ${before} → ${after}`);
    assert.equal(
      after,
      (await o.get(edge)).dateServerModified,
      'the source and the edge were written in one transaction',
    );
    // a sync client paging from the old cursor sees the source again
    const page = await o.search({ 'dateServerModified>=': cursor, type: 'Person' });
    assert.deepEqual(
      page.map((i) => i.id),
      [a],
    );
  });

  test('get_edges Outgoing/Incoming, expandItems true (full item) and false ({"id"} only)', async () => {
    const o = await owner();
    const msg = await o.create({ type: 'Message', name: 'hello' });
    const alice = await o.create({ type: 'Person', name: 'Alice' });
    const bob = await o.create({ type: 'Person', name: 'Bob' });
    await o.ok('create_edge', { _source: msg, _target: alice, _name: 'sender' });
    await o.ok('create_edge', { _source: msg, _target: bob, _name: 'receiver' });

    const outFull = await o.ok('get_edges', { item: msg, direction: 'Outgoing', expandItems: true });
    assert.equal(outFull.length, 2);
    const sender = outFull.find((e: any) => e.name === 'sender');
    const receiver = outFull.find((e: any) => e.name === 'receiver');
    assert.ok(sender && receiver, JSON.stringify(outFull));
    assert.deepEqual(Object.keys(sender).sort(), ['item', 'name']);
    assert.equal(sender.item.id, alice);
    assert.equal(sender.item.name, 'Alice');
    assert.equal(sender.item.type, 'Person');
    assert.equal(sender.item.deleted, false);
    assert.equal(typeof sender.item.dateServerModified, 'number');
    assert.equal(receiver.item.name, 'Bob');

    const outIds = await o.ok('get_edges', { item: msg, direction: 'Outgoing', expandItems: false });
    assert.equal(outIds.length, 2);
    assert.deepEqual(
      outIds.map((e: any) => e).sort((x: any, y: any) => x.name.localeCompare(y.name)),
      [
        { name: 'receiver', item: { id: bob } },
        { name: 'sender', item: { id: alice } },
      ],
    );

    const inFull = await o.ok('get_edges', { item: alice, direction: 'Incoming', expandItems: true });
    assert.equal(inFull.length, 1);
    assert.equal(inFull[0].name, 'sender');
    assert.equal(inFull[0].item.id, msg);
    assert.equal(inFull[0].item.name, 'hello');
    assert.equal(inFull[0].item.type, 'Message');

    assert.deepEqual(await o.ok('get_edges', { item: alice, direction: 'Incoming', expandItems: false }), [
      { name: 'sender', item: { id: msg } },
    ]);
    assert.deepEqual(await o.ok('get_edges', { item: alice, direction: 'Outgoing', expandItems: true }), []);
    assert.deepEqual(await o.ok('get_edges', { item: msg, direction: 'Incoming', expandItems: false }), []);
  });

  test('get_edges on an unknown item → 404; a bad direction → 400', async () => {
    const o = await owner();
    await o.fails('get_edges', { item: 'noSuchItem9', direction: 'Outgoing', expandItems: true }, 404);
    await o.fails('get_edges', { item: 'noSuchItem9', direction: 'Incoming', expandItems: false }, 404);
    const a = await o.create({ type: 'Person' });
    await o.fails('get_edges', { item: a, direction: 'Sideways', expandItems: false }, 400);
  });

  test('edges between mixed-case ids match byte for byte', async () => {
    const o = await owner();
    await o.create({ id: 'AbCdEf123', type: 'Person', name: 'upper' });
    await o.create({ id: 'abcdef123', type: 'Person', name: 'lower' });
    await o.create({ id: 'Target-XY', type: 'Person', name: 'target' });
    await o.ok('create_edge', { _source: 'AbCdEf123', _target: 'Target-XY', _name: 'points' });
    assert.equal((await o.ok('get_edges', { item: 'AbCdEf123', direction: 'Outgoing', expandItems: false })).length, 1);
    assert.deepEqual(await o.ok('get_edges', { item: 'abcdef123', direction: 'Outgoing', expandItems: false }), []);
    const incoming = await o.ok('get_edges', { item: 'Target-XY', direction: 'Incoming', expandItems: true });
    assert.deepEqual(
      incoming.map((e: any) => [e.name, e.item.id, e.item.name]),
      [['points', 'AbCdEf123', 'upper']],
    );
    await o.fails('create_edge', { _source: 'abcdef123', _target: 'target-xy', _name: 'points' }, 404);
  });
});
