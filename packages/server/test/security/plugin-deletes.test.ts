// 2023 API §5 through a plugin's credential: it deletes only edges and files it could delete as
// items under its grant, hidden ones answer like missing ones, and a refusal changes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import { sha256hex, type Owner } from '../helpers.js';

describe('plugin deletes of edges and files', () => {
  let lab: PluginPod;
  let owner: Owner;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'service');
    await owner.ok('bulk', {
      createItems: [
        { type: 'Person', id: 'person-alice', name: 'Alice' },
        { type: 'Person', id: 'person-bob', name: 'Bob' },
      ],
      createEdges: [{ _source: 'person-alice', _target: 'person-bob', _name: 'friend' }],
    });
  });
  after(async () => lab?.close());

  const friends = async () => ((await owner.ok('get_edges', { item: 'person-alice' })) as unknown[]).length;

  test("a reader cannot delete an edge; a writer of its own items cannot delete the owner's", async () => {
    const reader = await lab.runAs(owner, 'evil-image', { read: { Person: '*', Edge: '*' } });
    const asReader = await reader.fails(
      'delete_edge_by_source_target',
      { _source: 'person-alice', _target: 'person-bob', _name: 'friend' },
      403,
    );
    assert.match(asReader.body.message, /plugin permission/);
    const writer = await lab.runAs(owner, 'evil-image', { read: { Person: '*' }, write: { Person: '*', Edge: '*' } });
    await writer.fails('delete_edge_by_source_target', { _source: 'person-alice', _target: 'person-bob' }, 403);
    assert.equal(await friends(), 1, 'the edge is still there');
  });

  test('creating an edge from its own item is allowed, deleting it takes a write rule for Edge items', async () => {
    const noEdges = await lab.runAs(owner, 'evil-image', { write: { Person: '*' }, read: { Person: '*' } });
    const mine = await noEdges.create({ type: 'Person', name: 'mine' });
    await noEdges.ok('create_edge', { _source: mine, _target: 'person-bob', _name: 'knows' });
    const refused = await noEdges.fails('delete_edge_by_source_target', { _source: mine, _target: 'person-bob' }, 403);
    assert.match(refused.body.message, /"Edge"/);
    assert.equal(((await owner.ok('get_edges', { item: mine })) as unknown[]).length, 1);

    const withEdges = await lab.runAs(owner, 'evil-image', {
      read: { Person: '*' },
      write: { Person: '*', Edge: '*' },
    });
    const own = await withEdges.create({ type: 'Person', name: 'own' });
    await withEdges.ok('create_edge', { _source: own, _target: 'person-bob', _name: 'knows' });
    assert.deepEqual(await withEdges.ok('delete_edge_by_source_target', { _source: own, _target: 'person-bob' }), {});
    assert.deepEqual(await owner.ok('get_edges', { item: own }), []);
  });

  test('an item the plugin cannot see answers like a missing one', async () => {
    const blind = await lab.runAs(owner, 'evil-image', { write: { Note: '*', Edge: '*' } });
    const hidden = await blind.call('delete_edge_by_source_target', { _source: 'person-alice', _target: 'person-bob' });
    const missing = await blind.call('delete_edge_by_source_target', {
      _source: 'no-such-item',
      _target: 'person-bob',
    });
    assert.equal(hidden.status, 404);
    assert.equal(hidden.text.replace('person-alice', '<id>'), missing.text.replace('no-such-item', '<id>'));
    assert.equal(await friends(), 1);
  });

  test("delete_file: a reader gets 403, a writer of its own Files cannot delete the owner's, by id or by hash", async () => {
    const bytes = Buffer.from("the owner's private scan");
    const sha = sha256hex(bytes);
    const ownersFile = await owner.create({ type: 'File', sha256: sha, service: 'scanner' });
    assert.equal((await owner.upload(bytes)).status, 200);

    const reader = await lab.runAs(owner, 'evil-image', { read: { File: '*' } });
    await reader.fails('delete_file', { id: ownersFile }, 403);
    await reader.fails('delete_file', { sha256: sha }, 403);
    const writer: PluginCaller = await lab.runAs(owner, 'evil-image', { read: { File: '*' }, write: { File: '*' } });
    await writer.fails('delete_file', { id: ownersFile }, 403);
    await writer.fails('delete_file', { sha256: sha }, 403);
    const narrowed = await lab.runAs(owner, 'evil-image', {
      write: { File: { where: { service: 'other' }, items: 'all' } },
    });
    await narrowed.fails('delete_file', { sha256: sha }, 404);
    await narrowed.fails('delete_file', { id: ownersFile }, 404);
    assert.equal((await owner.get(ownersFile)).deleted, false);
    assert.deepEqual((await owner.getFile(sha)).bytes, bytes, 'the bytes are intact');

    // its own File item with the same hash: deleted, and the owner's item keeps the bytes alive
    const its = await writer.create({ type: 'File', sha256: sha });
    assert.deepEqual(await writer.ok('delete_file', { id: its }), {});
    assert.equal((await owner.get(its)).deleted, true);
    assert.deepEqual((await owner.getFile(sha)).bytes, bytes);
  });
});
