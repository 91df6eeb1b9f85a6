// The equality index ordered by the wire order within a value (issue 13, ordered-index.ts): an equality
// search with a limit answers exactly what it answered before (order, tie rule, offset, deleted items),
// reads its matches in index order (no sort of every match), and the move of an existing index to
// the ordered table, in steps while writes go on, changes no answer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AnswerBudget } from '../src/storage/answer.js';
import { openEncrypted, type Db } from '../src/storage/database.js';
import { parseQuery } from '../src/storage/graphql/query.js';
import {
  DRAIN_ENTRIES,
  ORDER_BUILD_ROWS,
  orderPhase,
  toLayoutBeforeOrderedIndex,
} from '../src/storage/ordered-index.js';
import { BlobFormat, OwnerStore } from '../src/storage/store.js';
import { unrestrictedPlugin, until } from './helpers.js';

const TAGS = 5;
const DECLARATIONS = Object.entries({ tag: 'Text', n: 'Integer', flag: 'Bool' }).map(([propertyName, valueType]) => ({
  type: 'ItemPropertySchema',
  itemType: 'Thing',
  propertyName,
  valueType,
}));
const valuesOf = (i: number) => ({ tag: `t${i % TAGS}`, n: i % 7, flag: i % 3 === 0 });

function tempDb(): { dir: string; path: string; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'pod-ordered-index-'));
  return { dir, path: join(dir, 'pod.db'), key: randomBytes(32) };
}

/** Items in bulks of 250: each bulk one transaction, so one dateServerModified shared by its items (ties). */
function fill(store: OwnerStore, count: number): void {
  store.write(() => {
    for (const declaration of DECLARATIONS) store.createItem(declaration);
  });
  for (let first = 0; first < count; first += 250)
    store.write(() => {
      for (let i = first; i < Math.min(first + 250, count); i++)
        store.createItem({
          id: `thing-${i}`,
          type: i % 4 === 0 ? 'Other' : 'Thing',
          deleted: i % 29 === 0,
          ...valuesOf(i),
        });
    });
}

/** Every property the searches filter on indexed, as its first use in a filter builds it (lazy-index.ts). */
async function indexAll(store: OwnerStore, db: Db): Promise<void> {
  store.searchJson({ tag: 't0', n: 0, flag: true });
  const built = () =>
    db.prepare("SELECT count(*) FROM properties WHERE name IN ('tag', 'n', 'flag') AND indexState = 2");
  await until('tag, n and flag indexed', () => (built().pluck().get() === 3 ? true : undefined));
}

/** Updates, soft deletes, new edges (their sources' dates move) and new items: each moves items in the wire order. */
function changes(store: OwnerStore, round: number, count: number): void {
  const pick = (k: number) => `thing-${(round * 977 + k * 131) % count}`;
  store.write(() => {
    for (let k = 0; k < 20; k++) store.updateItem({ id: pick(k), n: 100 + round, tag: `t${(round + k) % TAGS}` });
    for (let k = 20; k < 25; k++) store.deleteItem(pick(k));
    for (let k = 25; k < 30; k++) store.updateItem({ id: pick(k), flag: null });
    for (let k = 30; k < 35; k++) store.createEdge({ _source: pick(k), _target: pick(k + 1), _name: 'next' });
    store.createItem({ id: `added-${round}`, type: 'Thing', ...valuesOf(round) });
  });
}

interface Row {
  id: string;
  row: number;
  dsm: number;
  type: string;
  deleted: number;
  props: Record<string, unknown>;
}

/**
 * What a search answers, computed without any index: every item read from its row, filtered, sorted
 * by (dateServerModified, row), then the window (a strict one with `_offset`, else the tie rule).
 */
function reference(rows: Row[], query: Record<string, unknown>): string[] {
  const filters = Object.entries(query).filter(([key]) => !key.startsWith('_'));
  const matches = rows.filter((r) =>
    filters.every(([key, value]) =>
      key === 'type' ? r.type === value : key === 'deleted' ? r.deleted === Number(value) : r.props[key] === value,
    ),
  );
  const sign = query._sortOrder === 'Desc' ? -1 : 1;
  matches.sort((a, b) => sign * (a.dsm - b.dsm || a.row - b.row));
  const limit = query._limit as number | undefined;
  const offset = query._offset as number | undefined;
  if (offset !== undefined)
    return matches.slice(offset, limit === undefined ? undefined : offset + limit).map((r) => r.id);
  if (limit === undefined || matches.length <= limit) return matches.map((r) => r.id);
  const lastDsm = matches[limit - 1]!.dsm;
  let end = limit;
  while (end < matches.length && matches[end]!.dsm === lastDsm) end++;
  return matches.slice(0, end).map((r) => r.id);
}

const ids = (json: string) => (JSON.parse(json) as { id: string }[]).map((item) => item.id);

/** Equality searches of every tag with limits, both orders, offsets and further filters, against `reference`. */
const itemRows = (db: Db): Row[] =>
  (
    db.prepare('SELECT id, row, dateServerModified AS dsm, type, deleted, props FROM items').all() as (Omit<
      Row,
      'props'
    > & { props: string })[]
  ).map((r) => ({ ...r, props: JSON.parse(r.props) as Record<string, unknown> }));

