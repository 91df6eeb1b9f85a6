// M4: from a plugin, a schema declaration is exactly {type, itemType, propertyName, valueType}, for
// properties it may write; it cannot squat a name the owner declares later, nor be a store of its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import { declare, type Owner } from '../helpers.js';

describe('M4: schema declarations from plugins', () => {
  let lab: PluginPod;
  let owner: Owner;
  let none: PluginCaller;
  let squatter: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name');
    none = await lab.runAs(owner, 'evil-image', {});
    squatter = await lab.runAs(owner, 'other-image', { write: { Person: ['name', 'email', 'progress', 'nickname'] } });
  });
  after(async () => lab?.close());

  test('a declaration with an id, or anything beyond the four fields, is refused', async () => {
    await squatter.fails('create_item', { ...declare('email', 'Text', 'Person'), id: 'chosen-schema-id' }, 403);
    const extra = await squatter.fails(
      'create_item',
      { ...declare('email', 'Text', 'Person'), name: 'a hidden note' },
      403,
    );
    assert.match(
      extra.body.message,
      /exactly type, itemType, propertyName, valueType \(no id, nothing else\); remove "name"/,
    );
  });

  test('a plugin declares only properties it may write', async () => {
    await none.fails('create_item', declare('email', 'Integer', 'Person'), 403);
    await squatter.fails('create_item', declare('ssn', 'Text', 'Person'), 403);
    await squatter.fails('create_item', declare('email', 'Text', 'Note'), 403);
    await squatter.fails('create_item', declare('podLaunchFoo', 'Text', 'Person'), 403);
    // repeating the schema as it stands changes nothing and is fine for any plugin (clients re-send theirs)
    await none.ok('create_item', declare('name', 'Text', 'Person'));
  });

  test("an owner's declaration replaces a plugin's; the values stored under the plugin's type are erased", async () => {
    await squatter.ok('create_item', declare('email', 'Integer', 'Person'));
    const person = await squatter.create({ type: 'Person', name: 'P', email: 5 });
    const before = (await owner.get(person)).dateServerModified;
    await owner.ok('create_item', declare('email', 'Text', 'Person'));
    const after = await owner.get(person);
    assert.equal('email' in after, false, 'the Integer value is gone');
    assert.ok(after.dateServerModified > before, 'syncing clients see the change');
    await owner.ok('update_item', { id: person, email: 'p@example.org' });
    assert.deepEqual(
      (await owner.search({ email: 'p@example.org' })).map((p) => p.id),
      [person],
    );
    // now the owner's: a plugin cannot take it back
    await squatter.fails('create_item', declare('email', 'Integer', 'Person'), 400);
    const schemaItems = await owner.search({ type: 'ItemPropertySchema', propertyName: 'email', deleted: false });
    assert.deepEqual(
      schemaItems.map((item) => item.valueType),
      ['Text'],
      "the plugin's declaration item is marked deleted",
    );
  });

  test("a plugin's declaration matching the owner's later one just becomes the owner's", async () => {
    await squatter.ok('create_item', declare('progress', 'Real', 'Person'));
    await owner.ok('create_item', declare('progress', 'Real', 'Person'));
    await squatter.fails('create_item', declare('progress', 'Integer', 'Person'), 400);
  });

  test("schema items are no message board: a plugin sees the owner's and its own, not another plugin's", async () => {
    await squatter.ok('create_item', declare('nickname', 'Text', 'Person'));
    const seen = await none.search({ type: 'ItemPropertySchema', propertyName: 'nickname' });
    assert.deepEqual(seen, []);
    assert.equal((await squatter.search({ type: 'ItemPropertySchema', propertyName: 'nickname' })).length, 1);
  });
});
