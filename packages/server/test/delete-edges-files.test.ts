/** 2023 API §5.1 `delete_edge_by_source_target` and §5.2 `delete_file`. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { accountOwner } from './account.js';
import { Owner, sha256hex, usePod } from './helpers.js';

const names = async (o: Owner, item: string) =>
  ((await o.ok('get_edges', { item })) as { name: string }[]).map((entry) => entry.name).sort();
const dsmOf = async (o: Owner, id: string) => (await o.search({ id, _includeDeleted: true }))[0].dateServerModified;

describe('delete_edge_by_source_target', () => {
  const pod = usePod();

  async function pair(o: Owner) {
    const a = await o.create({ type: 'Person' });
    const b = await o.create({ type: 'Person' });
    return { a, b };
  }

  test('deletes every live edge of that name in one transaction, bumps the source, answers {}', async () => {
    for (const o of [new Owner(pod().url), await accountOwner(pod().url)]) {
      const { a, b } = await pair(o);
      const first = await o.ok('create_edge', { _source: a, _target: b, _name: 'sender' });
      const second = await o.ok('create_edge', { _source: a, _target: b, _name: 'sender' });
      await o.ok('create_edge', { _source: a, _target: b, _name: 'receiver' });
      const before = await dsmOf(o, a);
      assert.deepEqual(await o.ok('delete_edge_by_source_target', { _source: a, _target: b, _name: 'sender' }), {});
      assert.deepEqual(await names(o, a), ['receiver']);
      const after = await dsmOf(o, a);
      assert.ok(after > before, 'the source moved');
      for (const edge of [first, second]) {
        const [item] = await o.search({ id: edge, deleted: true });
        assert.equal(item.deleted, true, 'the edge item is soft-deleted');
        assert.equal(item.dateServerModified, after, 'in the same transaction as the source');
      }
      await o.fails('delete_edge_by_source_target', { _source: a, _target: b, _name: 'sender' }, 404);
    }
  });

  test('the July 2023 spelling and no name at all (every name); get_edges of the source is [] after', async () => {
    const o = new Owner(pod().url);
    const { a, b } = await pair(o);
    await o.ok('create_edge', { _source: a, _target: b, _name: 'one' });
    await o.ok('create_edge', { _source: a, _target: b, _name: 'two' });
    await o.ok('create_edge', { _source: b, _target: a, _name: 'back' });
    assert.deepEqual(await o.ok('delete_edge_by_source_target', { source: a, target: b, name: 'one' }), {});
    assert.deepEqual(await names(o, a), ['two']);
    assert.deepEqual(await o.ok('delete_edge_by_source_target', { _source: a, _target: b }), {});
    assert.deepEqual(await o.ok('get_edges', { item: a }), []);
    assert.deepEqual(await names(o, b), ['back'], 'the other direction is another edge');
    const [withEdges] = await o.search({ id: a, '[[edges]]': {} });
    assert.deepEqual(withEdges['[[edges]]'], []);
  });

  test('404 for no live edge or an unknown item; 400 for a missing or non-string source or target', async () => {
    const o = new Owner(pod().url);
    const { a, b } = await pair(o);
    await o.ok('create_edge', { _source: a, _target: b, _name: 'x' });
    const none = await o.fails('delete_edge_by_source_target', { _source: a, _target: b, _name: 'y' }, 404);
    assert.match(none.body.message, /no edge named "y"/);
    await o.fails('delete_edge_by_source_target', { _source: b, _target: a }, 404);
    await o.fails('delete_edge_by_source_target', { _source: a, _target: 'no-such-item' }, 404);
    for (const payload of [{ _source: a }, { _target: b }, { _source: 1, _target: b }, { source: a, target: null }, {}])
      assert.match(
        (await o.fails('delete_edge_by_source_target', payload, 400)).body.message,
        /"_source" and "_target"/,
      );
    assert.deepEqual(await names(o, a), ['x'], 'nothing changed');
  });
});

describe('delete_file', () => {
  const pod = usePod();
  const blobs = (o: Owner) =>
    readdirSync(join(pod().dataDir, ownerHash(o.owner), 'files')).filter((name) => !name.endsWith('.partial'));

  async function stored(o: Owner, text: string, copies = 1) {
    const bytes = Buffer.from(text);
    const sha = sha256hex(bytes);
    const ids: string[] = [];
    for (let i = 0; i < copies; i++) ids.push(await o.create({ type: 'File', sha256: sha }));
    assert.equal((await o.upload(bytes)).status, 200);
    return { sha, ids, bytes };
  }

  test('by id: the File item is soft-deleted and the bytes erased; get_file 404 after; account mode get_item []', async () => {
    const o = await accountOwner(pod().url);
    const { sha, ids } = await stored(o, 'a photo');
    assert.equal(blobs(o).length, 1);
    const before = await dsmOf(o, ids[0]!);
    assert.deepEqual(await o.ok('delete_file', { id: ids[0] }), {});
    assert.deepEqual(await o.ok('get_item', ids[0]), []);
    const [tombstone] = await o.search({ id: ids[0], deleted: true });
    assert.ok(tombstone.dateServerModified > before);
    assert.equal((await o.getFile(sha)).status, 404);
    assert.deepEqual(blobs(o), [], 'the blob is gone from disk');
    await o.fails('delete_file', { id: ids[0] }, 404);
    assert.equal((await o.upload(Buffer.from('a photo'))).status, 404, 'a new upload needs a live File item');
  });

  test('bytes stay while another live File item names the hash; by sha256 deletes every one of them', async () => {
    const o = new Owner(pod().url);
    const { sha, ids, bytes } = await stored(o, 'shared bytes', 3);
    await o.ok('delete_file', { id: ids[0] });
    assert.deepEqual((await o.getFile(sha)).bytes, bytes, 'two live File items still name it');
    assert.equal((await o.get(ids[0]!)).deleted, true, 'legacy mode reads the tombstone');
    assert.deepEqual(await o.ok('delete_file', { sha256: sha.toUpperCase() }), {});
    for (const id of ids) assert.equal((await o.get(id)).deleted, true);
    assert.equal((await o.getFile(sha)).status, 404);
    assert.deepEqual(blobs(o), []);
    await o.fails('delete_file', { sha256: sha }, 404);
  });

  test('400 for neither or both keys, an item without sha256 or not a File; 404 for an unknown id; nothing changes', async () => {
    const o = new Owner(pod().url);
    const { sha, ids, bytes } = await stored(o, 'kept');
    const person = await o.create({ type: 'Person' });
    const bare = await o.create({ type: 'File' });
    await o.fails('delete_file', {}, 400);
    await o.fails('delete_file', { id: ids[0], sha256: sha }, 400);
    await o.fails('delete_file', { sha256: 'abc' }, 400);
    assert.match((await o.fails('delete_file', { id: bare }, 400)).body.message, /no sha256/);
    assert.match((await o.fails('delete_file', { id: person }, 400)).body.message, /not File/);
    await o.fails('delete_file', { id: 'no-such-file' }, 404);
    await o.fails('delete_file', { sha256: sha256hex('never announced') }, 404);
    assert.deepEqual((await o.getFile(sha)).bytes, bytes);
    assert.equal((await o.get(ids[0]!)).deleted, false);
    assert.equal((await o.get(bare)).deleted, false);
    assert.ok(existsSync(join(pod().dataDir, ownerHash(o.owner), 'files', blobs(o)[0]!)));
  });
});
