// Least privilege finer than a type, tried as a plugin author would: a Twitter importer that
// declares four Message properties must not read, overwrite or delete the owner's WhatsApp
// messages; narrowing by values (`where`) and by creator (`items`) works as documented.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith } from './plugin-harness.js';
import { sha256hex, type Owner } from '../helpers.js';

const FOUR_PROPERTIES = ['text', 'service', 'externalId', 'sender'];

describe('fine-grained grants: the Twitter importer and the WhatsApp messages', () => {
  let lab: PluginPod;
  let owner: Owner;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, ...FOUR_PROPERTIES);
    await owner.ok('bulk', {
      createItems: [
        { type: 'Message', id: 'whatsapp-1', service: 'whatsapp', text: 'private chat', externalId: 'w1' },
        { type: 'Message', id: 'twitter-old', service: 'twitter', text: 'imported by the owner', externalId: 't0' },
      ],
    });
  });
  after(async () => lab?.close());

  test("today's declaration (four Message properties): create, and change only what it created", async () => {
    const permissions = { write: { Message: FOUR_PROPERTIES } };
    const importer = await lab.runAs(owner, 'importer-image', permissions, 'plugin-twitter');
    assert.deepEqual(await importer.search({ type: 'Message' }), [], "it reads none of the owner's messages");
    assert.deepEqual(await importer.ok('get_item', 'whatsapp-1'), []);
    await importer.fails('update_item', { id: 'whatsapp-1', text: 'overwritten' }, 404);
    await importer.fails('delete_item', 'whatsapp-1', 404);
    await importer.fails(
      'bulk',
      { search: [{ type: 'Message', service: 'whatsapp' }], deleteItems: ['whatsapp-1'] },
      404,
    );
    const tweet = await importer.create({ type: 'Message', service: 'twitter', text: 'hello', externalId: 't1' });

    // the next run of the same Plugin updates and deletes what the last one imported
    const next = await lab.runAs(owner, 'importer-image', permissions, 'plugin-twitter');
    assert.deepEqual(
      (await next.search({ type: 'Message' })).map((m) => m.id),
      [tweet],
    );
    await next.ok('update_item', { id: tweet, text: 'edited' });
    await next.ok('delete_item', tweet);

    const whatsapp = await owner.get('whatsapp-1');
    assert.equal(whatsapp.text, 'private chat');
    assert.equal(whatsapp.deleted, false);
  });

  test('narrowed by value: it reads and changes Twitter messages, whoever made them, and never WhatsApp ones', async () => {
    const twitterOnly = { where: { service: 'twitter' } };
    const importer = await lab.runAs(owner, 'importer-image', {
      read: { Message: twitterOnly },
      write: { Message: { properties: FOUR_PROPERTIES, ...twitterOnly, items: 'all' } },
    });
    const seen = await importer.search({ type: 'Message', deleted: false });
    assert.deepEqual(
      seen.map((m) => m.id),
      ['twitter-old'],
    );
    assert.deepEqual(
      (await importer.search({ type: 'Message', service: 'twitter', deleted: false })).map((m) => m.id),
      ['twitter-old'],
    );
    assert.deepEqual(
      await importer.search({ type: 'Message', service: 'whatsapp' }),
      [],
      'filtering on its where property reveals nothing',
    );
    assert.deepEqual(await importer.ok('get_item', 'whatsapp-1'), []);
    await importer.ok('update_item', { id: 'twitter-old', text: 'fixed by the importer' });
    assert.equal((await owner.get('twitter-old')).text, 'fixed by the importer');
    const moved = await importer.fails('update_item', { id: 'twitter-old', service: 'whatsapp' }, 403);
    assert.match(moved.body.message, /only "Message" items whose "service" is "twitter"/);
    await importer.fails('create_item', { type: 'Message', service: 'whatsapp', text: 'spoof' }, 403);
    await importer.fails('create_item', { type: 'Message', text: 'no service' }, 403);
    await importer.fails('update_item', { id: 'whatsapp-1', text: 'x' }, 404);
    await importer.fails('delete_item', 'whatsapp-1', 404);
    assert.equal((await owner.get('whatsapp-1')).text, 'private chat');
  });

  test("a file's bytes are as visible as a File item announcing them", async () => {
    const bytes = Buffer.from('a WhatsApp voice note');
    await owner.create({ type: 'File', sha256: sha256hex(bytes), service: 'whatsapp' });
    assert.equal((await owner.upload(bytes)).status, 200);
    const twitterFiles = await lab.runAs(owner, 'other-image', { read: { File: { where: { service: 'twitter' } } } });
    const file = await twitterFiles.call('get_file', { sha256: sha256hex(bytes) });
    assert.equal(file.status, 404);
    assert.ok(!file.text.includes('voice note'));
    const allFiles = await lab.runAs(owner, 'other-image', { read: { File: '*' } });
    assert.equal((await allFiles.call('get_file', { sha256: sha256hex(bytes) })).text, 'a WhatsApp voice note');
  });

  test('changing others\' items takes its own declaration ("items": "all")', async () => {
    const cleaner = await lab.runAs(owner, 'other-image', {
      write: { Message: { properties: ['text'], items: 'all' } },
    });
    await cleaner.ok('update_item', { id: 'whatsapp-1', text: 'changed, as declared' });
    assert.equal((await owner.get('whatsapp-1')).text, 'changed, as declared');
  });
});
