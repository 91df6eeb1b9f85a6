/**
 * Files at rest: each encrypted with AES-256-GCM under a fresh key and nonce, streamed in and
 * out (memory stays flat for any size), hashed on the way in, and renamed into place only once
 * complete and synced, so a crash leaves either the whole file or none of it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PodError, badRequest, notFound } from '../errors.js';
import type { Owner } from './owners.js';

/** Stores an upload announced by a File item; `sha256` is lowercase hex. */
export async function receiveFile(owner: Owner, sha256: string, body: Readable, limit: number): Promise<void> {
  const { store } = owner;
  if (!store.hasFileItem(sha256))
    throw notFound(`no item has sha256 ${sha256}; create the File item ({"type": "File", "sha256": ...}) before uploading`);
  if (store.storedFile(sha256)) throw new PodError(409, `file ${sha256} is already stored`);

  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const blob = randomBytes(16).toString('hex');
  const partial = join(owner.filesDir, `${blob}.partial`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit) return done(new PodError(413, `upload is larger than the limit of ${limit} bytes (see --upload-limit)`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  try {
    await pipeline(body, meter, cipher, createWriteStream(partial, { flags: 'wx', highWaterMark: 1 << 20 }));
    const actual = hash.digest('hex');
    if (actual !== sha256)
      throw badRequest(`the body's sha256 is ${actual}, not ${sha256}; nothing was stored`);
    await syncPath(partial);
    const path = join(owner.filesDir, blob);
    await rename(partial, path);
    await syncPath(owner.filesDir);
    try {
      store.recordFile({ sha256, blob, key, nonce, tag: cipher.getAuthTag(), size });
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** The decrypted bytes of a stored file; a tampered blob fails its authentication tag and aborts the stream. */
export function readFile(owner: Owner, sha256: string): { size: number; stream: Readable } {
  const file = owner.store.storedFile(sha256);
  if (!file) throw notFound(`no file with sha256 ${sha256} is stored`);
  const decipher = createDecipheriv('aes-256-gcm', file.key, file.nonce);
  decipher.setAuthTag(file.tag);
  const source = createReadStream(join(owner.filesDir, file.blob), { highWaterMark: 1 << 20 });
  source.on('error', (error) => decipher.destroy(error));
  return { size: file.size, stream: source.pipe(decipher) };
}

/** fsync of a file (its data) or a folder (a rename into it). */
async function syncPath(path: string) {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
