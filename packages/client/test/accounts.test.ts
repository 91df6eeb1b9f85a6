/** The 2023 additions in the client: account registration, deleting edges and files, `_offset`, and sync in account mode. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { File, MemoryStore, PodClient, PodError, SyncEngine, defineItem } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

class Note extends defineItem('Note', { title: 'Text' }) {}
class Chain extends defineItem('Chain', { title: 'Text' }, { next: () => Note, also: () => Note }) {}

let pod: TestPod;
before(async () => (pod = await startPod()));
after(() => pod.close());

/** A client of a new owner with an account: its Pod hides deleted items from reads. */
async function registered(): Promise<PodClient> {
  const client = new PodClient({ url: pod.url });
  assert.equal(await client.registerAccount(), true);
  await client.addToSchema(Note, File);
  return client;
}

const rejection = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof PodError, `expected a PodError, got ${String(error)}`);
  return error;
};

describe('registerAccount', () => {
  it('registers once (true), then answers false; deleted items are gone from reads from then on', async () => {
    const client = new PodClient({ url: pod.url });
    await client.addToSchema(Note);
    const note = await client.create(new Note({ title: 'gone soon' }));
    await client.delete(note);
    assert.equal((await client.get(note.id)).deleted, true, 'before: legacy mode');
    assert.equal(await client.registerAccount(), true);
    assert.equal(await client.registerAccount(), false, 'a second registration is not an error');
    assert.equal((await rejection(client.get(note.id))).status, 404);
    assert.deepEqual(await client.search(Note), []);
    assert.equal((await client.search(Note, { deleted: true })).length, 1);
  });

  it('refuses a wrong database key (401) and a plugin client (TypeError)', async () => {
    const client = await registered();
    const impostor = new PodClient({ url: pod.url, ownerKey: client.ownerKey });
    assert.equal((await rejection(impostor.registerAccount())).status, 401);
    const plugin = new PodClient({ url: pod.url, ownerKey: client.ownerKey, pluginAuth: { token: 'x' } });
    await assert.rejects(plugin.registerAccount(), TypeError);
  });
});

describe('deleteEdge and deleteFile', () => {
  it('deleteEdge by name or every name; 404 when there is none', async () => {
    const client = await registered();
    await client.addToSchema(Chain);
    const [a, b] = [new Chain({ title: 'a' }), new Note({ title: 'b' })];
    await client.bulk({ createItems: [a, b] });
    await client.createEdge(a, 'next', b);
    await client.createEdge(a, 'also', b);
    await client.deleteEdge(a, 'next', b);
    assert.deepEqual(
      (await client.call('get_edges', { item: a.id })).map((edge) => edge.name),
      ['also'],
    );
    assert.deepEqual([a.next, a.also], [[], [b]], 'the edge field no longer holds it');
    await client.deleteEdge(a, undefined, b.id);
    assert.deepEqual(await client.call('get_edges', { item: a.id }), []);
    assert.deepEqual(a.also, []);
    assert.equal((await rejection(client.deleteEdge(a, 'next', b))).status, 404);
  });

  it('deleteFile by item or by sha256 erases the bytes; getFile is a 404 after', async () => {
    const client = await registered();
    const first = await client.uploadFile(new TextEncoder().encode('first file'));
    await client.deleteFile(first);
    assert.equal(first.deleted, true);
    assert.equal((await rejection(client.getFile(first))).status, 404);
    const second = await client.uploadFile(new TextEncoder().encode('second file'));
    await client.deleteFile({ sha256: second.sha256! });
    assert.equal((await rejection(client.get(second.id))).status, 404);
    assert.equal((await rejection(client.getFile(second.sha256!))).status, 404);
    assert.equal((await rejection(client.deleteFile(second.id))).status, 404);
  });
});

describe('_offset', () => {
  it('typed search pages with _limit and _offset over one bulk, as 2023 clients do', async () => {
    const client = await registered();
    await client.bulk({ createItems: Array.from({ length: 25 }, (_, i) => new Note({ title: `n${i}` })) });
    const titles: string[] = [];
    for (let offset = 0; ; offset += 10) {
      const page = await client.search(Note, { _limit: 10, _offset: offset });
      if (page.length === 0) break;
      titles.push(...page.map((note) => note.title ?? ''));
    }
    assert.deepEqual(
      titles,
      Array.from({ length: 25 }, (_, i) => `n${i}`),
    );
  });
});

describe('sync against an owner in account mode', () => {
  it('a pull and the live feed both bring deletions; a pushed deletion settles as deleted', async () => {
    const direct = await registered();
    const keep = new Note({ title: 'keep' });
    const drop = new Note({ title: 'drop' });
    await direct.bulk({ createItems: [keep, drop] });
    const client = new PodClient({ url: pod.url, ownerKey: direct.ownerKey, databaseKey: direct.databaseKey });
    const engine = await SyncEngine.open({ client, store: new MemoryStore(), schema: [Note] });
    await engine.pull();
    assert.equal((await engine.get(drop.id))?.deleted, false);

    await direct.delete(drop.id);
    await engine.pull();
    assert.equal((await engine.get(drop.id))?.deleted, true, 'the pull learned of the deletion');

    engine.start();
    try {
      const learned = new Promise<void>((resolve) => {
        const off = engine.on('change', async ({ ids, origin }) => {
          if (origin !== 'remote' || !ids.includes(keep.id)) return;
          if ((await engine.get(keep.id))?.deleted !== true) return;
          off();
          resolve();
        });
      });
      await direct.delete(keep.id);
      await learned;
    } finally {
      await engine.stop();
    }

    const local = await engine.create(new Note({ title: 'local' }));
    await engine.push();
    await engine.delete(local);
    assert.equal(await engine.push(), 1);
    assert.equal(await engine.pendingCount(), 0);
    assert.equal((await engine.get(local.id))?.deleted, true, 'the replica holds the deleted version the Pod wrote');
    assert.deepEqual(await direct.search(Note), [], 'every Note is deleted on the Pod');
  });
});
