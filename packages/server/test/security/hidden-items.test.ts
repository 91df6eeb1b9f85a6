// L5: an item a plugin cannot see answers exactly like one that does not exist, and an edge's
// `_self` is written like its source: no probing ids, types or base fields of hidden items.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('L5: hidden items', () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'ssn');
    await owner.ok('bulk', {
      createItems: [
        { type: 'Person', id: 'person-alice', name: 'Alice', ssn: 'SSN-1111' },
        { type: 'Plugin', id: 'plugin-priv', containerImage: 'priv-image', permissions: '{"read":{"Person":"*"}}' },
      ],
    });
    plugin = await lab.runAs(owner, 'evil-image', { read: { Person: ['name'] } });
  });
  after(async () => lab?.close());

  test('get_item, get_edges, update_item, delete_item and edges: hidden is answered as missing', async () => {
    const probe = async (id: string) => {
      const answers = [
        await plugin.call('get_item', id),
        await plugin.call('get_edges', { item: id }),
        await plugin.call('update_item', { id, name: 'x' }),
        await plugin.call('delete_item', id),
        await plugin.call('create_edge', { _source: plugin.runId, _target: id, _name: 'peek' }),
        await plugin.call('create_edge', { _source: plugin.runId, _target: plugin.runId, _name: 'peek', _self: id }),
      ];
      return answers.map((answer) => `${answer.status} ${answer.text.replaceAll(id, '<id>')}`);
    };
    const hidden = await probe('plugin-priv');
    assert.deepEqual(hidden, await probe('no-such-item'));
    assert.ok(hidden[0]!.startsWith('200 []'));
    assert.ok(
      hidden.slice(1).every((answer) => answer.startsWith('404 ')),
      hidden.join('\n'),
    );
    assert.ok(!hidden.join('').includes('Plugin'), 'the type is not named');
  });

  test("an edge's _self needs write access, even to an item the plugin can read", async () => {
    const refused = await plugin.fails(
      'create_edge',
      { _source: plugin.runId, _target: 'person-alice', _name: 'peek', _self: 'person-alice' },
      403,
    );
    assert.match(refused.body.message, /writes items of type "Person"/);
    const [self] = await plugin.search({ id: plugin.runId, '[[edges]]': {} });
    assert.ok(!self['[[edges]]'].some((edge: { _edge: string }) => edge._edge === 'peek'));
  });
});
