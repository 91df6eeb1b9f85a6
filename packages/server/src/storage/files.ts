/**
 * Files at rest: each encrypted under a fresh AES-256-GCM key, streamed in and out (memory stays
 * flat for any size), hashed on the way in, and renamed into place only once complete and synced,
 * so a crash leaves either the whole file or none of it.
 *
 * Blobs are sealed in segments that each carry their own tag (the STREAM construction of Hoang,
 * Reyhanitabar, Rogaway and Vizár, as in Tink's streaming AEAD): 256 KiB of plaintext per segment,
 * nonce = 7-byte random prefix ‖ segment index (uint32 BE) ‖ 1 on the last segment, else 0. A
 * segment is verified before any of its bytes go out, and its index and last flag are bound in,
 * so a changed, moved, dropped or appended segment, or a cut blob, ends the download with an error
 * instead of handing out altered bytes as a complete answer.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, finished, pipeline, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { PodError, badRequest, notFound } from '../errors.js';
import { syncPath } from './durable.js';
import type { Owner } from './owners.js';
import { BlobFormat, type SealedBlob, type StoredFile } from './store.js';

/** Plaintext per segment. 64 KiB cost ~35% more CPU per byte read than one GCM stream (a cipher per segment); 256 KiB ~7%. */
export const SEGMENT_BYTES = 256 * 1024;
export const TAG_BYTES = 16;
const NONCE_PREFIX_BYTES = 7;
/** Blobs and partial uploads are the owner's alone, like the database beside them. */
const FILE_MODE = 0o600;
/** Read size of old single-GCM blobs: what their download holds back until the tag verifies. */
const LEGACY_READ_BYTES = 64 * 1024;

/**
 * Stores an upload announced by a File item; `sha256` is lowercase hex; resolves with its size. `take` hears
 * each chunk's bytes before it is stored and may refuse them (the owner's quota). Start it in a turn of the
 * main connection (`withMain`): its checks run before the first await.
 */
export async function receiveFile(
  owner: Owner,
  sha256: string,
  body: Readable,
  limit: number,
  take: (bytes: number) => void = () => {},
): Promise<number> {
  const { store } = owner;
  if (!store.hasFileItem(sha256))
    throw notFound(
      `no item has sha256 ${sha256}; create the File item ({"type": "File", "sha256": ...}) before uploading`,
    );
  if (store.storedFile(sha256)) throw new PodError('conflict', `file ${sha256} is already stored`);

  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit)
        return done(new PodError('tooLarge', `upload is larger than the limit of ${limit} bytes (see --upload-limit)`));
      try {
        take(chunk.length);
      } catch (error) {
        return done(error as Error);
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const sealed = await sealBlob(owner, meterBody(body, meter), () => {
    const actual = hash.digest('hex');
    if (actual !== sha256) throw badRequest(`the body's sha256 is ${actual}, not ${sha256}; nothing was stored`);
  });
  try {
    await store.withMain(() => store.recordFile({ sha256, ...sealed, tag: null, size, format: BlobFormat.Segmented }));
  } catch (error) {
    await eraseBlobs(owner, [sealed]);
    throw error;
  }
  return size;
}

/**
 * The body through `meter`, piped rather than put in a pipeline: a refusal (too large, over the quota) must
 * not destroy the request, so that the client, still sending, gets the answer on a connection it can reuse
 * (the route drops the rest of the body). A client that goes away mid-upload still ends the upload.
 */
function meterBody(body: Readable, meter: Transform): Readable {
  finished(body, (error) => error && meter.destroy(error));
  return body.pipe(meter);
}

/**
 * Seals `source` into a new blob under a fresh key and puts it in place, synced. `check` runs once
 * every byte is written, before the blob is put in place: what it throws leaves nothing behind.
 */
