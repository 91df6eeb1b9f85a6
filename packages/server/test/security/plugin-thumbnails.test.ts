// A plugin asks for thumbnails (issue 14) of images it may not read: a thumbnail is as visible as
// the file it is made of, and a refused request makes nothing (no decode, no blob).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { sha256hex, type Owner } from '../helpers.js';
import { PluginPod, ownerWith } from './plugin-harness.js';

describe('plugin attacks: thumbnails', () => {
  let lab: PluginPod;
  let owner: Owner;
  let sha256: string;
  let filesDir: string;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'service');
    const image = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c33' } })
      .png()
      .toBuffer();
    sha256 = sha256hex(image);
    await owner.create({ type: 'File', sha256, service: 'whatsapp' });
    assert.equal((await owner.upload(image)).status, 200);
    filesDir = join(lab.pod.dataDir, sha256hex(Buffer.from(owner.owner, 'hex')), 'files');
  });
  after(async () => lab?.close());

  test('without a File permission: 403, nothing made', async () => {
    const notes = await lab.runAs(owner, 'evil-image', { read: { Note: '*' } });
    const refused = await notes.fails('thumbnail', { sha256, size: 256 }, 403);
    assert.match(refused.body.message, /plugin permission: .*"File"/);
    assert.deepEqual(readdirSync(filesDir).length, 1, 'no thumbnail was made for it');
  });

  test('reading only the File items that are not this one (`where`): 404, like a missing file', async () => {
    const twitterFiles = await lab.runAs(owner, 'other-image', { read: { File: { where: { service: 'twitter' } } } });
    const hidden = await twitterFiles.fails('thumbnail', { sha256, size: 256 }, 404);
    assert.match(hidden.body.message, /no file with sha256/);
    assert.deepEqual(readdirSync(filesDir).length, 1, 'no thumbnail was made for it');
  });

  test('a plugin that reads the File gets its thumbnail', async () => {
    const reader = await lab.runAs(owner, 'priv-image', { read: { File: '*' } });
    const res = await fetch(`${lab.url}/v4/${owner.owner}/thumbnail`, {
      method: 'POST',
      body: JSON.stringify({ auth: reader.auth, payload: { sha256, size: 64 } }),
      signal: AbortSignal.timeout(60_000),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 43]);
  });
});
