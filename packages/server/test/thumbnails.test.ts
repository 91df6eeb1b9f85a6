/** Issue 14: thumbnails the Pod makes of stored images, over real HTTP. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { THUMBNAIL_SIZES, thumbnailSize } from '@pod/protocol';
import { defaultConfig } from '../src/config.js';
import { Owner, sha256hex, timeout, usePod } from './helpers.js';
import { sampleSum, scrape } from './metrics-text.js';

/** Words hidden in the source's EXIF: none may reach a thumbnail. */
const SECRET_PLACE = 'Secret Cabin 52.3731N';

/** An RGBA PNG, red on its left half and half-transparent blue on its right. */
async function png(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      pixels.set(x < width / 2 ? [255, 0, 0, 255] : [0, 0, 255, 128], (y * width + x) * 4);
  return sharp(pixels, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/**
 * A JPEG stored 400×300 with EXIF orientation 6 (shown turned 90° clockwise, 300×400), red in its
 * stored top-left quadrant, green elsewhere; its EXIF holds GPS coordinates and a place name.
 */
async function rotatedJpeg(): Promise<Buffer> {
  const [width, height] = [400, 300];
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      pixels.set(x < width / 2 && y < height / 2 ? [255, 0, 0] : [0, 255, 0], (y * width + x) * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { ImageDescription: SECRET_PLACE },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 22/1 23/1', GPSMapDatum: SECRET_PLACE },
    })
    .toBuffer();
}

/** Stores an image as a File item and its upload; answers its sha256. */
async function store(owner: Owner, bytes: Buffer): Promise<string> {
  const sha256 = sha256hex(bytes);
  await owner.create({ type: 'File', sha256 });
  const upload = await owner.upload(bytes);
  assert.equal(upload.status, 200, upload.text);
  return sha256;
}

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
}

