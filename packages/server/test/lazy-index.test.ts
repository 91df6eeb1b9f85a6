// Equality indexes built on first use (issue 13): a filter on a property not yet indexed answers from
// items.props, the build runs in bounded steps while writes go on, and the finished index holds
// exactly what the items hold. And the migration from the layout before it changes no answer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LAYOUT_VERSION, openEncrypted, type Db } from '../src/storage/database.js';
import { INDEX_BUILD_ROWS } from '../src/storage/lazy-index.js';
import { INDEXED, NOT_INDEXED } from '../src/storage/schema.js';
import { BlobFormat, OwnerStore } from '../src/storage/store.js';
import { orderPhase, toLayoutBeforeOrderedIndex } from '../src/storage/ordered-index.js';
import { until } from './helpers.js';

const PROPERTIES = { word: 'Text', n: 'Integer', r: 'Real', flag: 'Bool' } as const;
const declarations = Object.entries(PROPERTIES).map(([propertyName, valueType]) => ({
  type: 'ItemPropertySchema',
  itemType: 'Thing',
  propertyName,
  valueType,
}));

type Values = { word?: string; n?: number; r?: number; flag?: boolean };
const valuesOf = (i: number): Values => ({
  ...(i % 5 === 0 ? {} : { word: `w${i % 7}` }),
  n: i % 11,
  r: (i % 4) / 2,
  flag: i % 3 === 0,
});

function tempDb(): { dir: string; path: string; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'pod-lazy-index-'));
  return { dir, path: join(dir, 'pod.db'), key: randomBytes(32) };
}

const indexState = (db: Db, name: string) =>
  db.prepare('SELECT indexState FROM properties WHERE name = ?').pluck().get(name) as number;

/**
 * The index entries of a property that its items do not hold (value, row and date), and the other way
 * round: both empty when it is right.
 */
function indexMismatch(db: Db, name: string): unknown[] {
  const path = `$."${name}"`;
  const prop = db.prepare('SELECT prop FROM properties WHERE name = ?').pluck().get(name);
  const index = 'SELECT value, item, dsm FROM property_order WHERE prop = ?';
  const items = 'SELECT props ->> ?, row, dateServerModified FROM items WHERE props ->> ? IS NOT NULL';
  return [
    ...db.prepare(`${index} EXCEPT ${items}`).all(prop, path, path),
    ...db.prepare(`${items} EXCEPT ${index}`).all(path, path, prop),
  ];
}

const ids = (json: string) => (JSON.parse(json) as { id: string }[]).map((item) => item.id);

