/** Paging with the iterator across many items sharing one dateServerModified, and split bulks. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PodClient, PodError, defineItem, type Item } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

class Note extends defineItem('Note', { serial: 'Integer', text: 'Text' }) {}

let pod: TestPod;
before(async () => {
  pod = await startPod();
});
after(() => pod.close());

const client = async (options: { bulkLimit?: number } = {}) => {
  const created = new PodClient({ url: pod.url, ...options });
  await created.addToSchema(Note);
  return created;
};

describe('iterate', () => {
  it('yields each of 2,500 items exactly once, in pages of 100, across shared timestamps and updates', async () => {
    const pods = await client();
    const notes = Array.from({ length: 2_500 }, (_, serial) => new Note({ serial }));
    // Three bulks: every item of a bulk shares its dateServerModified, far more than a page.
    for (const part of [notes.slice(0, 834), notes.slice(834, 1_667), notes.slice(1_667)])
      await pods.bulk({ createItems: part });
    // Updates move some items to later timestamps: one bulk of 300, and a few alone.
    const updated = notes.filter((note) => note.serial! % 8 === 0);
    for (const note of updated) note.text = 'updated';
    await pods.bulk({ updateItems: updated.slice(0, 300) });
    for (const note of updated.slice(300)) await pods.update(note);

    const seen: Item[] = [];
    for await (const note of pods.iterate(Note, {}, { pageSize: 100 })) seen.push(note);
    assert.equal(seen.length, 2_500);
    assert.equal(new Set(seen.map((note) => note.id)).size, 2_500);
    assert.deepEqual(new Set(seen.map((note) => note.id)), new Set(notes.map((note) => note.id)));
    assert.ok(seen.every((note) => note instanceof Note));
    const stamps = seen.map((note) => note.dateServerModified!);
    assert.deepEqual(
      stamps,
      [...stamps].sort((a, b) => a - b),
      'oldest change first',
    );
    assert.equal(seen.filter((note) => (note as Note).text === 'updated').length, updated.length);

    // The same through a protocol query, from a cursor on.
    const middle = stamps[1_200]!;
    let count = 0;
    for await (const item of pods.iterate({ type: 'Note', 'dateServerModified>=': middle }, { pageSize: 100 })) {
      assert.ok(item.dateServerModified! >= middle);
      count++;
    }
    assert.equal(count, stamps.filter((stamp) => stamp >= middle).length);
  });

  it('sees items created while it runs, and does not repeat items changed while it runs', async () => {
    const pods = await client();
    const notes = Array.from({ length: 250 }, (_, serial) => new Note({ serial }));
    for (const note of notes) await pods.create(note); // one timestamp each: pages of exactly 100
    const seen: string[] = [];
    for await (const note of pods.iterate(Note, {}, { pageSize: 100 })) {
      seen.push(note.id);
      if (seen.length === 1) {
        notes[0]!.text = 'changed after it was yielded';
        await pods.update(notes[0]!);
        await pods.create(new Note({ serial: 250 }));
      }
    }
    assert.equal(seen.length, 251);
    assert.equal(new Set(seen).size, 251);
  });

  it('refuses a page size below 1 and a newest-first order', async () => {
    const pods = await client();
    await assert.rejects(pods.iterate(Note, {}, { pageSize: 0 }).next(), RangeError);
    await assert.rejects(pods.iterate(Note, { _sortOrder: 'Desc' }).next(), RangeError);
  });
});

describe('a bulk larger than bulkLimit', () => {
  it('goes as several requests, in order, each applied in a transaction of its own', async () => {
    const pods = await client({ bulkLimit: 40_000 });
    const notes = Array.from({ length: 2_500 }, (_, serial) => new Note({ serial, text: 'x'.repeat(20) }));
    const result = await pods.bulk({ createItems: notes });
    assert.deepEqual(
      result.createItems,
      notes.map((note) => note.id),
    );
    const read = await pods.search(Note);
    assert.equal(read.length, 2_500);
    const transactions = new Set(read.map((note) => note.dateServerModified));
    assert.ok(transactions.size >= 5, `${transactions.size} requests`);
    assert.deepEqual(
      read.map((note) => note.serial),
      notes.map((note) => note.serial),
      'applied in order',
    );
  });

  it('says which request failed; the ones before it stay applied', async () => {
    const pods = await client({ bulkLimit: 40_000 });
    const notes = Array.from({ length: 1_000 }, (_, serial) => new Note({ serial, text: 'y'.repeat(20) }));
    const failing = new Note({ serial: 1_000 });
    (failing as unknown as Record<string, unknown>).serial = 'not an integer';
    const error = await pods.bulk({ createItems: [...notes, failing] }).catch((error: unknown) => error);
    assert.ok(error instanceof PodError);
    assert.equal(error.status, 400);
    assert.match(error.message, /request \d+ of \d+ of a split bulk; the \d+ before it stay applied/);
    const applied = (await pods.search(Note)).length;
    assert.ok(applied > 0 && applied < 1_000, `${applied} applied`);
  });
});
