/**
 * Moving an owner (issue 15 part 3) is for the operators of both Pods only. The target's move routes
 * refuse a caller without the move secret or with a wrong one (401), and a Pod that takes no moves
 * refuses every one (403), staging nothing; no route of the Pod's network listener starts a move (only
 * its data folder's socket does, mode 0600); the owner's keys and the move secret never reach a log
 * line, a URL or the CLI's output.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ownerHash } from '../../src/config.js';
import { runPodMove } from '../../src/testing.js';
import { Owner, sha256hex, startPod, type RunningPod } from '../helpers.js';

const SECRET = randomBytes(32).toString('hex');

function logInto(lines: string[]) {
  return {
    write(line: string) {
      lines.push(line);
    },
  };
}

describe('moves are for the operators of both Pods', () => {
  const sourceLog: string[] = [];
  const targetLog: string[] = [];
  let source: RunningPod;
  let target: RunningPod;
  let refusing: RunningPod;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-move-attack-'));
  const secretFile = path.join(scratch, 'secret');
  fs.writeFileSync(secretFile, SECRET, { mode: 0o600 });
  before(async () => {
    source = await startPod({ logLevel: 'trace' }, { logStream: logInto(sourceLog) });
    target = await startPod({ logLevel: 'trace', acceptMovesSecret: SECRET }, { logStream: logInto(targetLog) });
    refusing = await startPod();
  });
  after(async () => {
    await source?.close();
    await target?.close();
    await refusing?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const stagingIn = (dataDir: string) => fs.readdirSync(dataDir).filter((name) => name.startsWith('.move-'));

  test('no secret, a wrong one, a Pod that takes no moves: refused on every move route, nothing staged', async () => {
    const hash = 'b'.repeat(64);
    const routes: [string, string][] = [
      ['POST', `/move/${hash}/check`],
      ['PUT', `/move/${hash}`],
      ['POST', `/move/${hash}/finish`],
      ['DELETE', `/move/${hash}`],
    ];
    const attempts: [string, Record<string, string>, number][] = [
      [target.url, {}, 401],
      [target.url, { authorization: `Bearer ${randomBytes(32).toString('hex')}` }, 401],
      [target.url, { authorization: `Bearer ${SECRET.slice(0, -1)}` }, 401],
      [target.url, { authorization: SECRET }, 401],
      [refusing.url, { authorization: `Bearer ${SECRET}` }, 403],
    ];
    for (const [url, headers, status] of attempts)
      for (const [method, route] of routes) {
        const body = method === 'PUT' || method === 'POST' ? randomBytes(4096) : undefined;
        const response = await fetch(`${url}${route}`, { method, headers, body });
        const text = await response.text();
        assert.equal(response.status, status, `${method} ${route}: ${text}`);
        assert.doesNotMatch(text, new RegExp(SECRET.slice(0, 16)), 'the answer quotes the secret');
      }
    assert.deepEqual(stagingIn(target.dataDir), []);
    assert.deepEqual(stagingIn(refusing.dataDir), []);
    assert.equal(fs.existsSync(path.join(target.dataDir, hash)), false);
  });

  test('no route of the network listener starts a move; the operator socket is the owner of the data folder alone', async () => {
    const owner = new Owner(source.url);
    const id = await owner.create({ type: 'Thing', name: 'stays' });
    const hash = ownerHash(owner.owner);
    const request = JSON.stringify({ owner: hash, to: target.url, secret: SECRET });
    for (const route of ['/move', '/admin/move', `/move/${hash}`, `/v4/${owner.owner}/move`]) {
      const response = await fetch(`${source.url}${route}`, { method: 'POST', body: request });
      await response.arrayBuffer();
      assert.ok(response.status >= 400 && response.status < 500, `${route}: ${response.status}`);
    }
    const moveCall = await owner.call('move', { to: target.url });
    assert.equal(moveCall.status, 404, 'no owner endpoint moves: an owner or plugin credential cannot');
    assert.equal((await owner.get(id)).name, 'stays');
    assert.equal(fs.existsSync(path.join(target.dataDir, hash)), false, 'nothing reached the target');
    const socket = fs.statSync(path.join(source.dataDir, 'admin.sock'));
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
  });

  test('a move writes no key or secret to a log line, a URL or the CLI output', async () => {
    const owner = new Owner(source.url);
    const bytes = randomBytes(10_000);
    await owner.create({ type: 'File', sha256: sha256hex(bytes) });
    await owner.upload(bytes);
    const moved = await runPodMove(source.dataDir, { owner: ownerHash(owner.owner), to: target.url, secretFile });
    assert.equal(moved.code, 0, moved.output);
    const answer = await fetch(`${source.url}/v4/${owner.owner}/search`, { method: 'POST', redirect: 'manual' });
    assert.equal(answer.status, 307);
    assert.doesNotMatch(await answer.text(), new RegExp(`${owner.key}|${SECRET}`));
    const everything = [...sourceLog, ...targetLog, moved.output].join('\n');
    assert.ok(sourceLog.length > 0 && targetLog.some((line) => line.includes('/move/')), 'the Pods logged the move');
    for (const secret of [SECRET, owner.key, owner.owner])
      assert.equal(everything.includes(secret), false, `a log line holds ${secret.slice(0, 8)}…`);
  });
});
