/** Spec §2: owners, the allow-list, database keys; owner isolation; encryption at rest. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import {
  usePod,
  Owner,
  rawPost,
  randomKey,
  sha256hex,
  snapshotFiles,
  until,
  walkFiles,
  withoutShm,
} from './helpers.js';

/**
 * Waits until `o`'s database is closed: SQLite removes the -wal file when its last connection (the
 * checkpoint thread's) closes, and the thread then gives back the checkpoint lock it closed under.
 */
const databaseClosed = (dataDir: string, o: Owner) => {
  const wal = path.join(dataDir, ownerHash(o.owner), 'pod.db-wal');
  const lock = path.join(dataDir, ownerHash(o.owner), 'checkpoint.lock');
  assert.ok(fs.existsSync(wal), 'the database is open: its -wal file exists');
  return until('the owner database to close', () => (fs.existsSync(wal) || fs.existsSync(lock) ? undefined : true));
};

describe('owner allow-list (403)', () => {
  const allowed = randomKey();
  const zeros = '0'.repeat(64);
  const pod = usePod({ owners: new Set([ownerHash(allowed), ownerHash(zeros)]) });

  test('the allow-list holds SHA-256 of the hex-decoded owner key', () => {
    assert.equal(ownerHash(zeros), '66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925');
  });

  test('an allowed owner works; the spec example owner of 64 zeros works', async () => {
    const o = new Owner(pod().url, allowed);
    const id = await o.create({ type: 'Note' });
    assert.equal((await o.get(id)).type, 'Note');
    const z = new Owner(pod().url, zeros);
    assert.match(await z.create({ type: 'Note' }), /^[0-9a-f]{32}$/);
  });

  test('an owner not in the allow-list → 403 on every endpoint, and no database is created for it', async () => {
    const before = fs.readdirSync(pod().dataDir).sort();
    const stranger = new Owner(pod().url);
    await stranger.fails('create_item', { type: 'Note' }, 403);
    await stranger.fails('search', {}, 403);
    await stranger.fails('get_item', 'abcdefgh', 403);
    await stranger.fails('bulk', {}, 403);
    await stranger.fails('send_email', { to: 'a@example.com', subject: 's', body: 'b' }, 403);
    const f = await stranger.getFile('ab'.repeat(32));
    assert.equal(f.status, 403);
    const up = await stranger.upload(Buffer.from('x'));
    assert.equal(up.status, 403, up.text);
    const v3 = await stranger.as('v3').call('search', {});
    assert.equal(v3.status, 403, v3.text);
    // the hash itself is not the owner key
    const byHash = new Owner(pod().url, ownerHash(allowed));
    await byHash.fails('search', {}, 403);
    assert.deepEqual(fs.readdirSync(pod().dataDir).sort(), before, 'no database was created for the stranger');
  });
});

