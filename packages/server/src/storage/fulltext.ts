/**
 * Full-text search over Text properties: an FTS5 table inside the owner's encrypted database, one
 * row per (item, Text property) so a match can be narrowed to one property or to those a reader may
 * see. It is contentless (the text already lives in items.props; storing it twice would double the
 * index's size) and addressed by rowid: item row × PROPERTY_SPAN + property number. The store keeps
 * it in the transaction that writes the item; deleted items stay indexed, reads filter them.
 */
import { badRequest } from '../errors.js';
import type { Db } from './database.js';
import type { Property } from './schema.js';

/** Property numbers stay below this (a schema of 16 million names is not a Pod's); rowids stay below 2^63. */
export const PROPERTY_SPAN = 2 ** 24;

/**
 * Creates the index, with a row for every Text value already stored (the migration of databases
 * made before it). unicode61 folds case and diacritics ("Café" finds "cafe") and splits on anything
 * but letters, digits and private-use characters, in every script; no stemmer, as stemming is per
 * language and a Pod holds many: `word*` finds the forms that share a prefix.
 */
export function createFullTextIndex(db: Db): void {
  db.exec(
    "CREATE VIRTUAL TABLE fulltext USING fts5(text, content='', contentless_delete=1, " +
      "tokenize='unicode61 remove_diacritics 2')",
  );
  db.exec(
    `INSERT INTO fulltext (rowid, text) SELECT f.item * ${PROPERTY_SPAN} + f.prop, f.value FROM property_values f ` +
      "JOIN properties p ON p.prop = f.prop WHERE p.valueType = 'Text'",
  );
}

/** SQL that keeps the index: one row per Text value, set (insert or replace) and removed by rowid. */
export const SET_TEXT = `INSERT OR REPLACE INTO fulltext (rowid, text) VALUES (? * ${PROPERTY_SPAN} + ?, ?)`;
export const DROP_TEXT = `DELETE FROM fulltext WHERE rowid = ? * ${PROPERTY_SPAN} + ?`;

/** What the unicode61 tokenizer reads as part of a word (its default categories: L*, N*, Co). */
const WORD_CHARACTER = /[\p{L}\p{N}\p{Co}]/u;

/**
 * A `_text` value as FTS5 phrases: bare words, `"a phrase"` in quotes, and a trailing `*` on either
 * for a prefix. Every piece is passed as an FTS5 string, its quotes doubled, so no client text is
 * ever read as FTS5 query syntax (no column filters, NEAR, OR or parentheses, and no 500 for a
 * stray one). Pieces without a word character are dropped; a query with none left is 400.
 */
export function textPhrases(text: string): string[] {
  const phrases: string[] = [];
  // A NUL would end the query string inside FTS5: it separates words, as it does in the tokenizer.
  for (const [, quoted, quotedStar, word] of text.replaceAll('\0', ' ').matchAll(/"([^"]*)"?(\*?)|([^\s"]+)/g)) {
    const piece = quoted ?? word?.replace(/\*+$/, '') ?? '';
    const prefix = quoted === undefined ? word !== piece : quotedStar === '*';
    if (WORD_CHARACTER.test(piece)) phrases.push(`"${piece.replaceAll('"', '""')}"${prefix ? '*' : ''}`);
  }
  if (phrases.length === 0)
    throw badRequest('"_text" has no word to search for; give words (letters or digits), "a phrase" or a prefix*');
  return phrases;
}

/** A property to narrow a match to (only Text ones can match). */
export type TextScope = Pick<Property, 'prop' | 'valueType'>;

const ITEM_OF_ROW = `rowid / ${PROPERTY_SPAN}`;
const PROPERTY_OF_ROW = `rowid % ${PROPERTY_SPAN}`;

/**
 * An SQL condition true when the item at `rowExpr` matches `text`: every phrase is found in one of
 * its Text properties (each in any of them), or, with `scope`, in that property or those
 * properties only (non-Text ones are ignored; none left matches nothing). The subquery does not
 * depend on the row: SQLite runs it once.
 */
export function fullTextCondition(
  text: string,
  scope?: TextScope | readonly TextScope[],
  rowExpr = 'i.row',
): { sql: string; params: unknown[] } {
  const rows = fullTextRows(text, scope);
  return { sql: `${rowExpr} IN (${rows.sql})`, params: rows.params };
}

/** A query of the rows (column `item`) of the items matching `text`, as `fullTextCondition` says; in no order. */
export function fullTextRows(
  text: string,
  scope?: TextScope | readonly TextScope[],
): { sql: string; params: unknown[] } {
  const phrases = textPhrases(text);
  // One phrase has no INTERSECT to remove an item found in two of its properties: DISTINCT does.
  const distinct = phrases.length === 1 ? 'DISTINCT ' : '';
  const select = `SELECT ${distinct}${ITEM_OF_ROW} AS item FROM fulltext WHERE fulltext MATCH ?`;
  if (scope === undefined) return { sql: phrases.map(() => select).join(' INTERSECT '), params: phrases };
  const props = (Array.isArray(scope) ? scope : [scope as TextScope])
    .filter((property) => property.valueType === 'Text')
    .map((property) => property.prop);
  if (props.length === 0) return { sql: 'SELECT NULL AS item WHERE 0', params: [] };
  // In one property every phrase must be found in that property: one FTS5 query does it.
  if (props.length === 1) return { sql: `${select} AND ${PROPERTY_OF_ROW} = ?`, params: [phrases.join(' '), props[0]] };
  const each = `${select} AND ${PROPERTY_OF_ROW} IN (SELECT value FROM json_each(?))`;
  const list = JSON.stringify(props);
  return {
    sql: phrases.map(() => each).join(' INTERSECT '),
    params: phrases.flatMap((phrase) => [phrase, list]),
  };
}
