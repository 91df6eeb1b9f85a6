/**
 * One owner as one archive (issue 15 part 2): a tar of the owner's folder as it is on disk (pod.db, the WAL,
 * the blobs; all encrypted, no key needed), then a manifest with counts and each entry's size and SHA-256.
 * Taken under the owner's checkpoint lock like a backup (backup.ts); the WAL goes in up to its length when
 * the lock was taken, a prefix SQLite's recovery reads up to its last complete commit. An import writes
 * every entry into a staging folder, checks it against the manifest and only then renames it into place,
 * so a truncated or damaged archive leaves nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { z } from 'zod';
import { HEX_KEY } from '@pod/protocol';
import { Entry, LOCK_WAIT_MS, hashingMeter } from './backup.js';
import { PodError } from './errors.js';
import { holdLock } from './storage/checkpoint-lock.js';
import { syncPath } from './storage/durable.js';

const MANIFEST = 'manifest.json';
const ENTRY_NAME = /^(pod\.db(-wal)?|files\/[0-9a-zA-Z_-]+)$/;
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const ArchiveManifest = z.object({
  format: z.literal('pod-owner'),
  version: z.literal(1),
  owner: z.string().regex(HEX_KEY),
  createdAt: z.string(),
  counts: z.object({ files: z.number().int().min(0), bytes: z.number().int().min(0) }),
  entries: z.array(Entry),
  /** Every file of the owner when the archive was packed, those sent in an earlier part of a move included. */
  present: z.array(z.string()).optional(),
  /** Where in the owner's WAL the archive's pod.db-wal begins (a move's later parts); absent: at 0. */
  walFrom: z.number().int().min(0).optional(),
});
export type ArchiveManifest = z.infer<typeof ArchiveManifest>;

/** The owner's archive as a stream; an error on the way destroys it (the receiver sees a cut archive). */
export function exportOwner(ownerDir: string, hash: string): Readable {
  return packOwner(ownerDir, hash, { database: true, wal: true, takeLock: true }).archive;
}

/** Which of the owner's parts an archive carries (a move sends its two parts with the same format). */
export interface ArchiveParts {
  database: boolean;
  /** The whole WAL, or bytes `from`–`to` of it (a move's later parts: the WAL only grows meanwhile). */
  wal: boolean | { from: number; to: number };
  /** Take the checkpoint lock around the database and WAL (false: the caller holds it). */
  takeLock: boolean;
  /** Files already sent (a move's first part): left out. */
  skipFiles?: ReadonlySet<string>;
}

/**
 * An archive of the chosen parts, and its manifest once written; the manifest's `present` lists every
 * file of the owner at packing time (sent now or earlier), so a receiver of a later part drops the rest.
 */
export function packOwner(
  ownerDir: string,
  hash: string,
  parts: ArchiveParts,
): { archive: Readable; manifest: Promise<ArchiveManifest> } {
  if (!existsSync(join(ownerDir, 'pod.db'))) throw new PodError('notFound', `owner ${hash} has no database here`);
  const pack = tar.pack();
  const entries: Entry[] = [];
  const add = async (name: string, path: string, bytes: number, start = 0) => {
    const sink = pack.entry({ name, size: bytes, mode: 0o600 });
    const meter = hashingMeter();
    const source = bytes > 0 ? createReadStream(path, { start, end: start + bytes - 1 }) : PassThrough.from([]);
    await pipeline(source, meter.stream, sink);
    entries.push({ path: name, bytes, sha256: meter.result().sha256 });
  };
  const write = async (): Promise<ArchiveManifest> => {
    const release = parts.takeLock ? await holdLock(ownerDir, LOCK_WAIT_MS) : () => {};
    try {
      for (const name of [parts.database && 'pod.db', parts.wal === true && 'pod.db-wal']) {
        if (!name) continue;
        const path = join(ownerDir, name);
        const size = statSync(path, { throwIfNoEntry: false })?.size;
        if (size !== undefined) await add(name, path, size);
      }
      if (typeof parts.wal === 'object') {
        const { from, to } = parts.wal;
        if (to > from) await add('pod.db-wal', join(ownerDir, 'pod.db-wal'), to - from, from);
      }
    } finally {
      release();
    }
    const filesDir = join(ownerDir, 'files');
    const present = existsSync(filesDir)
      ? readdirSync(filesDir, { withFileTypes: true })
          .filter((entry) => entry.isFile() && ENTRY_NAME.test(`files/${entry.name}`))
          .map((entry) => entry.name)
      : [];
    const blobs = present.filter((name) => !parts.skipFiles?.has(name));
    for (const blob of blobs) {
      const path = join(filesDir, blob);
      await add(`files/${blob}`, path, statSync(path).size);
    }
    const manifest: ArchiveManifest = {
      format: 'pod-owner',
      version: 1,
      owner: hash,
      createdAt: new Date().toISOString(),
      counts: { files: blobs.length, bytes: entries.reduce((sum, entry) => sum + entry.bytes, 0) },
      entries,
      present,
      ...(typeof parts.wal === 'object' && { walFrom: parts.wal.from }),
    };
    pack.entry({ name: MANIFEST, mode: 0o600 }, `${JSON.stringify(manifest, null, 2)}\n`);
    pack.finalize();
    return manifest;
  };
  const manifest = write();
  manifest.catch((error: Error) => pack.destroy(error));
  return { archive: Readable.from(pack, { objectMode: false }), manifest };
}

