/**
 * One owner's archive (issue 15 part 2): `POST /v4/<owner>/export` streams the owner's encrypted database and
 * files with a manifest; `POST /v4/<owner>/import` installs it on another Pod, only for an owner with no data
 * and only when the archive is whole, the owner's own and opens with the key; `pod export` / `pod import` do
 * the same for an operator. A refused import leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { defaultConfig, ownerHash } from '../src/config.js';
import {
  Owner,
  cliPath,
  randomKey,
  sha256hex,
  startCli,
  startPod,
  stopCli,
  toReply,
  type RunningPod,
} from './helpers.js';

const exportOf = async (owner: Owner) => {
  const res = await fetch(`${owner.url}/v4/${owner.owner}/export`, {
    method: 'POST',
    body: JSON.stringify({ auth: owner.auth, payload: {} }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/x-tar');
  return Buffer.from(await res.arrayBuffer());
};

const importInto = (url: string, ownerKey: string, databaseKey: string | undefined, archive: Uint8Array) =>
  fetch(`${url}/v4/${ownerKey}/import`, {
    method: 'POST',
    headers: databaseKey ? { authorization: `Bearer ${databaseKey}` } : {},
    body: archive as unknown as RequestInit['body'],
  }).then(toReply);

/** An import sent as chunks with no Content-Length (chunked transfer encoding): status and error body. */
function chunkedImport(url: string, databaseKey: string, chunks: Buffer[]): Promise<{ status?: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${databaseKey}` } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

/** The archive's entries by name. */
async function entriesOf(archive: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  Readable.from([archive]).pipe(extract);
  const entries = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, Buffer.concat(chunks));
  }
  return entries;
}

/** Runs `pod <args>` to its end. */
function pod(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliPath(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

/** Nothing of an owner, and no staging folder, in a Pod's data folder. */
const leftNothing = (dataDir: string, ownerKey: string) => {
  assert.equal(fs.existsSync(path.join(dataDir, ownerHash(ownerKey))), false, 'the owner folder exists');
  assert.deepEqual(
    fs.readdirSync(dataDir).filter((name) => name.startsWith('.import-')),
    [],
    'a staging folder was left behind',
  );
};

describe('export and import of one owner', () => {
  let source: RunningPod;
  let target: RunningPod;
  let owner: Owner;
  let archive: Buffer;
  const marker = `plaintext-marker-${randomBytes(8).toString('hex')}`;
  const fileBytes = Buffer.concat([Buffer.from(marker), randomBytes(300_000)]);
  before(async () => {
    source = await startPod();
    target = await startPod();
    owner = new Owner(source.url);
    await owner.declare(['note', 'Text']);
    await owner.ok('bulk', {
      createItems: Array.from({ length: 50 }, (_, n) => ({ type: 'Note', note: `${marker} ${n}` })),
    });
    await owner.create({ type: 'File', sha256: sha256hex(fileBytes) });
    assert.equal((await owner.upload(fileBytes)).status, 200);
    archive = await exportOf(owner);
  });
  after(async () => {
    await source?.close();
    await target?.close();
  });

  test('the archive holds the encrypted database and files and a manifest of counts and hashes, no plaintext', async () => {
    assert.equal(archive.includes(marker), false, 'an item or file is in plaintext in the archive');
    assert.equal(archive.includes(owner.key), false, 'the database key is in the archive');
    const entries = await entriesOf(archive);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString());
    assert.equal(manifest.owner, ownerHash(owner.owner));
    assert.equal(manifest.counts.files, 1);
    for (const entry of manifest.entries) assert.equal(sha256hex(entries.get(entry.path)!), entry.sha256, entry.path);
    assert.deepEqual(
      [...entries.keys()].sort(),
      [...manifest.entries.map((e: { path: string }) => e.path), 'manifest.json'].sort(),
    );
  });

  test('imported into another Pod, the owner reads every item and file with the same keys', async () => {
    const reply = await importInto(target.url, owner.owner, owner.key, archive);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.files, 1);
    const there = new Owner(target.url, owner.owner, owner.key);
    assert.equal((await there.search({ type: 'Note' })).length, 50);
    const file = await there.getFile(sha256hex(fileBytes));
    assert.equal(file.status, 200);
    assert.equal(sha256hex(file.bytes), sha256hex(fileBytes));
    // and a second import is refused: the owner has data now
    const again = await importInto(target.url, owner.owner, owner.key, archive);
    assert.equal(again.status, 409, again.text);
    assert.match(again.body.message, /already has data/);
    assert.equal((await there.search({ type: 'Note' })).length, 50);
  });

  test('a truncated, damaged or foreign archive, a wrong key or no key: 4xx, and nothing is left', async () => {
    const fresh = randomKey();
    const refusals: [string, string | undefined, Uint8Array, number, RegExp][] = [
      ['truncated', owner.key, archive.subarray(0, Math.floor(archive.length / 2)), 400, /damaged or truncated/],
      [
        'cut before its manifest',
        owner.key,
        archive.subarray(0, archive.lastIndexOf(Buffer.from('manifest.json'))),
        400,
        /damaged or truncated/,
      ],
      ['not a tar', owner.key, Buffer.from('hello'), 400, /damaged or truncated/],
      ['no key', undefined, archive, 400, /Authorization: Bearer/],
    ];
    const damaged = Buffer.from(archive);
    const middle = damaged.indexOf(Buffer.from('pod.db')) + 4096;
    damaged[middle] = (damaged[middle] ?? 0) ^ 0xff;
    refusals.push(['a flipped byte', owner.key, damaged, 400, /differs from the manifest/]);
    for (const [what, key, body, status, message] of refusals) {
      const reply = await importInto(target.url, fresh, key, body);
      assert.equal(reply.status, status, `${what}: ${reply.text}`);
      assert.match(reply.body.message, message, what);
      leftNothing(target.dataDir, fresh);
    }
    // another owner's archive, with the right key for its database: still refused
    const foreign = await importInto(target.url, fresh, owner.key, archive);
    assert.equal(foreign.status, 400, foreign.text);
    assert.match(foreign.body.message, /not this owner's/);
    leftNothing(target.dataDir, fresh);
    // the owner's archive with a wrong database key
    const third = await startPod();
    try {
      const wrong = await importInto(third.url, owner.owner, randomKey(), archive);
      assert.equal(wrong.status, 401, wrong.text);
      assert.match(wrong.body.message, /does not open with this database key/);
      leftNothing(third.dataDir, owner.owner);
    } finally {
      await third.close();
    }
  });

  test('an archive over --max-import-bytes gets 413, by its Content-Length or as it streams; nothing is kept', async () => {
    const withLimit = (maxImportBytes: number) => startPod({ limits: { ...defaultConfig().limits, maxImportBytes } });
    const small = await withLimit(archive.length - 1);
    try {
      const declared = await importInto(small.url, owner.owner, owner.key, archive);
      assert.equal(declared.status, 413, declared.text);
      assert.match(
        declared.body.message,
        new RegExp(`import limit of ${archive.length - 1} bytes \\(--max-import-bytes\\)`),
      );
      leftNothing(small.dataDir, owner.owner);
      // sent in chunks with no Content-Length: the Pod counts the bytes as they come
      const chunks = [archive.subarray(0, 64 * 1024), archive.subarray(64 * 1024)];
      const streamed = await chunkedImport(`${small.url}/v4/${owner.owner}/import`, owner.key, chunks);
      assert.equal(streamed.status, 413, JSON.stringify(streamed.body));
      assert.match(streamed.body.message, /--max-import-bytes/);
      leftNothing(small.dataDir, owner.owner);
      // the Pod goes on serving on the same terms
      assert.equal((await new Owner(small.url).call('get_item', 'missing')).status, 200);
    } finally {
      await small.close();
    }
    const exact = await withLimit(archive.length);
    try {
      const reply = await importInto(exact.url, owner.owner, owner.key, archive);
      assert.equal(reply.status, 200, reply.text);
    } finally {
      await exact.close();
    }
  });

  test('pod export and pod import do the same for an operator by owner hash, the Pod serving', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-export-'));
    const restored = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-import-'));
    const live = await startCli(dataDir);
    try {
      const other = new Owner(live.url);
      await other.declare(['note', 'Text']);
      await other.create({ type: 'Note', note: marker });
      const hash = ownerHash(other.owner);
      const file = path.join(restored, 'owner.tar');
      let result = await pod(['export', '--data-dir', dataDir, '--owner', hash, '--out', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(fs.readFileSync(file).includes(marker), false);
      const into = path.join(restored, 'data');
      result = await pod(['import', '--data-dir', into, '--owner', randomKey(), '--from', file]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /not this owner's/);
      result = await pod(['import', '--data-dir', into, '--owner', hash, '--from', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /imported owner/);
      result = await pod(['import', '--data-dir', into, '--owner', hash, '--from', file]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /already has data/);
      await stopCli(live);
      const copy = await startCli(into);
      try {
        const notes = await new Owner(copy.url, other.owner, other.key).search({ type: 'Note' });
        assert.equal(notes[0]?.note, marker);
      } finally {
        await stopCli(copy);
      }
    } finally {
      await stopCli(live);
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(restored, { recursive: true, force: true });
    }
  });
});