describe('database keys and owner isolation', () => {
  const pod = usePod();

  test('a wrong database key for an existing owner → 401; the right key still sees everything; files untouched', async () => {
    const o = new Owner(pod().url);
    await o.declare(['secret', 'Text']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await o.create({ type: 'Diary', secret: `entry ${i}` }));
    const bytes = Buffer.from('file for the wrong-key test');
    await o.create({ type: 'File', sha256: sha256hex(bytes) });
    assert.equal((await o.upload(bytes)).status, 200);
    const beforeItems = await o.search({ type: 'Diary' });
    const topBefore = fs.readdirSync(pod().dataDir).sort();
    const filesBefore = snapshotFiles(pod().dataDir);

    const wrong = o.withKey(randomKey());
    await wrong.fails('search', {}, 401);
    await wrong.fails('get_item', ids[0], 401);
    await wrong.fails('create_item', { type: 'Diary', secret: 'intruder' }, 401);
    await wrong.fails('update_item', { id: ids[0], secret: 'overwritten' }, 401);
    await wrong.fails('delete_item', ids[1], 401);
    await wrong.fails('bulk', { createItems: [{ type: 'Diary' }] }, 401);
    await wrong.fails('create_edge', { _source: ids[0], _target: ids[1], _name: 'x' }, 401);
    await wrong.fails('get_edges', { item: ids[0], direction: 'Outgoing', expandItems: false }, 401);
    assert.equal((await wrong.getFile(sha256hex(bytes))).status, 401);
    const up = await rawPost(o.uploadPath(sha256hex(bytes), wrong.key), bytes);
    assert.equal(up.status, 401, up.text);
    await wrong.as('v3').fails('search', {}, 401);

    assert.deepEqual(
      withoutShm(snapshotFiles(pod().dataDir)),
      withoutShm(filesBefore),
      'the wrong key changed no file under the data directory',
    );
    assert.deepEqual(fs.readdirSync(pod().dataDir).sort(), topBefore, 'no second owner folder');

    const afterItems = await o.search({ type: 'Diary' });
    assert.deepEqual(afterItems, beforeItems);
    assert.equal((await o.get(ids[0]!)).secret, 'entry 0');
    assert.equal((await o.get(ids[1]!)).deleted, false);
    assert.ok((await o.getFile(sha256hex(bytes))).bytes.equals(bytes));
    // and the right key still writes
    await o.create({ type: 'Diary', secret: 'entry 5' });
    assert.equal((await o.search({ type: 'Diary' })).length, 6);
  });

  test("a new owner's database is created with the first key used; another key then gets 401", async () => {
    const first = new Owner(pod().url);
    await first.create({ type: 'Note' });
    await first.withKey(randomKey()).fails('create_item', { type: 'Note' }, 401);
    assert.equal((await first.search({ type: 'Note' })).length, 1);
  });

  test('keys made of 64 decimal digits (what test clients send) are valid hex', async () => {
    const digits = () => Array.from({ length: 64 }, () => Math.floor(Math.random() * 10)).join('');
    const o = new Owner(pod().url, digits(), digits());
    const id = await o.create({ type: 'Note' });
    assert.equal((await o.get(id)).type, 'Note');
  });

  test('a made-up PluginAuth → 401', async () => {
    const o = new Owner(pod().url);
    await o.create({ type: 'Note' });
    const plugin = { type: 'PluginAuth', data: { token: 'made-up', runId: 'x' } };
    await o.fails('search', {}, 401, plugin);
    await o.fails('create_item', { type: 'Note' }, 401, plugin);
    assert.equal((await o.search({ type: 'Note' })).length, 1);
  });

  test('two owners are isolated: the same ids in both, searches see only their own', async () => {
    const a = new Owner(pod().url);
    const b = new Owner(pod().url);
    await a.declare(['who', 'Text']);
    await b.declare(['who', 'Text']);
    for (const id of ['sharedId-1', 'sharedId-2']) {
      assert.equal(await a.create({ id, type: 'Person', who: `a:${id}` }), id);
      assert.equal(await b.create({ id, type: 'Person', who: `b:${id}` }), id);
    }
    const onlyA = await a.create({ type: 'Person', who: 'only a' });
    assert.equal((await a.get('sharedId-1')).who, 'a:sharedId-1');
    assert.equal((await b.get('sharedId-1')).who, 'b:sharedId-1');
    assert.deepEqual(await b.ok('get_item', onlyA), []);
    assert.deepEqual((await a.search({ type: 'Person' })).map((i) => i.who).sort(), [
      'a:sharedId-1',
      'a:sharedId-2',
      'only a',
    ]);
    assert.deepEqual((await b.search({ type: 'Person' })).map((i) => i.who).sort(), ['b:sharedId-1', 'b:sharedId-2']);
    await b.fails('update_item', { id: onlyA, who: 'x' }, 404);
    await b.fails('create_edge', { _source: 'sharedId-1', _target: onlyA, _name: 'x' }, 404);
    await a.ok('delete_item', 'sharedId-2');
    assert.equal((await b.get('sharedId-2')).deleted, false);
  });

  test('two owners may use the same database key and still be isolated', async () => {
    const key = randomKey();
    const a = new Owner(pod().url, randomKey(), key);
    const b = new Owner(pod().url, randomKey(), key);
    await a.create({ id: 'sameKeyItem', type: 'A' });
    assert.deepEqual(await b.ok('get_item', 'sameKeyItem'), []);
    await b.create({ id: 'sameKeyItem', type: 'B' });
    assert.equal((await a.get('sameKeyItem')).type, 'A');
  });
});