export async function sealBlob(owner: Owner, source: Readable, check: () => void = () => {}): Promise<SealedBlob> {
  const key = randomBytes(32);
  const nonce = randomBytes(NONCE_PREFIX_BYTES);
  const blob = randomBytes(16).toString('hex');
  const partial = join(owner.filesDir, `${blob}.partial`);
  try {
    await pipelineAsync(
      source,
      segmented(SEGMENT_BYTES, (segment, index, last) => sealSegment(key, nonce, segment, index, last)),
      createWriteStream(partial, { flags: 'wx', mode: FILE_MODE, highWaterMark: 1 << 20 }),
    );
    check();
    await syncPath(partial);
    await rename(partial, join(owner.filesDir, blob));
    await syncPath(owner.filesDir);
    return { blob, key, nonce };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Removes blobs whose file records a committed transaction deleted (`OwnerStore.deleteFiles`). A
 * download already reading one keeps its open file to the end.
 */
export async function eraseBlobs(owner: Owner, files: readonly Pick<SealedBlob, 'blob'>[]): Promise<void> {
  await Promise.all(files.map((file) => rm(join(owner.filesDir, file.blob), { force: true })));
}

/**
 * The decrypted bytes of a stored file. A blob that fails authentication errors the stream before
 * the bytes concerned go out: a 500 if nothing was sent yet, else a response cut short.
 */
export function readFile(owner: Owner, sha256: string): { size: number; stream: Readable } {
  const file = owner.store.storedFile(sha256);
  if (!file) throw notFound(`no file with sha256 ${sha256} is stored`);
  return { size: file.size, stream: openFile(owner, file) };
}

/** The decrypted bytes of a file whose record was read earlier (see `readFile`). */
export function openFile(owner: Owner, file: StoredFile): Readable {
  const { sha256 } = file;
  const damaged = () =>
    new PodError(
      'internal',
      `stored file ${sha256} of owner ${owner.hash} fails its integrity check: its blob was changed or damaged on disk`,
    );
  if (file.format === BlobFormat.Segmented) return openBlob(owner, file, damaged);
  const source = createReadStream(join(owner.filesDir, file.blob), { highWaterMark: LEGACY_READ_BYTES });
  return pipeline(source, openLegacy(file, damaged), () => {});
}

/** The plaintext of a blob of segments, each verified before its bytes go out (else `damaged()` errors the stream). */
export function openBlob(owner: Owner, sealed: SealedBlob, damaged: () => Error): Readable {
  const source = createReadStream(join(owner.filesDir, sealed.blob), { highWaterMark: 1 << 20 });
  const opener = segmented(SEGMENT_BYTES + TAG_BYTES, (segment, index, last) =>
    openSegment(sealed.key, sealed.nonce, segment, index, last, damaged),
  );
  // pipeline, not pipe: an aborted download closes the blob too, and a read error reaches the reply.
  return pipeline(source, opener, () => {});
}

/**
 * Cuts a stream into segments of `size` bytes and passes on what `transform` makes of each. Every
 * segment but the last is full; the last (0 to `size` bytes, so an empty stream is one empty
 * segment) is known only at the end, so a full segment goes on only once a byte beyond it has
 * arrived. A segment is handed over as the pieces of the chunks that hold it: nothing is copied.
 */
function segmented(size: number, transform: (segment: Buffer[], index: number, last: boolean) => Buffer[]): Transform {
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  const take = (count: number): Buffer[] => {
    pendingBytes -= count;
    const pieces: Buffer[] = [];
    while (count > 0) {
      const first = pending[0];
      // pendingBytes counts what `pending` holds, so this is a bug, never a client's doing
      if (first === undefined) throw new Error(`segmented: ${count} bytes asked beyond what arrived`);
      if (first.length <= count) {
        pending.shift();
        pieces.push(first);
        count -= first.length;
      } else {
        pieces.push(first.subarray(0, count));
        pending[0] = first.subarray(count);
        count = 0;
      }
    }
    return pieces;
  };
  const pass = (stream: Transform, last: boolean) => {
    for (const out of transform(take(last ? pendingBytes : size), index++, last)) stream.push(out);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      try {
        while (pendingBytes > size) pass(this, false);
      } catch (error) {
        return done(error as Error);
      }
      done();
    },
    flush(done) {
      try {
        pass(this, true);
      } catch (error) {
        return done(error as Error);
      }
      done();
    },
  });
}

/** The nonce of one segment; past 2^32 segments (1 PiB) writeUInt32BE throws rather than repeat a nonce. */
function segmentNonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_PREFIX_BYTES + 5);
  prefix.copy(nonce);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  nonce[NONCE_PREFIX_BYTES + 4] = last ? 1 : 0;
  return nonce;
}

/** A segment's ciphertext, then its tag. */
function sealSegment(key: Buffer, prefix: Buffer, segment: Buffer[], index: number, last: boolean): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', key, segmentNonce(prefix, index, last));
  const sealed = segment.map((piece) => cipher.update(piece));
  cipher.final();
  sealed.push(cipher.getAuthTag());
  return sealed;
}

/** A segment's plaintext, returned only once its tag (its last TAG_BYTES) verifies. */
function openSegment(
  key: Buffer,
  prefix: Buffer,
  sealed: Buffer[],
  index: number,
  last: boolean,
  damaged: () => Error,
): Buffer[] {
  const tagStart = sealed.reduce((length, piece) => length + piece.length, 0) - TAG_BYTES;
  if (tagStart < 0) throw damaged();
  const decipher = createDecipheriv('aes-256-gcm', key, segmentNonce(prefix, index, last), {
    authTagLength: TAG_BYTES,
  });
  const plaintext: Buffer[] = [];
  const tag: Buffer[] = [];
  let offset = 0;
  for (const piece of sealed) {
    const split = Math.min(Math.max(tagStart - offset, 0), piece.length);
    if (split > 0) plaintext.push(decipher.update(piece.subarray(0, split)));
    if (split < piece.length) tag.push(piece.subarray(split));
    offset += piece.length;
  }
  decipher.setAuthTag(Buffer.concat(tag));
  try {
    decipher.final();
  } catch {
    throw damaged();
  }
  return plaintext;
}

/**
 * Blobs written before segments: one GCM stream whose tag is checked only at its end, so the last
 * chunk read is held back until it verifies and a tampered blob never completes its download.
 */
function openLegacy(file: StoredFile, damaged: () => Error): Transform {
  // a legacy blob's record always holds its tag
  if (!file.tag) throw damaged();
  const decipher = createDecipheriv('aes-256-gcm', file.key, file.nonce).setAuthTag(file.tag);
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const previous = held;
      held = decipher.update(chunk);
      done(null, previous);
    },
    flush(done) {
      try {
        decipher.final();
      } catch {
        return done(damaged());
      }
      done(null, held);
    },
  });
}
