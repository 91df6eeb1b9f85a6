/**
 * Review L10: the data folder is for the Pod's user alone. Owner folders and their files/ folder
 * are 0700; pod.db and its -wal and -shm are 0600, whatever the umask, and an older Pod's looser
 * modes are tightened when the owner is opened.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ownerHash } from '../../src/config.js';
import { Owner, sha256hex, startCli, startPod, stopCli, walkFiles } from '../helpers.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const octal = (value: number) => `0${value.toString(8)}`;

describe('data folder modes', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pod-modes-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  // The in-process Pod runs under the test's umask (typically 022), so modes must be explicit.
  const umask = process.umask(0o022);
  after(() => process.umask(umask));

  test('a new owner: folders 0700, database files 0600', async () => {
    const dataDir = join(scratch, 'fresh');
    const pod = await startPod({ dataDir });
    try {
      const owner = new Owner(pod.url);
      await owner.create({ type: 'Note' });
      const dir = join(dataDir, ownerHash(owner.owner));
      assert.equal(octal(mode(dataDir)), '0700', 'the data folder the Pod created');
      assert.equal(octal(mode(dir)), '0700', 'the owner folder');
      assert.equal(octal(mode(join(dir, 'files'))), '0700', 'the files folder');
      const dbFiles = readdirSync(dir).filter((name) => name.startsWith('pod.db'));
      assert.deepEqual(dbFiles.sort(), ['pod.db', 'pod.db-shm', 'pod.db-wal']);
      for (const name of dbFiles) assert.equal(octal(mode(join(dir, name))), '0600', name);
    } finally {
      await pod.stop();
    }
  });

  test("an older Pod's 0755/0644 owner data is tightened when the owner opens", async () => {
    const dataDir = join(scratch, 'older');
    let pod = await startPod({ dataDir });
    const owner = new Owner(pod.url);
    await owner.create({ type: 'Note' });
    await pod.stop();
    const dir = join(dataDir, ownerHash(owner.owner));
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'files'), 0o755);
    chmodSync(join(dir, 'pod.db'), 0o644);
    pod = await startPod({ dataDir });
    try {
      const reopened = new Owner(pod.url, owner.owner, owner.key);
      await reopened.create({ type: 'Note' });
      assert.equal(octal(mode(dir)), '0700');
      assert.equal(octal(mode(join(dir, 'files'))), '0700');
      for (const name of readdirSync(dir).filter((n) => n.startsWith('pod.db')))
        assert.equal(octal(mode(join(dir, name))), '0600', name);
    } finally {
      await pod.stop();
    }
  });

  test('an uploaded blob is 0600 whatever the umask', async () => {
    const dataDir = join(scratch, 'blobs');
    const pod = await startPod({ dataDir });
    try {
      const owner = new Owner(pod.url);
      const bytes = Buffer.from('a private file');
      await owner.create({ type: 'File', sha256: sha256hex(bytes) });
      assert.equal((await owner.upload(bytes)).status, 200);
      const blobs = walkFiles(join(dataDir, ownerHash(owner.owner), 'files'));
      assert.ok(blobs.length > 0);
      for (const path of blobs) assert.equal(octal(mode(path)), '0600', path);
    } finally {
      await pod.stop();
    }
  });

  test('the CLI writes nothing other users can read, uploaded files included (umask 077)', async () => {
    const dataDir = join(scratch, 'cli');
    const pod = await startCli(dataDir);
    try {
      const owner = new Owner(pod.url);
      const bytes = Buffer.from('a private file');
      await owner.create({ type: 'File', sha256: sha256hex(bytes) });
      const upload = await owner.upload(bytes);
      assert.equal(upload.status, 200, upload.text);
    } finally {
      await stopCli(pod);
    }
    const files = walkFiles(dataDir);
    assert.ok(
      files.some((path) => path.includes('files')),
      'the upload left a blob',
    );
    for (const path of files) assert.equal(octal(mode(path)), '0600', path);
  });
});
