/**
 * Review finding M5: a blob changed on disk must never download as a complete 200. Each attack
 * alters an uploaded file's blob the way someone with write access to the data folder could, then
 * downloads it over real HTTP: the answer is an error, or a body cut short that holds only authentic
 * bytes. Files stored by the Pod before segmented blobs (a fixture data folder) still read, and
 * a tampered one of those does not complete either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ownerHash } from '../../src/config.js';
import { SEGMENT_BYTES, TAG_BYTES } from '../../src/storage/files.js';
import { Owner, sha256hex, startCli, startPod, stopCli, timeout, usePod, walkFiles } from '../helpers.js';

const SEGMENT = SEGMENT_BYTES;
const TAG = TAG_BYTES;
const SEALED = SEGMENT + TAG;
/** 13 segments, the last one short: MiBs go out before a late segment is reached. */
const SIZE = 12 * SEGMENT + 1000;

interface Download {
  status: number;
  declared: number;
  bytes: Buffer;
  /** Why reading the body failed, when it did. */
  failure?: Error;
}

/** get_file, reading the body as far as it goes. */
async function download(url: string, owner: string, auth: unknown, sha256: string): Promise<Download> {
  const res = await fetch(`${url}/v4/${owner}/get_file`, {
    method: 'POST',
    body: JSON.stringify({ auth, payload: { sha256 } }),
    signal: timeout(),
  });
  const declared = Number(res.headers.get('content-length') ?? -1);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res.body!) chunks.push(Buffer.from(chunk));
  } catch (error) {
    return { status: res.status, declared, bytes: Buffer.concat(chunks), failure: error as Error };
  }
  return { status: res.status, declared, bytes: Buffer.concat(chunks) };
}

/** Not a complete 200: an error status, or a body that failed before its declared length. */
function assertIncomplete(got: Download, original: Buffer) {
  if (got.status === 200) {
    assert.ok(got.failure, `a 200 body of ${got.bytes.length} bytes was read to its end`);
    assert.ok(got.bytes.length < original.length, 'cut short');
  } else {
    assert.equal(got.status, 500);
    assert.match(got.bytes.toString(), /fails its integrity check/);
  }
}

/** The one blob of an owner who stored one file. */
function blobOf(dataDir: string, owner: string): string {
  const [blob, ...others] = walkFiles(join(dataDir, ownerHash(owner), 'files'));
  assert.ok(blob && others.length === 0);
  return blob;
}

const flip = (at: (blob: Buffer) => number) => (blob: Buffer) => {
  blob[at(blob)]! ^= 0x01;
  return blob;
};

/** Ways to alter a segmented blob of SIZE bytes (13 segments). */
const attacks: Record<string, (blob: Buffer) => Buffer> = {
  'a flipped byte in the first segment': flip(() => 5),
  'a flipped byte in a middle segment': flip(() => 6 * SEALED + 100),
  'a flipped byte in the last segment': flip(() => 12 * SEALED + 10),
  'a flipped bit in a middle tag': flip(() => 8 * SEALED - 1),
  'a flipped bit in the last tag': flip((blob) => blob.length - 1),
  'the blob cut mid-segment': (blob) => blob.subarray(0, 7 * SEALED + 777),
  'the blob cut at a segment boundary (last segment dropped)': (blob) => blob.subarray(0, 12 * SEALED),
  'the last tag cut off': (blob) => blob.subarray(0, blob.length - TAG),
  'two segments swapped': (blob) =>
    Buffer.concat([
      blob.subarray(0, 5 * SEALED),
      blob.subarray(6 * SEALED, 7 * SEALED),
      blob.subarray(5 * SEALED, 6 * SEALED),
      blob.subarray(7 * SEALED),
    ]),
  'a middle segment dropped': (blob) => Buffer.concat([blob.subarray(0, 5 * SEALED), blob.subarray(6 * SEALED)]),
  'a segment appended': (blob) => Buffer.concat([blob, blob.subarray(0, SEALED)]),
};