function checkSearches(store: OwnerStore, db: Db, when: string): void {
  const rows = itemRows(db);
  for (let t = 0; t < TAGS; t++)
    for (const window of [{ _limit: 1 }, { _limit: 7 }, { _limit: 100 }, { _limit: 10, _offset: 5 }, {}])
      for (const order of [{}, { _sortOrder: 'Desc' }])
        for (const filters of [{}, { deleted: false }, { type: 'Thing', n: 3 }, { flag: true }]) {
          const query = { tag: `t${t}`, ...filters, ...window, ...order };
          assert.deepEqual(ids(store.searchJson(query)), reference(rows, query), `${when}: ${JSON.stringify(query)}`);
        }
}

/** The ordered entries that the items do not hold (value, row and date), and the other way round: both empty when right. */
function indexMismatch(db: Db): unknown[] {
  const index = 'SELECT p.name, f.value, f.item, f.dsm FROM property_order f JOIN properties p ON p.prop = f.prop';
  const items =
    'SELECT p.name, j.value, i.row, i.dateServerModified FROM items i, json_each(i.props) j ' +
    'JOIN properties p ON p.name = j.key WHERE p.indexState != 0';
  return [...db.prepare(`${index} EXCEPT ${items}`).all(), ...db.prepare(`${items} EXCEPT ${index}`).all()];
}

