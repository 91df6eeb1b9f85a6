/**
 * Files and photos: uploads (protocol's `uploads`) of bytes or a stream with their File item,
 * `get_file` with its sha256 checked, thumbnails the Pod makes, and Photo items with their `file` edges.
 */
import { HEX_KEY, thumbnailSize, type Payload, type ThumbnailSize, type Upload } from '@pod/protocol';
import { RETRY, type PodCore } from './core.js';
import { PodError } from './errors.js';
import { imageInfo, sha256Hex, toBytes, verifiedFile, type Bytes } from './files.js';
import type { RequestOptions } from './http.js';
import { File, Photo } from './types.js';

export interface UploadOptions extends RequestOptions {
  /** Required for a stream; computed for bytes. */
  sha256?: string;
  /**
   * The File item to create when none has this sha256 yet, with its filename, size… (declare File
   * with `addToSchema` first: the Pod's own schema has only `sha256`); its `sha256` is filled in.
   */
  file?: File;
}

export interface PhotoOptions extends RequestOptions {
  /** Pixels; read from a PNG or JPEG header when not given. */
  width?: number;
  height?: number;
  filename?: string;
}

export interface PhotoRead {
  photo: Photo;
  /** The File the bytes come from: the one `size` picked. */
  file: File;
  data: Uint8Array;
}

/**
 * Stores a file: creates its File item unless one with its sha256 exists, then uploads the
 * bytes (a file the Pod already has, 409, counts as stored). Bytes are hashed here with
 * WebCrypto; a stream needs `sha256` and is sent as it is read, and never retried.
 */
export async function uploadFile(
  pod: PodCore,
  data: Bytes | ReadableStream<Uint8Array>,
  options: UploadOptions = {},
): Promise<File> {
  const { sha256: given, file: wanted, ...request } = options;
  const [stream, bytes] = data instanceof ReadableStream ? [data, undefined] : [undefined, await toBytes(data)];
  const sha256 = given?.toLowerCase() ?? (bytes && (await sha256Hex(bytes)));
  if (!sha256 || !HEX_KEY.test(sha256))
    throw new TypeError('uploadFile: give the sha256 of a stream, as 64 hex characters');

  const [existing] = await pod.search(File, { sha256 }, request);
  let file = existing;
  if (!file) {
    file = wanted ?? new File();
    file.sha256 = sha256;
    await pod.create(file, request);
  }
  const upload: Upload = pod.databaseKey ? 'upload_file' : 'upload_file_b';
  const path = pod.databaseKey
    ? `${upload}/${pod.databaseKey}/${sha256}`
    : `${upload}/${encodeURIComponent(pod.transport.authJson)}/${sha256}`;
  // No Content-Type: the Pod takes the body as the file whatever it says, and clients send none.
  const init = { body: (bytes ?? stream) as BodyInit, duplex: 'half' } as RequestInit;
  try {
    const drain = (response: Response) => response.arrayBuffer();
    await pod.transport.post(path, upload, init, stream ? 'never' : 'safe', drain, request);
  } catch (error) {
    if (!(error instanceof PodError && error.status === 409)) throw error;
  }
  return file;
}

/**
 * The bytes of a stored file, exactly as uploaded: checked against their sha256, else a
 * FileIntegrityError (a download cut short is tried again like a dropped connection).
 */
export async function getFile(pod: PodCore, file: File | string, options?: RequestOptions): Promise<Uint8Array> {
  const sha256 = (typeof file === 'string' ? file : file.sha256)?.toLowerCase();
  if (!sha256) throw new TypeError('getFile: the File item has no sha256');
  const payload: Payload<'get_file'> = { sha256 };
  const init = pod.transport.envelope(JSON.stringify(payload));
  const read = (response: Response) => verifiedFile(response, sha256);
  return pod.transport.post('get_file', 'get_file', init, RETRY.get_file, read, options);
}