describe('tampered files (M5)', () => {
  const pod = usePod();

  async function stored(size = SIZE) {
    const owner = new Owner(pod().url);
    const bytes = randomBytes(size);
    const sha256 = sha256hex(bytes);
    await owner.create({ type: 'File', sha256 });
    assert.equal((await owner.upload(bytes)).status, 200);
    return { owner, bytes, sha256, blob: blobOf(pod().dataDir, owner.owner) };
  }

  test('an untouched file downloads byte-exact; its blob is segments, readable by its owner only', async () => {
    const { owner, bytes, sha256, blob } = await stored();
    const got = await download(owner.url, owner.owner, owner.auth, sha256);
    assert.equal(got.status, 200);
    assert.equal(got.failure, undefined);
    assert.ok(got.bytes.equals(bytes), 'byte-exact');
    assert.equal(statSync(blob).size, SIZE + 13 * TAG, 'one tag per segment');
    // The blob is its .partial renamed: the mode it was created with.
    assert.equal(statSync(blob).mode & 0o777, 0o600);
  });

  test('an empty file and one of exactly one segment round-trip', async () => {
    for (const size of [0, SEGMENT, 2 * SEGMENT]) {
      const { owner, bytes, sha256 } = await stored(size);
      const got = await download(owner.url, owner.owner, owner.auth, sha256);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(bytes), `${size} bytes`);
    }
  });

  for (const [name, alter] of Object.entries(attacks)) {
    test(`${name}: never a complete 200, and no altered byte goes out`, async () => {
      const { owner, bytes, sha256, blob } = await stored();
      writeFileSync(blob, alter(readFileSync(blob)));
      const got = await download(owner.url, owner.owner, owner.auth, sha256);
      assertIncomplete(got, bytes);
      if (got.status === 200)
        assert.ok(bytes.subarray(0, got.bytes.length).equals(got.bytes), 'what went out is authentic');
    });
  }

  test('a tampered file in the middle of a download cuts the 200 short after the authentic segments', async () => {
    const { owner, bytes, sha256, blob } = await stored();
    writeFileSync(blob, flip(() => 10 * SEALED + 3)(readFileSync(blob)));
    const got = await download(owner.url, owner.owner, owner.auth, sha256);
    assert.equal(got.status, 200);
    assert.equal(got.declared, SIZE);
    assert.ok(got.failure, 'the body read fails');
    assert.ok(got.bytes.length <= 10 * SEGMENT, `${got.bytes.length} bytes, none of segment 10`);
    assert.ok(bytes.subarray(0, got.bytes.length).equals(got.bytes));
  });

  test('a one-segment file that fails its check is a 500 saying so, with nothing of it sent', async () => {
    const { owner, sha256, blob } = await stored(1000);
    writeFileSync(blob, flip(() => 5)(readFileSync(blob)));
    const got = await download(owner.url, owner.owner, owner.auth, sha256);
    assert.equal(got.status, 500);
    assert.match(
      JSON.parse(got.bytes.toString()).message,
      new RegExp(`stored file ${sha256} .* fails its integrity check`),
    );
  });
});

describe('files stored before segmented blobs', () => {
  /** The fixture made by make.mjs with the Pod before this format (layout 3): one 200,000-byte file. */
  const fixtureUrl = new URL('../../../test/fixtures/legacy-files/', import.meta.url);

  async function oldPod() {
    const fixture = (await import(new URL('make.mjs', fixtureUrl).href)) as {
      OWNER: string;
      DATABASE_KEY: string;
      legacyBytes: () => Buffer;
    };
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-legacy-'));
    cpSync(new URL('old-pod', fixtureUrl), dataDir, { recursive: true });
    const running = await startPod({ dataDir });
    const owner = new Owner(running.url, fixture.OWNER, fixture.DATABASE_KEY);
    const bytes = fixture.legacyBytes();
    return { running, owner, bytes, sha256: sha256hex(bytes), blob: blobOf(dataDir, fixture.OWNER) };
  }

  test('an old blob still downloads byte-exact, and the owner stores new files as segments', async () => {
    const { running, owner, bytes, sha256 } = await oldPod();
    try {
      const got = await download(owner.url, owner.owner, owner.auth, sha256);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(bytes), 'byte-exact');
      const fresh = randomBytes(3 * SEGMENT);
      await owner.create({ type: 'File', sha256: sha256hex(fresh) });
      assert.equal((await owner.upload(fresh)).status, 200);
      assert.ok((await download(owner.url, owner.owner, owner.auth, sha256hex(fresh))).bytes.equals(fresh));
      const sizes = walkFiles(join(running.dataDir, ownerHash(owner.owner), 'files')).map(
        (path) => statSync(path).size,
      );
      assert.deepEqual(
        sizes.sort((a, b) => a - b),
        [bytes.length, 3 * SEGMENT + 3 * TAG],
      );
    } finally {
      await running.close();
    }
  });

  const oldAttacks: Record<string, (blob: Buffer) => Buffer> = {
    'a flipped byte at the start': flip(() => 5),
    'a flipped byte in the last chunk': flip((blob) => blob.length - 3),
    'the blob cut short': (blob) => blob.subarray(0, 150_000),
  };
  for (const [name, alter] of Object.entries(oldAttacks)) {
    test(`an old blob with ${name} never completes as a 200 (its last 64 KiB are held back until the tag verifies)`, async () => {
      const { running, owner, bytes, sha256, blob } = await oldPod();
      try {
        writeFileSync(blob, alter(readFileSync(blob)));
        assertIncomplete(await download(owner.url, owner.owner, owner.auth, sha256), bytes);
      } finally {
        await running.close();
      }
    });
  }
});

test('the Pod logs a failed integrity check with the owner hash and sha256, and no key', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-tamper-log-'));
  const cli = await startCli(dataDir, ['--log-level', 'warn']);
  try {
    const owner = new Owner(cli.url);
    const bytes = randomBytes(SIZE);
    const sha256 = sha256hex(bytes);
    await owner.create({ type: 'File', sha256 });
    assert.equal((await owner.upload(bytes)).status, 200);
    const blob = blobOf(dataDir, owner.owner);
    writeFileSync(blob, flip(() => 10 * SEALED)(readFileSync(blob)));
    assertIncomplete(await download(owner.url, owner.owner, owner.auth, sha256), bytes);
    const deadline = Date.now() + 5_000;
    while (!cli.output().includes('fails its integrity check') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const line = cli
      .output()
      .split('\n')
      .find((entry) => entry.includes('fails its integrity check'));
    assert.ok(line, cli.output());
    assert.equal(JSON.parse(line).level, 40, 'a warning');
    assert.ok(line.includes(ownerHash(owner.owner)) && line.includes(sha256));
    assert.ok(
      !cli.output().includes(owner.key) && !cli.output().includes(owner.owner),
      'no database key or owner key in the log',
    );
  } finally {
    await stopCli(cli);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
