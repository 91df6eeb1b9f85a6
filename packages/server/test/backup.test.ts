/**
 * `pod backup` / `pod restore` (issue 15 part 1), through the real CLI in child processes: a backup taken
 * while writers run holds every write acknowledged before it began and no half transaction, opens with the
 * owner's key, carries the files, holds no plaintext; the Pod honours the checkpoint lock; bad input is
 * refused with a message and changes nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { MovedOwners } from '../src/moved-owners.js';
import { tryLock, unlock } from '../src/storage/checkpoint-lock.js';
import { openEncrypted } from '../src/storage/database.js';
import { Owner, cliPath, randomKey, sha256hex, startCli, stopCli, until, walkFiles, type CliPod } from './helpers.js';

/** Runs `pod <args>` to its end: exit code and what it wrote to stderr. */
function pod(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliPath(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

const temp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `pod-${name}-`));
const folders: string[] = [];
const pods: CliPod[] = [];
after(async () => {
  for (const running of pods) await stopCli(running, 'SIGKILL');
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});
const folder = (name: string) => {
  const made = temp(name);
  folders.push(made);
  return made;
};

describe('pod backup and restore', () => {
  test('a backup during writes restores every write acknowledged before it, whole transactions only', async (t) => {
    const dataDir = folder('data');
    // idle owners close (checkpoint and close under the lock) every second, during the backups too
    const live = await startCli(dataDir, ['--idle-close', '1']);
    pods.push(live);
    const owner = new Owner(live.url, randomKey(), randomKey());
    const idle = new Owner(live.url, randomKey(), randomKey());
    const marker = `plaintext-marker-${randomBytes(8).toString('hex')}`;
    await owner.declare(['seq', 'Integer'], ['note', 'Text']);
    await owner.create({ type: 'Note', note: marker });
    const fileBytes = Buffer.concat([Buffer.from(`file-${marker}`), randomBytes(600_000)]);
    const sha = sha256hex(fileBytes);
    await owner.create({ type: 'File', sha256: sha });
    assert.equal((await owner.upload(fileBytes)).status, 200);
    await idle.declare(['note', 'Text']);
    await idle.create({ type: 'Note', note: marker });
    // 30 MiB of history, so a copy takes long enough for writes to land during it, and the writes below pass
    // the 40 MiB of WAL at which the Pod checkpoints: its checkpoints and the backups meet
    const filler = 'x'.repeat(50_000);
    for (let batch = 0; batch < 30; batch++)
      await owner.ok('bulk', { createItems: Array.from({ length: 20 }, () => ({ type: 'Filler', note: filler })) });
    const databaseFile = path.join(dataDir, ownerHash(owner.owner), 'pod.db');
    const databaseBytes = fs.statSync(databaseFile).size;

    const acknowledged: string[] = [];
    let stop = false;
    let seq = 0;
    const writer = async () => {
      while (!stop) {
        const n = seq++;
        // every third write is a bulk of five items of one seq: a restored copy has all five or none
        if (n % 3 === 0) {
          const created = await owner.ok('bulk', {
            createItems: Array.from({ length: 5 }, () => ({ type: 'Write', seq: n, note: filler })),
          });
          acknowledged.push(...(created.createItems as string[]));
        } else acknowledged.push(await owner.create({ type: 'Write', seq: n, note: filler }));
      }
    };
    const idleWriter = async () => {
      while (!stop) {
        await idle.create({ type: 'Note', note: 'now and then' });
        await new Promise((resolve) => setTimeout(resolve, 1300));
      }
    };
    const writers = [writer(), writer(), idleWriter()];
    await until('writes going', () => (acknowledged.length > 50 ? true : undefined), 60_000);

    const backups: { out: string; before: string[] }[] = [];
    for (let round = 0; round < 3; round++) {
      const out = path.join(folder('backup'), 'out');
      const before = [...acknowledged];
      const result = await pod(['backup', '--data-dir', dataDir, '--out', out]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /backed up 2 owners/);
      backups.push({ out, before });
    }
    await until('a checkpoint', () => (fs.statSync(databaseFile).size > databaseBytes ? true : undefined), 60_000);
    stop = true;
    await Promise.all(writers);
    t.diagnostic(
      `${acknowledged.length} items acknowledged in all; backups began after ${backups.map((b) => b.before.length)}`,
    );
    await stopCli(live);

    for (const { out, before } of backups) {
      for (const file of walkFiles(out)) {
        const bytes = fs.readFileSync(file);
        assert.equal(bytes.includes(marker), false, `${file} holds an item's text in plaintext`);
        assert.equal(bytes.includes(owner.key), false, `${file} holds the database key`);
        assert.equal(bytes.includes(Buffer.from(owner.key, 'hex')), false, `${file} holds the raw database key`);
      }
      const restored = path.join(folder('restored'), 'data');
      const result = await pod(['restore', '--from', out, '--data-dir', restored]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /restored 2 owners/);

      const db = openEncrypted(
        path.join(restored, ownerHash(owner.owner), 'pod.db'),
        Buffer.from(owner.key, 'hex'),
        false,
      );
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();

      const copy = await startCli(restored);
      pods.push(copy);
      const there = new Owner(copy.url, owner.owner, owner.key);
      // paged: the writes' notes together pass the Pod's largest answer
      const writes: Awaited<ReturnType<Owner['search']>> = [];
      // without `_offset` a page holds every item of its last dateServerModified, so the next starts after it
      for (let from = 0, page: typeof writes = []; from === 0 || page.length >= 500; ) {
        page = await there.search({ type: 'Write', 'dateServerModified>=': from, _limit: 500 });
        writes.push(...page);
        from = Number(page.at(-1)?.dateServerModified ?? 0) + 1;
      }
      const ids = new Set(writes.map((item) => item.id as string));
      const missing = before.filter((id) => !ids.has(id));
      t.diagnostic(`restored ${ids.size} writes, ${before.length} acknowledged before the backup began`);
      assert.deepEqual(missing, [], `${missing.length} writes acknowledged before the backup are missing`);
      const perBulk = new Map<number, number>();
      for (const item of writes) if (item.seq % 3 === 0) perBulk.set(item.seq, (perBulk.get(item.seq) ?? 0) + 1);
      for (const [n, count] of perBulk) assert.equal(count, 5, `bulk ${n} restored with ${count} of its 5 items`);
      const file = await there.getFile(sha);
      assert.equal(file.status, 200);
      assert.equal(sha256hex(file.bytes), sha);
      assert.equal((await new Owner(copy.url, idle.owner, idle.key).search({ type: 'Note' }))[0]?.note, marker);
      await stopCli(copy);
    }
  });

  test('the Pod does not checkpoint or close an owner while a backup holds its checkpoint lock', async () => {
    const dataDir = folder('data');
    const live = await startCli(dataDir, ['--idle-close', '1']);
    pods.push(live);
    const owner = new Owner(live.url, randomKey(), randomKey());
    await owner.create({ type: 'Note' });
    const ownerDir = path.join(dataDir, ownerHash(owner.owner));
    const lock = path.join(ownerDir, 'checkpoint.lock');
    const wal = path.join(ownerDir, 'pod.db-wal');
    const database = fs.readFileSync(path.join(ownerDir, 'pod.db'));
    fs.writeFileSync(lock, '');
    // the idle sweep runs every second: two sweeps pass without touching pod.db or the WAL
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.ok(fs.statSync(wal).size > 0, 'the WAL was checkpointed while locked');
    assert.deepEqual(fs.readFileSync(path.join(ownerDir, 'pod.db')), database);
    fs.rmSync(lock);
    // released: the next sweep checkpoints and closes it (TRUNCATE, then SQLite removes the WAL)
    await until('the idle close', () =>
      (fs.statSync(wal, { throwIfNoEntry: false })?.size ?? 0) === 0 ? true : undefined,
    );
    assert.equal((await owner.search({ type: 'Note' })).length, 1);
    await stopCli(live);
  });

  test('an owner deleted while the backup runs is skipped with a line saying so, and the backup finishes', async () => {
    const dataDir = folder('data');
    const live = await startCli(dataDir);
    pods.push(live);
    const owners = [new Owner(live.url, randomKey(), randomKey()), new Owner(live.url, randomKey(), randomKey())];
    for (const owner of owners) await owner.create({ type: 'Note' });
    // the backup copies owners in the order of their hashes; it waits at the first, whose lock the test holds
    const [first, second] = owners
      .map((owner) => ({ owner, hash: ownerHash(owner.owner) }))
      .sort((a, b) => a.hash.localeCompare(b.hash));
    assert.ok(first && second);
    const firstDir = path.join(dataDir, first.hash);
    await until("the first owner's checkpoint lock", () => tryLock(firstDir) || undefined);
    const out = path.join(folder('out'), 'b');
    const backup = pod(['backup', '--data-dir', dataDir, '--out', out]);
    // it has listed both owners once it has made the first one's folder in the backup
    await until('the backup to start', () => fs.existsSync(path.join(out, first.hash)) || undefined);
    assert.deepEqual(await second.owner.ok('delete_owner', { confirm: second.owner.owner }), {});
    unlock(firstDir);
    const result = await backup;
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`skipped owner 2/2 ${second.hash.slice(0, 16)}: deleted while the backup ran`),
    );
    assert.match(result.stderr, /backed up 1 owners/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace');
    assert.deepEqual(fs.readdirSync(out).sort(), [first.hash, 'manifest.json'].sort());
    const restored = path.join(folder('restored'), 'data');
    const restore = await pod(['restore', '--from', out, '--data-dir', restored]);
    assert.equal(restore.code, 0, restore.stderr);
    await stopCli(live);
  });

  test('an owner moved away stays moved after a restore: its requests get the 307, no new database', async () => {
    const dataDir = folder('data');
    const live = await startCli(dataDir);
    pods.push(live);
    await new Owner(live.url, randomKey(), randomKey()).create({ type: 'Note' });
    await stopCli(live);
    const movedKey = randomKey();
    new MovedOwners(dataDir).record(ownerHash(movedKey), 'http://127.0.0.1:9');
    const out = path.join(folder('out'), 'b');
    let result = await pod(['backup', '--data-dir', dataDir, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const restored = path.join(folder('restored'), 'data');
    result = await pod(['restore', '--from', out, '--data-dir', restored]);
    assert.equal(result.code, 0, result.stderr);

    const again = await startCli(restored);
    pods.push(again);
    const response = await fetch(`${again.url}/v4/${movedKey}/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ databaseKey: randomKey(), payload: {} }),
      redirect: 'manual',
    });
    assert.equal(response.status, 307);
    assert.equal(response.headers.get('location'), `http://127.0.0.1:9/v4/${movedKey}/search`);
    assert.equal(fs.existsSync(path.join(restored, ownerHash(movedKey))), false, 'no database made for it');
    await stopCli(again);
  });

  test('bad input is refused with a message and changes nothing', async () => {
    const missing = path.join(folder('gone'), 'nothing-here');
    let result = await pod(['backup', '--data-dir', missing, '--out', path.join(folder('out'), 'b')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /does not exist/);

    const empty = folder('empty');
    const out = path.join(folder('out'), 'b');
    result = await pod(['backup', '--data-dir', empty, '--out', out]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /holds no owners: nothing to back up/);
    assert.equal(fs.existsSync(out), false);

    // a real backup to restore from
    const dataDir = folder('data');
    const live = await startCli(dataDir);
    pods.push(live);
    const owner = new Owner(live.url, randomKey(), randomKey());
    await owner.declare(['note', 'Text']);
    await owner.create({ type: 'Note', note: 'kept' });
    await stopCli(live);
    result = await pod(['backup', '--data-dir', dataDir, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    result = await pod(['backup', '--data-dir', dataDir, '--out', out]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is not empty: back up into a new or empty folder/);

    // restore over a data folder that holds anything: refused, the folder unchanged
    const before = fs.readdirSync(dataDir);
    result = await pod(['restore', '--from', out, '--data-dir', dataDir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is not empty: restore only into a new or empty data folder/);
    assert.deepEqual(fs.readdirSync(dataDir), before);

    // a damaged backup: nothing is left behind
    const damaged = path.join(out, ownerHash(owner.owner), 'pod.db');
    const bytes = fs.readFileSync(damaged);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    fs.writeFileSync(damaged, bytes);
    const target = path.join(folder('restore'), 'data');
    result = await pod(['restore', '--from', out, '--data-dir', target]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /pod\.db in the backup is damaged/);
    assert.equal(fs.existsSync(target), false);

    // an unfinished backup (no manifest): refused
    fs.rmSync(path.join(out, 'manifest.json'));
    result = await pod(['restore', '--from', out, '--data-dir', target]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no manifest\.json: not a backup, or one that did not finish/);
    assert.equal(fs.existsSync(target), false);
  });
});
