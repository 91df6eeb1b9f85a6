// A plugin sees the types its grant reads, nothing more: the Pod's overview by type is for its owner.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PluginPod, ownerWith } from './plugin-harness.js';

describe("a plugin cannot read its owner's summary", () => {
  let lab: PluginPod;
  before(async () => {
    lab = await PluginPod.start();
  });
  after(async () => lab?.close());

  test('summary with a plugin credential: 403, no type named', async () => {
    const owner = await ownerWith(lab.url, 'note');
    await owner.create({ type: 'SecretDiary', note: 'x' });
    const plugin = await lab.runAs(owner, 'evil-image', { read: { Note: ['note'] } });
    const refused = await plugin.fails('summary', {}, 403);
    assert.match(refused.body.message, /for its owner/);
    assert.equal(refused.text.includes('SecretDiary'), false);
  });
});
