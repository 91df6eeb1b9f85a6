/** Spec §4: the schema, one map per database from property name to value type. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod, declare, Owner } from './helpers.js';

const BUILT_IN: [string, string][] = [
  ['id', 'Text'],
  ['type', 'Text'],
  ['dateCreated', 'DateTime'],
  ['dateModified', 'DateTime'],
  ['dateServerModified', 'DateTime'],
  ['deleted', 'Bool'],
  ['itemType', 'Text'],
  ['propertyName', 'Text'],
  ['valueType', 'Text'],
  ['containerImage', 'Text'],
  ['targetItemId', 'Text'],
  ['sha256', 'Text'],
  ['key', 'Text'],
  ['nonce', 'Text'],
];

const otherType = (t: string) => (t === 'Text' ? 'Integer' : 'Text');

describe('schema', () => {
  const pod = usePod();

  test('declaring a property returns an id; the property is then usable', async () => {
    const o = new Owner(pod().url);
    const id = await o.create(declare('age', 'Integer', 'Dog'));
    assert.equal(typeof id, 'string');
    const dog = await o.create({ type: 'Dog', age: 3 });
    assert.equal((await o.get(dog)).age, 3);
    // the declaration is an ordinary item (schema items travel like any other item)
    const decl = await o.get(id);
    assert.equal(decl.type, 'ItemPropertySchema');
    assert.equal(decl.itemType, 'Dog');
    assert.equal(decl.propertyName, 'age');
    assert.equal(decl.valueType, 'Integer');
    const found = await o.search({ type: 'ItemPropertySchema', propertyName: 'age' });
    assert.ok(found.some((i) => i.id === id));
  });

  test('re-declaring the same name and type succeeds (also with another itemType, also in bulk)', async () => {
    const o = new Owner(pod().url);
    await o.create(declare('name', 'Text', 'Person'));
    await o.create(declare('name', 'Text', 'Person'));
    await o.create(declare('name', 'Text', 'Company'));
    const bulk = await o.ok('bulk', {
      createItems: [declare('name', 'Text', 'Person'), declare('name', 'Text', 'Person')],
    });
    assert.equal(bulk.createItems.length, 2);
    const id = await o.create({ type: 'Person', name: 'Ann' });
    assert.equal((await o.get(id)).name, 'Ann');
  });

  test('re-declaring with a different type → 400, even with a different itemType; the old type stays in force', async () => {
    const o = new Owner(pod().url);
    await o.create(declare('age', 'Integer', 'Dog'));
    await o.fails('create_item', declare('age', 'Text', 'Dog'), 400);
    await o.fails('create_item', declare('age', 'Real', 'Cat'), 400);
    await o.fails('create_item', declare('age', 'Bool', 'Anything'), 400);
    await o.fails('bulk', { createItems: [declare('age', 'DateTime', 'Bird')] }, 400);
    await o.fails('create_item', { type: 'Dog', age: 'three' }, 400);
    const id = await o.create({ type: 'Cat', age: 9 });
    assert.equal((await o.get(id)).age, 9);
    // the conflicting declarations were not stored as items either
    const decls = await o.search({ type: 'ItemPropertySchema', propertyName: 'age' });
    assert.deepEqual(
      decls.map((d) => d.valueType),
      ['Integer'],
    );
  });

  test('itemType has no effect: a property declared under "Dog" is usable on "Cat" and any type', async () => {
    const o = new Owner(pod().url);
    await o.create(declare('barkVolume', 'Real', 'Dog'));
    const cat = await o.create({ type: 'Cat', barkVolume: 0.25 });
    const car = await o.create({ type: 'Car', barkVolume: 11 });
    assert.equal((await o.get(cat)).barkVolume, 0.25);
    assert.equal((await o.get(car)).barkVolume, 11);
    assert.deepEqual(
      (await o.search({ barkVolume: 0.25 })).map((i) => i.id),
      [cat],
    );
  });

  test('re-declaring every base/built-in field with its own type is accepted, in one bulk like clients do', async () => {
    const o = new Owner(pod().url);
    const items = [
      ...BUILT_IN.map(([name, type]) => declare(name, type, 'Item')),
      declare('firstName', 'Text', 'Person'),
      declare('age', 'Integer', 'Person'),
    ];
    const result = await o.ok('bulk', { createItems: items });
    assert.equal(result.createItems.length, items.length);
    // and again, one by one
    for (const [name, type] of BUILT_IN) await o.create(declare(name, type, 'Other'));
    // base fields keep their meaning
    const id = await o.create({ id: 'givenId-123', type: 'Person', firstName: 'Al', deleted: false });
    assert.equal(id, 'givenId-123');
    const item = await o.get(id);
    assert.equal(item.type, 'Person');
    assert.equal(item.deleted, false);
    assert.deepEqual(
      (await o.search({ type: 'Person', deleted: false })).map((i) => i.id),
      [id],
    );
    await o.ok('delete_item', id);
    assert.deepEqual(await o.search({ type: 'Person', deleted: false }), []);
    assert.deepEqual(
      (await o.search({ type: 'Person', deleted: true })).map((i) => i.id),
      [id],
    );
    await o.fails('create_item', { id: 'givenId-123', type: 'Person' }, 409);
    // each base field appears once in the answer, not again as a property
    const raw = await o.getText(id);
    for (const field of ['id', 'type', 'deleted', 'dateCreated', 'dateModified', 'dateServerModified'])
      assert.equal(raw.split(`"${field}":`).length - 1, 1, `"${field}" once in ${raw}`);
  });

  test('re-declaring a base/built-in field with a different type → 400', async () => {
    const o = new Owner(pod().url);
    for (const [name, type] of BUILT_IN) {
      await o.fails('create_item', declare(name, otherType(type), 'Item'), 400);
    }
    await o.fails('create_item', declare('deleted', 'Integer', 'Item'), 400);
    await o.fails('create_item', declare('dateCreated', 'Integer', 'Item'), 400);
    // the database still works normally
    const id = await o.create({ type: 'File', sha256: 'ab'.repeat(32) });
    assert.equal((await o.get(id)).sha256, 'ab'.repeat(32));
  });

  test('the built-in Text properties are declared in a new database', async () => {
    const o = new Owner(pod().url);
    const id = await o.create({
      type: 'Mixed',
      itemType: 'T',
      propertyName: 'p',
      valueType: 'V',
      containerImage: 'img',
      targetItemId: 'target',
      sha256: 'f'.repeat(64),
      key: 'k',
      nonce: 'n',
    });
    const item = await o.get(id);
    assert.equal(item.containerImage, 'img');
    assert.equal(item.targetItemId, 'target');
    assert.equal(item.key, 'k');
    assert.equal(item.nonce, 'n');
    await o.fails('create_item', { type: 'Mixed', containerImage: 5 }, 400);
  });

  test('property names: every name matching ^[a-zA-Z][_a-zA-Z0-9]{0,30}[a-zA-Z0-9]$ works, no reserved-name list', async () => {
    const o = new Owner(pod().url);
    const names = [
      'ab',
      'A_b',
      `A${'_'.repeat(30)}z`,
      `x${'9'.repeat(31)}`,
      'select',
      'from',
      'where',
      'order',
      'group',
      'limit',
      'table',
      'rowid',
      'oid',
      'value',
      'name',
      'source',
      'target',
      'edges',
      'item',
      'items',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'sortOrder',
      'NULL',
      'True',
    ];
    await o.ok('bulk', { createItems: names.map((n, i) => declare(n, i % 2 === 0 ? 'Text' : 'Integer', 'Item')) });
    const item: Record<string, unknown> = { type: 'Weird' };
    for (const [i, n] of names.entries()) item[n] = i % 2 === 0 ? `v-${n}` : i;
    const id = await o.create(item);
    const got = await o.get(id);
    for (const [i, n] of names.entries()) assert.equal(got[n], i % 2 === 0 ? `v-${n}` : i, n);
    for (const [i, n] of names.entries()) {
      const found = await o.search({ [n]: i % 2 === 0 ? `v-${n}` : i });
      assert.deepEqual(
        found.map((f) => f.id),
        [id],
        `search on ${n}`,
      );
    }
    const toStringValue = names.indexOf('toString') % 2 === 0 ? 'changed' : 4242;
    await o.ok('update_item', { id, select: null, toString: toStringValue });
    const updated = await o.get(id);
    assert.ok(updated.select === undefined || updated.select === null);
    assert.equal(updated.toString, toStringValue);
  });

  test('an unknown valueType → 400 and declares nothing', async () => {
    const o = new Owner(pod().url);
    await o.fails('create_item', declare('blobby', 'Blob', 'Item'), 400);
    await o.fails('create_item', { type: 'X', blobby: 'x' }, 400);
  });

  test('a declaration without propertyName or valueType → 400', async () => {
    const o = new Owner(pod().url);
    await o.fails('create_item', { type: 'ItemPropertySchema', itemType: 'X', valueType: 'Text' }, 400);
    await o.fails('create_item', { type: 'ItemPropertySchema', itemType: 'X', propertyName: 'lonely' }, 400);
    await o.fails('create_item', { type: 'X', lonely: 'x' }, 400);
  });

  test('schemas are per owner database', async () => {
    const a = new Owner(pod().url);
    const b = new Owner(pod().url);
    await a.create(declare('onlyInA', 'Text'));
    await a.create({ type: 'X', onlyInA: 'yes' });
    await b.fails('create_item', { type: 'X', onlyInA: 'yes' }, 400);
    await b.create(declare('onlyInA', 'Integer'));
    await b.create({ type: 'X', onlyInA: 5 });
  });
});
