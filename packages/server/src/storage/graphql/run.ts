/**
 * Runs a checked GraphQL query (query.ts) on one read snapshot: ONE SQL statement per list of the
 * query, never one per item. The roots of a type come from a filtered, ordered, limited query of
 * `items`; each edge field then reads the other ends for all its parents at once (`json_each` of
 * the parents' rows as an IN list, a window function for per-parent offset and limit). Items are rendered as
 * JSON text from their stored wire form: selected properties are cut out by SQLite (`json_object` of
 * `props -> path` keeps the stored text, a Real's `33.0` included), never parsed here.
 */
import type { Statement } from 'better-sqlite3-multiple-ciphers';
import { AnswerBudget, TimeSlice, collectArray, merged, type AnswerChunks } from '../answer.js';
import type { Db } from '../database.js';
import { encodeValue } from '../schema.js';
import { itemJson, type ItemRow, type ReadView } from '../store.js';
import { fullTextCondition } from '../fulltext.js';
import { ORDERED_TABLE } from '../ordered-index.js';
import type { Condition, EdgeLevel, GraphqlQuery, Level, PropertyTypes, RootLevel, TextField } from './query.js';

export interface GraphqlOptions {
  /** Account mode (spec §1.2): deleted items are left out of every list. */
  hideDeleted: boolean;
  /** The owner's schema: what a reader's readable property names are, for its `_text` filters. */
  types: PropertyTypes;
  /** Whether the equality index answers filters on a property now (else they read items.props; store.ts). */
  indexed: (name: string) => boolean;
  /** The table that holds the equality index now (ordered-index.ts). */
  equalityTable: string;
}

interface RunContext extends GraphqlOptions {
  db: Db;
  view: ReadView | undefined;
  /** Bounds what is held before the answer is assembled: the same size as the answer's budget. */
  held: AnswerBudget;
  slice: TimeSlice;
  /** False when the snapshot is the main connection (a store without a reader): no pause with a statement open. */
  pausable: boolean;
}

/** An item of a list: its own JSON without the closing brace, and its edge lists (one per edge field of its level). */
interface Found {
  row: number;
  head: string;
  edges: Found[][];
}

/** A row as the statements below read it: `props` holds the selected properties only (null when absent). */
interface LevelRow extends ItemRow {
  /** All the item's properties, read only for a reader with a view, which decides from them. */
  stored?: string;
  parent?: number;
}

/** Prepared statements kept per connection, by SQL text (values are parameters: one text per query shape). */
const STATEMENTS_KEPT = 256;
const prepared = new WeakMap<Db, Map<string, Statement>>();

/** A statement from the connection's cache, kept in least-recently-used order: query shapes are the callers'. */
function statement(db: Db, text: string): Statement {
  const cache = prepared.get(db) ?? new Map<string, Statement>();
  prepared.set(db, cache);
  const kept = cache.get(text);
  cache.delete(text);
  const ready = kept ?? db.prepare(text);
  cache.set(text, ready);
  const oldest = cache.keys().next().value;
  if (cache.size > STATEMENTS_KEPT && oldest !== undefined) cache.delete(oldest);
  return ready;
}

/** SQL text with its parameters, in order. */
class Sql {
  text = '';
  readonly params: unknown[] = [];
  add(text: string, ...params: unknown[]): this {
    this.text += text;
    this.params.push(...params);
    return this;
  }
}

const COMPARE = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const path = (name: string) => `$."${name}"`;
const placeholders = (count: number) => Array.from({ length: count }, () => '?').join(', ');

