/**
 * Checkpoints off the event loop (issue 13, checkpointer.ts): a large commit's checkpoint and a close's
 * run on the checkpoint thread, under the checkpoint lock a backup takes; a close returns before its
 * checkpoint, and what was written before it survives a SIGKILL right after; no key reaches the log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { openEncrypted } from '../src/storage/database.js';
import { holdLock, LOCK_FILE, STALE_MS } from '../src/storage/checkpoint-lock.js';
import { type Owner as PoolOwner, OwnerPool } from '../src/storage/owners.js';
import { declare, Owner, randomKey, sha256hex, startCli, stopCli, until, type CliPod } from './helpers.js';

/** What the owner pool checkpoints at (owners.ts). */
const CHECKPOINT_WAL_BYTES = 40 * 1024 * 1024;
/** Items of ~100 KB of text: a few hundred fill a WAL past the checkpoint size in one commit. */
const bigItem = (n: number) => ({ type: 'Thing', n, body: randomBytes(50_000).toString('hex') });
const ITEMS_PAST_CHECKPOINT = 450;

const dirs: string[] = [];
function newPool(maxOpenOwners = 10, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-checkpoints-'))) {
  dirs.push(dataDir);
  const warnings: string[] = [];
  const limits = { maxOpenOwners, pageCacheBytes: 64 * 1024 * 1024, ownerQuotaBytes: 0 };
  const pool = new OwnerPool({ dataDir, owners: 'ANY', idleCloseMs: 3_600_000, limits }, undefined, (message) =>
    warnings.push(message),
  );
  return { pool, warnings, dataDir };
}

function fill(owner: PoolOwner, from: number, count: number) {
  owner.store.write(() => {
    for (let n = from; n < from + count; n++) owner.store.createItem(bigItem(n));
  });
}

const walBytes = (owner: PoolOwner) =>
  fs.statSync(path.join(owner.dir, 'pod.db-wal'), { throwIfNoEntry: false })?.size ?? 0;
const locked = (owner: PoolOwner) => fs.existsSync(path.join(owner.dir, LOCK_FILE));
const podDbHash = (owner: PoolOwner) => sha256hex(fs.readFileSync(path.join(owner.dir, 'pod.db')));
const count = (owner: PoolOwner) => JSON.parse(owner.store.searchJson({ type: 'Thing' })).length as number;

/** Turns of the event loop that ran until `promise` settled: none if the work had run inline. */
async function turnsUntil(promise: Promise<unknown>): Promise<number> {
  let settled = false;
  void promise.finally(() => {
    settled = true;
  });
  let turns = 0;
  while (!settled) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    turns++;
  }
  return turns;
}

after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new owner of `pool` with its schema, filled until its last commit passed the checkpoint's WAL size. */
function ownerPastCheckpoint(pool: OwnerPool): PoolOwner {
  const owner = pool.authenticate(randomKey(), randomKey());
  owner.store.write(() => owner.store.createItem(declare('body', 'Text')));
  owner.store.write(() => owner.store.createItem(declare('n', 'Integer')));
  fill(owner, 0, ITEMS_PAST_CHECKPOINT);
  return owner;
}

