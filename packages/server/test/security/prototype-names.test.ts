// M2: type and property names such as "constructor", "__proto__" or "toString" are plain names:
// every name of Object.prototype, as a type and as a property, for the owner and for plugins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROPERTY_NAME } from '@pod/protocol';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

const NAMES = Object.getOwnPropertyNames(Object.prototype);
/** Names a property may have (PROPERTY_NAME); "__proto__" and the like are refused as property names with a 400. */
const PROPERTY_NAMES = NAMES.filter((name) => PROPERTY_NAME.test(name));
const everyName = (access: unknown) => Object.fromEntries(NAMES.map((name) => [name, access]));

describe('M2: Object.prototype names as types and properties', () => {
  let lab: PluginPod;
  let owner: Owner;
  let none: PluginCaller;
  let writer: PluginCaller;
  let reader: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'other');
    assert.ok(NAMES.includes('__proto__') && NAMES.includes('constructor') && NAMES.includes('toString'));
    none = await lab.runAs(owner, 'evil-image', {});
    writer = await lab.runAs(owner, 'other-image', { write: { ...everyName('*'), Thing: PROPERTY_NAMES } });
    reader = await lab.runAs(owner, 'priv-image', { read: { Thing: ['other'] } });
  });
  after(async () => lab?.close());

  test('as a type: the owner stores and finds it; a plugin without a grant for it gets nothing and no 500', async () => {
    for (const [i, type] of NAMES.entries()) {
      const id = `proto-type-${i}`;
      await owner.ok('create_item', { type, id });
      assert.equal((await owner.get(id)).type, type);
      assert.deepEqual(
        (await owner.search({ type })).map((item) => item.id),
        [id],
      );
      const refused = await none.fails('create_item', { type, id: `plugin-type-${i}` }, 403);
      assert.match(refused.body.message, /did not declare that it writes items of type/);
      await none.fails('search', { type }, 403);
      assert.deepEqual(await none.ok('get_item', id), []);
      await none.fails('delete_item', id, 404);
      await none.fails('update_item', { id, deleted: true }, 404);
    }
    for (const plugin of [none, writer, reader]) {
      const everything = await plugin.search({ 'dateServerModified>=': 0, _limit: 1000 });
      assert.ok(!everything.some((item) => item.id.startsWith('proto-type-')), "the owner's items stay hidden");
    }
  });

  test('as a type a plugin declared: it creates and reads back its own items of it', async () => {
    for (const [i, type] of NAMES.entries()) {
      const id = await writer.create({ type, id: `writer-type-${i}` });
      assert.deepEqual(
        (await writer.search({ type })).map((item) => item.id),
        [id],
        `${type}: only its own item`,
      );
    }
  });

  test('as a property: declared, written and read by the owner and by a plugin that declared it; hidden from others', async () => {
    for (const name of NAMES) {
      const declared = await owner.call('create_item', {
        type: 'ItemPropertySchema',
        itemType: 'Thing',
        propertyName: name,
        valueType: 'Text',
      });
      if (!PROPERTY_NAMES.includes(name)) {
        assert.equal(declared.status, 400, `${name}: ${declared.text}`);
        await owner.fails('create_item', { type: 'Thing', [name]: 'x' }, 400);
        continue;
      }
      assert.equal(declared.status, 200, declared.text);
      const mine = await owner.create({ type: 'Thing', [name]: 'by owner', other: 'o' });
      assert.equal((await owner.get(mine))[name], 'by owner');
      assert.deepEqual(
        (await owner.search({ type: 'Thing', [name]: 'by owner' })).map((item) => item.id),
        [mine],
      );
      const theirs = await writer.create({ type: 'Thing', [name]: 'by plugin' });
      assert.equal((await writer.get(theirs))[name], 'by plugin');
      assert.deepEqual(await writer.ok('get_item', mine), [], "the owner's Thing is not the writer's");
      await reader.fails('search', { type: 'Thing', [name]: 'by owner' }, 403);
      const seen = await reader.get(mine);
      assert.equal(Object.hasOwn(seen, name), false, `${name} is not shown to a plugin that reads only "other"`);
      await reader.fails('update_item', { id: mine, [name]: 'x' }, 403);
    }
  });
});