export const WAL_HEADER_BYTES = 32;

/**
 * The owner's WAL as it is now: its length and its 32-byte header, whose salts change when SQLite starts
 * the WAL over (then a copy of it starts over too). Read it where no write is half done.
 */
export function walEnd(ownerDir: string): { size: number; header: Buffer } {
  const path = join(ownerDir, 'pod.db-wal');
  const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  const header = Buffer.alloc(Math.min(size, WAL_HEADER_BYTES));
  if (header.length === 0) return { size, header };
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  return { size, header };
}

export const damaged = (why: string) =>
  new PodError('invalid', `the archive is damaged or truncated (${why}); nothing was imported`);

/**
 * Installs an archive as owner `hash` of `dataDir`: refused (409) if the owner has data, (400) if the archive
 * is another owner's, truncated or damaged; `check` sees the staged database before it is put in place
 * (the HTTP import proves the key there).
 */
export async function importOwner(
  archive: Readable,
  dataDir: string,
  hash: string,
  check: (databasePath: string) => void = () => {},
): Promise<ArchiveManifest> {
  const target = join(dataDir, hash);
  const alreadyThere = () => {
    if (existsSync(join(target, 'pod.db')))
      throw new PodError(
        'conflict',
        `owner ${hash} already has data here: an archive is imported only into an empty Pod`,
      );
  };
  alreadyThere();
  const staging = join(dataDir, `.import-${randomBytes(6).toString('hex')}`);
  try {
    const manifest = await receiveArchive(archive, staging);
    if (!manifest.entries.some((entry) => entry.path === 'pod.db')) throw damaged('no pod.db');
    if (manifest.owner !== hash)
      throw new PodError(
        'invalid',
        `the archive is owner ${manifest.owner.slice(0, 16)}…'s, not this owner's; nothing was imported`,
      );
    check(join(staging, 'pod.db'));
    alreadyThere();
    await rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') alreadyThere();
      throw error;
    });
    await syncPath(dataDir);
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Writes every entry of `archive` into the new folder `staging` and checks them against its manifest:
 * every listed entry arrived whole with its hash, nothing else came. Throws 400 (damaged) otherwise.
 */
export async function receiveArchive(archive: Readable, staging: string): Promise<ArchiveManifest> {
  await mkdir(join(staging, 'files'), { recursive: true, mode: 0o700 });
  const received = new Map<string, Entry>();
  const manifestChunks: Buffer[] = [];
  let manifestBytes = 0;
  const extract = tar.extract();
  const receive = async () => {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      if (type !== 'file') throw damaged(`unexpected ${type} ${name}`);
      if (name === MANIFEST) {
        for await (const chunk of entry) {
          if (!Buffer.isBuffer(chunk)) throw damaged('the manifest is not bytes');
          manifestChunks.push(chunk);
          manifestBytes += chunk.length;
          if (manifestBytes > MAX_MANIFEST_BYTES) throw damaged('the manifest is too large');
        }
        continue;
      }
      if (!ENTRY_NAME.test(name) || received.has(name)) throw damaged(`unexpected entry ${name}`);
      const meter = hashingMeter();
      await pipeline(entry, meter.stream, createWriteStream(join(staging, name), { flags: 'wx', mode: 0o600 }));
      // on disk before the answer: a move's source deletes its copy once the target has answered
      await syncPath(join(staging, name));
      received.set(name, { path: name, ...meter.result() });
    }
  };
  try {
    await Promise.all([pipeline(archive, extract), receive()]);
  } catch (error) {
    throw error instanceof PodError ? error : damaged((error as Error).message);
  }
  const manifest = parseManifest(Buffer.concat(manifestChunks).toString('utf8'));
  const listed = new Map(manifest.entries.map((entry) => [entry.path, entry]));
  for (const [name, entry] of received) {
    const expected = listed.get(name);
    if (!expected || expected.sha256 !== entry.sha256 || expected.bytes !== entry.bytes)
      throw damaged(`${name} differs from the manifest`);
  }
  for (const name of listed.keys()) if (!received.has(name)) throw damaged(`${name} is missing`);
  await syncPath(join(staging, 'files'));
  await syncPath(staging);
  return manifest;
}

function parseManifest(text: string): ArchiveManifest {
  if (!text) throw damaged('no manifest at its end');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw damaged('the manifest is not JSON');
  }
  const manifest = ArchiveManifest.safeParse(json);
  if (!manifest.success) throw damaged('the manifest is not a Pod owner manifest');
  return manifest.data;
}