async function thumbnail(owner: Owner, payload: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${owner.url}/v4/${owner.owner}/thumbnail`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ auth: owner.auth, payload }),
    signal: timeout(),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: bytes.toString('utf8') };
}

/** The thumbnail, asserting 200 and a WebP answer. */
async function thumbnailOk(owner: Owner, sha256: string, size: number): Promise<Answer> {
  const answer = await thumbnail(owner, { sha256, size });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.headers.get('content-type'), 'image/webp');
  assert.equal(Number(answer.headers.get('content-length')), answer.bytes.length);
  return answer;
}

/** Thumbnails made and read as stored since the Pod started, from its /metrics. */
async function counts(url: string): Promise<{ made: number; stored: number }> {
  const { samples } = await scrape(url);
  return {
    made: sampleSum(samples, 'pod_thumbnails_total', { outcome: 'made' }),
    stored: sampleSum(samples, 'pod_thumbnails_total', { outcome: 'stored' }),
  };
}

const filesDir = (dataDir: string, owner: Owner) => join(dataDir, sha256hex(Buffer.from(owner.owner, 'hex')), 'files');

describe('thumbnails', () => {
  const pod = usePod();

  test('a PNG: WebP of the nearest stored size, aspect and transparency kept, cache headers for immutable data', async () => {
    const o = new Owner(pod().url);
    const sha256 = await store(o, await png(800, 400));
    const answer = await thumbnailOk(o, sha256, 250);
    const meta = await sharp(answer.bytes).metadata();
    assert.equal(meta.format, 'webp');
    assert.deepEqual([meta.width, meta.height], [256, 128], '250 is nearest 256; the longest side is 256');
    assert.equal(meta.hasAlpha, true, 'transparency survives');
    assert.equal(answer.headers.get('etag'), `"${sha256}-256"`);
    assert.match(answer.headers.get('cache-control') ?? '', /^private, .*immutable/);
    // a client that holds the ETag is told so without the bytes
    const again = await thumbnail(o, { sha256, size: 256 }, { 'if-none-match': `"${sha256}-256"` });
    assert.equal(again.status, 304);
    assert.equal(again.bytes.length, 0);
    const other = await thumbnail(o, { sha256, size: 256 }, { 'if-none-match': `"${sha256}-64"` });
    assert.equal(other.status, 200);
  });

  test('a JPEG: EXIF orientation applied, EXIF and GPS stripped', async () => {
    const o = new Owner(pod().url);
    const source = await rotatedJpeg();
    const sourceMeta = await sharp(source).metadata();
    assert.equal(sourceMeta.orientation, 6);
    assert.ok(source.includes(SECRET_PLACE), 'the source carries the place in its EXIF');
    const sha256 = await store(o, source);
    const answer = await thumbnailOk(o, sha256, 1024);
    const meta = await sharp(answer.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [300, 400], 'upright, and never enlarged past the source');
    assert.equal(meta.orientation, undefined, 'no orientation left to apply');
    assert.equal(meta.exif, undefined, 'no EXIF');
    assert.equal(meta.xmp, undefined, 'no XMP');
    assert.ok(!answer.bytes.includes(SECRET_PLACE));
    // turned clockwise, the stored top-left (red) is now the top-right
    const { data, info } = await sharp(answer.bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const [red, green] = [at(info.width - 20, 20), at(20, 20)];
    assert.ok(red[0]! > 200 && red[1]! < 60, `top-right is red: ${red}`);
    assert.ok(green[1]! > 200 && green[0]! < 60, `top-left is green: ${green}`);
  });

  test('sizes round to the nearest stored one, by ratio; one making serves every size that rounds alike', async () => {
    assert.deepEqual(
      [1, 90, 127, 128, 150, 256, 511, 512, 600, 5000, 100_000].map(thumbnailSize),
      [64, 64, 64, 256, 256, 256, 256, 1024, 1024, 1024, 1024],
    );
    const o = new Owner(pod().url);
    const sha256 = await store(o, await png(3000, 1500));
    const before = await counts(o.url);
    for (const [asked, longest] of [
      [1, 64],
      [100, 64],
      [150, 256],
      [300, 256],
      [700, 1024],
      [50_000, 1024],
    ] as const) {
      const answer = await thumbnailOk(o, sha256, asked);
      const meta = await sharp(answer.bytes).metadata();
      assert.equal(meta.width, longest, `asked ${asked}`);
      assert.equal(answer.headers.get('etag'), `"${sha256}-${longest}"`);
    }
    const after = await counts(o.url);
    assert.equal(after.made - before.made, THUMBNAIL_SIZES.length, 'one making per stored size, never per size asked');
    assert.equal(after.stored - before.stored, 6 - THUMBNAIL_SIZES.length);
    for (const size of [0, -5, 2.5, 'big', null])
      await o.fails('thumbnail', { sha256, size }, 400).then((r) => assert.match(r.body.message, /size/));
    await o.fails('thumbnail', { sha256: 'abc', size: 64 }, 400);
  });

  test('made once: the second request reads the stored thumbnail without sharp, the same bytes', async () => {
    const o = new Owner(pod().url);
    const sha256 = await store(o, await png(640, 480));
    const before = await counts(o.url);
    const first = await thumbnailOk(o, sha256, 64);
    const middle = await counts(o.url);
    assert.deepEqual(middle, { made: before.made + 1, stored: before.stored });
    const second = await thumbnailOk(o, sha256, 64);
    assert.ok(second.bytes.equals(first.bytes));
    assert.deepEqual(await counts(o.url), { made: middle.made, stored: middle.stored + 1 });
  });

  test('concurrent requests for a new thumbnail make it once', async () => {
    const o = new Owner(pod().url);
    const sha256 = await store(o, await rotatedJpeg());
    const before = await counts(o.url);
    const answers = await Promise.all(Array.from({ length: 8 }, () => thumbnailOk(o, sha256, 256)));
    for (const answer of answers) assert.ok(answer.bytes.equals(answers[0]!.bytes));
    const after = await counts(o.url);
    assert.equal(after.made - before.made, 1, 'eight requests, one making');
  });

  test('encrypted at rest, and erased with their file by delete_file', async () => {
    const o = new Owner(pod().url);
    const source = await png(500, 500);
    const sha256 = await store(o, source);
    const dir = filesDir(pod().dataDir, o);
    assert.equal(readdirSync(dir).length, 1);
    const small = await thumbnailOk(o, sha256, 64);
    const large = await thumbnailOk(o, sha256, 256);
    const blobs = readdirSync(dir);
    assert.equal(blobs.length, 3, 'the file and two thumbnails');
    for (const blob of blobs) {
      const sealed = readFileSync(join(dir, blob));
      assert.ok(!sealed.includes('WEBP') && !sealed.includes('PNG'), `blob ${blob} holds no image header in clear`);
      assert.ok(!sealed.includes(small.bytes.subarray(0, 64)) && !sealed.includes(large.bytes.subarray(64, 128)));
    }
    await o.ok('delete_file', { sha256 });
    assert.deepEqual(readdirSync(dir), [], "the file's thumbnails went with it");
    const gone = await o.fails('thumbnail', { sha256, size: 64 }, 404);
    assert.match(gone.body.message, /no file with sha256/);
  });

  test('a stored file that is no image, or a vector image, is a 422 saying so', async () => {
    const o = new Owner(pod().url);
    const text = await store(o, Buffer.from('just some words, not a picture'));
    const refused = await o.fails('thumbnail', { sha256: text, size: 256 }, 422);
    assert.match(refused.body.message, /is not an image the Pod makes thumbnails of/);
    const svg = await store(
      o,
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
      ),
    );
    assert.match((await o.fails('thumbnail', { sha256: svg, size: 64 }, 422)).body.message, /it is svg/);
    // nothing is left behind by refusals
    assert.equal(readdirSync(filesDir(pod().dataDir, o)).length, 2);
  });

  test('a refused file is refused again, at any size, without reading it again', async () => {
    const o = new Owner(pod().url);
    const text = await store(o, Buffer.from('a shopping list, still not a picture'));
    const first = await o.fails('thumbnail', { sha256: text, size: 256 }, 422);
    // with its blob gone from disk, only a remembered refusal can still answer 422 (a read would fail)
    const dir = filesDir(pod().dataDir, o);
    for (const blob of readdirSync(dir)) rmSync(join(dir, blob));
    for (const size of [256, 64, 1024])
      assert.equal((await o.fails('thumbnail', { sha256: text, size }, 422)).body.message, first.body.message);
  });

  test("another owner, or a wrong key, gets nothing of an owner's thumbnails", async () => {
    const o = new Owner(pod().url);
    const sha256 = await store(o, await png(100, 100));
    await thumbnailOk(o, sha256, 64);
    const stranger = new Owner(pod().url);
    await stranger.create({ type: 'Note' });
    const foreign = await thumbnail(stranger, { sha256, size: 64 });
    assert.equal(foreign.status, 404, foreign.text);
    assert.match(foreign.headers.get('content-type') ?? '', /^application\/json/);
    const wrongKey = await thumbnail(o.withKey(stranger.key), { sha256, size: 64 });
    assert.equal(wrongKey.status, 401, wrongKey.text);
    assert.equal(wrongKey.headers.get('etag'), null);
  });
});

describe('thumbnails: bounded work', () => {
  const pod = usePod({ limits: { ...defaultConfig().limits, maxThumbnailPixels: 10_000 } });

  test('an image over the pixel limit is refused with a 422 naming the limit; one within it is made', async () => {
    const o = new Owner(pod().url);
    const large = await store(o, await png(200, 100));
    const refused = await o.fails('thumbnail', { sha256: large, size: 64 }, 422);
    assert.match(refused.body.message, /200×100 = 20000 pixels, more than the 10000 .*--max-thumbnail-pixels/);
    const small = await store(o, await png(100, 100));
    await thumbnailOk(o, small, 64);
  });
});
