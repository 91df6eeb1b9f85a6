/**
 * What an answer says is stored must outlive a power loss, not only a crash of the process: an owner
 * imported or moved in has every file fsynced before the answer (a move's source deletes its copy once
 * the target has answered), then the folder renamed into (a new name is durable only once its folder is
 * synced); the record of moved owners likewise. Watched by recording the path of every fsync made.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, mock, test } from 'node:test';
import { MovedOwners } from '../src/moved-owners.js';
import { importOwner, packOwner } from '../src/owner-archive.js';

/** Paths fsynced from now on, in order (node:fs's and node:fs/promises' calls, wrapped). */
function recordSyncs(): string[] {
  const synced: string[] = [];
  const open = fsPromises.open;
  mock.method(fsPromises, 'open', async (file: string, ...rest: [string?]) => {
    const handle = await open(file, ...rest);
    const sync = handle.sync.bind(handle);
    handle.sync = () => {
      synced.push(file);
      return sync();
    };
    return handle;
  });
  const paths = new Map<number, string>();
  const openSync = fs.openSync;
  mock.method(fs, 'openSync', (file: string, flags = 'r') => {
    const fd = openSync(file, flags);
    paths.set(fd, file);
    return fd;
  });
  const fsyncSync = fs.fsyncSync;
  mock.method(fs, 'fsyncSync', (fd: number) => {
    synced.push(paths.get(fd) ?? `fd ${fd}`);
    fsyncSync(fd);
  });
  syncBuiltinESMExports();
  return synced;
}

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

const folder = () => fs.mkdtempSync(path.join(os.tmpdir(), 'pod-durable-'));
const HASH = 'ab'.repeat(32);

test('an imported owner: every file is synced, then the data folder it was renamed into', async () => {
  const owner = folder();
  fs.mkdirSync(path.join(owner, 'files'));
  for (const name of ['pod.db', 'pod.db-wal', 'files/blob-1', 'files/blob-2'])
    fs.writeFileSync(path.join(owner, name), randomBytes(10_000));
  const dataDir = folder();

  const synced = recordSyncs();
  await importOwner(packOwner(owner, HASH, { database: true, wal: true, takeLock: false }).archive, dataDir, HASH);

  for (const name of ['pod.db', 'pod.db-wal', 'files/blob-1', 'files/blob-2'])
    assert.ok(
      synced.some((file) => file.endsWith(`/${name}`)),
      `${name} was not synced: ${synced.join(', ')}`,
    );
  assert.equal(synced.at(-1), dataDir, 'the data folder is synced last, after the rename into it');
  assert.deepEqual(fs.readdirSync(dataDir), [HASH]);
});

test('the record of moved owners is synced before its rename, and its folder after', () => {
  const dataDir = folder();
  const moved = new MovedOwners(dataDir);
  const synced = recordSyncs();
  moved.record(HASH, 'https://pod2.example');
  assert.deepEqual(synced, [path.join(dataDir, 'moved-owners.json.partial'), dataDir]);
  assert.equal(new MovedOwners(dataDir).to(HASH), 'https://pod2.example');
});