test('a filter on a property not yet indexed answers from the items, and the index built meanwhile holds them exactly', async () => {
  const { dir, path, key } = tempDb();
  const db = openEncrypted(path, key, true);
  try {
    const store = new OwnerStore(db);
    store.write(() => {
      for (const declaration of declarations) store.createItem(declaration);
    });
    const model = new Map<string, Values & { deleted: boolean }>();
    const items = 3 * INDEX_BUILD_ROWS + 500; // several build steps
    for (let first = 0; first < items; first += 500)
      store.write(() => {
        for (let i = first; i < first + 500; i++) {
          const id = `thing-${i}`;
          model.set(id, { ...valuesOf(i), deleted: i % 13 === 0 });
          store.createItem({ id, type: 'Thing', deleted: i % 13 === 0, ...valuesOf(i) });
        }
      });
    for (const name of Object.keys(PROPERTIES))
      assert.equal(indexState(db, name), NOT_INDEXED, `${name}: no index yet`);

    const queries: [Record<string, unknown>, (v: Values) => boolean][] = [
      [{ word: 'w3' }, (v) => v.word === 'w3'],
      [{ 'word!=': 'w3' }, (v) => v.word !== undefined && v.word !== 'w3'],
      [{ n: 7 }, (v) => v.n === 7],
      [{ 'n>=': 9, flag: true }, (v) => (v.n ?? -1) >= 9 && v.flag === true],
      [{ r: 1 }, (v) => v.r === 1],
      [{ flag: false, word: 'w1' }, (v) => v.flag === false && v.word === 'w1'],
    ];
    const check = (when: string) => {
      for (const [query, matches] of queries) {
        const expected = [...model].filter(([, v]) => !v.deleted && matches(v)).map(([id]) => id);
        // as a set: an update moves an item to the end of the date order, not in the model's
        const answer = ids(store.searchJson({ ...query, deleted: false }));
        assert.deepEqual(answer.sort(), expected.sort(), `${when}: ${JSON.stringify(query)}`);
      }
      // the first 5, and every further match of the 5th's bulk (one transaction, one dateServerModified)
      const firstBulk = [...model].filter(
        ([id, v]) => /^thing-\d+$/.test(id) && Number(id.slice(6)) < 500 && !v.deleted,
      );
      assert.deepEqual(
        ids(store.searchJson({ n: 3, deleted: false, _limit: 5 })),
        firstBulk.filter(([, v]) => v.n === 3).map(([id]) => id),
        `${when}: the tie rule`,
      );
    };
    check('not indexed: read from the items'); // and the builds start

    // Writes while the builds run: behind and ahead of their cursors, values changed, erased, added.
    await new Promise(setImmediate);
    await new Promise(setImmediate);
    const changes = async (round: number) => {
      store.write(() => {
        for (const i of [1, 2, INDEX_BUILD_ROWS + 1, items - 2, items - 1]) {
          const id = `thing-${i}`;
          const v = model.get(id)!;
          const patch = { word: round % 2 ? null : `changed${round}`, n: 100 + round, flag: !v.flag };
          store.updateItem({ id, ...patch });
          const { word: _, ...rest } = v;
          model.set(id, {
            ...rest,
            ...(patch.word === null ? {} : { word: patch.word }),
            n: patch.n,
            flag: patch.flag,
          });
        }
        const id = `added-${round}`;
        store.createItem({ id, type: 'Thing', word: 'w3', n: 7, r: 1, flag: true });
        model.set(id, { word: 'w3', n: 7, r: 1, flag: true, deleted: false });
      });
      await new Promise(setImmediate);
    };
    for (let round = 0; round < 4; round++) await changes(round);

    await until('every filtered property indexed', () =>
      Object.keys(PROPERTIES).every((name) => indexState(db, name) === INDEXED) ? true : undefined,
    );
    for (const name of Object.keys(PROPERTIES)) assert.deepEqual(indexMismatch(db, name), [], `${name}: index = items`);
    check('indexed');
    await changes(9);
    for (const name of Object.keys(PROPERTIES))
      assert.deepEqual(indexMismatch(db, name), [], `${name}: kept by writes`);
    check('indexed, after more writes');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a build cut short by closing the owner goes on from its cursor when the owner opens again', async () => {
  const { dir, path, key } = tempDb();
  let db = openEncrypted(path, key, true);
  try {
    let store = new OwnerStore(db);
    store.write(() => {
      for (const declaration of declarations) store.createItem(declaration);
      for (let i = 0; i < 4 * INDEX_BUILD_ROWS + 10; i++) store.createItem({ type: 'Thing', ...valuesOf(i) });
    });
    const expected = store.searchJson({ n: 4 }); // starts the build of n
    // each step of the build runs in a turn of the event loop of its own: stop right after the first
    while ((db.prepare("SELECT indexCursor FROM properties WHERE name = 'n'").pluck().get() as number) === 0)
      await new Promise(setImmediate);
    db.close();
    db = openEncrypted(path, key, false);
    assert.notEqual(indexState(db, 'n'), INDEXED, 'cut short');
    store = new OwnerStore(db);
    await until('the build resumed and finished', () => (indexState(db, 'n') === INDEXED ? true : undefined));
    assert.deepEqual(indexMismatch(db, 'n'), []);
    assert.equal(store.searchJson({ n: 4 }), expected);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the migration from the layout before changes nothing: items, edges, files, schema, searches, full text', async () => {
  const { dir, path, key } = tempDb();
  let db = openEncrypted(path, key, true);
  try {
    // The layout before: every property's values indexed as written (what every store did then).
    let store = new OwnerStore(db);
    store.write(() => {
      for (const declaration of declarations) store.createItem(declaration);
      store.createItem({ type: 'ItemPropertySchema', itemType: 'Thing', propertyName: 'unused', valueType: 'Text' });
    });
    db.prepare('UPDATE properties SET indexState = ?').run(INDEXED);
    store.schema.reload();
    store.write(() => {
      for (let i = 0; i < 300; i++)
        store.createItem({ id: `thing-${i}`, type: 'Thing', deleted: i % 13 === 0, ...valuesOf(i) });
      for (let i = 0; i < 20; i++)
        store.createEdge({ _source: `thing-${i}`, _target: `thing-${i + 1}`, _name: 'next' });
      store.createItem({ id: 'file-1', type: 'File', sha256: 'ab'.repeat(32) });
    });
    const sha256 = 'ab'.repeat(32);
    const file = { sha256, blob: 'blob-1', key: randomBytes(32), nonce: randomBytes(7), tag: null, size: 10 };
    store.recordFile({ ...file, format: BlobFormat.Segmented });
    const every = ids(store.searchJson({ _includeDeleted: true }));
    const searches: Record<string, unknown>[] = [
      { word: 'w3' },
      { n: 7, 'r>': 0 },
      { flag: true, _limit: 10 },
      { id: 'thing-3', '[[edges]]': {}, '~[[edges]]': {} },
      { _text: 'w1' },
      { type: 'File', sha256 },
      { type: 'ItemPropertySchema' },
    ];
    const before = {
      items: every.map((id) => store.getItemJson(id)),
      searches: searches.map((query) => store.searchJson(query)),
      indexRows: db.prepare('SELECT count(*) FROM property_order').pluck().get() as number,
      file: store.storedFile(sha256),
    };
    assert.ok(every.length > 300 && before.indexRows > 1000);
    db.close();

    // Back to the layout before this migration, as a Pod of then left it.
    db = openEncrypted(path, key, false);
    toLayoutBeforeOrderedIndex(db);
    db.exec('ALTER TABLE properties DROP COLUMN indexState; ALTER TABLE properties DROP COLUMN indexCursor;');
    db.exec('DROP INDEX applied_batches_by_date');
    // this migration and the ones after it (the batches' date index, the ordered equality index) run again
    db.pragma(`user_version=${LAYOUT_VERSION - 3}`);
    db.close();

    db = openEncrypted(path, key, false); // migrates
    assert.equal(db.pragma('user_version', { simple: true }), LAYOUT_VERSION);
    for (const name of Object.keys(PROPERTIES)) assert.equal(indexState(db, name), INDEXED, `${name} keeps its index`);
    assert.equal(indexState(db, 'sha256'), INDEXED, 'what the Pod looks up itself stays indexed');
    assert.equal(indexState(db, 'unused'), NOT_INDEXED, 'a property without values is built on first use');
    store = new OwnerStore(db);
    assert.deepEqual(ids(store.searchJson({ _includeDeleted: true })), every);
    for (const [k, id] of every.entries()) assert.equal(store.getItemJson(id), before.items[k], `item ${id}`);
    for (const [k, query] of searches.entries())
      assert.equal(store.searchJson(query), before.searches[k], JSON.stringify(query));
    await until('the equality index moved to its ordered table', () => (orderPhase(db) === 'done' ? true : undefined));
    assert.equal(db.prepare('SELECT count(*) FROM property_order').pluck().get(), before.indexRows);
    assert.deepEqual(store.storedFile(sha256), before.file);
    for (const name of Object.keys(PROPERTIES)) assert.deepEqual(indexMismatch(db, name), []);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
