/**
 * `pod backup` and `pod restore`: a consistent copy of every owner of a data folder, taken while the
 * Pod serves, of the files as they are on disk (encrypted database pages, encrypted blobs), so no key
 * is needed. Per owner, under the checkpoint lock the Pod honours (storage/checkpoint-lock.ts): pod.db,
 * which no one writes meanwhile, then pod.db-wal, whose copy is consistent up to its last complete commit
 * (SQLite's recovery ignores a torn or older tail: no half transaction). Then the blobs: a blob is renamed
 * into place before its File record commits and is never changed after, so every blob the copied database
 * knows is already there. The record of owners moved away goes along, so a restored Pod still redirects them
 * instead of making them new, empty databases. A manifest with every entry's size and SHA-256 is written
 * last: a backup without one is incomplete, and restore checks every byte against it before anything is
 * put in place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { HEX_KEY } from '@pod/protocol';
import { PodError } from './errors.js';
import { MOVED_OWNERS_FILE } from './moved-owners.js';
import { holdLock } from './storage/checkpoint-lock.js';
import { syncPath } from './storage/durable.js';

export const MANIFEST = 'manifest.json';
const DATABASE_FILES = ['pod.db', 'pod.db-wal'] as const;
/** How long a backup waits for a Pod's checkpoint of an owner (or another backup) to finish. */
export const LOCK_WAIT_MS = 30_000;

