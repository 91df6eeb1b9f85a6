/**
 * One owner must not fill the disk every owner of the Pod writes to (`--owner-quota`): once its folder
 * holds its quota, what would store more is refused with 507 and a message saying how to make room, an
 * upload is cut as its bytes pass the quota (nothing of it kept), concurrent uploads cannot pass it
 * together, an import cannot bring more; deleting goes on, and another owner is not touched. A plugin's
 * writes are the owner's: its credential cannot store past the owner's quota either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../src/config.js';
import { Owner, rawPost, sha256hex, startPod, type RunningPod } from '../helpers.js';
import { ownerWith, PluginPod } from './plugin-harness.js';

const MiB = 1024 * 1024;
const QUOTA = 6 * MiB;

/** Announces a file of `bytes` random bytes and uploads it; the upload's answer. */
async function store(owner: Owner, bytes: number) {
  const data = randomBytes(bytes);
  const sha256 = sha256hex(data);
  await owner.create({ type: 'File', sha256 });
  return { sha256, reply: await owner.upload(data, sha256) };
}

describe('owner storage quota', () => {
  let pod: RunningPod;
  before(async () => {
    pod = await startPod({ limits: { ...defaultConfig().limits, ownerQuotaBytes: QUOTA } });
  });
  after(async () => pod?.close());

  const blobsOf = (owner: Owner) => readdirSync(join(pod.dataDir, sha256hex(Buffer.from(owner.owner, 'hex')), 'files'));

  test('an owner at its quota stores nothing more until it deletes; another owner goes on', async () => {
    const owner = new Owner(pod.url);
    await owner.declare(['note', 'Text']);
    const stored: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { sha256, reply } = await store(owner, 1.5 * MiB);
      if (reply.status !== 200) {
        assert.equal(reply.status, 507, reply.text);
        assert.match(reply.text, /reached its storage quota of \d+ bytes.*delete files to make room/);
        break;
      }
      stored.push(sha256);
    }
    assert.ok(stored.length >= 2 && stored.length < 4, `${stored.length} files of 1.5 MiB fit in 6 MiB`);
    assert.equal(blobsOf(owner).length, stored.length, 'nothing of the refused upload was kept');

    // fill to the brim (files, then notes of 4 KB), then every call that would store more is refused, and says why
    while ((await store(owner, 256 * 1024)).reply.status === 200);
    let refusal: Awaited<ReturnType<Owner['call']>> | undefined;
    for (let notes = 0; !refusal && notes < 500; notes++) {
      const reply = await owner.call('create_item', { type: 'Note', id: `note-${notes}`, note: 'x'.repeat(4000) });
      if (reply.status !== 200) refusal = reply;
    }
    assert.equal(refusal?.status, 507, refusal?.text);
    assert.match(refusal?.text ?? '', /--owner-quota/);
    await owner.fails('bulk', { createItems: [{ type: 'Note' }] }, 507);
    // reading and deleting go on
    assert.ok((await owner.ok('search', { type: 'File' })).length >= stored.length);
    await owner.ok('delete_file', { sha256: stored[0] });
    await owner.ok('delete_file', { sha256: stored[1] });
    assert.equal(typeof (await owner.create({ type: 'Note' })), 'string', 'room again after deleting');
    assert.equal((await store(owner, MiB)).reply.status, 200);

    const neighbour = new Owner(pod.url);
    assert.equal((await store(neighbour, 3 * MiB)).reply.status, 200, 'another owner has a quota of its own');
  });

  test('uploads at once cannot pass the quota together', async () => {
    const owner = new Owner(pod.url);
    const files = Array.from({ length: 4 }, () => randomBytes(2.5 * MiB));
    for (const data of files) await owner.create({ type: 'File', sha256: sha256hex(data) });
    const replies = await Promise.all(files.map((data) => owner.upload(data)));
    const accepted = replies.filter((reply) => reply.status === 200).length;
    // Each upload's bytes count as they arrive, so interleaved ones may use up the room together and
    // all be refused; what must never happen is more stored than the quota holds.
    assert.ok(accepted <= 2, `${accepted} of 4 uploads of 2.5 MiB stored under 6 MiB`);
    for (const reply of replies) if (reply.status !== 200) assert.equal(reply.status, 507, reply.text);
    assert.equal(blobsOf(owner).length, accepted);
  });

  test('an import cannot bring more than the quota', async () => {
    const owner = new Owner(pod.url);
    const response = await fetch(`${pod.url}/v4/${owner.owner}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/octet-stream' },
      body: randomBytes(QUOTA + MiB),
    });
    assert.equal(response.status, 413);
    assert.match(await response.text(), /--owner-quota/);
  });
});

describe("a plugin's writes count toward its owner's quota", () => {
  let lab: PluginPod;
  before(async () => {
    lab = await PluginPod.start({ limits: { ...defaultConfig().limits, ownerQuotaBytes: QUOTA } });
  });
  after(async () => lab?.close());

  test('an owner at its quota: the plugin is refused 507 on items, bulks and uploads, and goes on once there is room', async () => {
    const owner = await ownerWith(lab.url, 'note');
    const plugin = await lab.runAs(owner, 'importer-image', {
      read: { Note: '*', File: '*' },
      write: { Note: '*', File: '*' },
    });
    const pluginUpload = (data: Uint8Array) => rawPost(plugin.uploadBPath(sha256hex(data)), data);
    const owned: string[] = [];
    for (;;) {
      const data = randomBytes(MiB);
      await plugin.create({ type: 'File', sha256: sha256hex(data) });
      const reply = await pluginUpload(data);
      if (reply.status !== 200) {
        assert.equal(reply.status, 507, reply.text);
        break;
      }
      owned.push(sha256hex(data));
      assert.ok(owned.length < 7, 'the plugin stored more than the 6 MiB quota');
    }
    assert.ok(owned.length >= 4, `${owned.length} files of 1 MiB stored by the plugin under 6 MiB`);
    // the owner's folder is full: what the plugin would add is refused, and says why
    while ((await store(owner, 128 * 1024)).reply.status === 200);
    let refusal: Awaited<ReturnType<Owner['call']>> | undefined;
    for (let notes = 0; !refusal && notes < 500; notes++) {
      const reply = await plugin.call('create_item', { type: 'Note', note: 'x'.repeat(4000) });
      if (reply.status !== 200) refusal = reply;
    }
    assert.equal(refusal?.status, 507, refusal?.text);
    assert.match(refusal?.text ?? '', /--owner-quota/);
    await plugin.fails('bulk', { createItems: [{ type: 'Note', note: 'more' }] }, 507);
    assert.equal((await pluginUpload(randomBytes(1024))).status, 507);

    await owner.ok('delete_file', { sha256: owned[0] });
    await owner.ok('delete_file', { sha256: owned[1] });
    assert.equal(typeof (await plugin.create({ type: 'Note', note: 'room again' })), 'string');
  });
});
