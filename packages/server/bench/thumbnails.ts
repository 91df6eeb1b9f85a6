/**
 * Thumbnails (issue 14): a 256-pixel thumbnail of a 12-megapixel JPEG (4000×3000, photo-like:
 * smooth light with sensor noise, EXIF-oriented) over HTTP, the first time (decrypt, decode,
 * resize, encode, seal, record) beside sharp doing the same resize in-process, and once stored
 * beside `get_file` of a file of the same size. Part of `npm run bench`; alone:
 * `node packages/server/dist/bench/thumbnails.js`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { benchProgress, quiet, type Progress } from '../src/bench-progress.js';
import { startPodProcess } from '../src/pod-process.js';
import { seededRandom } from '../src/testing.js';
import { percentile } from './fairness.js';

const PHOTOS = Number(process.env.BENCH_PHOTOS ?? 12);
const STORED_READS = 200;
const [WIDTH, HEIGHT] = [4000, 3000];
const SIZE = 256;

export interface ThumbnailFigures {
  photoBytes: number;
  /** ms: the first request for a photo's thumbnail, and sharp's resize of the same JPEG in this process. */
  first: { p50: number; inProcess: number };
  /** ms: a stored thumbnail, and get_file of a file of its size. */
  stored: { p50: number; getFile: number };
}

/** A photo-like JPEG: a smooth gradient that differs per photo, with a little noise, as a sensor gives. */
async function photo(seed: number): Promise<Buffer> {
  const random = seededRandom(seed);
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  const [r, g, b] = [random.int(256), random.int(256), random.int(256)];
  for (let y = 0; y < HEIGHT; y++)
    for (let x = 0; x < WIDTH; x++) {
      const at = (y * WIDTH + x) * 3;
      const noise = random.int(16);
      pixels[at] = (r + (x >> 4) + noise) & 255;
      pixels[at + 1] = (g + (y >> 4) + noise) & 255;
      pixels[at + 2] = (b + ((x + y) >> 5) + noise) & 255;
    }
  return sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

export async function benchThumbnails(stage: Progress = quiet): Promise<ThumbnailFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-thumbnails-'));
  const pod = await startPodProcess(dir);
  const owner = randomBytes(32).toString('hex');
  const databaseKey = randomBytes(32).toString('hex');
  const post = async (path: string, body: string | Buffer): Promise<Buffer> => {
    const init = { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) };
    const response = await fetch(`${pod.url}/v4/${owner}/${path}`, init);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) throw new Error(`${path.split('/')[0]}: ${response.status} ${bytes.toString()}`);
    return bytes;
  };
  const call = (endpoint: string, payload: unknown) =>
    post(endpoint, JSON.stringify({ auth: { type: 'ClientAuth', databaseKey }, payload }));
  const timed = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  try {
    stage(`${PHOTOS} photos of ${WIDTH}×${HEIGHT} (12 MP), made and uploaded`);
    const photos: { bytes: Buffer; sha256: string }[] = [];
    for (let i = 0; i < PHOTOS; i++) {
      const bytes = await photo(i + 1);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await call('create_item', { type: 'File', sha256 });
      await post(`upload_file/${databaseKey}/${sha256}`, bytes);
      photos.push({ bytes, sha256 });
    }

    stage(`first thumbnail of each photo, ${SIZE} px, over HTTP and in-process`);
    const first: number[] = [];
    const inProcess: number[] = [];
    let thumbnailBytes = 0;
    for (const { bytes, sha256 } of photos) {
      first.push(await timed(() => call('thumbnail', { sha256, size: SIZE })));
      inProcess.push(
        await timed(async () => {
          const out = await sharp(bytes).autoOrient().resize(SIZE, SIZE, { fit: 'inside' }).webp().toBuffer();
          thumbnailBytes = out.length;
        }),
      );
    }

    stage(`${STORED_READS} reads of stored thumbnails, and get_file of a file of their size`);
    const same = randomBytes(thumbnailBytes);
    const sameSha = createHash('sha256').update(same).digest('hex');
    await call('create_item', { type: 'File', sha256: sameSha });
    await post(`upload_file/${databaseKey}/${sameSha}`, same);
    const stored: number[] = [];
    const getFile: number[] = [];
    for (let i = 0; i < STORED_READS; i++) {
      const { sha256 } = photos[i % photos.length]!;
      stored.push(await timed(() => call('thumbnail', { sha256, size: SIZE })));
      getFile.push(await timed(() => call('get_file', { sha256: sameSha })));
    }
    const p50 = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      );
    return {
      photoBytes: p50(photos.map(({ bytes }) => bytes.length)),
      first: { p50: p50(first), inProcess: p50(inProcess) },
      stored: { p50: p50(stored), getFile: p50(getFile) },
    };
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function thumbnailRows(f: ThumbnailFigures): [string, number, string, number, string, string, boolean][] {
  return [
    [
      'thumbnail 256 px of a 12 MP JPEG, first, p50',
      f.first.p50,
      'ms',
      f.first.inProcess,
      'sharp in-process',
      '',
      true,
    ],
    ['thumbnail 256 px, stored, p50', f.stored.p50, 'ms', f.stored.getFile, 'get_file, same size', '', true],
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await benchThumbnails(benchProgress('thumbnail bench', 3));
  console.log(
    `12 MP JPEG (${(f.photoBytes / 1e6).toFixed(1)} MB) → ${SIZE} px WebP: first p50 ${f.first.p50.toFixed(1)} ms ` +
      `(sharp in-process ${f.first.inProcess.toFixed(1)} ms); stored p50 ${f.stored.p50.toFixed(2)} ms ` +
      `(get_file of the same size ${f.stored.getFile.toFixed(2)} ms)`,
  );
}