describe('database keys after an idle close', () => {
  const pod = usePod({ idleCloseMs: 100 });

  test('a wrong key on a closed database → 401, files untouched; the right key then reopens it intact', async () => {
    const o = new Owner(pod().url);
    await o.declare(['secret', 'Text']);
    const id = await o.create({ type: 'Diary', secret: 'kept' });
    await databaseClosed(pod().dataDir, o);
    const filesBefore = withoutShm(snapshotFiles(pod().dataDir));
    const wrong = o.withKey(randomKey());
    await wrong.fails('search', {}, 401);
    await wrong.fails('create_item', { type: 'Diary', secret: 'intruder' }, 401);
    await wrong.fails('get_item', id, 401);
    assert.deepEqual(withoutShm(snapshotFiles(pod().dataDir)), filesBefore, 'the wrong key changed no file');
    assert.equal((await o.get(id)).secret, 'kept');
    assert.equal((await o.search({ type: 'Diary' })).length, 1);
    await databaseClosed(pod().dataDir, o);
    // a request with the wrong key right after the right one reopened it, still 401
    assert.equal((await o.get(id)).secret, 'kept');
    await wrong.fails('search', {}, 401);
    assert.equal((await o.search({ type: 'Diary' })).length, 1);
  });
});

describe('encryption at rest', () => {
  const pod = usePod();

  test('no plaintext marker, database key or file content appears in any file under the data directory', async () => {
    const o = new Owner(pod().url);
    const marker = `PLAINTEXT-MARKER-${randomBytes(8).toString('hex')}`;
    await o.declare(['note', 'Text'], [`prop${randomBytes(4).toString('hex')}`, 'Text']);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await o.create({ type: `Type-${marker}`, note: `${marker} item ${i}` }));
    await o.ok('bulk', {
      createItems: Array.from({ length: 50 }, (_, i) => ({
        id: `mk${i}-${marker.slice(-12)}`,
        type: 'Bulk',
        note: `${marker} bulk ${i}`,
      })),
    });
    await o.ok('update_item', { id: ids[0], note: `${marker} updated` });
    await o.ok('create_edge', { _source: ids[0], _target: ids[1], _name: `edge-${marker}` });
    const fileBytes = Buffer.concat([
      Buffer.from(`${marker} inside a file `),
      Buffer.alloc(100_000, 'A'),
      Buffer.from(marker),
    ]);
    await o.create({ type: 'File', sha256: sha256hex(fileBytes) });
    assert.equal((await o.upload(fileBytes)).status, 200);
    assert.equal((await o.search({ note: `${marker} updated` })).length, 1);
    assert.ok((await o.getFile(sha256hex(fileBytes))).bytes.equals(fileBytes));

    const needles: [string, Buffer][] = [
      ['marker', Buffer.from(marker)],
      ['marker (UTF-16LE)', Buffer.from(marker, 'utf16le')],
      ['database key (hex)', Buffer.from(o.key)],
      ['database key (HEX)', Buffer.from(o.key.toUpperCase())],
      ['database key (bytes)', Buffer.from(o.key, 'hex')],
      ['file content run', Buffer.alloc(64, 'A')],
    ];
    const scan = (when: string) => {
      const files = walkFiles(pod().dataDir);
      assert.ok(files.length > 0, 'the pod wrote files under its data directory');
      for (const file of files) {
        const content = fs.readFileSync(file);
        for (const [what, needle] of needles)
          assert.equal(content.indexOf(needle), -1, `${when}: ${what} found in ${path.relative(pod().dataDir, file)}`);
      }
    };
    scan('while running');
    // and after a clean shutdown (checkpointed WAL, closed databases)
    await pod().stop();
    scan('after shutdown');
  });
});
