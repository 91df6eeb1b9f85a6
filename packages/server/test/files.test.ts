/** Spec §5: uploads, get_file, per-file encryption keys. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { usePod, Owner, rawPost, randomKey, sha256hex } from './helpers.js';

describe('files', () => {
  const pod = usePod();

  test('upload with no Content-Type answers {}; get_file returns the exact bytes as application/octet-stream', async () => {
    const o = new Owner(pod().url);
    const bytes = randomBytes(10_000);
    const sha = sha256hex(bytes);
    const fileId = await o.create({ type: 'File', sha256: sha });
    const up = await o.upload(bytes);
    assert.equal(up.status, 200, up.text);
    assert.match(up.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(up.text.trim(), '{}');
    const file = await o.getFile(sha);
    assert.equal(file.status, 200);
    assert.match(file.contentType ?? '', /^application\/octet-stream/);
    assert.ok(file.bytes.equals(bytes), 'byte-exact');
    // the File item now carries its per-file key and nonce
    const item = await o.get(fileId);
    assert.equal(item.sha256, sha);
    assert.equal(typeof item.key, 'string');
    assert.equal(typeof item.nonce, 'string');
    assert.ok(item.key.length > 0 && item.nonce.length > 0);
  });

  test('each file gets a fresh key and nonce', async () => {
    const o = new Owner(pod().url);
    const one = Buffer.from('file one');
    const two = Buffer.from('file two');
    const id1 = await o.create({ type: 'File', sha256: sha256hex(one) });
    const id2 = await o.create({ type: 'File', sha256: sha256hex(two) });
    assert.equal((await o.upload(one)).status, 200);
    assert.equal((await o.upload(two)).status, 200);
    const [f1, f2] = [await o.get(id1), await o.get(id2)];
    assert.notEqual(f1.key, f2.key);
    assert.notEqual(f1.nonce, f2.nonce);
  });

  test('upload without a File item of that sha256 → 404', async () => {
    const o = new Owner(pod().url);
    const bytes = Buffer.from('nobody announced me');
    const r = await o.upload(bytes);
    assert.equal(r.status, 404, r.text);
    assert.equal((await o.getFile(sha256hex(bytes))).status, 404);
  });

  test('hash mismatch → 400 and nothing stored', async () => {
    const o = new Owner(pod().url);
    const announced = Buffer.from('the announced bytes');
    const sha = sha256hex(announced);
    await o.create({ type: 'File', sha256: sha });
    const r = await o.upload(Buffer.from('other bytes entirely'), sha);
    assert.equal(r.status, 400, r.text);
    assert.equal((await o.getFile(sha)).status, 404);
    // the right bytes are still accepted afterwards
    assert.equal((await o.upload(announced)).status, 200);
  });

  test('second upload → 409, the stored bytes unchanged', async () => {
    const o = new Owner(pod().url);
    const bytes = Buffer.from('uploaded twice');
    await o.create({ type: 'File', sha256: sha256hex(bytes) });
    assert.equal((await o.upload(bytes)).status, 200);
    const again = await o.upload(bytes);
    assert.equal(again.status, 409, again.text);
    const file = await o.getFile(sha256hex(bytes));
    assert.ok(file.bytes.equals(bytes));
  });

  test('an empty body is a valid file', async () => {
    const o = new Owner(pod().url);
    const empty = new Uint8Array(0);
    const sha = sha256hex(empty);
    assert.equal(sha, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await o.create({ type: 'File', sha256: sha });
    const r = await o.upload(empty);
    assert.equal(r.status, 200, r.text);
    const file = await o.getFile(sha);
    assert.equal(file.status, 200);
    assert.equal(file.bytes.length, 0);
  });

  test('the body is raw bytes whatever the Content-Type says', async () => {
    const o = new Owner(pod().url);
    const cases: [Buffer, string][] = [
      [Buffer.from('{"looks": "like json"}'), 'application/json'],
      [Buffer.from('a=b&c=d'), 'application/x-www-form-urlencoded'],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]), 'text/plain'],
      [randomBytes(1000), 'application/octet-stream'],
      [randomBytes(1000), 'image/jpeg'],
    ];
    for (const [bytes, contentType] of cases) {
      await o.create({ type: 'File', sha256: sha256hex(bytes) });
      const r = await o.upload(bytes, sha256hex(bytes), { 'content-type': contentType });
      assert.equal(r.status, 200, `${contentType}: ${r.status} ${r.text}`);
      const file = await o.getFile(sha256hex(bytes));
      assert.ok(file.bytes.equals(bytes), `${contentType}: byte-exact`);
    }
  });

  test('get_file: unknown sha256 → 404, malformed → 400', async () => {
    const o = new Owner(pod().url);
    const unknown = await o.getFile('ab'.repeat(32));
    assert.equal(unknown.status, 404);
    // announced but never uploaded
    const sha = sha256hex('never uploaded');
    await o.create({ type: 'File', sha256: sha });
    assert.equal((await o.getFile(sha)).status, 404);
    assert.equal((await o.getFile('not-a-sha')).status, 400);
    await o.fails('get_file', {}, 400);
  });

  test('upload errors: wrong database key → 401, malformed key or sha in the path → 400', async () => {
    const o = new Owner(pod().url);
    await o.create({ type: 'Note' }); // the owner's database exists
    const bytes = Buffer.from('auth checks');
    const sha = sha256hex(bytes);
    await o.create({ type: 'File', sha256: sha });
    const wrong = await rawPost(o.uploadPath(sha, randomKey()), bytes);
    assert.equal(wrong.status, 401, wrong.text);
    const badKey = await rawPost(o.uploadPath(sha, 'nothex'), bytes);
    assert.equal(badKey.status, 400, badKey.text);
    const badSha = await rawPost(o.uploadPath('xyz'), bytes);
    assert.equal(badSha.status, 400, badSha.text);
    assert.equal((await o.getFile(sha)).status, 404);
    assert.equal((await o.upload(bytes)).status, 200);
  });

  test('upload_file_b with a percent-encoded ClientAuth works; a made-up PluginAuth → 401', async () => {
    const o = new Owner(pod().url);
    const bytes = Buffer.from('uploaded by a plugin+path/with?odd&chars');
    const sha = sha256hex(bytes);
    await o.create({ type: 'File', sha256: sha });
    const plugin = await rawPost(
      o.uploadBPath(sha, { type: 'PluginAuth', data: { token: 'made-up', nonce: 'a+b' } }),
      bytes,
    );
    assert.equal(plugin.status, 401, plugin.text);
    const r = await rawPost(o.uploadBPath(sha), bytes);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text.trim(), '{}');
    assert.ok((await o.getFile(sha)).bytes.equals(bytes));
    const again = await rawPost(o.uploadBPath(sha), bytes);
    assert.equal(again.status, 409, again.text);
    const garbage = await rawPost(
      `${o.url}/v4/${o.owner}/upload_file_b/${encodeURIComponent('{not json')}/${sha}`,
      bytes,
    );
    assert.equal(garbage.status, 400, garbage.text);
  });

  test('files are per owner', async () => {
    const a = new Owner(pod().url);
    const b = new Owner(pod().url);
    const bytes = Buffer.from('owned by a');
    const sha = sha256hex(bytes);
    await a.create({ type: 'File', sha256: sha });
    assert.equal((await a.upload(bytes)).status, 200);
    await b.create({ type: 'Note' });
    assert.equal((await b.getFile(sha)).status, 404);
    // b cannot upload without its own File item
    assert.equal((await b.upload(bytes)).status, 404);
  });

  test('a 1 MB upload answers within 250 ms and is readable at once', async () => {
    const o = new Owner(pod().url);
    const warm = randomBytes(1000);
    await o.create({ type: 'File', sha256: sha256hex(warm) });
    assert.equal((await o.upload(warm)).status, 200);
    const bytes = randomBytes(1_000_000);
    await o.create({ type: 'File', sha256: sha256hex(bytes) });
    const t0 = performance.now();
    const r = await o.upload(bytes);
    const elapsed = performance.now() - t0;
    assert.equal(r.status, 200, r.text);
    assert.ok(elapsed < 250, `1 MB upload took ${elapsed.toFixed(0)} ms`);
    const file = await o.getFile(sha256hex(bytes));
    assert.ok(file.bytes.equals(bytes));
  });

  test('a 20 MiB random upload round-trips byte-exact', async () => {
    const o = new Owner(pod().url);
    const bytes = randomBytes(20 * 1024 * 1024);
    const sha = sha256hex(bytes);
    const id = await o.create({ type: 'File', sha256: sha });
    const r = await o.upload(bytes);
    assert.equal(r.status, 200, r.text);
    const file = await o.getFile(sha);
    assert.equal(file.status, 200);
    assert.equal(file.bytes.length, bytes.length);
    assert.equal(sha256hex(file.bytes), sha);
    assert.ok(file.bytes.equals(bytes));
    assert.equal(typeof (await o.get(id)).key, 'string');
  });

  test('the default upload limit accepts 100 MiB', async () => {
    const o = new Owner(pod().url);
    const bytes = Buffer.alloc(100 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
    const sha = sha256hex(bytes);
    await o.create({ type: 'File', sha256: sha });
    const r = await o.upload(bytes);
    assert.equal(r.status, 200, r.text);
    const file = await o.getFile(sha);
    assert.equal(file.bytes.length, bytes.length);
    assert.equal(sha256hex(file.bytes), sha);
  });

  test('a Photo item with a file edge: the client path item → edge → get_file', async () => {
    const o = new Owner(pod().url);
    const bytes = randomBytes(5000);
    const sha = sha256hex(bytes);
    const photo = await o.create({ type: 'Photo' });
    const file = await o.create({ type: 'File', sha256: sha });
    await o.ok('create_edge', { _source: photo, _target: file, _name: 'file' });
    assert.equal((await o.upload(bytes)).status, 200);
    const edges = await o.ok('get_edges', { item: photo, direction: 'Outgoing', expandItems: true });
    assert.equal(edges.length, 1);
    assert.equal(edges[0].name, 'file');
    assert.equal(edges[0].item.sha256, sha);
    assert.ok((await o.getFile(edges[0].item.sha256)).bytes.equals(bytes));
  });
});
