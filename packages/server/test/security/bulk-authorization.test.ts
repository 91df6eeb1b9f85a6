// M3: a bulk is authorized as it is applied: an item created earlier in the same bulk is checked
// like any other when later operations change it, delete it or draw an edge from it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('M3: bulk authorization as applied', () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'title', 'secretNote', 'permissions');
    await owner.create({ type: 'Person', id: 'person-alice', name: 'Alice' });
    plugin = await lab.runAs(owner, 'evil-image', {
      write: { Note: ['title'], Plugin: ['name'], PluginRun: ['containerImage'] },
    });
  });
  after(async () => lab?.close());

  test('an update of an item created in the same bulk is held to the declared properties', async () => {
    const refused = await plugin.fails(
      'bulk',
      {
        createItems: [{ type: 'Note', id: 'note-evil-1', title: 't' }],
        updateItems: [{ id: 'note-evil-1', secretNote: 'written-by-plugin' }],
      },
      403,
    );
    assert.match(refused.body.message, /writes property "secretNote" of "Note"/);
    assert.deepEqual(await owner.ok('get_item', 'note-evil-1'), [], 'nothing of the refused bulk was written');
  });

  test('a Plugin created in the same bulk cannot be given permissions or another image', async () => {
    for (const patch of [{ permissions: '{"read":{"Person":"*"}}' }, { containerImage: 'priv-image' }])
      await plugin.fails(
        'bulk',
        {
          createItems: [{ type: 'Plugin', id: 'plugin-evil-2', name: 'x' }],
          updateItems: [{ id: 'plugin-evil-2', ...patch }],
        },
        403,
      );
    assert.deepEqual(await owner.ok('get_item', 'plugin-evil-2'), []);
  });

  test('edges from, and Pod fields on, items created in the same bulk are checked too', async () => {
    // the edge's target is the owner's Person, which the plugin cannot see: not found, nothing written
    await plugin.fails(
      'bulk',
      {
        createItems: [{ type: 'Note', id: 'note-evil-3', title: 't' }],
        createEdges: [{ _source: 'note-evil-3', _target: 'person-alice', _name: 'about' }],
      },
      404,
    );
    await plugin.fails(
      'bulk',
      {
        createItems: [{ type: 'PluginRun', id: 'run-evil-2', containerImage: 'none' }],
        updateItems: [{ id: 'run-evil-2', podLaunchMessage: 'forged' }],
      },
      403,
    );
    assert.deepEqual(await owner.ok('get_item', 'note-evil-3'), []);
    assert.deepEqual(await owner.ok('get_item', 'run-evil-2'), []);
  });

  test('what the plugin may do in one bulk still works: create, then change and link its own items', async () => {
    const answer = await plugin.ok('bulk', {
      createItems: [
        { type: 'Note', id: 'note-ok-1', title: 'first' },
        { type: 'Note', id: 'note-ok-2', title: 'second' },
      ],
      updateItems: [{ id: 'note-ok-1', title: 'changed' }],
      createEdges: [{ _source: 'note-ok-1', _target: 'note-ok-2', _name: 'next' }],
    });
    assert.deepEqual(answer.createItems, ['note-ok-1', 'note-ok-2']);
    assert.equal((await owner.get('note-ok-1')).title, 'changed');
  });
});
