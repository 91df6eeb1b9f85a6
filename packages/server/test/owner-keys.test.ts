/**
 * Issue 15 part 6: the owner changes the database key (SQLCipher rekey) and deletes the Pod. Real
 * HTTP against real Pods; the crash cases kill real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ownerHash } from '../src/config.js';
import { openEncrypted } from '../src/storage/database.js';
import {
  Owner,
  randomKey,
  sha256hex,
  startCli,
  startPod,
  stopCli,
  type CliPod,
  type Reply,
  type RunningPod,
} from './helpers.js';
import { openFeed } from './security/feed-stream.js';

/** An owner with two items and a file. */
async function ownerWithData(url: string): Promise<{ owner: Owner; bytes: Buffer; sha: string }> {
  const owner = new Owner(url);
  await owner.declare(['title', 'Text']);
  await owner.create({ id: 'note-1', type: 'Note', title: 'first' });
  await owner.create({ id: 'note-2', type: 'Note', title: 'second' });
  const bytes = Buffer.from(`file of ${owner.owner}`.repeat(1000));
  const sha = sha256hex(bytes);
  await owner.create({ type: 'File', sha256: sha });
  const upload = await owner.upload(bytes);
  assert.equal(upload.status, 200, upload.text);
  return { owner, bytes, sha };
}

async function assertReadable(owner: Owner, bytes: Buffer, sha: string) {
  const [item] = await owner.ok('get_item', 'note-2');
  assert.equal(item.title, 'second');
  assert.equal((await owner.ok('search', { type: 'Note' })).length, 2);
  const file = await owner.getFile(sha);
  assert.equal(file.status, 200);
  assert.ok(file.bytes.equals(bytes), 'the file reads back exactly');
}

describe('change_database_key', () => {
  let pod: RunningPod;
  before(async () => {
    pod = await startPod({ owners: 'ANY' });
  });
  after(async () => pod?.close());

  test('the new key opens the database and its files, the old one gets 401, the live feed ends', async () => {
    const { owner, bytes, sha } = await ownerWithData(pod.url);
    const feed = await openFeed(owner);
    assert.equal(feed.status, 200);
    const newKey = randomKey();
    assert.deepEqual(await owner.ok('change_database_key', { newDatabaseKey: newKey }), {});
    await feed.ended;
    // requests sent together right after the answer: every one with the old key is refused
    const old = await Promise.all(Array.from({ length: 10 }, () => owner.call('get_item', 'note-1')));
    assert.deepEqual(
      old.map((r) => r.status),
      old.map(() => 401),
    );
    assert.equal((await owner.upload(Buffer.from('with the old key'))).status, 401);
    const renewed = owner.withKey(newKey);
    await assertReadable(renewed, bytes, sha);
    await renewed.create({ id: 'note-3', type: 'Note', title: 'after' });
    assert.equal((await renewed.ok('search', { type: 'Note' })).length, 3, 'a search (reader connection) sees it');
  });

  test('after a restart only the new key opens it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-rekey-'));
    let first: RunningPod | undefined = await startPod({ owners: 'ANY', dataDir });
    try {
      const { owner, bytes, sha } = await ownerWithData(first.url);
      const newKey = randomKey();
      await owner.ok('change_database_key', { newDatabaseKey: newKey });
      await first.stop();
      first = await startPod({ owners: 'ANY', dataDir });
      const again = new Owner(first.url, owner.owner, owner.key);
      await again.fails('get_item', 'note-1', 401);
      await assertReadable(again.withKey(newKey), bytes, sha);
    } finally {
      await first?.close();
    }
  });

  test('the same key, a malformed key or a missing field: 400, and the old key keeps working', async () => {
    const { owner, bytes, sha } = await ownerWithData(pod.url);
    const same = await owner.fails('change_database_key', { newDatabaseKey: owner.key }, 400);
    assert.match(same.body.message, /current database key/);
    const short = await owner.fails('change_database_key', { newDatabaseKey: 'abc' }, 400);
    assert.match(short.body.message, /newDatabaseKey must be 64 hexadecimal characters/);
    await owner.fails('change_database_key', {}, 400);
    await owner.fails('change_database_key', { newDatabaseKey: randomKey() }, 401, {
      type: 'ClientAuth',
      databaseKey: randomKey(),
    });
    await assertReadable(owner, bytes, sha);
  });

  test('writes sent while the key changes are all kept', async () => {
    const { owner } = await ownerWithData(pod.url);
    const newKey = randomKey();
    const writes = Array.from({ length: 20 }, (_, i) =>
      owner.call('create_item', { id: `during-${i}`, type: 'Note', title: `w${i}` }),
    );
    const change = owner.call('change_database_key', { newDatabaseKey: newKey });
    const answers = await Promise.all(writes);
    assert.equal((await change).status, 200);
    const kept = answers.filter((r) => r.status === 200).length;
    // those the Pod had accepted before the answer ran, in turn, under the new key; none half-done
    assert.deepEqual(
      answers.map((r) => r.status).filter((status) => status !== 200 && status !== 401),
      [],
    );
    const notes = await owner.withKey(newKey).ok('search', { type: 'Note' });
    assert.equal(notes.length, 2 + kept);
  });
});