test('an equality search with a limit answers as the sort of every match did: order, ties, offsets, after updates, deletes and an erasure', async () => {
  const { dir, path, key } = tempDb();
  const db = openEncrypted(path, key, true);
  try {
    const store = new OwnerStore(db);
    const count = 3_000;
    fill(store, count);
    await indexAll(store, db);
    checkSearches(store, db, 'as written');
    for (let round = 0; round < 3; round++) changes(store, round, count);
    assert.deepEqual(indexMismatch(db), []);
    checkSearches(store, db, 'after updates, deletes and edges');

    // The owner re-declares an indexed property a plugin declared, with another type: the values go
    // (eraseProperty), the items' dates move, and so do all their entries.
    const plugin = unrestrictedPlugin('plugin-1', 'run-1');
    store.write(() => {
      store.createItem(
        { type: 'ItemPropertySchema', itemType: 'Thing', propertyName: 'score', valueType: 'Integer' },
        plugin,
      );
      for (let i = 0; i < 300; i++) store.updateItem({ id: `thing-${i * 7}`, score: i % 3 }, plugin);
    });
    store.searchJson({ score: 1 }); // builds its index
    const scoreIndexed = () => db.prepare("SELECT indexState FROM properties WHERE name = 'score'").pluck().get();
    await until('score indexed', () => (scoreIndexed() === 2 ? true : undefined));
    store.write(() =>
      store.createItem({ type: 'ItemPropertySchema', itemType: 'Thing', propertyName: 'score', valueType: 'Text' }),
    );
    assert.equal(store.searchJson({ score: '1' }), '[]', 'the values stored as Integer are gone');
    assert.deepEqual(indexMismatch(db), [], 'after the erasure');
    checkSearches(store, db, 'after the erasure');

    // GraphQL roots driven by one value: a strict window, no tie rule
    const rows = itemRows(db);
    for (let t = 0; t < TAGS; t++)
      for (const [limit, offset] of [
        [7, 0],
        [50, 3],
      ] as const) {
        const text = `{ Thing(filter: {tag: {eq: "t${t}"}}, limit: ${limit}, offset: ${offset}) { tag } }`;
        const chunks = await store.graphqlAnswer(
          parseQuery(text, (name) => store.schema.get(name)),
          undefined,
          new AnswerBudget(64 << 20),
        );
        const answer = (JSON.parse(chunks.join('')) as { data: { id: string }[] }).data.map((item) => item.id);
        assert.deepEqual(
          answer,
          reference(rows, { tag: `t${t}`, type: 'Thing', _limit: limit, _offset: offset }),
          text,
        );
      }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Each statement that orders the rows of a search (by a store opened for it: none prepared yet), with its
 * query plan.
 */
function orderingPlans(db: Db, query: Record<string, unknown>): string[] {
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  try {
    new OwnerStore(db).searchJson(query);
  } finally {
    db.prepare = prepare;
  }
  return prepared
    .filter((sql) => sql.includes('ORDER BY'))
    .map((sql) => {
      const params = Array.from(sql.matchAll(/\?/g), () => 1);
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      return `${sql} => ${plan.map((step) => step.detail).join('; ')}`;
    });
}

test('the migration moves the index in steps while writes go on; every search answers the same, and an equality search no longer sorts', async () => {
  const { dir, path, key } = tempDb();
  let db = openEncrypted(path, key, true);
  try {
    let store = new OwnerStore(db);
    const count = 3 * ORDER_BUILD_ROWS + 300; // several build steps, and more entries than a drain step takes
    fill(store, count);
    await indexAll(store, db);
    store.write(() => store.createItem({ id: 'file-1', type: 'File', sha256: 'ab'.repeat(32) }));
    const sha256 = 'ab'.repeat(32);
    const file = { sha256, blob: 'blob-1', key: randomBytes(32), nonce: randomBytes(7), tag: null, size: 10 };
    store.recordFile({ ...file, format: BlobFormat.Segmented });
    changes(store, 0, count);
    const every = ids(store.searchJson({ _includeDeleted: true }));
    const before = {
      items: every.map((id) => store.getItemJson(id)),
      edges: store.searchJson({ id: 'thing-0', '[[edges]]': {}, '~[[edges]]': {} }),
      file: store.searchJson({ type: 'File', sha256 }),
      schema: store.searchJson({ type: 'ItemPropertySchema' }),
      entries: db.prepare('SELECT count(*) FROM property_order').pluck().get() as number,
    };
    assert.ok(before.entries > DRAIN_ENTRIES, 'more than one drain step');
    db.close();

    db = openEncrypted(path, key, false);
    toLayoutBeforeOrderedIndex(db);
    db.close();
    db = openEncrypted(path, key, false); // migrates: the new table, empty; the old one still read
    assert.equal(orderPhase(db), 'building');
    assert.equal(db.prepare('SELECT count(*) FROM property_order').pluck().get(), 0);
    store = new OwnerStore(db);
    // a search of each item's own values, item by item, answers as before
    const checkItems = (when: string) => {
      for (const [k, id] of every.entries()) {
        assert.equal(store.getItemJson(id), before.items[k], `${when}: item ${id}`);
        const { tag, n } = JSON.parse(before.items[k] as string) as { tag?: string; n?: number };
        if (tag === undefined) continue;
        assert.ok(ids(store.searchJson({ tag, n, _includeDeleted: true })).includes(id), `${when}: found ${id}`);
      }
      assert.equal(store.searchJson({ id: 'thing-0', '[[edges]]': {}, '~[[edges]]': {} }), before.edges, when);
      assert.equal(store.searchJson({ type: 'File', sha256 }), before.file, when);
      assert.equal(store.searchJson({ type: 'ItemPropertySchema' }), before.schema, when);
    };
    checkItems('not moved yet');
    checkSearches(store, db, 'not moved yet');

    // writes between the steps: items behind and ahead of the build's cursor, then while the old table drains
    const seen = new Set<string>();
    let round = 1;
    while (orderPhase(db) !== 'done') {
      seen.add(orderPhase(db));
      changes(store, round++, count);
      checkSearches(store, db, `${orderPhase(db)}, round ${round}`);
      await new Promise(setImmediate);
    }
    assert.deepEqual([...seen], ['building', 'draining'], 'writes and searches in both phases');
    assert.ok(round > 4, 'in steps');
    assert.equal(
      db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'property_values'").get(),
      undefined,
      'the old table dropped',
    );
    assert.deepEqual(indexMismatch(db), [], 'the ordered index holds exactly what the items hold');
    checkSearches(store, db, 'moved');
    changes(store, round, count);
    assert.deepEqual(indexMismatch(db), [], 'kept by writes');
    checkSearches(store, db, 'moved, after more writes');

    for (const query of [
      { tag: 't1', _limit: 100 },
      { tag: 't1', deleted: false, _limit: 10, _sortOrder: 'Desc' },
    ]) {
      const plans = orderingPlans(db, query);
      assert.ok(plans.length > 0, 'the search orders its rows in SQL');
      for (const plan of plans) {
        assert.doesNotMatch(plan, /TEMP B-TREE/, `${JSON.stringify(query)}: ${plan}`);
        // driven from the ordered index by one value, its matches read in order
        assert.match(plan, /FROM property_order f .* SEARCH f USING PRIMARY KEY \(prop=\? AND value=\?/, plan);
      }
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a move cut short by closing the owner goes on from its cursor when the owner opens again', async () => {
  const { dir, path, key } = tempDb();
  let db = openEncrypted(path, key, true);
  try {
    let store = new OwnerStore(db);
    fill(store, 2 * ORDER_BUILD_ROWS + 10);
    const expected = store.searchJson({ tag: 't2', _limit: 50, _sortOrder: 'Desc' });
    toLayoutBeforeOrderedIndex(db);
    db.close();
    db = openEncrypted(path, key, false);
    store = new OwnerStore(db);
    const cursor = () => db.prepare("SELECT value FROM meta WHERE key = 'orderedIndexCursor'").pluck().get();
    while (cursor() === 0) await new Promise(setImmediate);
    db.close();
    db = openEncrypted(path, key, false);
    assert.equal(orderPhase(db), 'building', 'cut short');
    store = new OwnerStore(db);
    await until('the move resumed and finished', () => (orderPhase(db) === 'done' ? true : undefined));
    assert.deepEqual(indexMismatch(db), []);
    assert.equal(store.searchJson({ tag: 't2', _limit: 50, _sortOrder: 'Desc' }), expected);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
