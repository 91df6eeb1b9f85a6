/**
 * `PodClient`: the whole Pod v4 API as methods over `fetch`, for Node 22+ and browsers: the item
 * calls of `PodCore`, the live change feed, and files and photos.
 */
import type { Imported } from '@pod/protocol';
import { exportArchive, importArchive } from './archive.js';
import { changeFeed, type ChangePage, type ChangesOptions } from './changes.js';
import { PodCore } from './core.js';
import type { RequestOptions } from './http.js';
import { createPhoto, getFile, getPhoto, getThumbnail, uploadFile } from './photos.js';
import type { PhotoOptions, PhotoRead, ThumbnailRead, UploadOptions } from './photos.js';
import type { Bytes } from './files.js';
import type { File, Photo } from './types.js';

export * from './core.js';
export type { ChangePage, ChangesOptions } from './changes.js';
export type { PhotoOptions, PhotoRead, ThumbnailRead, UploadOptions } from './photos.js';

export class PodClient extends PodCore {
  /**
   * One connection to the live change feed (`POST /v4/<owner>/changes`): pages of changed items
   * from `from` on, oldest first, each with the cursor to resume from, as they commit; first an
   * empty page once the connection is open. Ends with a `PodError` (status 0 when the connection
   * broke or stayed silent past `idleTimeout`), or when the Pod closes it; `LiveFeed` reconnects
   * from the cursor.
   */
  changes(from: number, options: ChangesOptions = {}): AsyncGenerator<ChangePage> {
    return changeFeed(this.transport, from, { ...options, timeout: options.timeout ?? this.timeout });
  }

  /**
   * Stores a file: creates its File item unless one with its sha256 exists, then uploads the
   * bytes (a file the Pod already has, 409, counts as stored). Bytes are hashed here with
   * WebCrypto; a stream needs `sha256` and is sent as it is read, and never retried.
   */
  uploadFile(data: Bytes | ReadableStream<Uint8Array>, options?: UploadOptions): Promise<File> {
    return uploadFile(this, data, options);
  }

  /**
   * The bytes of a stored file, exactly as uploaded: checked against their sha256, else a
   * FileIntegrityError (a download cut short is tried again like a dropped connection).
   */
  getFile(file: File | string, options?: RequestOptions): Promise<Uint8Array> {
    return getFile(this, file, options);
  }

  /**
   * A thumbnail of a stored image, made by the Pod (`POST /v4/<owner>/thumbnail`): its longest side
   * is the stored size (64, 256 or 1024) nearest to `size`, upright, WebP without metadata. A file
   * that is no image, or has more pixels than the Pod allows, is a PodError 422.
   */
  thumbnail(file: File | string, size: number, options?: RequestOptions): Promise<ThumbnailRead> {
    return getThumbnail(this, file, size, options);
  }

  /**
   * The owner's whole Pod as one archive, streamed (`POST /v4/<owner>/export`): a tar of the encrypted
   * database and files and a manifest of counts and SHA-256s, for `importArchive` on another Pod.
   */
  exportArchive(options?: RequestOptions): Promise<ReadableStream<Uint8Array>> {
    return exportArchive(this, options);
  }

  /**
   * Installs an archive from `exportArchive` as this owner on this client's Pod (`POST /v4/<owner>/import`):
   * only where the owner has no data yet, and only a whole archive of this owner that opens with this key.
   */
  importArchive(archive: Uint8Array | ReadableStream<Uint8Array>, options?: RequestOptions): Promise<Imported> {
    return importArchive(this, archive, options);
  }

  /**
   * Uploads an image and creates a Photo item with a `file` edge to its File, both with width and
   * height when given or readable from a PNG or JPEG header. Nothing is resized.
   */
  createPhoto(data: Bytes, options?: PhotoOptions): Promise<Photo> {
    return createPhoto(this, data, options);
  }

  /**
   * A photo, the File picked and its bytes: `size` picks the smallest file whose longer side is at
   * least `size` pixels, else the largest; without `size`, the largest (see `photos.ts`).
   */
  getPhoto(id: string, options?: RequestOptions & { size?: number }): Promise<PhotoRead> {
    return getPhoto(this, id, options);
  }
}