/** A condition on the items `o`: base fields on their columns, properties in their stored JSON. */
function condition(c: Condition, sql: Sql, textScope: readonly TextField[] | undefined): Sql {
  if ('all' in c || 'any' in c) {
    const parts = 'all' in c ? c.all : c.any;
    if (parts.length === 0) return sql.add('all' in c ? '1' : '0');
    sql.add('(');
    for (const [index, part] of parts.entries())
      condition(part, sql.add(index ? ('all' in c ? ' AND ' : ' OR ') : ''), textScope);
    return sql.add(')');
  }
  if ('text' in c) {
    const { sql: text, params } = fullTextCondition(c.text, c.field ?? textScope, 'o.row');
    return sql.add(text, ...params);
  }
  const { field, op, value } = c;
  if (field.prop === null) {
    if (value === null) return sql.add(op === 'eq' ? '0' : '1'); // base fields always have a value
    if (Array.isArray(value))
      return value.length ? sql.add(`o.${field.name} IN (${placeholders(value.length)})`, ...value) : sql.add('0');
    return sql.add(`o.${field.name} ${COMPARE[op as keyof typeof COMPARE]} ?`, value);
  }
  // A property on its row: its value as SQLite reads it from the stored JSON (a Bool as 1/0, absent as NULL).
  const stored = `(o.props ->> ?)`;
  const at = path(field.name);
  if (value === null) return sql.add(`${stored} ${op === 'eq' ? 'IS NULL' : 'IS NOT NULL'}`, at);
  if (Array.isArray(value))
    return value.length ? sql.add(`${stored} IN (${placeholders(value.length)})`, at, ...value) : sql.add('0');
  // ne: every item whose value is not this one, items without the property included.
  if (op === 'ne') return sql.add(`${stored} IS NOT ?`, at, value);
  return sql.add(`${stored} ${COMPARE[op as keyof typeof COMPARE]} ?`, at, value);
}

/** The wire order's terms (dateServerModified, row), the default order of every list. */
const WIRE_ORDER = 'o.dateServerModified, o.row';

/**
 * A root list's rows come from the equality index when its filter requires a value (or one of a
 * list) of a property, as search does; else from the items of its type in date order. `order`: the
 * wire order's terms, read from the ordered index's key when one value drives the list, so that
 * its matches come in order and a limit stops the scan (ordered-index.ts).
 */
function rootSource(
  root: RootLevel,
  textScope: readonly TextField[] | undefined,
  indexed: (name: string) => boolean,
  equalityTable: string,
): { source: Sql; order: string } {
  const parts = !root.filter ? [] : 'all' in root.filter ? root.filter.all : [root.filter];
  // The condition the index answers is not checked again on the row.
  const driven = (driver: Condition, values: string, ...params: unknown[]) => {
    const sql = new Sql().add(
      ` FROM ${equalityTable} f CROSS JOIN items o ` +
        `WHERE f.prop = ? AND f.value ${values} AND o.row = f.item AND o.type = ?`,
      ...params,
      root.type,
    );
    for (const part of parts) if (part !== driver) condition(part, sql.add(' AND '), textScope);
    return sql;
  };
  for (const part of parts) {
    if (!('op' in part) || part.field.prop === null || !indexed(part.field.name)) continue;
    const { field, op, value } = part;
    if (op === 'eq' && value !== null && !Array.isArray(value))
      return {
        source: driven(part, '= ?', field.prop, value),
        order: equalityTable === ORDERED_TABLE ? 'f.dsm, f.item' : WIRE_ORDER,
      };
    if (op === 'in' && Array.isArray(value) && value.length > 0)
      return { source: driven(part, `IN (${placeholders(value.length)})`, field.prop, ...value), order: WIRE_ORDER };
  }
  const sql = new Sql().add(' FROM items o WHERE o.type = ?', root.type);
  return { source: root.filter ? condition(root.filter, sql.add(' AND '), textScope) : sql, order: WIRE_ORDER };
}

/** The ordering's leading terms: items without the value last; callers append the default order. */
function ordering(level: Level, sql: Sql): Sql {
  if (!level.order) return sql;
  const { field, descending } = level.order;
  const value = (s: Sql) =>
    field.prop === null ? s.add(`o.${field.name}`) : s.add('(o.props ->> ?)', path(field.name));
  value(sql);
  sql.add(' IS NULL, ');
  value(sql);
  return sql.add(descending ? ' DESC, ' : ', ');
}

function columns(level: Level, view: ReadView | undefined, sql: Sql): Sql {
  sql.add('o.row AS row, o.id AS id, o.type AS type, o.dateCreated AS dateCreated, o.dateModified AS dateModified, ');
  sql.add('o.dateServerModified AS dateServerModified, o.deleted AS deleted, o.creator AS creator');
  if (view) sql.add(', o.props AS stored');
  // SQLite cuts the selected values out of the stored wire form, as stored (a Real's `33.0` stays).
  if (level.properties.length === 0) return sql.add(", '{}' AS props");
  sql.add(`, json_object(${level.properties.map(() => '?, o.props -> ?').join(', ')}) AS props`);
  return sql.add('', ...level.properties.flatMap(({ name }) => [name, path(name)]));
}

/**
 * The properties a `_text` filter without one may match: every Text property for the owner, those
 * the reader's grant reads in `type` (or, for an edge's other ends, in every type it reads) for a plugin.
 */
