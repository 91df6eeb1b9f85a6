/**
 * `pod move` (issue 15 part 3), run as an operator runs it (the CLI beside the source Pod): the owner's
 * data and files arrive on the target, the source answers every route of the owner with 307 to the same
 * path there (query kept), keeps that record across a restart and keeps no data; a target that takes no
 * moves, a wrong secret, or an owner the target has already: refused, nothing changed on either side.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { runPodMove, startTestPod } from '../src/testing.js';
import { Owner, sha256hex, snapshotFiles, startPod, withoutShm, type RunningPod } from './helpers.js';

const SECRET = randomBytes(32).toString('hex');

function secretFile(secret: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pod-move-secret-')), 'secret');
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return file;
}

/** A request to the source, not followed: its status and Location. */
async function unfollowed(url: string, body: BodyInit = '{}') {
  const response = await fetch(url, { method: 'POST', body, redirect: 'manual' });
  await response.arrayBuffer();
  return { status: response.status, location: response.headers.get('location') };
}

describe('pod move', () => {
  let source: RunningPod;
  let target: RunningPod;
  const secret = secretFile(SECRET);
  before(async () => {
    source = await startPod();
    target = await startPod({ acceptMovesSecret: SECRET });
  });
  after(async () => {
    await source?.close();
    await target?.close();
  });

  test('moves the owner with its files; the source answers 307 on every route, also after a restart', async () => {
    const owner = new Owner(source.url);
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await owner.create({ type: 'Thing', name: `thing ${i}` }));
    const bytes = randomBytes(300_000);
    await owner.create({ type: 'File', sha256: sha256hex(bytes) });
    assert.equal((await owner.upload(bytes)).status, 200);
    const hash = ownerHash(owner.owner);

    const moved = await runPodMove(source.dataDir, { owner: hash, to: target.url, secretFile: secret });
    assert.equal(moved.code, 0, moved.output);
    assert.match(
      moved.output,
      /moved owner [0-9a-f]{64} to http:\/\/127\.0\.0\.1:\d+: 1 files, .* writes paused \d+ ms/,
    );

    const there = new Owner(target.url, owner.owner, owner.key);
    for (const [i, id] of ids.entries()) assert.equal((await there.get(id)).name, `thing ${i}`);
    assert.deepEqual((await there.getFile(sha256hex(bytes))).bytes, bytes);
    assert.equal(fs.existsSync(path.join(source.dataDir, hash)), false, 'the source kept the owner data');

    const base = `${source.url}/v4/${owner.owner}`;
    const expectations: [string, BodyInit?][] = [
      [`${base}/get_item?trace=1`],
      [`${base}/create_item`],
      [`${base}/changes`],
      [`${base}/upload_file/${owner.key}/${sha256hex(bytes)}`, bytes],
      [`${source.url}/v3/${owner.owner}/search`],
      [`${source.url}/v5/${owner.owner}/schema`],
    ];
    for (const [url, body] of expectations) {
      const answer = await unfollowed(url, body);
      assert.equal(answer.status, 307, url);
      assert.equal(answer.location, url.replace(source.url, target.url), 'path and query kept');
    }
    // A client that follows redirects keeps working through the old address.
    assert.equal((await owner.get(ids[0] as string)).name, 'thing 0');

    await source.stop();
    source = await startPod({ dataDir: source.dataDir });
    assert.equal((await unfollowed(`${source.url}/v4/${owner.owner}/get_item`)).status, 307, 'after a restart');
    assert.equal(fs.existsSync(path.join(source.dataDir, hash)), false, 'no new database for the moved owner');
    const registration = await fetch(`${source.url}/v4/account`, {
      method: 'POST',
      body: JSON.stringify({ ownerKey: owner.owner, databaseKey: owner.key }),
      redirect: 'manual',
    });
    assert.equal(registration.status, 307, 'the 2023 registration (owner in the body) too');
    assert.equal(registration.headers.get('location'), `${target.url}/v4/account`);
  });

  test('refusals change nothing on either side: no moves taken, a wrong secret, an owner there already', async () => {
    const owner = new Owner(source.url);
    const id = await owner.create({ type: 'Thing', name: 'stays' });
    const hash = ownerHash(owner.owner);
    const refusing = await startPod();
    try {
      const cases: [string, string, RegExp][] = [
        [refusing.url, secret, /refused \(403\): this Pod takes no moves/],
        [target.url, secretFile(randomBytes(32).toString('hex')), /refused \(401\): wrong move secret/],
      ];
      const there = new Owner(target.url, owner.owner, randomBytes(32).toString('hex'));
      await there.create({ type: 'Thing', name: 'another database of the same owner' });
      cases.push([target.url, secret, /refused \(409\): this owner already has data/]);
      for (const [to, file, message] of cases) {
        const sourceBefore = snapshotFiles(path.join(source.dataDir, hash));
        const targetBefore = fs.readdirSync(target.dataDir).sort();
        const refused = await runPodMove(source.dataDir, { owner: hash, to, secretFile: file });
        assert.equal(refused.code, 2, refused.output);
        assert.match(refused.output, message);
        assert.deepEqual(fs.readdirSync(target.dataDir).sort(), targetBefore, 'the target changed');
        // the checkpoint thread's connection reads too: only the -shm index may differ
        const sourceAfter = snapshotFiles(path.join(source.dataDir, hash));
        assert.deepEqual(withoutShm(sourceAfter), withoutShm(sourceBefore), 'the source changed');
        assert.equal((await owner.get(id)).name, 'stays');
        assert.equal((await unfollowed(`${source.url}/v4/${owner.owner}/search`)).status, 400, 'served, not moved');
      }
    } finally {
      await refusing.close();
    }
  });

  test('a move staged long ago and never finished is removed when the target starts; a recent one stays', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-move-staged-'));
    const [abandoned, recent] = ['a', 'b'].map((letter) => path.join(dataDir, `.move-${letter.repeat(64)}`));
    for (const folder of [abandoned, recent]) {
      fs.mkdirSync(path.join(folder as string, 'files'), { recursive: true });
      fs.writeFileSync(path.join(folder as string, 'pod.db'), 'staged');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(abandoned as string, twoHoursAgo, twoHoursAgo);
    const pod = await startTestPod({ dataDir, acceptMovesSecret: SECRET });
    try {
      assert.equal(fs.existsSync(abandoned as string), false, 'the abandoned staging is gone');
      assert.equal(fs.existsSync(recent as string), true, 'a staging that may still be completed stays');
    } finally {
      await pod.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('an unknown owner, a target that cannot be reached: a clear error, the owner serves on', async () => {
    const unknown = await runPodMove(source.dataDir, { owner: 'a'.repeat(64), to: target.url, secretFile: secret });
    assert.equal(unknown.code, 2, unknown.output);
    assert.match(unknown.output, /has no database on this Pod/);
    const owner = new Owner(source.url);
    const id = await owner.create({ type: 'Thing', name: 'stays' });
    const hash = ownerHash(owner.owner);
    const gone = await runPodMove(source.dataDir, { owner: hash, to: 'http://127.0.0.1:9', secretFile: secret });
    assert.equal(gone.code, 2, gone.output);
    assert.match(gone.output, /could not be reached/);
    assert.equal((await owner.get(id)).name, 'stays');
  });
});