describe('change_database_key and crashes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-rekey-crash-'));
  const started: CliPod[] = [];
  after(async () => {
    for (const cli of started) await stopCli(cli, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a Pod killed right after the answer opens with the new key', async () => {
    const first = await startCli(dataDir, ['--owners', 'ANY']);
    started.push(first);
    const { owner, bytes, sha } = await ownerWithData(first.url);
    const newKey = randomKey();
    await owner.ok('change_database_key', { newDatabaseKey: newKey });
    await stopCli(first, 'SIGKILL');
    const second = await startCli(dataDir, ['--owners', 'ANY']);
    started.push(second);
    const again = new Owner(second.url, owner.owner, owner.key);
    await again.fails('get_item', 'note-1', 401);
    await assertReadable(again.withKey(newKey), bytes, sha);
  });

  test('a process killed in the middle of the rekey leaves the database whole under the old key', async () => {
    const path = join(dataDir, 'big.db');
    const oldKey = Buffer.from(randomKey(), 'hex');
    const db = openEncrypted(path, oldKey, true);
    db.exec('CREATE TABLE filler (x)');
    const insert = db.prepare('INSERT INTO filler VALUES (randomblob(1000))');
    db.transaction(() => {
      for (let i = 0; i < 40_000; i++) insert.run();
    })();
    db.close();
    // a child rekeys; it is killed once the rollback journal of the rekey exists
    const database = fileURLToPath(new URL('../src/storage/database.js', import.meta.url));
    const script = `
      import { openEncrypted, rekey } from ${JSON.stringify(database)};
      const db = openEncrypted(process.argv[1], Buffer.from(process.argv[2], 'hex'), false);
      rekey(db, Buffer.from(process.argv[3], 'hex'));
      console.log('finished');`;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script, path, oldKey.toString('hex'), randomKey()],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while (!existsSync(`${path}-journal`) && child.exitCode === null) await new Promise(setImmediate);
    child.kill('SIGKILL');
    await exited;
    assert.equal(output, '', 'killed before the rekey finished');
    assert.ok(readdirSync(dataDir).includes('big.db-journal'), 'the rekey was cut off mid-way');
    const reopened = openEncrypted(path, oldKey, false);
    assert.equal((reopened.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n, 40_000);
    assert.equal(reopened.pragma('integrity_check', { simple: true }), 'ok');
    reopened.close();
  });
});

