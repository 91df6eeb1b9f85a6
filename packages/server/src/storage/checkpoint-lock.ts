/**
 * The lock that keeps an owner's raw database files still while `pod backup` copies them. In WAL mode
 * SQLite writes pod.db only when it checkpoints (automatically, or when the last connection closes), so
 * the Pod takes this lock around every checkpoint and close, and the backup holds it while it copies
 * pod.db and then pod.db-wal. The lock is a file created with O_EXCL in the owner's folder (atomic on
 * a local file system, needs no key and no native module); a long holder refreshes its mtime, so a lock
 * left behind by a crashed holder is broken once it is older than STALE_MS.
 */
import { closeSync, openSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PodError } from '../errors.js';

export const LOCK_FILE = 'checkpoint.lock';
/** A lock not refreshed for this long belongs to a holder that died: the Pod holds it for one checkpoint only. */
export const STALE_MS = 60_000;
/** How often a long holder (a backup) refreshes its lock. */
const REFRESH_MS = STALE_MS / 4;

const lockPath = (ownerDir: string) => join(ownerDir, LOCK_FILE);

/** Takes the owner's lock if it is free (or stale): true when this caller now holds it. */
export function tryLock(ownerDir: string): boolean {
  const path = lockPath(ownerDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!breakStale(path)) return false;
    }
  }
  return false;
}

/** Takes the lock, waiting (synchronously, in short naps) while another holder has it; false after `waitMs`. */
export function lockWaiting(ownerDir: string, waitMs: number): boolean {
  const until = Date.now() + waitMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!tryLock(ownerDir)) {
    if (Date.now() > until) return false;
    Atomics.wait(nap, 0, 0, 20);
  }
  return true;
}

/** Takes the lock for a long holder (a backup, an export), waiting in timer naps; refreshes it until `unlock`. */
export async function holdLock(ownerDir: string, waitMs: number): Promise<() => void> {
  const until = Date.now() + waitMs;
  while (!tryLock(ownerDir)) {
    if (Date.now() > until)
      throw new PodError(
        'unavailable',
        `the owner's ${LOCK_FILE} stayed taken for ${waitMs / 1000} s (another backup or export?); try again later`,
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const refresher = setInterval(() => refreshLock(ownerDir), REFRESH_MS);
  return () => {
    clearInterval(refresher);
    unlock(ownerDir);
  };
}

export function unlock(ownerDir: string) {
  rmSync(lockPath(ownerDir), { force: true });
}

/** Tells other parties the holder is alive (call every REFRESH_MS while holding). */
function refreshLock(ownerDir: string) {
  const now = new Date();
  utimesSync(lockPath(ownerDir), now, now);
}

/** Removes a stale lock by renaming it aside first, so of two parties breaking it only one succeeds. */
function breakStale(path: string): boolean {
  let modified: number;
  try {
    modified = statSync(path).mtimeMs;
  } catch {
    return true; // released meanwhile
  }
  if (Date.now() - modified < STALE_MS) return false;
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}