export const Entry = z.object({
  path: z.string(),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
const OwnerEntry = z.object({ hash: z.string().regex(HEX_KEY), entries: z.array(Entry) });
const Manifest = z.object({
  format: z.literal('pod-backup'),
  version: z.literal(1),
  createdAt: z.string(),
  owners: z.array(OwnerEntry),
  /** Files of the data folder itself (the moved-owners record); absent in backups from before. */
  records: z.array(Entry).optional(),
});
export type Manifest = z.infer<typeof Manifest>;
export type Entry = z.infer<typeof Entry>;

/**
 * Reports what is being copied and, for long copies, the bytes so far; `gone`: the owner was deleted
 * (delete_owner) after the backup listed it, so it was skipped.
 */
export type Progress = (event: {
  owner: string;
  index: number;
  owners: number;
  bytes: number;
  done: boolean;
  gone?: true;
}) => void;

/** The owners of a data folder: folders named by a 64-hex owner hash holding a database. */
export function ownersOf(dataDir: string): string[] {
  if (!existsSync(dataDir)) throw new PodError('notFound', `the data folder ${dataDir} does not exist`);
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && HEX_KEY.test(entry.name))
    .filter((entry) => existsSync(join(dataDir, entry.name, 'pod.db')))
    .map((entry) => entry.name)
    .sort();
}

export async function backup(dataDir: string, outDir: string, progress: Progress = () => {}): Promise<Manifest> {
  const owners = ownersOf(dataDir);
  if (owners.length === 0)
    throw new PodError('notFound', `the data folder ${dataDir} holds no owners: nothing to back up`);
  if (existsSync(outDir) && readdirSync(outDir).length > 0)
    throw new PodError('conflict', `${outDir} is not empty: back up into a new or empty folder`);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const manifest: Manifest = { format: 'pod-backup', version: 1, createdAt: new Date().toISOString(), owners: [] };
  for (const [index, hash] of owners.entries()) {
    const report = (bytes: number, done = false) =>
      progress({ owner: hash, index, owners: owners.length, bytes, done });
    let entries: Entry[];
    try {
      entries = await backupOwner(join(dataDir, hash), join(outDir, hash), report);
    } catch (error) {
      // Deleted meanwhile (its folder went with its lock): no one's data any more, so none of it is kept.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(join(dataDir, hash, 'pod.db'))) throw error;
      await rm(join(outDir, hash), { recursive: true, force: true });
      progress({ owner: hash, index, owners: owners.length, bytes: 0, done: true, gone: true });
      continue;
    }
    manifest.owners.push({ hash, entries });
    report(
      entries.reduce((sum, entry) => sum + entry.bytes, 0),
      true,
    );
  }
  // Written whole and renamed into place by the Pod, so the copy is one version of it.
  if (existsSync(join(dataDir, MOVED_OWNERS_FILE)))
    manifest.records = [
      {
        path: MOVED_OWNERS_FILE,
        ...(await copyHashed(join(dataDir, MOVED_OWNERS_FILE), join(outDir, MOVED_OWNERS_FILE))),
      },
    ];
  await writeDurably(join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function backupOwner(from: string, to: string, report: (bytes: number) => void): Promise<Entry[]> {
  await mkdir(join(to, 'files'), { recursive: true, mode: 0o700 });
  const entries: Entry[] = [];
  let copied = 0;
  const copy = async (path: string) => {
    const entry = await copyHashed(join(from, path), join(to, path), (bytes) => report(copied + bytes));
    copied += entry.bytes;
    entries.push({ path, ...entry });
  };
  const release = await holdLock(from, LOCK_WAIT_MS);
  try {
    for (const path of DATABASE_FILES) if (existsSync(join(from, path))) await copy(path);
  } finally {
    release();
  }
  const filesDir = join(from, 'files');
  const blobs = existsSync(filesDir)
    ? readdirSync(filesDir, { withFileTypes: true }).filter(
        (entry) => entry.isFile() && !entry.name.endsWith('.partial'),
      )
    : [];
  for (const blob of blobs) await copy(join('files', blob.name));
  return entries;
}

/** A pass-through that hashes and counts what flows through it; `onBytes` hears the bytes so far. */
export function hashingMeter(onBytes: (bytes: number) => void = () => {}) {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(bytes);
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** Copies one file, hashing it on the way, and syncs the copy; `onBytes` hears the bytes copied so far. */
async function copyHashed(
  from: string,
  to: string,
  onBytes: (bytes: number) => void = () => {},
): Promise<{ bytes: number; sha256: string }> {
  const meter = hashingMeter(onBytes);
  await pipeline(createReadStream(from), meter.stream, createWriteStream(to, { flags: 'wx', mode: 0o600 }));
  await syncPath(to);
  return meter.result();
}

async function writeDurably(path: string, text: string) {
  await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  await syncPath(path);
}

/** A backup's manifest, or a 4xx-kind error saying why the folder is not a complete backup. */
export async function readManifest(fromDir: string): Promise<Manifest> {
  if (!existsSync(fromDir)) throw new PodError('notFound', `the backup folder ${fromDir} does not exist`);
  let text: string;
  try {
    text = await readFile(join(fromDir, MANIFEST), 'utf8');
  } catch {
    throw new PodError('invalid', `${fromDir} has no ${MANIFEST}: not a backup, or one that did not finish`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PodError('invalid', `${fromDir}/${MANIFEST} is not JSON: the backup is damaged`);
  }
  const manifest = Manifest.safeParse(json);
  if (!manifest.success) throw new PodError('invalid', `${fromDir}/${MANIFEST} is not a Pod backup manifest`);
  for (const owner of manifest.data.owners)
    for (const entry of owner.entries)
      if (!/^(pod\.db(-wal)?|files\/[0-9a-zA-Z._-]+)$/.test(entry.path) || entry.path.includes('..'))
        throw new PodError('invalid', `${fromDir}/${MANIFEST} names an unexpected file ${entry.path}`);
  for (const record of manifest.data.records ?? [])
    if (record.path !== MOVED_OWNERS_FILE)
      throw new PodError('invalid', `${fromDir}/${MANIFEST} names an unexpected file ${record.path}`);
  return manifest.data;
}

/**
 * Puts a backup into an empty (or new) data folder. Every file is copied into a temporary folder inside it
 * and checked against the manifest; only when all match are the owners renamed into place, so a damaged
 * backup leaves the data folder as it was. The Pod should not be serving that folder meanwhile.
 */
export async function restore(fromDir: string, dataDir: string, progress: Progress = () => {}): Promise<Manifest> {
  const manifest = await readManifest(fromDir);
  const created = !existsSync(dataDir);
  if (!created && readdirSync(dataDir).length > 0)
    throw new PodError(
      'conflict',
      `${dataDir} is not empty: restore only into a new or empty data folder (stop the Pod and move the old one aside)`,
    );
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const staging = join(dataDir, `.restore-${randomBytes(6).toString('hex')}`);
  try {
    for (const [index, owner] of manifest.owners.entries()) {
      const target = join(staging, owner.hash);
      await mkdir(join(target, 'files'), { recursive: true, mode: 0o700 });
      let copied = 0;
      for (const entry of owner.entries) {
        const source = join(fromDir, owner.hash, entry.path);
        if (!existsSync(source)) throw new PodError('invalid', `the backup lacks ${owner.hash}/${entry.path}`);
        const copy = await copyHashed(source, join(target, entry.path), (bytes) =>
          progress({ owner: owner.hash, index, owners: manifest.owners.length, bytes: copied + bytes, done: false }),
        );
        if (copy.bytes !== entry.bytes || copy.sha256 !== entry.sha256)
          throw new PodError('invalid', `${owner.hash}/${entry.path} in the backup is damaged (its SHA-256 differs)`);
        copied += copy.bytes;
      }
      progress({ owner: owner.hash, index, owners: manifest.owners.length, bytes: copied, done: true });
    }
    for (const record of manifest.records ?? []) {
      if (!existsSync(join(fromDir, record.path))) throw new PodError('invalid', `the backup lacks ${record.path}`);
      const copy = await copyHashed(join(fromDir, record.path), join(staging, record.path));
      if (copy.bytes !== record.bytes || copy.sha256 !== record.sha256)
        throw new PodError('invalid', `${record.path} in the backup is damaged (its SHA-256 differs)`);
    }
    for (const owner of manifest.owners) await rename(join(staging, owner.hash), join(dataDir, owner.hash));
    for (const record of manifest.records ?? []) await rename(join(staging, record.path), join(dataDir, record.path));
    await syncPath(dataDir);
  } catch (error) {
    if (created) await rm(dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return manifest;
}
