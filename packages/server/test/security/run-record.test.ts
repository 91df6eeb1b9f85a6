// L4: what the Pod records on a run (pod*, containerImage, targetItemId) is the Pod's alone: a
// plugin cannot forge it on its own run, nor on runs it creates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe("L4: the Pod's record of a run", () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url);
    plugin = await lab.runAs(owner, 'evil-image', { write: { PluginRun: '*' } });
  });
  after(async () => lab?.close());

  test('its own run: status yes; pod*, containerImage and targetItemId no', async () => {
    await plugin.ok('update_item', { id: plugin.runId, status: 'running' });
    for (const patch of [
      { podLaunchStatus: 'exited', podExitCode: 0 },
      { podLaunchMessage: 'forged' },
      { containerImage: 'priv-image' },
      { targetItemId: plugin.runId },
    ]) {
      const refused = await plugin.fails('update_item', { id: plugin.runId, ...patch }, 403);
      assert.match(refused.body.message, /Pod's own record|set when it is created/);
    }
    const run = await owner.get(plugin.runId);
    assert.equal(run.podLaunchStatus, 'started');
    assert.equal(run.containerImage, 'evil-image');
    assert.equal(run.status, 'running');
  });

  test('runs it creates: image and target at creation only, pod* never', async () => {
    await plugin.fails('create_item', { type: 'PluginRun', containerImage: 'none', podLaunchStatus: 'exited' }, 403);
    const id = await plugin.create({ type: 'PluginRun', containerImage: 'none', targetItemId: plugin.runId });
    await plugin.fails('update_item', { id, containerImage: 'priv-image' }, 403);
    await plugin.fails('update_item', { id, podLaunchMessage: 'forged' }, 403);
    await plugin.fails('bulk', { updateItems: [{ id, targetItemId: 'x-target' }] }, 403);
    const run = await lab.launchOf(owner, id);
    assert.equal(run.podLaunchStatus, 'notLaunched');
    assert.equal(run.containerImage, 'none');
    assert.equal(run.targetItemId, plugin.runId);
  });
});
