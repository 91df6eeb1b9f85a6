/** Files and photos against a real Pod. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { File, FileIntegrityError, Photo, PodClient, PodError, sha256Hex } from '@pod/client';
import { THUMBNAIL_TYPE } from '@pod/protocol';
import { ownerHash } from '@pod/server';
import { uploadFileFromPath } from '@pod/client/node';
import { randomPng } from '../examples/tutorial.js';
import { startPod, type TestPod } from './pod.js';

let pod: TestPod;
let client: PodClient;
before(async () => {
  pod = await startPod();
  client = new PodClient({ url: pod.url });
  await client.addToSchema(File, Photo);
});
after(() => pod.close());

const randomBytes = (length: number) => {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536)
    crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
};

describe('files', () => {
  it('uploads bytes, creating the File item, and reads them back exactly', async () => {
    const bytes = randomBytes(300_000);
    const file = await client.uploadFile(bytes, { file: new File({ filename: 'random.bin' }) });
    assert.equal(file.sha256, await sha256Hex(bytes));
    assert.equal(((await client.get(file.id)) as File).filename, 'random.bin');
    assert.deepEqual(await client.getFile(file), bytes);
    assert.deepEqual(await client.getFile(file.sha256!), bytes);
  });

  it('takes an upload of a stored file as success (409) and reuses its File item', async () => {
    const bytes = new TextEncoder().encode('twice');
    const first = await client.uploadFile(bytes);
    const second = await client.uploadFile(bytes.buffer.slice(0) as ArrayBuffer);
    assert.equal(second.id, first.id);
    const third = await client.uploadFile(new Blob([bytes]));
    assert.equal(third.id, first.id);
    assert.equal((await client.search(File, { sha256: first.sha256! })).length, 1);
  });

  it('uploads a stream with its sha256, and refuses one without', async () => {
    const bytes = randomBytes(100_000);
    const stream = () => new Blob([bytes]).stream();
    const file = await client.uploadFile(stream(), { sha256: await sha256Hex(bytes) });
    assert.deepEqual(await client.getFile(file), bytes);
    await assert.rejects(client.uploadFile(stream()), TypeError);
    const wrong = await client
      .uploadFile(new Blob(['other']).stream(), { sha256: await sha256Hex(bytes.subarray(1)) })
      .catch((e: unknown) => e);
    assert.ok(wrong instanceof PodError && wrong.status === 400, String(wrong));
  });

  it('uploads a file from disk with the Node helper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pod-client-file-'));
    try {
      const bytes = randomBytes(2 * 1024 * 1024);
      writeFileSync(join(dir, 'video.mp4'), bytes);
      const file = await uploadFileFromPath(client, join(dir, 'video.mp4'), {
        file: new File({ filename: 'video.mp4' }),
      });
      assert.equal(file.filename, 'video.mp4');
      assert.deepEqual(await client.getFile(file), bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown file is a 404', async () => {
    const error = await client.getFile('0'.repeat(64)).catch((e: unknown) => e);
    assert.ok(error instanceof PodError && error.status === 404);
  });
});

describe('downloads are checked against their sha256', () => {
  /** A loopback server answering every request with `answer`; counts requests. */
  async function fakePod(
    answer: (response: ServerResponse) => void,
  ): Promise<{ server: Server; url: string; count: () => number }> {
    let count = 0;
    const server = createServer((request, response) =>
      request.resume().on('end', () => {
        count++;
        answer(response);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => count };
  }
  const sha256 = 'ab'.repeat(32);

  it('a file whose blob was altered on the Pod throws FileIntegrityError, not altered bytes', async () => {
    const filesDir = join(pod.dataDir, ownerHash(client.ownerKey), 'files');
    const before = new Set(readdirSync(filesDir));
    const bytes = randomBytes(3 * 1024 * 1024);
    const file = await client.uploadFile(bytes);
    const [blob] = readdirSync(filesDir).filter((name) => !before.has(name));
    const sealed = readFileSync(join(filesDir, blob!));
    sealed[2 * 1024 * 1024]! ^= 0x01;
    writeFileSync(join(filesDir, blob!), sealed);
    const error = await client.getFile(file).catch((e: unknown) => e);
    assert.ok(error instanceof FileIntegrityError, String(error));
    assert.ok(error.truncated && error.sha256 === file.sha256);
    assert.match(error.message, /stopped before its end/);
  });

  it('bytes that hash to something else throw FileIntegrityError at once', async () => {
    const fake = await fakePod((response) =>
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end('not the file'),
    );
    try {
      const error = await new PodClient({ url: fake.url }).getFile(sha256).catch((e: unknown) => e);
      assert.ok(error instanceof FileIntegrityError && !error.truncated, String(error));
      assert.equal(error.actualSha256, await sha256Hex(new TextEncoder().encode('not the file')));
      assert.equal(fake.count(), 1, 'not tried again');
    } finally {
      fake.server.close();
    }
  });

  it('a body cut short is tried again, then throws FileIntegrityError', async () => {
    const fake = await fakePod((response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
      response.write('only a part', () => response.destroy());
    });
    try {
      const error = await new PodClient({ url: fake.url, retries: 1 }).getFile(sha256).catch((e: unknown) => e);
      assert.ok(error instanceof FileIntegrityError && error.truncated, String(error));
      assert.equal(fake.count(), 2);
    } finally {
      fake.server.close();
    }
  });
});

