// H1: a plugin that may create PluginRun items must not start a run with more than it has — not by
// forging a Plugin item, not through another Plugin of the owner's, not by targeting a hidden item.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginCaller, PluginPod, ownerWith, randomTag } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('H1: plugin escalation through the runs it creates', () => {
  let lab: PluginPod;
  let owner: Owner;
  let evil: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'ssn', 'title', 'secretNote', 'permissions');
    await owner.ok('bulk', {
      createItems: [
        { type: 'Person', id: 'person-alice', name: 'Alice', ssn: 'SSN-1111' },
        { type: 'Note', id: 'note-secret1', title: 't', secretNote: 'SECRET-NOTE' },
        // the owner's broad Plugin for another image: a plugin must not borrow its grant
        {
          type: 'Plugin',
          id: 'plugin-priv',
          containerImage: 'priv-image',
          permissions: JSON.stringify({
            read: { Person: '*', Note: '*' },
            write: { Plugin: { items: 'all' }, Message: ['text'] },
            email: true,
          }),
        },
      ],
    });
    evil = await lab.runAs(owner, 'evil-image', {
      read: { Person: ['name'], Plugin: ['containerImage'] },
      write: { PluginRun: ['containerImage', 'targetItemId'], Note: ['title'], Message: ['text'] },
    });
  });
  after(async () => lab?.close());

  /** The plugin creates a run of `image` linked to `pluginId`; answers the run's launch record. */
  async function runStartedBy(
    plugin: PluginCaller,
    image: string,
    pluginId: string | undefined,
    extra: Record<string, unknown> = {},
  ) {
    const runId = `run-${randomTag()}`;
    await plugin.ok('bulk', {
      createItems: [{ type: 'PluginRun', id: runId, containerImage: image, ...extra }],
      createEdges: pluginId ? [{ _source: runId, _target: pluginId, _name: 'plugin' }] : [],
    });
    return { runId, run: await lab.launchOf(owner, runId) };
  }

  test('a schema item cannot carry permissions, and a run linked to a non-Plugin item launches nothing', async () => {
    const forged = await evil.fails(
      'create_item',
      {
        type: 'ItemPropertySchema',
        id: 'fake-plugin-ips',
        itemType: 'X',
        propertyName: 'permissions',
        valueType: 'Text',
        permissions: JSON.stringify({ read: { Person: '*' } }),
      },
      403,
    );
    assert.match(forged.body.message, /exactly type, itemType, propertyName, valueType/);
    // an item of the owner's it can read that is not a Plugin, even one holding a `permissions` value
    await owner.ok('create_item', {
      type: 'Person',
      id: 'person-fake-plugin',
      containerImage: 'evil-image',
      permissions: JSON.stringify({ read: { Person: '*' } }),
    });
    const { run } = await runStartedBy(evil, 'evil-image', 'person-fake-plugin');
    assert.equal(run.podLaunchStatus, 'refused');
    assert.match(run.podLaunchMessage, /not a Plugin item/);
  });

  test("a run linked to the owner's Plugin of another image, or to a deleted Plugin, launches nothing", async () => {
    const { run } = await runStartedBy(evil, 'evil-image', 'plugin-priv');
    assert.equal(run.podLaunchStatus, 'refused');
    assert.match(run.podLaunchMessage, /is for image "priv-image", not "evil-image"/);
    await owner.ok('create_item', {
      type: 'Plugin',
      id: 'plugin-gone',
      containerImage: 'evil-image',
      permissions: '{"read":{"Person":"*"}}',
      deleted: true,
    });
    const deleted = await runStartedBy(evil, 'evil-image', 'plugin-gone');
    assert.equal(deleted.run.podLaunchStatus, 'refused');
  });

  test("a run a plugin starts with the owner's broad Plugin gets no more than the plugin that started it", async () => {
    const { runId, run } = await runStartedBy(evil, 'priv-image', 'plugin-priv');
    assert.equal(run.podLaunchStatus, 'started', run.podLaunchMessage);
    assert.equal(run.podCreatedByRun, evil.runId, 'the Pod records which run created it');
    const env = await lab.environmentOf('priv-image', runId);
    const child = new PluginCaller(owner, runId, env);
    const [alice] = await child.search({ type: 'Person' });
    assert.equal(alice.name, 'Alice');
    assert.equal('ssn' in alice, false, 'the child reads only what its creator reads');
    assert.deepEqual(await child.ok('get_item', 'note-secret1'), [], 'Notes: its creator cannot read them');
    await child.fails('update_item', { id: 'plugin-priv', permissions: '{"read":{"Person":"*"}}' }, 403);
    await child.fails('send_email', { to: 'a@example.org', subject: 's', body: 'b' }, 403);
    assert.match((await owner.get('plugin-priv')).permissions, /"email":true/, 'the Plugin item is unchanged');
  });

  test("a run a plugin starts does not own what the Plugin's own runs created", async () => {
    await owner.declare(['text', 'Text']);
    const legit = await lab.runAs(owner, 'priv-image', undefined, 'plugin-priv');
    const message = await legit.create({ type: 'Message', text: 'by plugin-priv' });
    const { runId } = await runStartedBy(evil, 'priv-image', 'plugin-priv');
    const child = new PluginCaller(owner, runId, await lab.environmentOf('priv-image', runId));
    await child.fails('update_item', { id: message, text: 'overwritten' }, 404);
    const own = await child.create({ type: 'Message', text: 'by the child' });
    await child.ok('update_item', { id: own, text: 'changed by the child' });
    await legit.fails('update_item', { id: own, text: 'x' }, 404);
    assert.equal((await owner.get(message)).text, 'by plugin-priv');
  });

  test('a run a plugin starts cannot target an item its creator cannot read', async () => {
    const { runId, run } = await runStartedBy(evil, 'priv-image', 'plugin-priv', { targetItemId: 'note-secret1' });
    assert.equal(run.podLaunchStatus, 'refused');
    assert.match(run.podLaunchMessage, /target "note-secret1" is not an item the run that created it/);
    await assert.rejects(lab.environmentOf('priv-image', runId, 1_000), /timed out/, 'no process got the secret Note');
    // a Person it reads only the name of: POD_TARGET_ITEM would hold the whole item, ssn included
    const partly = await runStartedBy(evil, 'priv-image', 'plugin-priv', { targetItemId: 'person-alice' });
    assert.equal(partly.run.podLaunchStatus, 'refused');
    assert.match(partly.run.podLaunchMessage, /may read in full/);
  });

  test("without a plugin edge a run gets the owner's Plugin of its image, never one a plugin created", async () => {
    const planter = await lab.runAs(owner, 'other-image', { write: { Plugin: '*', PluginRun: ['containerImage'] } });
    await planter.ok('create_item', {
      type: 'Plugin',
      id: 'plugin-planted',
      containerImage: 'importer-image',
      permissions: '{"read":{"Person":"*"}}',
    });
    const runId = await owner.create({ type: 'PluginRun', containerImage: 'importer-image' });
    const env = await lab.environmentOf('importer-image', runId);
    const run = new PluginCaller(owner, runId, env);
    await run.fails('search', { type: 'Person' }, 403);
    const linked = await runStartedBy(planter, 'importer-image', 'plugin-planted');
    assert.equal(linked.run.podLaunchStatus, 'refused');
  });
});
