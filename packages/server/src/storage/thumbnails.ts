/**
 * Thumbnails of stored images (issue 14), made by sharp from the decrypted file in one of the fixed
 * sizes of @pod/protocol (`thumbnailSize`), upright (EXIF orientation applied), in sRGB and without
 * any metadata (EXIF, GPS, XMP, ICC), WebP. Each is kept as a blob of segments under its own key,
 * like a file, recorded by its file's sha256 and its size, and erased with its file (`deleteFiles`).
 * Made once per file and size: concurrent requests share one making, later ones read the blob. A file
 * refused (no image, too many pixels) is refused again from memory: its bytes cannot change under its sha256.
 */
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { type ThumbnailSize, thumbnailSize } from '@pod/protocol';
import { PodError, notFound } from '../errors.js';
import { eraseBlobs, openBlob, openFile, sealBlob } from './files.js';
import type { Owner } from './owners.js';
import type { StoredFile, StoredThumbnail } from './store.js';

/** Makings at once, in all: each holds its source's bytes and decoded pixels in memory. */
const MAKINGS_AT_ONCE = 2;
/** A source is read whole into memory (sharp needs it so): larger files are refused before a byte is read. */
export const MAX_SOURCE_BYTES = 256 * 1024 * 1024;
/** Photos, not documents: an SVG or a PDF would make sharp render vector content. */
const IMAGE_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'avif', 'tiff', 'jp2']);
const WEBP_QUALITY = 80;
/** Files found to be no image (or too large) are remembered so a request again does not decode them again. */
const REFUSALS_KEPT = 10_000;

/** Told of each thumbnail served: made now, or read from its stored blob (the Pod's metrics). */
export interface ThumbnailEvents {
  thumbnail(outcome: 'made' | 'stored'): void;
}

export interface Thumbnail {
  size: ThumbnailSize;
  bytes: number;
  stream: Readable;
}

export class Thumbnails {
  /** Makings under way, by owner, file and size: a second request for one waits for it. */
  private readonly making = new Map<string, Promise<StoredThumbnail>>();
  private readonly turns = new Turns(MAKINGS_AT_ONCE);
  /** Refusals by owner and file, oldest first (kept per owner: no owner learns what another stores). */
  private readonly refused = new Map<string, PodError>();

  constructor(
    /** Larger images are refused before they are decoded (`--max-thumbnail-pixels`). */
    private readonly maxPixels: number,
    private readonly events: ThumbnailEvents,
  ) {}

  /**
   * The thumbnail of the stored file `sha256` (lowercase hex) at the stored size nearest to
   * `requested`. Start it in a turn of the main connection (`withMain`): its lookups run before the first await.
   */
  async get(owner: Owner, sha256: string, requested: number): Promise<Thumbnail> {
    const size = thumbnailSize(requested);
    let stored = owner.store.storedThumbnail(sha256, size);
    if (stored) this.events.thumbnail('stored');
    else {
      const file = owner.store.storedFile(sha256);
      if (!file) throw notFound(`no file with sha256 ${sha256} is stored`);
      const refusal = this.refused.get(`${owner.hash}/${sha256}`);
      if (refusal) throw refusal;
      const key = `${owner.hash}/${sha256}/${size}`;
      let made = this.making.get(key);
      if (!made) {
        made = this.turns.run(() => this.make(owner, file, size)).finally(() => this.making.delete(key));
        this.making.set(key, made);
      }
      stored = await made;
    }
    const damaged = () =>
      new PodError(
        'internal',
        `the stored thumbnail ${size} of file ${sha256} of owner ${owner.hash} fails its integrity check: ` +
          'its blob was changed or damaged on disk',
      );
    return { size, bytes: stored.bytes, stream: openBlob(owner, stored, damaged) };
  }

  private async make(owner: Owner, file: StoredFile, size: ThumbnailSize): Promise<StoredThumbnail> {
    try {
      return await this.makeOrRefuse(owner, file, size);
    } catch (error) {
      if (error instanceof PodError && error.kind === 'unprocessable') {
        this.refused.set(`${owner.hash}/${file.sha256}`, error);
        if (this.refused.size > REFUSALS_KEPT) this.refused.delete(this.refused.keys().next().value as string);
      }
      throw error;
    }
  }

  private async makeOrRefuse(owner: Owner, file: StoredFile, size: ThumbnailSize): Promise<StoredThumbnail> {
    const { sha256 } = file;
    if (file.size > MAX_SOURCE_BYTES)
      throw new PodError(
        'unprocessable',
        `file ${sha256} has ${file.size} bytes; the Pod makes thumbnails of images up to ${MAX_SOURCE_BYTES} bytes`,
      );
    const source = await readWhole(openFile(owner, file), sha256);
    const notAnImage = (detail: string) =>
      new PodError(
        'unprocessable',
        `file ${sha256} is not an image the Pod makes thumbnails of (${detail}); ` +
          `it reads ${[...IMAGE_FORMATS].join(', ')}`,
      );
    let format: string | undefined;
    let width = 0;
    let height = 0;
    try {
      // the header only, unbounded, so that too large an image is told by its size
      ({ format, width = 0, height = 0 } = await sharp(source, { limitInputPixels: false }).metadata());
    } catch {
      throw notAnImage('no image header was recognised');
    }
    if (format === undefined || !IMAGE_FORMATS.has(format)) throw notAnImage(`it is ${format ?? 'of no known format'}`);
    if (width * height > this.maxPixels)
      throw new PodError(
        'unprocessable',
        `image ${sha256} has ${width}×${height} = ${width * height} pixels, more than the ${this.maxPixels} ` +
          'this Pod makes thumbnails of (see --max-thumbnail-pixels)',
      );
    let output: Buffer;
    try {
      // Metadata is stripped unless asked for, and the colours are converted to sRGB with it.
      // failOn 'error': a photo with a slightly damaged tail still gets its thumbnail.
      output = await sharp(source, { limitInputPixels: this.maxPixels, failOn: 'error' })
        .autoOrient()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: WEBP_QUALITY })
        .toBuffer();
    } catch (error) {
      throw notAnImage(`decoding failed: ${(error as Error).message}`);
    }
    const sealed = await sealBlob(owner, Readable.from([output]));
    const thumbnail: StoredThumbnail = { sha256, size, ...sealed, bytes: output.length };
    try {
      await owner.store.withMain(() => owner.store.recordThumbnail(thumbnail));
    } catch (error) {
      await eraseBlobs(owner, [sealed]);
      throw error;
    }
    this.events.thumbnail('made');
    return thumbnail;
  }
}

/** Every byte of a file's stream; a blob erased meanwhile (delete_file) is a 404. */
async function readWhole(stream: Readable, sha256: string): Promise<Buffer> {
  try {
    return Buffer.concat((await stream.toArray()) as Buffer[]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`file ${sha256} was deleted`);
    throw error;
  }
}

/** At most `max` pieces of work at once; the others wait their turn, first come first served. */
class Turns {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.max) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // the turn passes straight to the next in line, or frees its place
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
