/** Ours (issue 12): full-text search with `_text`, and comparison operators in search keys. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openEncrypted } from '../src/storage/database.js';
import { createFullTextIndex } from '../src/storage/fulltext.js';
import { OwnerStore } from '../src/storage/store.js';
import { usePod, Owner } from './helpers.js';

const ids = (items: { id: string }[]) => items.map((item) => item.id);

describe('full-text search (_text)', () => {
  const pod = usePod();

  const owner = async () => {
    const o = new Owner(pod().url);
    await o.declare(['subject', 'Text'], ['body', 'Text'], ['folder', 'Text'], ['size', 'Integer']);
    return o;
  };

  test('every word must be found, each in any Text property; case and diacritics fold; results in search order', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Message', subject: 'Meeting tomorrow', body: 'Bring the Café receipts' });
    const b = await o.create({ type: 'Message', subject: 'Lunch', body: 'meeting at the cafe, TOMORROW at noon' });
    const c = await o.create({ type: 'Note', subject: 'meeting notes', size: 3 });
    assert.deepEqual(ids(await o.search({ _text: 'meeting' })), [a, b, c]);
    assert.deepEqual(ids(await o.search({ _text: 'meeting tomorrow' })), [a, b], 'words spread over subject and body');
    assert.deepEqual(ids(await o.search({ _text: 'MEETING cafe' })), [a, b], 'case and accents fold both ways');
    assert.deepEqual(ids(await o.search({ _text: 'café receipts' })), [a]);
    assert.deepEqual(ids(await o.search({ _text: 'meeting absent' })), [], 'a word found nowhere: no match');
    assert.deepEqual(ids(await o.search({ _text: 'meeting', _sortOrder: 'Desc' })), [c, b, a]);
    assert.deepEqual(ids(await o.search({ _text: 'meeting', _limit: 1 })), [a]);
    const [found] = await o.search({ _text: 'receipts' });
    assert.equal(found.body, 'Bring the Café receipts', 'results are whole items');
  });

  test('an item found in several of its properties is answered once', async () => {
    const o = await owner();
    const a = await o.create({
      type: 'Message',
      subject: 'invoice 42',
      body: 'the invoice is attached',
      folder: 'invoices',
    });
    for (const _text of ['invoice', 'invoic*', '"the invoice"', 'invoice attached'])
      assert.deepEqual(ids(await o.search({ _text })), [a], _text);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', _offset: 0, _limit: 5 })), [a]);
  });

  test('prefixes (word*) and "phrases" (in one property, in order)', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Message', subject: 'quarterly report draft', body: 'see attachment' });
    const b = await o.create({ type: 'Message', subject: 'report', body: 'quarterly numbers' });
    assert.deepEqual(ids(await o.search({ _text: 'quart*' })), [a, b]);
    assert.deepEqual(ids(await o.search({ _text: 'quart' })), [], 'without * a word matches whole words only');
    assert.deepEqual(ids(await o.search({ _text: '"quarterly report"' })), [a]);
    assert.deepEqual(ids(await o.search({ _text: '"report quarterly"' })), []);
    assert.deepEqual(ids(await o.search({ _text: '"quarterly rep"*' })), [a], 'a phrase ending in a prefix');
    assert.deepEqual(ids(await o.search({ _text: 'attach* "report draft"' })), [a]);
  });

  test('combines with type, property filters, comparisons, deleted and _limit', async () => {
    const o = await owner();
    const inbox = await o.create({ type: 'Message', subject: 'invoice 1', folder: 'inbox', size: 10 });
    const archived = await o.create({ type: 'Message', subject: 'invoice 2', folder: 'archive', size: 20 });
    const note = await o.create({ type: 'Note', subject: 'invoice 3', folder: 'inbox', size: 30 });
    const gone = await o.create({ type: 'Message', subject: 'invoice 4', folder: 'inbox', size: 40 });
    await o.ok('delete_item', gone);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', type: 'Message' })), [inbox, archived, gone]);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', folder: 'inbox' })), [inbox, note, gone]);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', folder: 'inbox', deleted: false })), [inbox, note]);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', 'size>': 15, 'size<=': 30 })), [archived, note]);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', 'size>=': 10, _limit: 2 })), [inbox, archived]);
    assert.deepEqual(ids(await o.search({ _text: 'invoice', id: archived })), [archived]);
    const [first, second] = (
      await o.ok('bulk', { search: [{ _text: 'invoice 2' }, { _text: 'invoice', type: 'Note' }] })
    ).search;
    assert.deepEqual(ids(first), [archived]);
    assert.deepEqual(ids(second), [note]);
  });

  test('the index follows updates and erasures in the same transaction; a rolled-back bulk leaves nothing', async () => {
    const o = await owner();
    const id = await o.create({ type: 'Message', subject: 'apples', body: 'pears' });
    await o.ok('update_item', { id, subject: 'oranges' });
    assert.deepEqual(ids(await o.search({ _text: 'apples' })), []);
    assert.deepEqual(ids(await o.search({ _text: 'oranges pears' })), [id]);
    await o.ok('update_item', { id, body: null });
    assert.deepEqual(ids(await o.search({ _text: 'pears' })), [], 'an erased property is no longer found');
    assert.deepEqual(ids(await o.search({ _text: 'oranges' })), [id], 'the other one still is');
    // a bulk that fails on its last item is rolled back whole, index included
    await o.fails(
      'bulk',
      {
        createItems: [
          { type: 'Message', subject: 'bananas' },
          { type: 'Message', undeclared: 'x' },
        ],
      },
      400,
    );
    assert.deepEqual(ids(await o.search({ _text: 'bananas' })), []);
    await o.ok('bulk', { createItems: [{ type: 'Message', id: 'fruit-bowl1', subject: 'kiwis' }] });
    assert.deepEqual(ids(await o.search({ _text: 'kiwis' })), ['fruit-bowl1']);
  });

  test('numbers, non-Latin scripts and non-Text properties', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Message', subject: 'Order 4711 shipped', body: 'Привет, мир 你好', size: 4711 });
    assert.deepEqual(ids(await o.search({ _text: '4711' })), [a], 'Text digits are words');
    assert.deepEqual(ids(await o.search({ _text: 'привет' })), [a]);
    const b = await o.create({ type: 'Note', size: 999 });
    assert.deepEqual(ids(await o.search({ _text: '999' })), [], 'Integer values are not text');
    assert.ok(b);
  });

  test('no client text is FTS5 syntax: odd queries answer 200 or a clear 400, never 500', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Message', subject: 'alpha OR beta', body: 'NEAR gamma AND delta' });
    for (const query of [
      'alpha OR zzz',
      'subject:alpha',
      'NEAR(alpha beta)',
      '(alpha',
      'alpha)',
      '-alpha',
      '^alpha',
      'alpha AND',
      '"alpha',
      'alpha"beta',
      'al"pha',
      '{subject}: alpha',
      'alpha + beta',
      'alpha*beta',
      "alpha'",
      '\u0000alpha',
      'a'.repeat(5000),
    ]) {
      const r = await o.call('search', { _text: query });
      assert.ok(
        r.status === 200,
        `${JSON.stringify(query).slice(0, 40)} answered ${r.status}: ${r.text.slice(0, 200)}`,
      );
    }
    assert.deepEqual(ids(await o.search({ _text: 'alpha OR zzz' })), [], '"OR" is a word here, and zzz must be found');
    assert.deepEqual(ids(await o.search({ _text: 'NEAR(gamma beta)' })), [a], 'words, not syntax');
    assert.deepEqual(ids(await o.search({ _text: 'beta:gamma' })), [], 'not a column filter: the phrase "beta gamma"');
    assert.deepEqual(ids(await o.search({ _text: 'or:beta' })), [a], 'the phrase "or beta"');
    for (const nothing of ['', '   ', '*', '"" ***', '!!! ??? -', '"']) {
      const r = await o.fails('search', { _text: nothing }, 400);
      assert.match(r.body.message, /"_text" has no word to search for/);
    }
    await o.fails('search', { _text: 7 }, 400);
    await o.fails('bulk', { createItems: [{ type: 'Message', subject: 'kept?' }], search: [{ _text: '!' }] }, 400);
    assert.deepEqual(ids(await o.search({ _text: 'kept' })), [], "a bulk's bad search rolls its writes back");
  });
});

describe('comparison operators in search keys', () => {
  const pod = usePod();

  const owner = async () => {
    const o = new Owner(pod().url);
    await o.declare(['name', 'Text'], ['age', 'Integer'], ['score', 'Real'], ['vip', 'Bool'], ['born', 'DateTime']);
    return o;
  };

  test('>, >=, <, <=, != on Integer, Real and DateTime; items without the property never match', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Person', name: 'Ann', age: 20, score: 1.5, born: 1_000 });
    const b = await o.create({ type: 'Person', name: 'Ben', age: 30, score: 2, born: 2_000 });
    const c = await o.create({ type: 'Person', name: 'Cat', age: 40, score: 2.5, born: 3_000 });
    await o.create({ type: 'Person', name: 'Dan' }); // no age, score or born
    assert.deepEqual(ids(await o.search({ 'age>': 20 })), [b, c]);
    assert.deepEqual(ids(await o.search({ 'age>=': 30 })), [b, c]);
    assert.deepEqual(ids(await o.search({ 'age<': 30 })), [a]);
    assert.deepEqual(ids(await o.search({ 'age<=': 30 })), [a, b]);
    assert.deepEqual(ids(await o.search({ 'age!=': 30 })), [a, c], 'without the property: no match for != either');
    assert.deepEqual(ids(await o.search({ 'age>': 20, 'age<': 40 })), [b], 'a range');
    assert.deepEqual(ids(await o.search({ 'score>': 1.5 })), [b, c]);
    assert.deepEqual(ids(await o.search({ 'score>=': 2 })), [b, c], 'an integer compares with a Real');
    assert.deepEqual(ids(await o.search({ 'born<': 2_500 })), [a, b]);
    assert.deepEqual(ids(await o.search({ 'age>': 20, name: 'Cat' })), [c], 'with an equality filter');
    assert.deepEqual(ids(await o.search({ 'age>': 10, _limit: 2, _sortOrder: 'Desc' })), [c, b]);
    assert.deepEqual(ids(await o.search({ 'age>': 100 })), []);
  });

  test('Text compares by code points; Bool only with !=', async () => {
    const o = await owner();
    const upper = await o.create({ type: 'Person', name: 'Zed', vip: true });
    const lower = await o.create({ type: 'Person', name: 'adam', vip: false });
    const accent = await o.create({ type: 'Person', name: 'Émile' });
    const astral = await o.create({ type: 'Person', name: '😀 smile' });
    assert.deepEqual(ids(await o.search({ 'name<': 'a' })), [upper], '"Z" (U+005A) sorts before "a"');
    assert.deepEqual(ids(await o.search({ 'name>': 'z' })), [accent, astral], 'É (U+00C9) and 😀 after z');
    assert.deepEqual(ids(await o.search({ 'name>': '\uffff' })), [astral], 'by code point, not UTF-16 unit');
    assert.deepEqual(ids(await o.search({ 'name>=': 'adam', 'name<': 'b' })), [lower]);
    assert.deepEqual(ids(await o.search({ 'vip!=': true })), [lower]);
    for (const key of ['vip>', 'vip>=', 'vip<', 'vip<=']) {
      const r = await o.fails('search', { [key]: true }, 400);
      assert.match(r.body.message, /is Bool, which compares only with "!="/);
    }
  });

  test('base fields compare too: dateServerModified>= and < work as before, with the others', async () => {
    const o = await owner();
    const a = await o.create({ type: 'Doc', dateCreated: 1_000 });
    const b = await o.create({ type: 'Doc', dateCreated: 2_000 });
    const [{ dateServerModified: dsm }] = await o.search({ id: b });
    assert.deepEqual(ids(await o.search({ 'dateCreated>': 1_000, type: 'Doc' })), [b]);
    assert.deepEqual(ids(await o.search({ 'dateCreated!=': 2_000, type: 'Doc' })), [a]);
    assert.deepEqual(ids(await o.search({ 'dateServerModified>=': dsm, type: 'Doc' })), [b]);
    assert.deepEqual(ids(await o.search({ 'dateServerModified<': dsm, type: 'Doc' })), [a]);
    assert.deepEqual(ids(await o.search({ 'type!=': 'Person', 'id>=': a, 'id<=': a })), [a]);
    assert.deepEqual(ids(await o.search({ 'deleted!=': true, type: 'Doc' })), [a, b]);
  });

  test('400 for an unknown property, a wrong value type or null; nothing is changed', async () => {
    const o = await owner();
    for (const [query, message] of [
      [{ 'wingspan>': 3 }, /property "wingspan" is not in the schema/],
      [{ 'age>': 'old' }, /property "age" is Integer; got "old"/],
      [{ 'age>': 1.5 }, /property "age" is Integer/],
      [{ 'name<': 3 }, /property "name" is Text; got 3/],
      [{ 'age!=': null }, /search filter "age!=" is null/],
      [{ 'dateServerModified>': 'x' }, /"dateServerModified" is DateTime/],
      [{ 'dateServerModified>=': 1.5 }, /dateServerModified/],
    ] as const) {
      const r = await o.fails('search', query, 400);
      assert.match(r.body.message, message, JSON.stringify(query));
    }
  });
});

describe('the full-text index of a database made before it', () => {
  test('the migration indexes the Text values already stored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pod-fulltext-'));
    const path = join(dir, 'pod.db');
    const key = randomBytes(32);
    try {
      let db = openEncrypted(path, key, true);
      let store = new OwnerStore(db);
      store.write(() => {
        for (const propertyName of ['subject', 'body'])
          store.createItem({ type: 'ItemPropertySchema', itemType: 'Message', propertyName, valueType: 'Text' });
      });
      // that release indexed every property's values as written (lazy-index.ts came later)
      db.prepare('UPDATE properties SET indexState = 2').run();
      store.schema.reload();
      store.write(() => {
        store.createItem({ type: 'Message', id: 'message-old1', subject: 'harvest moon', body: 'tonight' });
        store.createItem({ type: 'Message', id: 'message-old2', subject: 'new moon' });
      });
      // as a database of the previous release: no index; then the migration's work
      db.exec('DROP TABLE fulltext');
      // the migration reads the equality index as it was then (ordered-index.ts came later)
      db.exec('CREATE TABLE property_values AS SELECT prop, value, item FROM property_order');
      createFullTextIndex(db);
      db.exec('DROP TABLE property_values');
      db.close();
      db = openEncrypted(path, key, false);
      store = new OwnerStore(db);
      const found = (text: string) =>
        (JSON.parse(store.searchJson({ _text: text })) as { id: string }[]).map((i) => i.id);
      assert.deepEqual(found('moon'), ['message-old1', 'message-old2']);
      assert.deepEqual(found('moon tonight'), ['message-old1']);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