describe('checkpoints on the checkpoint thread', () => {
  test('a commit past the WAL size returns before its checkpoint, which holds the lock; the event loop goes on', async () => {
    const { pool, warnings } = newPool();
    try {
      const owner = ownerPastCheckpoint(pool);
      assert.ok(walBytes(owner) > CHECKPOINT_WAL_BYTES, `the WAL is ${walBytes(owner)} bytes`);
      assert.ok(locked(owner), 'the checkpoint runs after the commit returned, under the lock');
      const before = podDbHash(owner);
      assert.equal(count(owner), ITEMS_PAST_CHECKPOINT, 'requests are served while it runs');
      assert.ok((await turnsUntil(pool.settled())) > 0, 'the event loop turned while the checkpoint ran');
      assert.equal(locked(owner), false, 'the lock is released when it is done');
      assert.notEqual(podDbHash(owner), before, 'the checkpoint wrote pod.db');
      // a complete checkpoint lets the next commit restart the WAL (journal_size_limit cuts it back)
      owner.store.write(() => owner.store.createItem({ type: 'Thing', n: -1 }));
      assert.ok(walBytes(owner) <= 4 * 1024 * 1024, `the WAL restarted: ${walBytes(owner)} bytes`);
      assert.deepEqual(warnings, []);
    } finally {
      await pool.closeAll();
    }
  });

  test('a backup waits for a running checkpoint, and pod.db does not change while it holds the lock', async () => {
    const { pool, warnings } = newPool();
    try {
      const owner = ownerPastCheckpoint(pool);
      let checkpointed = false;
      const settled = pool.settled().then(() => {
        checkpointed = true;
      });
      const release = await holdLock(owner.dir, STALE_MS);
      try {
        assert.ok(checkpointed, 'the backup got the lock only once the checkpoint was done');
        await settled;
        const copied = podDbHash(owner);
        fill(owner, ITEMS_PAST_CHECKPOINT, ITEMS_PAST_CHECKPOINT);
        assert.ok(walBytes(owner) > CHECKPOINT_WAL_BYTES);
        await pool.settled();
        assert.equal(podDbHash(owner), copied, 'no checkpoint while the backup holds the lock');
      } finally {
        release();
      }
      // the next commit after the backup checkpoints
      owner.store.write(() => owner.store.createItem({ type: 'Thing', n: -1 }));
      assert.ok(locked(owner), 'checkpointed again once the lock was free');
      await pool.settled();
      assert.equal(count(owner), 2 * ITEMS_PAST_CHECKPOINT + 1);
      assert.deepEqual(warnings, []);
    } finally {
      await pool.closeAll();
    }
  });

  test('a close returns before its checkpoint; the thread checkpoints, removes the WAL and keeps everything', async () => {
    const { pool, warnings } = newPool(1);
    const [ownerKey, databaseKey] = [randomKey(), randomKey()];
    try {
      const first = pool.authenticate(ownerKey, databaseKey);
      first.store.write(() => first.store.createItem(declare('body', 'Text')));
      first.store.write(() => first.store.createItem(declare('n', 'Integer')));
      // under the checkpoint size: all of it is left for the close
      fill(first, 0, 200);
      assert.ok(walBytes(first) > 10 * 1024 * 1024 && walBytes(first) < CHECKPOINT_WAL_BYTES);
      await pool.settled(); // the thread's connection is open (its open is never waited for on the request path)
      pool.authenticate(randomKey(), randomKey()); // at --max-open-owners 1: the first owner is closed
      assert.equal(pool.isOpen(first), false);
      assert.ok(locked(first), 'the close returned; its checkpoint runs under the lock');
      assert.ok(fs.existsSync(path.join(first.dir, 'pod.db-wal')), 'the WAL is still there');
      await pool.settled();
      assert.equal(locked(first), false);
      assert.equal(fs.existsSync(path.join(first.dir, 'pod.db-wal')), false, 'the last connection removed the WAL');
      const again = pool.authenticate(ownerKey, databaseKey);
      assert.equal(count(again), 200, 'every item is in pod.db');
      assert.deepEqual(warnings, []);
    } finally {
      await pool.closeAll();
    }
  });
});

describe('opening an owner', () => {
  test('unfinished uploads from before the open are removed off the event loop; one begun since stays', async () => {
    const { pool, warnings, dataDir } = newPool();
    const [ownerKey, databaseKey] = [randomKey(), randomKey()];
    const filesDir = pool.authenticate(ownerKey, databaseKey).filesDir;
    await pool.closeAll();
    const leftOver = path.join(filesDir, 'left-over.partial');
    const begunSince = path.join(filesDir, 'begun-since.partial');
    fs.writeFileSync(leftOver, 'cut off by a crash');
    fs.writeFileSync(begunSince, 'an upload going on');
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(begunSince, later, later);
    const reopened = newPool(10, dataDir);
    try {
      reopened.pool.authenticate(ownerKey, databaseKey);
      assert.ok(fs.existsSync(leftOver), 'listed after the open returned, not in it');
      await until('the left-over upload to go', () => (fs.existsSync(leftOver) ? undefined : true));
      assert.ok(fs.existsSync(begunSince), 'an upload begun since the open is not touched');
      assert.deepEqual([...warnings, ...reopened.warnings], []);
    } finally {
      await reopened.pool.closeAll();
    }
  });
});

