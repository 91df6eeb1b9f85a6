// A plugin reads the owner's data through its grant only: it must not download the whole Pod as an archive.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PluginPod, ownerWith } from './plugin-harness.js';

describe("a plugin cannot export its owner's Pod", () => {
  let lab: PluginPod;
  before(async () => {
    lab = await PluginPod.start();
  });
  after(async () => lab?.close());

  test('export with a plugin credential: 403, no bytes of the archive', async () => {
    const owner = await ownerWith(lab.url, 'note');
    await owner.create({ type: 'Note', note: 'SECRET-NOTE' });
    const plugin = await lab.runAs(owner, 'evil-image', { read: { Note: ['note'] } });
    const refused = await plugin.fails('export', {}, 403);
    assert.match(refused.body.message, /for its owner/);
    assert.equal(refused.text.includes('SECRET-NOTE'), false);
  });
});