function textScope(context: RunContext, type: string | undefined): TextField[] | undefined {
  const names = context.view?.textScope(type) ?? 'all';
  if (names === 'all') return undefined;
  return [...names].flatMap((name) => {
    const property = context.types(name);
    return property?.valueType === 'Text' ? [{ name, prop: property.prop, valueType: 'Text' as const }] : [];
  });
}

/** Whether a filter names the field `name` anywhere in it. */
const names = (c: Condition | undefined, name: string): boolean =>
  c !== undefined &&
  ('all' in c
    ? c.all.some((part) => names(part, name))
    : 'any' in c
      ? c.any.some((part) => names(part, name))
      : c.field?.name === name);

/**
 * Account mode leaves deleted items out; a root whose filter names `deleted` decides for itself, as
 * a search does (spec 2023 §1.2: GraphQL roots follow search's rule; edge ends are always left out).
 */
function readMode(context: RunContext, sql: Sql, root?: RootLevel): Sql {
  return context.hideDeleted && !names(root?.filter, 'deleted') ? sql.add(' AND o.deleted = 0') : sql;
}

/** An item's JSON without its closing brace, as the view shows it; null when the view hides it. */
function head(row: LevelRow, level: Level, view: ReadView | undefined): string | null {
  const visible = view
    ? view.visible({ id: row.id, type: row.type, creator: row.creator, props: row.stored ?? '{}' })
    : 'all';
  if (visible === null) return null;
  if (visible === 'all') return itemJson(row).slice(0, -1);
  // Some properties hidden (rare): those read null, as when the item has none.
  const values = JSON.parse(row.props) as Record<string, unknown>;
  const selected = level.properties.map(({ name, valueType }) => {
    const value = values[name];
    const shown = visible.has(name) && value !== null && value !== undefined;
    return `${JSON.stringify(name)}:${shown ? encodeValue(name, valueType, value).json : 'null'}`;
  });
  return itemJson({ ...row, props: `{${selected.join(',')}}` }).slice(0, -1);
}

function render(found: Found, level: Level): string {
  let json = found.head;
  for (const [index, edge] of level.edges.entries())
    json += `,${JSON.stringify(edge.key)}:[${(found.edges[index] ?? []).map((item) => render(item, edge)).join(',')}]`;
  return `${json}}`;
}

/**
 * Reads a statement's rows, pausing between them when a time slice is used up (only on the reader,
 * whose open statement blocks nobody), and hands each to `take`; `take` returning false stops it.
 */
async function each(statement: Statement, params: unknown[], context: RunContext, take: (row: LevelRow) => boolean) {
  for (const row of statement.iterate(...params) as IterableIterator<LevelRow>) {
    if (!take(row)) break;
    if (context.pausable && context.slice.over) await context.slice.pause();
  }
}

/** Cuts a list of visible items to the level's offset and limit, counting what it skips. */
class Window {
  seen = 0;
  constructor(private readonly level: Level) {}
  /** Whether the next visible item is in the window (call once per visible item). */
  admits(): boolean {
    const position = this.seen++;
    return (
      position >= this.level.offset &&
      (this.level.limit === undefined || position < this.level.offset + this.level.limit)
    );
  }
  get full(): boolean {
    return this.level.limit !== undefined && this.seen >= this.level.offset + this.level.limit;
  }
}

/** The roots of one type; `total` also counts the matches before offset and limit. */
async function roots(
  root: RootLevel,
  wantTotal: boolean,
  context: RunContext,
): Promise<{ found: Found[]; total: number }> {
  const { db, view } = context;
  const { source, order } = rootSource(root, textScope(context, root.type), context.indexed, context.equalityTable);
  const where = readMode(context, source, root);
  const select = columns(root, view, new Sql().add('SELECT '));
  const sql = new Sql().add(select.text + where.text, ...select.params, ...where.params).add(' ORDER BY ');
  ordering(root, sql).add(order);
  // Without a view every match is visible: offset and limit go to SQLite. A view decides per item.
  // Only the clauses asked for: a bound LIMIT of -1 made SQLite's sort 5x slower on a one-row answer.
  if (!view && root.limit !== undefined) sql.add(' LIMIT ?', root.limit);
  if (!view && root.offset > 0) sql.add(`${root.limit === undefined ? ' LIMIT -1' : ''} OFFSET ?`, root.offset);
  const found: Found[] = [];
  const window = new Window(root);
  await each(statement(db, sql.text), sql.params, context, (row) => {
    const json = head(row, root, view);
    if (json === null) return true;
    if (view && !window.admits()) return wantTotal || !window.full;
    context.held.spend(json);
    found.push({ row: row.row, head: json, edges: [] });
    return true;
  });
  let total = found.length;
  if (view) total = window.seen;
  else if (wantTotal)
    total = db
      .prepare(`SELECT count(*)${where.text}`)
      .pluck()
      .get(...where.params) as number;
  return { found, total };
}