describe('forgetting old batches', () => {
  test('batches older than a week go in steps after the open, found by their date; recent ones stay', async () => {
    const { pool, warnings, dataDir } = newPool();
    const [ownerKey, databaseKey] = [randomKey(), randomKey()];
    const dbPath = path.join(pool.authenticate(ownerKey, databaseKey).dir, 'pod.db');
    await pool.closeAll();
    const db = openEncrypted(dbPath, Buffer.from(databaseKey, 'hex'), false);
    const insert = db.prepare(
      'INSERT INTO applied_batches (principal, batchId, answer, dateServerModified) VALUES (?, ?, ?, ?)',
    );
    const weekAndADay = 8 * 24 * 3600_000;
    db.transaction(() => {
      for (let n = 0; n < 100; n++) insert.run('', `old-${n}`, '{"createItems":[]}', Date.now() - weekAndADay);
      insert.run('', 'recent', '{"createItems":[]}', Date.now());
    })();
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT batchId FROM applied_batches WHERE dateServerModified < ?')
      .all(0) as { detail: string }[];
    assert.match(plan.map((row) => row.detail).join(' '), /applied_batches_by_date/);
    const batches = db.prepare('SELECT batchId FROM applied_batches ORDER BY batchId').pluck();
    const reopened = newPool(10, dataDir);
    try {
      reopened.pool.authenticate(ownerKey, databaseKey);
      assert.equal(batches.all().length, 101, 'none forgotten inside the open');
      await until('the old batches to go', () => (batches.all().length === 1 ? true : undefined));
      assert.deepEqual(batches.all(), ['recent']);
      assert.deepEqual([...warnings, ...reopened.warnings], []);
    } finally {
      db.close();
      await reopened.pool.closeAll();
    }
  });
});

describe('a close, then SIGKILL', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-checkpoint-kill-'));
  const started: CliPod[] = [];
  after(async () => {
    for (const pod of started) await stopCli(pod, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('what was written right before a close is there after a SIGKILL once the close returned; no key is logged', async (t) => {
    // trace: every log line the Pod can write, searched for the key below
    const args = ['--owners', 'ANY', '--max-open-owners', '1', '--log-level', 'trace'];
    const pod = await startCli(dataDir, args);
    started.push(pod);
    const owner = new Owner(pod.url);
    await owner.declare(['body', 'Text'], ['n', 'Integer']);
    const written: string[] = [];
    for (let bulk = 0; bulk < 10; bulk++) {
      const createItems = Array.from({ length: 25 }, (_, k) => bigItem(bulk * 25 + k));
      written.push(...((await owner.ok('bulk', { createItems })).createItems as string[]));
    }
    const wal = path.join(dataDir, ownerHash(owner.owner), 'pod.db-wal');
    const walSize = fs.statSync(wal).size;
    assert.ok(walSize > 10 * 1024 * 1024, `the WAL holds the writes: ${walSize} bytes`);
    // another owner's request closes this one (--max-open-owners 1) before it is answered
    await new Owner(pod.url).create({ type: 'Thing' });
    pod.child.kill('SIGKILL');
    await new Promise((resolve) => pod.child.once('exit', resolve));
    t.diagnostic(`killed with the WAL ${fs.existsSync(wal) ? 'still there (checkpoint cut short)' : 'checkpointed'}`);

    const restarted = await startCli(dataDir, args);
    started.push(restarted);
    const back = new Owner(restarted.url, owner.owner, owner.key);
    const items = await back.search({ type: 'Thing' });
    assert.equal(items.length, written.length);
    const bodies = new Map(items.map((item: { id: string; n: number; body: string }) => [item.id, item]));
    for (const id of written) assert.ok(bodies.get(id)?.body.length === 100_000, `item ${id} is whole`);
    await stopCli(restarted);
    const log = pod.output() + restarted.output();
    for (const key of [owner.key, owner.key.toUpperCase()]) assert.equal(log.includes(key), false, 'a key in the log');
  });
});
