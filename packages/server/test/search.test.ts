/** Spec §3 `search` and §6 paging with `dateServerModified>=`. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod, Owner } from './helpers.js';

const DSM = 'dateServerModified';

describe('search', () => {
  const pod = usePod();

  const owner = async () => {
    const o = new Owner(pod().url);
    await o.declare(['firstName', 'Text'], ['age', 'Integer'], ['tag', 'Text'], ['vip', 'Bool'], ['score', 'Real']);
    return o;
  };

  test('filters by type, id, deleted and property equality (Text, Integer, Bool, Real)', async () => {
    const o = await owner();
    const alice = await o.create({ type: 'Person', firstName: 'Alice', age: 30, vip: true, score: 1.5 });
    const bob = await o.create({ type: 'Person', firstName: 'Bob', age: 30, vip: false, score: 2 });
    const rex = await o.create({ type: 'Dog', firstName: 'Rex', age: 3 });
    const gone = await o.create({ type: 'Person', firstName: 'Gone', age: 99 });
    await o.ok('delete_item', gone);
    const ids = (items: any[]) => items.map((i) => i.id);

    assert.deepEqual(ids(await o.search({ type: 'Person' })), [alice, bob, gone]);
    assert.deepEqual(ids(await o.search({ type: 'Dog' })), [rex]);
    assert.deepEqual(ids(await o.search({ id: bob })), [bob]);
    assert.deepEqual(ids(await o.search({ id: 'nonexistent1' })), []);
    assert.deepEqual(ids(await o.search({ type: 'Person', deleted: false })), [alice, bob]);
    assert.deepEqual(ids(await o.search({ deleted: true })), [gone]);
    assert.deepEqual(ids(await o.search({ firstName: 'Alice' })), [alice]);
    assert.deepEqual(ids(await o.search({ firstName: 'alice' })), []);
    assert.deepEqual(ids(await o.search({ age: 30 })), [alice, bob]);
    assert.deepEqual(ids(await o.search({ age: 30, vip: true })), [alice]);
    assert.deepEqual(ids(await o.search({ vip: false })), [bob]);
    assert.deepEqual(ids(await o.search({ score: 2 })), [bob]);
    assert.deepEqual(ids(await o.search({ score: 1.5, type: 'Person' })), [alice]);
    assert.deepEqual(ids(await o.search({ type: 'Dog', firstName: 'Alice' })), []);
    const all = await o.search({});
    for (const id of [alice, bob, rex, gone])
      assert.ok(
        all.some((i) => i.id === id),
        `empty query returns ${id}`,
      );
    // results are full items
    const [a] = await o.search({ id: alice });
    assert.equal(a.firstName, 'Alice');
    assert.equal(a.age, 30);
    assert.equal(a.vip, true);
    assert.equal(a.type, 'Person');
    assert.equal(a.deleted, false);
    assert.equal(typeof a[DSM], 'number');
  });

  test('base fields and built-in properties are filters too (dateCreated, itemType, sha256)', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Doc', dateCreated: 1_000_000, dateModified: 2_000_000 });
    await o.create({ type: 'Doc', dateCreated: 1_000_001 });
    const f = await o.create({ type: 'File', sha256: 'cd'.repeat(32) });
    assert.deepEqual(
      (await o.search({ dateCreated: 1_000_000 })).map((i) => i.id),
      [a],
    );
    assert.deepEqual(
      (await o.search({ dateModified: 2_000_000 })).map((i) => i.id),
      [a],
    );
    assert.deepEqual(
      (await o.search({ sha256: 'cd'.repeat(32) })).map((i) => i.id),
      [f],
    );
    const decls = await o.search({ type: 'ItemPropertySchema', itemType: 'Thing', propertyName: 'firstName' });
    assert.equal(decls.length, 1);
    assert.equal(decls[0].valueType, 'Text');
  });

  test('undeclared filter → 400; null filter → 400; malformed special keys → 400', async () => {
    const o = await owner();
    await o.create({ type: 'Person', firstName: 'A' });
    await o.fails('search', { notDeclared: 'x' }, 400);
    await o.fails('search', { firstName: null }, 400);
    await o.fails('search', { type: 'Person', age: null }, 400);
    await o.fails('search', { firstName: ['A'] }, 400);
    await o.fails('search', { age: 'thirty' }, 400);
    await o.fails('search', { _limit: 'ten' }, 400);
    await o.fails('search', { _sortOrder: 'Sideways' }, 400);
    await o.fails('search', { [`${DSM}>=`]: 'yesterday' }, 400);
  });

  test('filters apply before _limit', async () => {
    const o = await owner();
    await o.ok('bulk', { createItems: Array.from({ length: 40 }, (_, i) => ({ type: 'Filler', tag: 'no', age: i })) });
    for (let i = 0; i < 7; i++) await o.create({ type: 'Filler', tag: 'no', age: 100 + i });
    const matches: string[] = [];
    for (let i = 0; i < 3; i++) matches.push(await o.create({ type: 'Wanted', tag: 'yes', age: 200 + i }));
    // 50 items, only the last 3 match
    const byTag = await o.search({ tag: 'yes', _limit: 2 });
    assert.deepEqual(
      byTag.map((i) => i.id),
      matches.slice(0, 2),
    );
    const byType = await o.search({ type: 'Wanted', _limit: 2 });
    assert.deepEqual(
      byType.map((i) => i.id),
      matches.slice(0, 2),
    );
    const desc = await o.search({ tag: 'yes', _limit: 1, _sortOrder: 'Desc' });
    assert.deepEqual(
      desc.map((i) => i.id),
      [matches[2]],
    );
    const notDeleted = await o.search({ type: 'Wanted', deleted: false, _limit: 3 });
    assert.deepEqual(
      notDeleted.map((i) => i.id),
      matches,
    );
  });

  test('ordered by dateServerModified, Asc by default, Desc newest first; ties in insertion order (reversed for Desc)', async () => {
    const o = await owner();
    const single: string[] = [];
    for (let i = 0; i < 3; i++) single.push(await o.create({ type: 'Ordered', age: i }));
    const bulk = await o.ok('bulk', {
      createItems: Array.from({ length: 5 }, (_, i) => ({ type: 'Ordered', age: 10 + i })),
    });
    const last = await o.create({ type: 'Ordered', age: 99 });
    // an update moves an item to the end
    await o.ok('update_item', { id: single[0], age: 1000 });
    const expected = [single[1], single[2], ...bulk.createItems, last, single[0]];
    const asc = await o.search({ type: 'Ordered' });
    assert.deepEqual(
      asc.map((i) => i.id),
      expected,
    );
    assert.deepEqual(
      (await o.search({ type: 'Ordered', _sortOrder: 'Asc' })).map((i) => i.id),
      expected,
    );
    const desc = await o.search({ type: 'Ordered', _sortOrder: 'Desc' });
    assert.deepEqual(
      desc.map((i) => i.id),
      [...expected].reverse(),
    );
    for (let i = 1; i < asc.length; i++) assert.ok(asc[i][DSM] >= asc[i - 1][DSM]);
    // stable between calls
    assert.deepEqual(
      (await o.search({ type: 'Ordered' })).map((i) => i.id),
      expected,
    );
  });

  test('dateServerModified>= and dateServerModified< bounds', async () => {
    const o = await owner();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await o.create({ type: 'Bounded', age: i }));
    const dsm = await Promise.all(ids.map(async (id) => (await o.get(id))[DSM] as number));
    for (let i = 1; i < dsm.length; i++) assert.ok(dsm[i]! > dsm[i - 1]!);
    const q = (extra: Record<string, unknown>) =>
      o.search({ type: 'Bounded', ...extra }).then((r) => r.map((i) => i.id));
    assert.deepEqual(await q({ [`${DSM}>=`]: dsm[1] }), ids.slice(1));
    assert.deepEqual(await q({ [`${DSM}>=`]: dsm[1]! + 1 }), ids.slice(2));
    assert.deepEqual(await q({ [`${DSM}<`]: dsm[2] }), ids.slice(0, 2));
    assert.deepEqual(await q({ [`${DSM}>=`]: dsm[1], [`${DSM}<`]: dsm[3] }), ids.slice(1, 3));
    assert.deepEqual(await q({ [`${DSM}>=`]: dsm[3]! + 1 }), []);
    assert.deepEqual(await q({ [`${DSM}>=`]: dsm[0], _sortOrder: 'Desc', _limit: 2 }), [ids[3], ids[2]]);
  });

  test('_limit returns the first N matches plus every further match with the N-th dateServerModified', async () => {
    const o = await owner();
    const before1 = await o.create({ type: 'Tie', age: -2 });
    const before2 = await o.create({ type: 'Tie', age: -1 });
    const bulk = await o.ok('bulk', { createItems: Array.from({ length: 30 }, (_, i) => ({ type: 'Tie', age: i })) });
    const after1 = await o.create({ type: 'Tie', age: 100 });
    const group: string[] = bulk.createItems;
    assert.equal(group.length, 30);
    // one bulk is one transaction: every item in it shares one dateServerModified
    const groupDsm = new Set((await o.search({ type: 'Tie' })).filter((i) => group.includes(i.id)).map((i) => i[DSM]));
    assert.equal(groupDsm.size, 1, `a bulk's items share one dateServerModified: ${[...groupDsm]}`);

    const ids = async (q: Record<string, unknown>) => (await o.search({ type: 'Tie', ...q })).map((i) => i.id);
    assert.deepEqual(await ids({ _limit: 1 }), [before1]);
    assert.deepEqual(await ids({ _limit: 2 }), [before1, before2]);
    assert.deepEqual(await ids({ _limit: 3 }), [before1, before2, ...group]);
    assert.deepEqual(await ids({ _limit: 20 }), [before1, before2, ...group]);
    assert.deepEqual(await ids({ _limit: 32 }), [before1, before2, ...group]);
    assert.deepEqual(await ids({ _limit: 33 }), [before1, before2, ...group, after1]);
    const groupOnly = await o.search({ type: 'Tie', [`${DSM}>=`]: [...groupDsm][0], _limit: 5 });
    assert.deepEqual(
      groupOnly.map((i) => i.id),
      group,
    );
    assert.equal(groupOnly.length, 30);
    const desc = await ids({ _limit: 2, _sortOrder: 'Desc' });
    assert.deepEqual(desc, [after1, ...[...group].reverse()]);
  });

  test('paging 3,000 items with dateServerModified>= and _limit never skips an item; repeats are only boundary items', async () => {
    const o = await owner();
    const sizes = [1, 7, 500, 3, 250, 1000, 2, 99, 100, 101, 1, 600, 137, 199];
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      3000,
    );
    const all: string[] = [];
    const expectedTag = new Map<string, string>();
    let n = 0;
    for (const size of sizes) {
      const result = await o.ok('bulk', {
        createItems: Array.from({ length: size }, () => ({ type: 'Paged', age: n++, tag: 'created' })),
      });
      assert.equal(result.createItems.length, size);
      for (const id of result.createItems) {
        all.push(id);
        expectedTag.set(id, 'created');
      }
      // updates in between: move a few earlier items forward in time
      const toUpdate = [...new Set([all[(n * 7919) % all.length]!, all[Math.floor(all.length / 3)]!, all[0]!])];
      await o.ok('bulk', { updateItems: toUpdate.map((id) => ({ id, tag: `updated-${all.length}` })) });
      for (const id of toUpdate) expectedTag.set(id, `updated-${all.length}`);
      await o.ok('update_item', { id: all[all.length - 1]!, tag: 'single-update' });
      expectedTag.set(all[all.length - 1]!, 'single-update');
    }
    assert.equal(new Set(all).size, 3000);

    const limit = 100;
    const seen = new Map<string, any>();
    let cursor = 0;
    let pages = 0;
    for (;;) {
      assert.ok(++pages < 200, 'paging terminates');
      const page = await o.search({ type: 'Paged', [`${DSM}>=`]: cursor, _limit: limit });
      if (page.length === 0) break;
      for (let i = 1; i < page.length; i++) assert.ok(page[i][DSM] >= page[i - 1][DSM], 'ascending');
      if (page.length > limit) {
        const nth = page[limit - 1][DSM];
        for (const item of page.slice(limit))
          assert.equal(item[DSM], nth, 'items past the limit share the N-th timestamp');
      }
      let fresh = 0;
      for (const item of page) {
        assert.ok(item[DSM] >= cursor);
        if (seen.has(item.id)) {
          assert.equal(item[DSM], cursor, `repeat ${item.id} is a boundary item`);
          assert.equal(seen.get(item.id)[DSM], cursor);
        } else fresh++;
        seen.set(item.id, item);
      }
      const max = page[page.length - 1][DSM] as number;
      // every item at the boundary timestamp was in this page (tie rule), so when nothing is new
      // the next timestamp is the only way forward
      cursor = fresh === 0 ? max + 1 : max;
    }
    assert.equal(seen.size, 3000);
    for (const id of all) {
      assert.ok(seen.has(id), `item ${id} was skipped`);
      assert.equal(seen.get(id).tag, expectedTag.get(id), `item ${id} has its latest version`);
    }
  });

  test('"[[edges]]": {} and "~[[edges]]": {} add outgoing/incoming edges with _edge and the full _item', async () => {
    const o = await owner();
    const alice = await o.create({ type: 'Person', firstName: 'Alice' });
    const bob = await o.create({ type: 'Person', firstName: 'Bob', age: 40 });
    const carol = await o.create({ type: 'Person', firstName: 'Carol' });
    const lonely = await o.create({ type: 'Person', firstName: 'Lonely' });
    const e1 = await o.ok('create_edge', { _source: alice, _target: bob, _name: 'friend' });
    const e2 = await o.ok('create_edge', { _source: alice, _target: carol, _name: 'likes' });

    const [a] = await o.search({ id: alice, '[[edges]]': {} });
    assert.equal(a.firstName, 'Alice');
    const out = a['[[edges]]'];
    assert.ok(Array.isArray(out), `[[edges]] is an array: ${JSON.stringify(a)}`);
    assert.equal(out.length, 2);
    const byName = new Map(out.map((e: any) => [e._edge, e]));
    const friend: any = byName.get('friend');
    const likes: any = byName.get('likes');
    assert.ok(friend && likes, JSON.stringify(out));
    assert.equal(friend.id, e1);
    assert.equal(likes.id, e2);
    assert.equal(friend.type, 'Edge');
    assert.equal(typeof friend[DSM], 'number');
    assert.equal(friend._item.id, bob);
    assert.equal(friend._item.firstName, 'Bob');
    assert.equal(friend._item.age, 40);
    assert.equal(friend._item.type, 'Person');
    assert.equal(friend._item.deleted, false);
    assert.equal(typeof friend._item[DSM], 'number');
    assert.equal(likes._item.id, carol);
    assert.equal(a['~[[edges]]'], undefined, 'incoming edges only when asked for');

    const [b] = await o.search({ id: bob, '~[[edges]]': {} });
    const incoming = b['~[[edges]]'];
    assert.ok(Array.isArray(incoming));
    assert.equal(incoming.length, 1);
    assert.equal(incoming[0]._edge, 'friend');
    assert.equal(incoming[0].id, e1);
    assert.equal(incoming[0]._item.id, alice);
    assert.equal(incoming[0]._item.firstName, 'Alice');
    assert.equal(b['[[edges]]'], undefined);

    const both = await o.search({ type: 'Person', '[[edges]]': {}, '~[[edges]]': {} });
    assert.equal(both.length, 4);
    const l = both.find((i) => i.id === lonely);
    assert.deepEqual(l['[[edges]]'], []);
    assert.deepEqual(l['~[[edges]]'], []);
    const c = both.find((i) => i.id === carol);
    assert.deepEqual(c['[[edges]]'], []);
    assert.deepEqual(
      c['~[[edges]]'].map((e: any) => [e._edge, e._item.id]),
      [['likes', alice]],
    );
  });
});
