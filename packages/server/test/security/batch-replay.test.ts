// L6: a bulk's batchId belongs to whoever sent it: another principal replaying it gets nothing of
// the first answer, and cannot claim it ahead of the owner.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('L6: batchId replay across principals', () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  let other: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'ssn', 'text');
    plugin = await lab.runAs(owner, 'evil-image', {});
    other = await lab.runAs(owner, 'other-image', { write: { Message: ['text'] } });
  });
  after(async () => lab?.close());

  test("a plugin replaying the owner's batchId gets none of its answer", async () => {
    const first = await owner.ok('bulk', {
      batchId: 'sync-0001',
      createItems: [{ type: 'Person', id: 'person-alice', name: 'Alice', ssn: 'SSN-1111' }],
      search: [{ type: 'Person' }],
    });
    assert.equal(first.search[0][0].ssn, 'SSN-1111');
    const replayed = await plugin.call('bulk', { batchId: 'sync-0001' });
    assert.equal(replayed.status, 200);
    assert.ok(!replayed.text.includes('SSN-1111') && !replayed.text.includes('person-alice'), replayed.text);
    assert.deepEqual(replayed.body, { createItems: [], createEdges: [], search: [] });
    const again = await owner.ok('bulk', {
      batchId: 'sync-0001',
      createItems: [{ type: 'Person', name: 'not applied' }],
    });
    assert.deepEqual(again, first, 'the owner still gets its own answer replayed');
  });

  test("a plugin claiming a batchId first does not stop the owner's push with it", async () => {
    const claimed = await other.ok('bulk', { batchId: 'sync-0002', createItems: [{ type: 'Message', text: 'claim' }] });
    const pushed = await owner.ok('bulk', {
      batchId: 'sync-0002',
      createItems: [{ type: 'Person', id: 'person-bob', name: 'Bob' }],
    });
    assert.deepEqual(pushed.createItems, ['person-bob']);
    assert.equal((await owner.get('person-bob')).name, 'Bob');
    assert.deepEqual(
      await other.ok('bulk', { batchId: 'sync-0002' }),
      claimed,
      "the plugin's retry gets its own answer",
    );
  });
});
