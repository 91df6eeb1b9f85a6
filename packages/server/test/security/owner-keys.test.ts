/**
 * Issue 15 part 6: the key change and the deletion of a Pod are its owner's alone. A plugin, a
 * wrong key and another owner get refused and change nothing; no key reaches the log.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ownerHash } from '../../src/config.js';
import { Owner, randomKey, startPod, type RunningPod } from '../helpers.js';
import { PluginPod, type PluginCaller, ownerWith } from './plugin-harness.js';

describe('change_database_key and delete_owner: refused to all but the owner', () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'title');
    await owner.create({ id: 'note-1', type: 'Note', title: 'mine' });
    // a plugin granted everything it can declare still gets neither call
    plugin = await lab.runAs(owner, 'evil-image', { read: { Note: '*' }, write: { Note: '*' }, email: true });
  });
  after(async () => lab?.close());

  async function intact() {
    const [note] = await owner.ok('get_item', 'note-1');
    assert.equal(note.title, 'mine');
    assert.ok(existsSync(join(lab.pod.dataDir, ownerHash(owner.owner), 'pod.db')));
  }

  test('a plugin gets 403 for both, and its owner key still opens everything', async () => {
    const change = await plugin.fails('change_database_key', { newDatabaseKey: randomKey() }, 403);
    assert.match(change.body.message, /owner's alone/);
    await plugin.fails('delete_owner', { confirm: owner.owner }, 403);
    await intact();
    assert.equal((await plugin.ok('get_item', 'note-1')).length, 1, 'the plugin still works within its grant');
  });

  test('a wrong database key gets 401 for both', async () => {
    const thief = owner.withKey(randomKey());
    await thief.fails('change_database_key', { newDatabaseKey: randomKey() }, 401);
    await thief.fails('delete_owner', { confirm: owner.owner }, 401);
    await intact();
  });

  test("another owner, with its own valid keys, cannot reach this owner's Pod", async () => {
    const other = new Owner(lab.url);
    await other.create({ id: 'theirs', type: 'Note' });
    // its database key on this owner's path: 401
    await owner.withKey(other.key).fails('delete_owner', { confirm: owner.owner }, 401);
    await owner.withKey(other.key).fails('change_database_key', { newDatabaseKey: randomKey() }, 401);
    // its own path, naming this owner in the confirmation: 400, and its own Pod stays too
    await other.fails('delete_owner', { confirm: owner.owner }, 400);
    assert.equal((await other.ok('get_item', 'theirs')).length, 1);
    await intact();
  });

  test("after the owner deletes the Pod, the plugin run's credential is dead", async () => {
    const doomed = await ownerWith(lab.url, 'title');
    await doomed.create({ id: 'note-x', type: 'Note', title: 'gone' });
    const run = await lab.runAs(doomed, 'other-image', { read: { Note: '*' } });
    await doomed.ok('delete_owner', { confirm: doomed.owner });
    await run.fails('get_item', 'note-x', 401);
    await run.fails('create_item', { type: 'Note', title: 'back' }, 401);
    assert.equal(existsSync(join(lab.pod.dataDir, ownerHash(doomed.owner))), false, 'nothing recreated');
  });
});

describe('no key of a key change or a deletion reaches the log', () => {
  let pod: RunningPod;
  let log = '';
  before(async () => {
    pod = await startPod(
      { logLevel: 'trace', owners: 'ANY' },
      {
        logStream: new Writable({
          write: (chunk, _encoding, done) => {
            log += chunk;
            done();
          },
        }),
      },
    );
  });
  after(async () => pod?.close());

  test('trace level: old key, new key and malformed keys stay out of log lines and answers', async () => {
    const owner = new Owner(pod.url);
    await owner.create({ type: 'Note' });
    const newKey = randomKey();
    const answers: string[] = [];
    const malformed = `${randomKey().slice(0, 40)}zz`;
    answers.push((await owner.fails('change_database_key', { newDatabaseKey: malformed }, 400)).text);
    answers.push((await owner.fails('change_database_key', { newDatabaseKey: owner.key }, 400)).text);
    await owner.ok('change_database_key', { newDatabaseKey: newKey });
    answers.push((await owner.fails('get_item', 'x', 401)).text);
    const renewed = owner.withKey(newKey);
    answers.push((await renewed.fails('delete_owner', { confirm: randomKey() }, 400)).text);
    await renewed.ok('delete_owner', { confirm: renewed.owner });
    assert.match(log, /change_database_key/, 'the requests were logged');
    for (const secret of [owner.key, newKey, malformed, owner.owner]) {
      assert.equal(log.includes(secret), false, 'a key in the log');
      for (const answer of answers) assert.equal(answer.includes(secret), false, `a key in an answer: ${answer}`);
    }
  });
});
