/** 2023 API §1.1 `POST /v4/account` (and /v3), §1.3's "only through §1.1", and the /v5 paths that are not routes. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { accountOwner, postAccount, register } from './account.js';
import { Owner, randomKey, startPod, usePod, walkFiles } from './helpers.js';

const dbPath = (dataDir: string, ownerKey: string) => join(dataDir, ownerHash(ownerKey), 'pod.db');

describe('POST /v4/account', () => {
  const pod = usePod();

  test('no database: creates it with this key and registers the account (200 {}), creating no item', async () => {
    const o = new Owner(pod().url);
    const reply = await register(o);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, {});
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    assert.ok(existsSync(dbPath(pod().dataDir, o.owner)));
    assert.deepEqual(await o.search({}), [], 'no item, of any type');
    assert.deepEqual(await o.search({ type: 'PodUserAccount' }), []);
    assert.deepEqual(await o.ok('bulk', { search: [{ deleted: true }, { deleted: false }] }), {
      createItems: [],
      createEdges: [],
      search: [[], []],
    });
  });

  test('an implicitly created (legacy) database, right key: registered (200); again: 409, and nothing else changes', async () => {
    const o = new Owner(pod().url);
    const id = await o.create({ type: 'Thing' });
    await o.ok('delete_item', id);
    assert.equal((await o.get(id)).deleted, true, 'legacy mode reads the deleted item');
    const first = await register(o);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(await o.ok('get_item', id), [], 'account mode from now on');
    const again = await register(o);
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.error, 'Conflict');
    assert.match(again.body.message, /already registered/);
    const third = await register(o.as('v3'));
    assert.equal(third.status, 409, 'the same account under /v3');
    assert.equal((await o.search({ deleted: true })).length, 1, 'the item is there, only hidden from plain reads');
  });

  test('/v3 registers too', async () => {
    const o = new Owner(pod().url, randomKey(), randomKey(), 'v3');
    assert.equal((await register(o)).status, 200);
    assert.equal((await register(o.as('v4'))).status, 409);
  });

  test('a wrong key for an existing database: 401 and nothing changes (open or closed database)', async () => {
    const o = new Owner(pod().url);
    const id = await o.create({ type: 'Thing' });
    await o.ok('delete_item', id);
    const wrong = await register(o.withKey(randomKey()));
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal((await o.get(id)).deleted, true, 'still legacy mode');
    assert.equal((await register(o)).status, 200, 'the owner can still register with the right key');

    // the same after a restart, when the database is opened by the registration itself
    const p = await startPod();
    try {
      const closed = new Owner(p.url);
      await closed.create({ type: 'Thing' });
      await p.stop();
      const again = await startPod({ dataDir: p.dataDir });
      try {
        const reopened = new Owner(again.url, closed.owner, closed.key);
        assert.equal((await register(reopened.withKey(randomKey()))).status, 401);
        assert.equal((await reopened.search({})).length, 1);
      } finally {
        await again.stop();
      }
    } finally {
      await p.close();
    }
  });

  test('keys missing or not 64 hex: 400 naming the key, and no database is created', async () => {
    const owner = randomKey();
    const key = randomKey();
    const cases: [unknown, RegExp][] = [
      [{ databaseKey: key }, /ownerKey/],
      [{ ownerKey: owner }, /databaseKey/],
      [{ ownerKey: owner.slice(1), databaseKey: key }, /ownerKey must be 64 hexadecimal/],
      [{ ownerKey: owner, databaseKey: `${key.slice(1)}g` }, /databaseKey must be 64 hexadecimal/],
      [{ ownerKey: owner, databaseKey: 42 }, /databaseKey/],
      [{ auth: { type: 'ClientAuth', databaseKey: key }, payload: { ownerKey: owner } }, /ownerKey/],
      [[owner, key], /body/],
    ];
    for (const [body, message] of cases) {
      const reply = await postAccount(pod().url, body);
      assert.equal(reply.status, 400, `${JSON.stringify(body)}: ${reply.text}`);
      assert.match(reply.body.message, message);
      assert.ok(!reply.text.includes(key), 'the database key is not echoed');
    }
    const notJson = await postAccount(pod().url, undefined);
    assert.equal(notJson.status, 400);
    assert.ok(!existsSync(dbPath(pod().dataDir, owner)));
  });

  test('the database key never reaches the log or an error answer', async () => {
    const lines: string[] = [];
    const p = await startPod({ logLevel: 'trace' }, { logStream: { write: (line) => void lines.push(line) } });
    try {
      const o = new Owner(p.url);
      assert.equal((await register(o)).status, 200);
      assert.equal((await register(o)).status, 409);
      const wrong = randomKey();
      const refused = await register(o.withKey(wrong));
      assert.equal(refused.status, 401);
      assert.ok(!refused.text.includes(wrong));
      const log = lines.join('');
      assert.match(log, /\/v4\/account/, 'the request is logged');
      for (const secret of [o.key, wrong]) assert.ok(!log.includes(secret), 'no database key in the log');
    } finally {
      await p.close();
    }
  });
});

describe('POST /v4/account on a Pod with an owner allow-list', () => {
  const allowed = randomKey();
  const pod = usePod({ owners: new Set([ownerHash(allowed)]) });

  test('an owner not allowed: 403 and no database; an allowed one registers', async () => {
    const stranger = randomKey();
    const refused = await postAccount(pod().url, { ownerKey: stranger, databaseKey: randomKey() });
    assert.equal(refused.status, 403, refused.text);
    assert.ok(!existsSync(join(pod().dataDir, ownerHash(stranger))));
    assert.equal((await register(new Owner(pod().url, allowed))).status, 200);
  });
});

describe('account mode survives a restart', () => {
  test('the registration is stored with the database: after a restart it still hides deleted items and answers 409', async () => {
    const first = await startPod();
    try {
      const o = await accountOwner(first.url);
      const id = await o.create({ type: 'Thing' });
      await o.ok('delete_item', id);
      await first.stop();
      const second = await startPod({ dataDir: first.dataDir });
      try {
        const again = new Owner(second.url, o.owner, o.key);
        assert.deepEqual(await again.ok('get_item', id), []);
        assert.equal((await register(again)).status, 409);
      } finally {
        await second.stop();
      }
    } finally {
      await first.close();
    }
  });
});

describe('/v5', () => {
  const pod = usePod();

  test('every /v5 path but schema answers 404 and creates nothing', async () => {
    const o = new Owner(pod().url);
    const body = JSON.stringify({ auth: o.auth, payload: {} });
    for (const path of ['search', 'create_item', 'get_item', 'bulk', 'account', 'graphql', 'plugin/status', 'x/y/z']) {
      const res = await fetch(`${pod().url}/v5/${o.owner}/${path}`, { method: 'POST', body });
      assert.equal(res.status, 404, `/v5/<owner>/${path}`);
      const text = await res.text();
      assert.ok(!text.includes(o.key) && !text.includes(o.owner), 'the 404 echoes neither key');
    }
    for (const path of ['/v5/account', '/v5', `/v5/${o.owner}`])
      assert.equal((await fetch(`${pod().url}${path}`, { method: 'POST', body })).status, 404, path);
    assert.deepEqual(walkFiles(pod().dataDir), [], 'no database was created');
  });
});
