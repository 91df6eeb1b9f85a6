/**
 * An owner moved between two Pod processes (`pod move`) while clients write and a live feed listens
 * (issue 15 part 3): every acknowledged write is on the new Pod exactly once, the feed, which the old
 * Pod ends, reconnects there through the 307 and misses nothing, uploads follow, and every client
 * now calls the new Pod directly.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { File, Label, LiveFeed, PodClient } from '@pod/client';
import { ownerHash } from '@pod/server';
import { runPodMove, startPodProcess, type PodProcess } from '@pod/server/testing';

const WRITERS = 4;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('pod move under load', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-move-load-'));
  const secretFile = path.join(folder, 'secret');
  fs.writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  let source: PodProcess;
  let target: PodProcess;
  before(async () => {
    source = await startPodProcess(path.join(folder, 'source'));
    target = await startPodProcess(path.join(folder, 'target'), ['--accept-moves-secret-file', secretFile]);
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('loses no acknowledged write, duplicates none, and the live feed misses nothing', async () => {
    const first = new PodClient({ url: source.url });
    await first.addToSchema(Label, File);
    const keys = { ownerKey: first.ownerKey, databaseKey: first.databaseKey };
    const clients = Array.from({ length: WRITERS }, () => new PodClient({ url: source.url, ...keys }));

    const seen = new Map<string, number>();
    const feed = new LiveFeed(first, {
      from: 0,
      onPage: (page) => {
        for (const item of page.items) seen.set(item.id, (seen.get(item.id) ?? 0) + 1);
      },
    });
    feed.start();

    const acknowledged: { id: string; name: string }[] = [];
    const failures: unknown[] = [];
    let writing = true;
    const writers = clients.map(async (client, w) => {
      for (let n = 0; writing; n++) {
        const name = `writer ${w} write ${n}`;
        try {
          const label = await client.create(new Label({ name }));
          acknowledged.push({ id: label.id, name });
        } catch (error) {
          failures.push(error);
        }
      }
    });
    const uploaded: Uint8Array[] = [];
    const uploader = (async () => {
      const client = new PodClient({ url: source.url, ...keys });
      while (writing) {
        const bytes = randomBytes(50_000);
        await client.uploadFile(bytes);
        uploaded.push(bytes);
      }
    })();

    const until = async (done: () => boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(() => acknowledged.length >= 200 && uploaded.length >= 3, 'writes before the move');
    const moved = await runPodMove(path.join(folder, 'source'), {
      owner: ownerHash(first.ownerKey),
      to: target.url,
      secretFile,
    });
    assert.equal(moved.code, 0, moved.output);
    const afterMove = acknowledged.length;
    await until(() => acknowledged.length >= afterMove + 200, 'writes after the move');
    writing = false;
    await Promise.all([...writers, uploader]);
    assert.deepEqual(failures, [], 'a write failed');

    // Every client now calls the new Pod, streamed uploads included.
    for (const client of [first, ...clients]) assert.equal(client.url, target.url);
    const streamed = randomBytes(20_000);
    await first.uploadFile(new Blob([streamed]).stream(), { sha256: sha256(streamed) });

    const onTarget = new PodClient({ url: target.url, ...keys });
    const stored = new Map<string, number>();
    for await (const { name } of onTarget.iterate(Label)) stored.set(`${name}`, (stored.get(`${name}`) ?? 0) + 1);
    const lost = acknowledged.filter(({ name }) => !stored.has(name));
    const duplicated = [...stored].filter(([, count]) => count > 1);
    assert.deepEqual(lost, [], 'acknowledged writes lost');
    assert.deepEqual(duplicated, [], 'writes duplicated');
    for (const bytes of [...uploaded, streamed])
      assert.deepEqual(await onTarget.getFile(sha256(bytes)), new Uint8Array(bytes));

    await until(() => acknowledged.every(({ id }) => seen.has(id)), 'the live feed to see every write');
    await feed.stop();
    const twice = [...seen].filter(([id, count]) => count > 1 && acknowledged.some((write) => write.id === id));
    assert.deepEqual(twice, [], 'the live feed delivered a write twice');
    console.log(
      `# ${acknowledged.length} writes (${afterMove} before the move ended), ${uploaded.length} uploads; ${moved.output.trim()}`,
    );
  });
});

describe('following a moved owner', () => {
  /** A server that answers every request with 307 to `location(path)`. */
  async function redirecting(location: (path: string) => string) {
    const { createServer } = await import('node:http');
    const server = createServer((request, response) => {
      request.resume();
      response.writeHead(307, { location: location(request.url ?? '/') }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('follows at most a few hops, and only to http(s)', async () => {
    const loop = await redirecting((path) => path);
    const scheme = await redirecting(() => 'file:///etc/passwd');
    try {
      const looping = new PodClient({ url: loop.url, retries: 0 });
      await assert.rejects(looping.version(), /redirected more than 5 times/);
      const filed = new PodClient({ url: scheme.url, retries: 0 });
      await assert.rejects(filed.search({ type: 'Label' }), /redirected to a file: URL; only http\(s\) is followed/);
    } finally {
      await loop.close();
      await scheme.close();
    }
  });

  it('a streamed upload that meets the 307 says where the owner went, and the client goes there next', async () => {
    const moved = await redirecting((path) => `http://127.0.0.1:9${path}`);
    try {
      const client = new PodClient({ url: moved.url });
      const bytes = randomBytes(1_000);
      const stream = new Blob([bytes]).stream();
      const upload = client.transport.post(
        `upload_file/${client.databaseKey}/${sha256(bytes)}`,
        'upload_file',
        { body: stream, duplex: 'half' } as RequestInit,
        'never',
        (response) => response.arrayBuffer(),
      );
      await assert.rejects(upload, /the owner moved to http:\/\/127\.0\.0\.1:9; a streamed body cannot be sent twice/);
      assert.equal(client.url, 'http://127.0.0.1:9');
    } finally {
      await moved.close();
    }
  });
});