describe('delete_owner', () => {
  let pod: RunningPod;
  let kept: Owner;
  before(async () => {
    kept = new Owner('');
    pod = await startPod({ owners: 'ANY' });
    kept = new Owner(pod.url, kept.owner, kept.key);
    await kept.create({ id: 'kept-1', type: 'Note' });
  });
  after(async () => pod?.close());

  test('removes the folder, ends the feeds; the same keys later start an empty Pod', async () => {
    const { owner, sha } = await ownerWithData(pod.url);
    const folder = join(pod.dataDir, ownerHash(owner.owner));
    assert.ok(existsSync(join(folder, 'pod.db')));
    const feed = await openFeed(owner);
    assert.equal(feed.status, 200);
    assert.deepEqual(await owner.ok('delete_owner', { confirm: owner.owner.toUpperCase() }), {});
    await feed.ended;
    assert.equal(existsSync(folder), false, 'database, WAL and files are gone');
    // --owners ANY admits the owner as a new one: an empty database, nothing of the old one
    assert.deepEqual(await owner.ok('get_item', 'note-1'), []);
    assert.deepEqual(await owner.ok('search', { type: 'Note' }), []);
    assert.equal((await owner.getFile(sha)).status, 404);
    // another owner is untouched
    assert.equal((await kept.ok('get_item', 'kept-1')).length, 1);
  });

  test('requests queued behind a delete_owner get what a request for the deleted owner gets, not an error', async () => {
    // A long search holds the owner's reader; the deletion waits for it holding the main connection, so
    // the owner's requests arriving meanwhile queue behind the deletion and get their turn after it.
    const filler = 'x'.repeat(2000);
    for (let attempt = 1; ; attempt++) {
      const owner = new Owner(pod.url);
      await owner.create({ id: 'note-queued', type: 'Note' });
      for (let batch = 0; batch < 2; batch++)
        await owner.ok('bulk', { createItems: Array.from({ length: 2000 }, () => ({ type: 'Note', title: filler })) });
      const search = owner.call('search', { type: 'Note' });
      const deletion = owner.call('delete_owner', { confirm: owner.owner });
      let deleted = false;
      void deletion.finally(() => (deleted = true));
      const replies: { reply: Reply; inFlightAtDeletion: boolean }[] = [];
      while (!deleted) {
        const reply = await owner.call('get_item', 'note-queued');
        replies.push({ reply, inFlightAtDeletion: deleted });
      }
      assert.equal((await deletion).status, 200);
      assert.equal((await search).status, 200);
      for (const { reply } of replies) {
        assert.equal(reply.status, 200, reply.text);
        assert.ok(reply.text === '[]' || JSON.parse(reply.text)[0]?.id === 'note-queued', reply.text);
      }
      // the one in flight when the deletion answered met a new, empty owner (--owners ANY), as one sent now does
      const queued = replies.find((r) => r.inFlightAtDeletion);
      if (queued) {
        assert.equal(queued.reply.text, '[]');
        assert.equal(await owner.call('get_item', 'note-queued').then((r) => r.text), '[]');
        return;
      }
      assert.ok(attempt < 3, 'in three attempts, no request was waiting behind the deletion');
    }
  });

  test('an owner with no database yet: 403 for both calls, and no folder is made', async () => {
    const stranger = new Owner(pod.url);
    await stranger.fails('delete_owner', { confirm: stranger.owner }, 403);
    await stranger.fails('change_database_key', { newDatabaseKey: randomKey() }, 403);
    assert.equal(existsSync(join(pod.dataDir, ownerHash(stranger.owner))), false);
  });

  test('a confirmation that is not the owner key: 400, nothing deleted', async () => {
    const { owner, bytes, sha } = await ownerWithData(pod.url);
    const wrong = await owner.fails('delete_owner', { confirm: randomKey() }, 400);
    assert.match(wrong.body.message, /confirm must be this owner's key/);
    await owner.fails('delete_owner', {}, 400);
    await assertReadable(owner, bytes, sha);
  });

  test('with an allow-list, a deleted owner that is listed starts again empty', async () => {
    const listed = new Owner('');
    const strict = await startPod({ owners: new Set([ownerHash(listed.owner)]) });
    try {
      const owner = new Owner(strict.url, listed.owner, listed.key);
      await owner.create({ id: 'note-1', type: 'Note' });
      await owner.ok('delete_owner', { confirm: owner.owner });
      assert.deepEqual(
        readdirSync(strict.dataDir).filter((name) => /^[0-9a-f]{64}$/.test(name)),
        [],
      );
      assert.deepEqual(await owner.ok('get_item', 'note-1'), []);
      // an owner not on the list gets 403 and no folder, deleted or not
      await new Owner(strict.url).fails('get_item', 'note-1', 403);
    } finally {
      await strict.close();
    }
  });
});