describe('photos', () => {
  it('stores a photo with its size read from the image, and reads it back', async () => {
    const png = randomPng(64, 48);
    const photo = await client.createPhoto(png, { filename: 'noise.png' });
    assert.deepEqual([photo.width, photo.height], [64, 48]);
    assert.equal(photo.file.length, 1);
    const read = await client.getPhoto(photo.id);
    assert.ok(read.photo instanceof Photo);
    assert.deepEqual(
      [read.photo.width, read.photo.height, read.file.mimeType, read.file.filename],
      [64, 48, 'image/png', 'noise.png'],
    );
    assert.deepEqual(read.data, png);
    assert.deepEqual((await client.getPhoto(photo.id, { size: 16 })).data, png, 'no thumbnail: the original');
  });

  it('size picks among stored sizes: the smallest large enough, else the largest', async () => {
    const original = randomPng(640, 480);
    const photo = await client.createPhoto(original);
    const thumbnail = randomPng(64, 48);
    const small = await client.uploadFile(thumbnail, { file: new File({ width: 64, height: 48 }) });
    await client.createEdge(photo, 'file', small);
    assert.deepEqual((await client.getPhoto(photo.id, { size: 64 })).data, thumbnail);
    assert.deepEqual((await client.getPhoto(photo.id, { size: 50 })).data, thumbnail);
    assert.deepEqual((await client.getPhoto(photo.id, { size: 65 })).data, original);
    assert.deepEqual((await client.getPhoto(photo.id, { size: 5_000 })).data, original);
    assert.deepEqual((await client.getPhoto(photo.id)).data, original);
  });

  it('thumbnail: a WebP the Pod makes, of the stored size nearest to the one asked', async () => {
    const photo = await client.createPhoto(randomPng(640, 480));
    const [file] = photo.file;
    assert.ok(file);
    const read = await client.thumbnail(file, 200);
    assert.equal(read.size, 256);
    assert.equal(read.mimeType, THUMBNAIL_TYPE);
    const text = new TextDecoder().decode(read.data.subarray(0, 16));
    assert.ok(text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP', 'a WebP image');
    // VP8 lossy: the frame's width and height, 14 bits each, after the start code 9d 01 2a
    const start = read.data.findIndex(
      (_, i) => read.data[i] === 0x9d && read.data[i + 1] === 0x01 && read.data[i + 2] === 0x2a,
    );
    const view = new DataView(read.data.buffer, read.data.byteOffset + start + 3, 4);
    assert.deepEqual([view.getUint16(0, true) & 0x3fff, view.getUint16(2, true) & 0x3fff], [256, 192]);
    assert.deepEqual((await client.thumbnail(file.sha256!, 256)).data, read.data, 'by sha256 too, the same bytes');
    const words = await client.uploadFile(new TextEncoder().encode('no picture'));
    const refused = await client.thumbnail(words, 64).catch((e: unknown) => e);
    assert.ok(refused instanceof PodError && refused.status === 422, String(refused));
  });

  it('a photo without a file, and an item that is no photo, are 404s', async () => {
    const bare = await client.create(new Photo({ width: 1, height: 1 }));
    const error = await client.getPhoto(bare.id).catch((e: unknown) => e);
    assert.ok(error instanceof PodError && error.status === 404 && /no file edge/.test(error.message));
    const file = await client.uploadFile(new Uint8Array([1, 2, 3]));
    const notPhoto = await client.getPhoto(file.id).catch((e: unknown) => e);
    assert.ok(notPhoto instanceof PodError && notPhoto.status === 404 && /not a Photo/.test(notPhoto.message));
  });
});