export interface ThumbnailRead {
  /** The image's bytes, of type `mimeType` (`THUMBNAIL_TYPE`, WebP). */
  data: Uint8Array;
  mimeType: string;
  /** The longest side it was made for: the stored size nearest to the one asked (`thumbnailSize`). */
  size: ThumbnailSize;
}

/**
 * A thumbnail of a stored image, made by the Pod: its longest side is the stored size (64, 256
 * or 1024) nearest to `size`, never enlarged; upright, in sRGB, without metadata (no EXIF, no GPS).
 * A file that is no image, or one of more pixels than the Pod allows, is a PodError 422.
 */
export async function getThumbnail(
  pod: PodCore,
  file: File | string,
  size: number,
  options?: RequestOptions,
): Promise<ThumbnailRead> {
  const sha256 = (typeof file === 'string' ? file : file.sha256)?.toLowerCase();
  if (!sha256) throw new TypeError('thumbnail: the File item has no sha256');
  const payload: Payload<'thumbnail'> = { sha256, size };
  const init = pod.transport.envelope(JSON.stringify(payload));
  const read = async (response: Response): Promise<ThumbnailRead> => ({
    data: new Uint8Array(await response.arrayBuffer()),
    mimeType: response.headers.get('content-type') ?? 'application/octet-stream',
    size: thumbnailSize(size),
  });
  return pod.transport.post('thumbnail', 'thumbnail', init, RETRY.thumbnail, read, options);
}

/**
 * Uploads an image and creates a Photo item with a `file` edge to its File, both with width and
 * height when given or readable from a PNG or JPEG header. Nothing is resized.
 */
export async function createPhoto(pod: PodCore, data: Bytes, options: PhotoOptions = {}): Promise<Photo> {
  const { width: givenWidth, height: givenHeight, filename, ...request } = options;
  const bytes = await toBytes(data);
  const info = imageInfo(bytes);
  const width = givenWidth ?? info?.width;
  const height = givenHeight ?? info?.height;
  const file = await uploadFile(pod, bytes, {
    ...request,
    file: new File({ filename, mimeType: info?.mimeType, width, height }),
  });
  const photo = new Photo({ width, height });
  await pod.bulk({ createItems: [photo], createEdges: [{ source: photo, name: 'file', target: file }] }, request);
  return photo;
}

/**
 * A photo, the File picked and its bytes. A Photo may have several `file` edges (the original,
 * and smaller versions made elsewhere, each File with its width and height): `size` picks the
 * smallest whose longer side is at least `size` pixels, else the largest; without `size`, the
 * largest. A File without dimensions counts as the original. Nothing is resized here, so with
 * the single file `createPhoto` stores, every size gets the original (`getThumbnail` has the Pod make one).
 */
export async function getPhoto(
  pod: PodCore,
  id: string,
  options: RequestOptions & { size?: number } = {},
): Promise<PhotoRead> {
  const { size, ...request } = options;
  const photo = await pod.get(id, { ...request, edges: true });
  if (!(photo instanceof Photo))
    throw new PodError(404, `item ${JSON.stringify(id)} is a ${photo.type}, not a Photo`, { endpoint: 'search' });
  const file = pickSize(photo, size);
  if (!file) throw new PodError(404, `photo ${JSON.stringify(id)} has no file edge`, { endpoint: 'search' });
  return { photo, file, data: await getFile(pod, file, request) };
}

/** The File of a photo for `size` (see `getPhoto`); unknown dimensions are the photo's own. */
function pickSize(photo: Photo, size: number | undefined): File | undefined {
  const original = Math.max(photo.width ?? 0, photo.height ?? 0) || Number.MAX_SAFE_INTEGER;
  const longer = (file: File) =>
    file.width != null && file.height != null ? Math.max(file.width, file.height) : original;
  const files = [...photo.file].sort((a, b) => longer(a) - longer(b));
  return (size === undefined ? undefined : files.find((file) => longer(file) >= size)) ?? files.at(-1);
}
