/** Spec §3 (items and their endpoints) and §4 value checks. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod, Owner } from './helpers.js';

describe('items', () => {
  const pod = usePod();

  const owner = async () => {
    const o = new Owner(pod().url);
    await o.declare(['name', 'Text'], ['age', 'Integer'], ['weight', 'Real'], ['alive', 'Bool'], ['birth', 'DateTime']);
    return o;
  };

  test('create_item without id: a 32-lowercase-hex id; get_item returns [item] with every base field', async () => {
    const o = await owner();
    const t0 = Date.now();
    const id = await o.create({ type: 'Person', name: 'Alice', age: 30 });
    const t1 = Date.now();
    assert.match(id, /^[0-9a-f]{32}$/);
    const item = await o.get(id);
    assert.equal(item.type, 'Person');
    assert.equal(item.name, 'Alice');
    assert.equal(item.age, 30);
    assert.equal(item.deleted, false);
    for (const field of ['dateCreated', 'dateModified', 'dateServerModified']) {
      assert.equal(typeof item[field], 'number', field);
      assert.ok(Number.isInteger(item[field]), `${field} is an integer: ${item[field]}`);
      assert.ok(item[field] >= t0 - 5 && item[field] <= t1 + 5000, `${field}=${item[field]} is now (${t0}..${t1})`);
    }
    const second = await o.create({ type: 'Person' });
    assert.match(second, /^[0-9a-f]{32}$/);
    assert.notEqual(second, id);
  });

  test('given dateCreated/dateModified/deleted are kept on create; dateServerModified is set by the pod', async () => {
    const o = await owner();
    const t0 = Date.now();
    const id = await o.create({
      type: 'Old',
      dateCreated: 1_500_000_000_000,
      dateModified: 1_600_000_000_000,
      deleted: true,
      dateServerModified: 5,
    });
    const item = await o.get(id);
    assert.equal(item.dateCreated, 1_500_000_000_000);
    assert.equal(item.dateModified, 1_600_000_000_000);
    assert.equal(item.deleted, true);
    assert.ok(item.dateServerModified >= t0, `dateServerModified ${item.dateServerModified} was set by the pod, not 5`);
  });

  test('a given mixed-case id is stored, returned and matched byte for byte (case-sensitive)', async () => {
    const o = await owner();
    const mixed = 'fCafFdD2De4098f3efa3f1a43921C292';
    assert.equal(await o.create({ id: mixed, type: 'Person', name: 'mixed' }), mixed);
    const got = await o.get(mixed);
    assert.equal(got.id, mixed);
    assert.deepEqual(await o.ok('get_item', mixed.toLowerCase()), []);
    // the lower-case spelling is a different id
    assert.equal(await o.create({ id: mixed.toLowerCase(), type: 'Person', name: 'lower' }), mixed.toLowerCase());
    assert.equal((await o.get(mixed)).name, 'mixed');
    assert.equal((await o.get(mixed.toLowerCase())).name, 'lower');
    const found = await o.search({ id: mixed });
    assert.deepEqual(
      found.map((i) => i.id),
      [mixed],
    );
    await o.ok('update_item', { id: mixed, name: 'mixed2' });
    assert.equal((await o.get(mixed)).name, 'mixed2');
    assert.equal((await o.get(mixed.toLowerCase())).name, 'lower');
  });

  test('given ids of every allowed shape are accepted; invalid ids → 400', async () => {
    const o = await owner();
    for (const id of ['abcdef', 'A-b_C-9', 'x'.repeat(36), '123456', '------', 'Z_Z_Z_Z_Z_Z']) {
      assert.equal(await o.create({ id, type: 'Shape' }), id);
      assert.equal((await o.get(id)).id, id);
    }
    for (const id of ['abcde', 'x'.repeat(37), 'has space', 'slash/abc', 'dot.abcdef', 'ünicode1', '', 'abc%20def']) {
      await o.fails('create_item', { id, type: 'Shape' }, 400);
    }
    await o.fails('create_item', { id: 123456789, type: 'Shape' }, 400);
    assert.equal((await o.search({ type: 'Shape' })).length, 6);
  });

  test('duplicate id → 409, the first item untouched', async () => {
    const o = await owner();
    await o.create({ id: 'duplicate-1', type: 'Person', name: 'first' });
    await o.fails('create_item', { id: 'duplicate-1', type: 'Person', name: 'second' }, 409);
    await o.fails('create_item', { id: 'duplicate-1', type: 'Other' }, 409);
    const item = await o.get('duplicate-1');
    assert.equal(item.name, 'first');
    assert.equal(item.type, 'Person');
  });

  test('type is required and non-empty; any non-empty string is a type', async () => {
    const o = await owner();
    await o.fails('create_item', { name: 'no type' }, 400);
    await o.fails('create_item', { type: '' }, 400);
    await o.fails('create_item', { type: 42 }, 400);
    const weird = 'A type with spaces, ünïcödé & symbols 😀';
    const id = await o.create({ type: weird });
    assert.equal((await o.get(id)).type, weird);
    assert.deepEqual(
      (await o.search({ type: weird })).map((i) => i.id),
      [id],
    );
    // Photo items are ordinary items, no file edge needed
    const photo = await o.create({ type: 'Photo', name: 'no file' });
    assert.equal((await o.get(photo)).type, 'Photo');
  });

  test('get_item: unknown id → [] (200); deleted items included', async () => {
    const o = await owner();
    assert.deepEqual(await o.ok('get_item', 'unknownId123'), []);
    const id = await o.create({ type: 'Person' });
    await o.ok('delete_item', id);
    const items = await o.ok('get_item', id);
    assert.equal(items.length, 1);
    assert.equal(items[0].deleted, true);
  });

  test('undeclared property → 400 on create and update, nothing written', async () => {
    const o = await owner();
    await o.fails('create_item', { type: 'Person', undeclaredThing: 'x' }, 400);
    await o.fails('create_item', { type: 'Person', toString: 'x' }, 400);
    await o.fails('create_item', { type: 'Person', constructor: 'x' }, 400);
    assert.deepEqual(await o.search({ type: 'Person' }), []);
    const id = await o.create({ type: 'Person', name: 'Bob' });
    const before = await o.get(id);
    await o.fails('update_item', { id, name: 'Robert', undeclaredThing: 'x' }, 400);
    assert.deepEqual(await o.get(id), before);
  });

  test('update_item: changes properties, returns {}, bumps dateServerModified; {"id"} alone is valid', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Person', name: 'Carol', age: 40, dateCreated: 1000, dateModified: 2000 });
    const v1 = await o.get(id);
    const t0 = Date.now();
    assert.deepEqual(await o.ok('update_item', { id, age: 41 }), {});
    const v2 = await o.get(id);
    assert.equal(v2.age, 41);
    assert.equal(v2.name, 'Carol');
    assert.equal(v2.dateCreated, 1000);
    assert.ok(v2.dateModified >= t0, `dateModified set to now: ${v2.dateModified}`);
    assert.ok(v2.dateServerModified > v1.dateServerModified);

    assert.deepEqual(await o.ok('update_item', { id }), {});
    const v3 = await o.get(id);
    assert.equal(v3.age, 41);
    assert.equal(v3.name, 'Carol');
    assert.ok(v3.dateServerModified > v2.dateServerModified);

    await o.ok('update_item', { id, dateModified: 1234 });
    assert.equal((await o.get(id)).dateModified, 1234);
  });

  test('update_item: type and dateCreated are ignored, dateServerModified cannot be set', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Person', dateCreated: 1000 });
    const res = await o.call('update_item', { id, type: 'Robot', dateCreated: 99, dateServerModified: 7 });
    assert.equal(res.status, 200, res.text);
    const item = await o.get(id);
    assert.equal(item.type, 'Person');
    assert.equal(item.dateCreated, 1000);
    assert.notEqual(item.dateServerModified, 7);
  });

  test('update_item with null erases the property', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Person', name: 'Dave', age: 50 });
    await o.ok('update_item', { id, name: null });
    const item = await o.get(id);
    assert.ok(item.name === undefined || item.name === null, `name erased, got ${JSON.stringify(item.name)}`);
    assert.equal(item.age, 50);
    // an erased property no longer matches a search on its old value
    assert.deepEqual(await o.search({ name: 'Dave' }), []);
    // and can be set again
    await o.ok('update_item', { id, name: 'Dave again' });
    assert.equal((await o.get(id)).name, 'Dave again');
  });

  test('update_item: deleted true/false sets it, null or absent leaves it', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Person' });
    await o.ok('update_item', { id, deleted: true });
    assert.equal((await o.get(id)).deleted, true);
    await o.ok('update_item', { id, deleted: null });
    assert.equal((await o.get(id)).deleted, true);
    await o.ok('update_item', { id, name: 'x' });
    assert.equal((await o.get(id)).deleted, true);
    await o.ok('update_item', { id, deleted: false });
    assert.equal((await o.get(id)).deleted, false);
    await o.fails('update_item', { id, deleted: 'yes' }, 400);
  });

  test('update_item on an unknown id → 404; without an id → 400', async () => {
    const o = await owner();
    await o.fails('update_item', { id: 'noSuchItem1', name: 'x' }, 404);
    await o.fails('update_item', { name: 'x' }, 400);
    assert.deepEqual(await o.ok('get_item', 'noSuchItem1'), []);
  });

  test('delete_item is soft: returns {}, the item stays readable with deleted:true', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Person', name: 'Eve', dateModified: 1000 });
    const before = await o.get(id);
    const t0 = Date.now();
    assert.deepEqual(await o.ok('delete_item', id), {});
    const item = await o.get(id);
    assert.equal(item.deleted, true);
    assert.equal(item.name, 'Eve');
    assert.equal(item.type, 'Person');
    assert.ok(item.dateModified >= t0, `delete sets dateModified to now: ${item.dateModified}`);
    assert.ok(item.dateServerModified > before.dateServerModified);
    await o.fails('delete_item', 'noSuchItem2', 404);
    await o.fails('delete_item', { id }, 400);
  });

  test('dateServerModified is strictly increasing across sequential writes and follows the UTC wall clock', async () => {
    const o = await owner();
    const ids: string[] = [];
    let previous = 0;
    for (let i = 0; i < 40; i++) {
      const t0 = Date.now();
      let id: string;
      if (i % 3 === 2) {
        id = ids[ids.length - 1]!;
        await o.ok('update_item', { id, age: i });
      } else {
        id = await o.create({ type: 'Tick', age: i });
        ids.push(id);
      }
      const dsm = (await o.get(id)).dateServerModified;
      assert.ok(dsm > previous, `write ${i}: dateServerModified ${dsm} after ${previous}`);
      assert.ok(dsm >= t0, `write ${i}: dateServerModified ${dsm} lags the wall clock ${t0}`);
      assert.ok(dsm < Date.now() + 10_000, `write ${i}: dateServerModified ${dsm} far ahead of the clock`);
      previous = dsm;
    }
  });

  test('concurrent writes: every transaction gets its own dateServerModified, every bulk one', async () => {
    const o = await owner();
    const singles = await Promise.all(Array.from({ length: 30 }, (_, i) => o.create({ type: 'Parallel', age: i })));
    const bulks = await Promise.all(
      Array.from({ length: 8 }, (_, b) =>
        o.ok('bulk', { createItems: Array.from({ length: 4 }, (_, i) => ({ type: 'Parallel', age: 100 * b + i })) }),
      ),
    );
    const items = await o.search({ type: 'Parallel' });
    assert.equal(items.length, 30 + 8 * 4);
    const dsm = new Map(items.map((i) => [i.id, i.dateServerModified as number]));
    const singleValues = new Set(singles.map((id) => dsm.get(id)));
    assert.equal(singleValues.size, 30, 'each create_item is its own transaction with its own dateServerModified');
    const bulkValues = bulks.map((b) => new Set((b.createItems as string[]).map((id) => dsm.get(id))));
    for (const values of bulkValues) assert.equal(values.size, 1, 'a bulk shares one value');
    const all = new Set([...singleValues, ...bulkValues.map((v) => [...v][0])]);
    assert.equal(all.size, 38, 'no two transactions share a dateServerModified');
    // ascending order of the search is consistent with the values
    for (let i = 1; i < items.length; i++) assert.ok(items[i].dateServerModified >= items[i - 1].dateServerModified);
  });

  test('base fields are type-checked too: dateCreated/dateModified integers, deleted a bool', async () => {
    const o = await owner();
    await o.fails('create_item', { type: 'Bad', dateCreated: 1.5 }, 400);
    await o.fails('create_item', { type: 'Bad', dateModified: '2021-01-01' }, 400);
    await o.fails('create_item', { type: 'Bad', deleted: 'no' }, 400);
    await o.fails('create_item', { type: 'Bad', deleted: 1 }, 400);
    assert.deepEqual(await o.search({ type: 'Bad' }), []);
  });

  test('Real: an integer comes back as a real (33.0), 33.2 stays 33.2', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Dog', weight: 33 });
    const textA = await o.getText(a);
    assert.match(textA, /"weight"\s*:\s*33\.0\b/, `raw answer: ${textA}`);
    const b = await o.create({ type: 'Dog', weight: 33.2 });
    const textB = await o.getText(b);
    assert.match(textB, /"weight"\s*:\s*33\.2\b/, `raw answer: ${textB}`);
    assert.equal((await o.get(b)).weight, 33.2);
    await o.ok('update_item', { id: b, weight: 7 });
    assert.match(await o.getText(b), /"weight"\s*:\s*7\.0\b/);
    const c = await o.create({ type: 'Dog', weight: -0.5 });
    assert.equal((await o.get(c)).weight, -0.5);
    // search results format it the same way
    const s = await o.call('search', { id: a });
    assert.match(s.text, /"weight"\s*:\s*33\.0\b/, `raw search answer: ${s.text}`);
    // and an integer filter value matches the stored real
    assert.deepEqual(
      (await o.search({ weight: 33 })).map((i) => i.id),
      [a],
    );
  });

  test('Integer, DateTime, Bool, Text values round-trip exactly', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Thing', age: -12, birth: 1_620_000_000_123, alive: true, name: '' });
    const item = await o.get(id);
    assert.equal(item.age, -12);
    assert.equal(item.birth, 1_620_000_000_123);
    assert.equal(item.alive, true);
    assert.equal(item.name, '');
    const text = await o.getText(id);
    assert.match(text, /"age"\s*:\s*-12\b(?!\.)/);
    assert.match(text, /"alive"\s*:\s*true/);
    await o.ok('update_item', { id, alive: false, age: 9_007_199_254_740_991 });
    const updated = await o.get(id);
    assert.equal(updated.alive, false);
    assert.equal(updated.age, 9_007_199_254_740_991);
  });

  test('wrong value types → 400 (Integer 1.5, DateTime 1.5, string for Bool/Integer/Real/DateTime, arrays, objects)', async () => {
    const o = await owner();
    const bad: Record<string, unknown>[] = [
      { age: 1.5 },
      { birth: 1.5 },
      { alive: 'true' },
      { alive: 'yes' },
      { age: '5' },
      { weight: '33.2' },
      { birth: '2021-01-01' },
      { name: ['a', 'b'] },
      { name: { nested: 1 } },
      { age: [1] },
      { alive: {} },
    ];
    for (const props of bad) await o.fails('create_item', { type: 'Bad', ...props }, 400);
    assert.deepEqual(await o.search({ type: 'Bad' }), []);
    const id = await o.create({ type: 'Good', age: 1 });
    for (const props of bad) await o.fails('update_item', { id, ...props }, 400);
    assert.equal((await o.get(id)).age, 1);
  });
});
