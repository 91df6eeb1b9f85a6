// M1 for full-text search and comparisons: `_text` matches only through properties the plugin's
// grant lets it read (else it would reveal a hidden property's words), and a comparison is a
// filter like any other (only on properties it reads) — by type, without type, and inside bulk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('M1: plugin full-text and comparison searches on hidden properties', () => {
  let lab: PluginPod;
  let owner: Owner;
  let namesOnly: PluginCaller;
  let everything: PluginCaller;
  let whereBound: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'ssn', ['salary', 'Integer'], 'title', 'secretNote', 'folder');
    await owner.ok('bulk', {
      createItems: [
        { type: 'Person', id: 'person-alice', name: 'Alice Smith', ssn: 'SSN 1111 zebra', salary: 900 },
        { type: 'Person', id: 'person-bob', name: 'Bob Jones', ssn: 'SSN 2222', salary: 100 },
        { type: 'Note', id: 'note-secret1', title: 'zebra crossing', secretNote: 'Alice hides here', folder: 'x' },
        { type: 'Note', id: 'note-public1', title: 'zebra stripes', folder: 'public' },
      ],
    });
    namesOnly = await lab.runAs(owner, 'evil-image', { read: { Person: ['name'], Note: ['title'] } });
    everything = await lab.runAs(owner, 'priv-image', { read: { Person: '*' } });
    whereBound = await lab.runAs(owner, 'other-image', {
      read: { Note: { properties: ['title'], where: { folder: 'public' } } },
    });
  });
  after(async () => lab?.close());

  const ids = (items: { id: string }[]) => items.map((item) => item.id);

  test('_text never matches through a property the plugin cannot read', async () => {
    assert.deepEqual(ids(await owner.search({ _text: '1111' })), ['person-alice'], 'the owner finds it');
    assert.deepEqual(ids(await namesOnly.search({ type: 'Person', _text: '1111' })), []);
    assert.deepEqual(ids(await namesOnly.search({ type: 'Note', _text: 'hides' })), []);
    assert.deepEqual(ids(await namesOnly.search({ type: 'Person', _text: 'alice' })), ['person-alice'], 'by name');
    assert.deepEqual(ids(await namesOnly.search({ type: 'Note', _text: 'alice' })), [], 'not through secretNote');
    assert.deepEqual(
      ids(await namesOnly.search({ type: 'Person', _text: 'alice 1111' })),
      [],
      'one readable word does not open the others',
    );
    const [inBulk] = (await namesOnly.ok('bulk', { search: [{ type: 'Person', _text: '2222' }] })).search;
    assert.deepEqual(inBulk, []);
  });

  test('without a type, _text matches only properties readable in every type the plugin reads', async () => {
    // namesOnly reads Person.name and Note.title: no property is common, so it must name a type
    const refused = await namesOnly.fails('search', { _text: 'zebra' }, 403);
    assert.match(refused.body.message, /"_text" needs a "type"/);
    assert.deepEqual(ids(await namesOnly.search({ type: 'Note', _text: 'zebra' })), ['note-secret1', 'note-public1']);
    assert.deepEqual(ids(await namesOnly.search({ type: 'Person', _text: 'zebra' })), [], 'not through ssn');
  });

  test('a plugin reading every property of a type matches all of them, and nothing of other types', async () => {
    assert.deepEqual(ids(await everything.search({ type: 'Person', _text: '1111' })), ['person-alice']);
    assert.deepEqual(ids(await everything.search({ _text: 'zebra' })), ['person-alice'], 'Notes stay hidden');
  });

  test('a where-bound rule: matches only the items it covers, through the properties it names', async () => {
    assert.deepEqual(ids(await whereBound.search({ type: 'Note', _text: 'zebra' })), ['note-public1']);
    assert.deepEqual(ids(await whereBound.search({ type: 'Note', _text: 'public' })), ['note-public1'], 'its where');
    assert.deepEqual(ids(await whereBound.search({ type: 'Note', _text: 'x' })), [], 'not the others');
  });

  test('a comparison on a property the plugin cannot read is refused (403), by type, without and in bulk', async () => {
    for (const query of [
      { type: 'Person', 'salary>': 500 },
      { type: 'Person', 'ssn>=': 'SSN 1' },
      { type: 'Person', 'ssn!=': 'x' },
      { 'salary<': 1000 },
      { type: 'Note', 'secretNote>': '' },
    ]) {
      const refused = await namesOnly.fails('search', query, 403);
      assert.match(refused.body.message, /cannot read property "\w+" of "\w+", so it cannot search on it/);
      await namesOnly.fails('bulk', { search: [{ type: 'Person' }, query] }, 403);
    }
    assert.deepEqual(ids(await namesOnly.search({ type: 'Person', 'name>=': 'B' })), ['person-bob']);
    assert.deepEqual(ids(await everything.search({ type: 'Person', 'salary>': 500 })), ['person-alice']);
  });
});
