/**
 * Building a property's equality index on first use (issue 13, docs/storage.md): in bounded steps
 * between requests, each one short transaction over a range of item rows, its cursor kept in
 * `properties.indexCursor` so that a build cut short (the owner closed, the Pod stopped) resumes
 * where it stopped. Writers keep the index for every row while it builds (schema.ts: BUILDING), so
 * a row behind the cursor stays right, and one ahead is read as it then is.
 */
import type { Db } from './database.js';
import { LEGACY_TABLE, ORDERED_TABLE } from './ordered-index.js';
import { jsonPath, type Property } from './schema.js';

/** Item rows read per step: a few milliseconds, so that the owner's requests go on between steps. */
export const INDEX_BUILD_ROWS = 2_000;

/**
 * One step: the property's values of the items in the next range of rows, added to the index
 * (read from items.props as SQLite reads JSON: a Bool as 1/0, as the index holds it). True once no
 * item lies past the cursor: the caller then marks the index complete. `keepLegacy`: the old, unordered
 * table is still read (ordered-index.ts), so it gets the values too.
 */
export function indexStep(db: Db, property: Property, keepLegacy: boolean): boolean {
  return db.transaction(() => {
    const cursor = db.prepare('SELECT indexCursor FROM properties WHERE prop = ?').pluck().get(property.prop) as number;
    const end = cursor + INDEX_BUILD_ROWS;
    const path = jsonPath(property.name);
    const range = 'FROM items WHERE row >= ? AND row < ? AND props ->> ? IS NOT NULL';
    db.prepare(
      `INSERT OR IGNORE INTO ${ORDERED_TABLE} (prop, value, dsm, item) SELECT ?, props ->> ?, dateServerModified, row ${range}`,
    ).run(property.prop, path, cursor, end, path);
    if (keepLegacy)
      db.prepare(`INSERT OR IGNORE INTO ${LEGACY_TABLE} (prop, value, item) SELECT ?, props ->> ?, row ${range}`).run(
        property.prop,
        path,
        cursor,
        end,
        path,
      );
    db.prepare('UPDATE properties SET indexCursor = ? WHERE prop = ?').run(end, property.prop);
    const last = db.prepare('SELECT max(row) FROM items').pluck().get() as number | null;
    return end > (last ?? 0);
  })();
}
