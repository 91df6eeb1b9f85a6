/**
 * The equality index ordered by the wire order within a value (issue 13, docs/storage.md):
 * `property_order (prop, value, dsm, item)`, dsm being the item's dateServerModified. An equality
 * search with `_limit` L then reads L entries in order and stops, instead of fetching every match's
 * row to sort them. Its key holds the date, so every write that moves an item's date moves all the
 * item's entries (store.ts, `rewriteRow`).
 *
 * Databases made before it hold `property_values (prop, value, item)`, up to tens of millions of
 * entries: the migration creates the new table empty, and the store fills it here in bounded steps
 * between requests, a range of item rows at a time (its cursor in `meta`, so a build cut short
 * resumes), while writers keep both tables and searches read the old one (`building`). Once every
 * row is in, searches switch to the new table and the old one is emptied in steps, then dropped
 * (`draining`). A new database gets the new table alone.
 */
import { type Db, LAYOUT_VERSION } from './database.js';

/**
 * Item rows read per build step, with their entries: ~20 ms at 3 indexed properties (docs/storage.md),
 * so that the owner's requests go on between steps.
 */
export const ORDER_BUILD_ROWS = 500;
/** Old entries deleted per drain step (~10 ms): deleting from the front of the table is cheap, sequential pages. */
export const DRAIN_ENTRIES = 4_000;

/** The ordered table; `LEGACY_TABLE` is the one it replaces. */
export const ORDERED_TABLE = 'property_order';
export const LEGACY_TABLE = 'property_values';
const CURSOR_KEY = 'orderedIndexCursor';

/** How far a database is in the migration: `done` once the old table is gone. */
export type OrderPhase = 'building' | 'draining' | 'done';

/** The migration's first step (database.ts): the ordered table, built now if there is nothing to move. */
export function createOrderedIndex(db: Db): void {
  db.exec(`
    -- Equality index: (property number, value, item's dateServerModified, item row), so that the
    -- matches of one value come in the wire order (ordered-index.ts).
    CREATE TABLE property_order (
      prop INTEGER NOT NULL,
      value NOT NULL,
      dsm INTEGER NOT NULL,
      item INTEGER NOT NULL,
      PRIMARY KEY (prop, value, dsm, item)
    ) WITHOUT ROWID;
  `);
  if (db.prepare(`SELECT 1 FROM ${LEGACY_TABLE} LIMIT 1`).get() === undefined) db.exec(`DROP TABLE ${LEGACY_TABLE}`);
  else db.prepare('INSERT INTO meta (key, value) VALUES (?, 0)').run(CURSOR_KEY);
}

export function orderPhase(db: Db): OrderPhase {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(LEGACY_TABLE) === undefined)
    return 'done';
  return db.prepare('SELECT 1 FROM meta WHERE key = ?').get(CURSOR_KEY) === undefined ? 'draining' : 'building';
}

/**
 * One build step: the entries of the items in the next range of rows, read from items.props as
 * SQLite reads JSON (a Bool as 1/0, as the index holds it), for every property indexed or being
 * indexed (lazy-index.ts). True once no item lies past the cursor: the cursor is then gone, and
 * the caller switches reads to the new table.
 */
export function orderStep(db: Db): boolean {
  return db.transaction(() => {
    const cursor = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(CURSOR_KEY) as number;
    const end = cursor + ORDER_BUILD_ROWS;
    db.prepare(
      `INSERT OR IGNORE INTO ${ORDERED_TABLE} (prop, value, dsm, item) ` +
        'SELECT p.prop, j.value, i.dateServerModified, i.row FROM items i, json_each(i.props) j ' +
        'JOIN properties p ON p.name = j.key WHERE i.row >= ? AND i.row < ? AND p.indexState != 0',
    ).run(cursor, end);
    const last = (db.prepare('SELECT max(row) FROM items').pluck().get() as number | null) ?? 0;
    if (end > last) db.prepare('DELETE FROM meta WHERE key = ?').run(CURSOR_KEY);
    else db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(end, CURSOR_KEY);
    return end > last;
  })();
}

/** One drain step: old entries deleted, then, once none is left, the old table dropped. True when it is gone. */
export function drainStep(db: Db): boolean {
  return db.transaction(() => {
    const deleted = db
      .prepare(
        `DELETE FROM ${LEGACY_TABLE} WHERE (prop, value, item) IN (SELECT prop, value, item FROM ${LEGACY_TABLE} LIMIT ?)`,
      )
      .run(DRAIN_ENTRIES).changes;
    if (deleted === 0) db.exec(`DROP TABLE ${LEGACY_TABLE}`);
    return deleted === 0;
  })();
}

/**
 * For tests and benchmarks: turns a database back into the layout before the ordered index, as a Pod of
 * then left it (its entries in the old, unordered table). The migration runs again at the next open.
 */
export function toLayoutBeforeOrderedIndex(db: Db): void {
  db.exec(`
    CREATE TABLE ${LEGACY_TABLE} (
      prop INTEGER NOT NULL,
      value NOT NULL,
      item INTEGER NOT NULL,
      PRIMARY KEY (prop, value, item)
    ) WITHOUT ROWID;
    INSERT INTO ${LEGACY_TABLE} SELECT prop, value, item FROM ${ORDERED_TABLE} ORDER BY prop, value, item;
    DROP TABLE ${ORDERED_TABLE};
  `);
  db.pragma(`user_version=${LAYOUT_VERSION - 1}`);
}