/** The other ends of one edge field for all parents at once, each parent's list in order and cut to its window. */
async function edgeLists(edge: EdgeLevel, parents: number[], context: RunContext): Promise<Map<number, Found[]>> {
  const { db, view } = context;
  const [near, far] = edge.reverse ? ['target', 'source'] : ['source', 'target'];
  const windowed = !view && (edge.offset > 0 || edge.limit !== undefined);
  const sql = new Sql().add(`SELECT e.${near} AS parent, `);
  if (windowed) ordering(edge, sql.add(`row_number() OVER (PARTITION BY e.${near} ORDER BY `)).add('e.edge) AS n, ');
  columns(edge, view, sql);
  sql.add(
    // The parents as an IN list: SQLite walks the edge index in (parent, edge) order, no sort needed.
    ` FROM edges e JOIN items s ON s.row = e.self JOIN items o ON o.row = e.${far} ` +
      `WHERE e.${near} IN (SELECT value FROM json_each(?)) AND e.name = ? AND s.deleted = 0`,
    JSON.stringify(parents),
    edge.name,
  );
  if (edge.filter) condition(edge.filter, sql.add(' AND '), textScope(context, undefined));
  readMode(context, sql);
  let query: Sql;
  if (windowed) {
    query = new Sql().add(`SELECT * FROM (${sql.text}) WHERE n > ?`, ...sql.params, edge.offset);
    if (edge.limit !== undefined) query.add(' AND n <= ?', edge.offset + edge.limit);
    query.add(' ORDER BY parent, n');
  } else query = ordering(edge, sql.add(` ORDER BY e.${near}, `)).add('e.edge');
  const lists = new Map<number, Found[]>();
  const windows = new Map<number, Window>();
  await each(statement(db, query.text), query.params, context, (row) => {
    const parent = row.parent as number;
    const json = head(row, edge, view);
    if (json === null) return true;
    if (view) {
      const window = windows.get(parent) ?? new Window(edge);
      windows.set(parent, window);
      if (!window.admits()) return true;
    }
    context.held.spend(json);
    const list = lists.get(parent) ?? [];
    lists.set(parent, list);
    list.push({ row: row.row, head: json, edges: [] });
    return true;
  });
  return lists;
}

/** Fills the edge lists of `items` (a list of `level`), level by level down the query. */
async function expand(level: Level, items: Found[], context: RunContext): Promise<void> {
  if (items.length === 0) return;
  const parents = [...new Set(items.map((item) => item.row))];
  for (const [index, edge] of level.edges.entries()) {
    const lists = await edgeLists(edge, parents, context);
    for (const item of items) item.edges[index] = lists.get(item.row) ?? [];
    await expand(edge, [...lists.values()].flat(), context);
  }
}

/** The answer `{"data": [...], "count"?, "total"?}` as chunks, within the request's budget. */
export async function answerGraphql(
  db: Db,
  query: GraphqlQuery,
  view: ReadView | undefined,
  budget: AnswerBudget,
  options: GraphqlOptions & { pausable: boolean },
): Promise<AnswerChunks> {
  const context: RunContext = { ...options, db, view, held: new AnswerBudget(budget.maxBytes), slice: new TimeSlice() };
  const lists: { level: Level; found: Found[] }[] = [];
  let total = 0;
  for (const root of query.roots) {
    const found = await roots(root, query.total, context);
    await expand(root, found.found, context);
    lists.push({ level: root, found: found.found });
    total += found.total;
  }
  function* items(): Generator<string> {
    for (const { level, found } of lists) for (const item of found) yield render(item, level);
  }
  const data = await collectArray(items(), budget, context.slice);
  const count = lists.reduce((sum, list) => sum + list.found.length, 0);
  const aggregates = (query.count ? `,"count":${count}` : '') + (query.total ? `,"total":${total}` : '');
  return merged(['{"data":', ...data, `${aggregates}}`]);
}
