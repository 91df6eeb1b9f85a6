/**
 * fsync, for what a crash or a power loss must not undo: a file's bytes before an answer says they are
 * stored, and a folder after a rename into it (the new name is only durable once the folder is synced).
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** fsync of a file (its data) or a folder (the names renamed into it). */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `syncPath` for the few writes made synchronously (a small record written whole and renamed). */
export function syncPathNow(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
