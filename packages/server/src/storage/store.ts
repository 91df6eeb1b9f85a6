/**
 * The graph store of one owner: items, edges, schema, search and file records over one open
 * database. It knows nothing of HTTP; answers come back as JSON text, built straight from the
 * stored wire form of the properties (no parse and re-stringify of every item on a read).
 */
import { randomFillSync } from 'node:crypto';
import type { Statement } from 'better-sqlite3-multiple-ciphers';
import { ITEM_ID, SEARCH_KEYS, jsonChunks, jsonText, searchFilter, toJson } from '@pod/protocol';
import type { BulkResult, EdgeEntry, GraphqlAnswer, Item, Json, JsonChunks, ReceivedItem, Value } from '@pod/protocol';
import type { PodSummary, SchemaDeclaration } from '@pod/protocol';
import { PodError, badRequest, notFound } from '../errors.js';
import { type AnswerBudget, TimeSlice, collectArray, merged, type AnswerChunks } from './answer.js';
import type { Db } from './database.js';
import { DROP_TEXT, SET_TEXT, fullTextCondition, fullTextRows } from './fulltext.js';
import type { GraphqlQuery } from './graphql/query.js';
import { answerGraphql } from './graphql/run.js';
import { indexStep } from './lazy-index.js';
import { LEGACY_TABLE, ORDERED_TABLE, type OrderPhase, drainStep, orderPhase, orderStep } from './ordered-index.js';
import {
  BASE_FIELDS,
  INDEX_BUILDING,
  INDEXED,
  NOT_INDEXED,
  Schema,
  describe,
  encodeValue,
  isBaseField,
  jsonPath,
  type Property,
} from './schema.js';

/** An item's row as reads select it. */
export interface ItemRow {
  row: number;
  id: string;
  type: string;
  dateCreated: number;
  dateModified: number;
  dateServerModified: number;
  deleted: number;
  props: string;
  /** null for the owner's items, else the plugin that created it (see Principal.creator). */
  creator: string | null;
}

/** How a blob is sealed (files.ts): one GCM stream with its tag in the row (before segments), or tagged segments. */
export const BlobFormat = { SingleGcm: 1, Segmented: 2 } as const;
export type BlobFormat = (typeof BlobFormat)[keyof typeof BlobFormat];

/** A blob on disk and what opens it: its random name and its own key and nonce (files.ts). */
export interface SealedBlob {
  blob: string;
  key: Buffer;
  /** The GCM nonce of a SingleGcm blob; the nonce prefix of a Segmented one. */
  nonce: Buffer;
}

export interface StoredFile extends SealedBlob {
  sha256: string;
  /** SingleGcm only: a Segmented blob carries a tag in each segment. */
  tag: Buffer | null;
  size: number;
  format: BlobFormat;
}

/** A thumbnail of the stored file `sha256` at `size` (thumbnails.ts): a blob of segments holding `bytes` bytes. */
export interface StoredThumbnail extends SealedBlob {
  sha256: string;
  size: number;
  bytes: number;
}

/** An owner's OAuth 2 tokens for one platform; `expiresAt` in ms since the epoch, null if the provider did not say. */
export interface StoredOAuth2Tokens {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: number | null;
}

/** What one committed transaction changed; feeds plugin triggers and the change feed. */
export interface Commit {
  dateServerModified: number;
  created: { id: string; type: string }[];
  /** Items whose properties changed, and sources of new edges (their dateServerModified moved). */
  updated: { id: string; type: string }[];
  deleted: { id: string; type: string }[];
}

type Fields = Record<string, unknown>;

/** A stored item as a reader or an authorizer sees it: `props` is its properties' JSON. */
export interface StoredItem {
  id: string;
  type: string;
  creator: string | null;
  props: string;
}

/**
 * What a reader may see of an item: everything, only some properties, or nothing (`null`).
 * The owner reads without a view; a plugin reads through the view of its grant.
 */
export interface ReadView {
  visible(item: StoredItem): 'all' | ReadonlySet<string> | null;
  /**
   * The properties a `_text` search may match for this reader, in items of `type` (or of any type it
   * reads): a match through a property it cannot see would reveal that property's words.
   */
  textScope(type: string | undefined): 'all' | ReadonlySet<string>;
}

/**
 * Who writes, when it is not the owner: the store asks it right before applying each change, with
 * the item as stored at that moment (so items created earlier in the same bulk are checked like
 * any other), and records it as the creator of what it creates. Each check throws to refuse; an
 * item its view hides answers exactly like a missing one. The owner passes no principal: no checks.
 */
export interface Principal extends ReadView {
  /** Stored as items.creator of what it creates: whose items they are. */
  readonly creator: string;
  /** Stored as items.creatorRun; also the key its bulk batchIds are remembered under. */
  readonly run: string;
  checkCreate(type: string, fields: Fields): void;
  checkUpdate(item: StoredItem, patch: Fields): void;
  checkDelete(item: StoredItem): void;
  checkEdge(source: StoredItem, target: StoredItem, self: StoredItem | undefined, properties: Fields): void;
}

/** Rows read per page of a search: small enough that a page is well under a time slice. */
const SEARCH_PAGE_ROWS = 128;

const ITEM_COLUMNS = 'row, id, type, dateCreated, dateModified, dateServerModified, deleted, props, creator';
const columnsOf = (alias: string, prefix = '') =>
  ITEM_COLUMNS.split(', ')
    .map((column) => `${alias}.${column} AS ${prefix}${column}`)
    .join(', ');

/** The condition on an edge's other end `o`: in account mode (2023 §1.2) a deleted one hides the edge. */
const otherEnd = (hidesDeleted: boolean) => (hidesDeleted ? ' AND o.deleted = 0' : '');

/**
 * `[[edges]]` (outgoing: the item is the edge's source) and `~[[edges]]`: the edge item `s` and the
 * other end `o`; an edge whose edge item is deleted is left out in both modes.
 */
const edgeListSql = (near: 'source' | 'target', hidesDeleted: boolean) =>
  `SELECT e.name AS edgeName, ${columnsOf('s')}, ${columnsOf('o', 'o_')} FROM edges e ` +
  `JOIN items s ON s.row = e.self JOIN items o ON o.row = e.${near === 'source' ? 'target' : 'source'} ` +
  `WHERE e.${near} = ? AND s.deleted = 0${otherEnd(hidesDeleted)} ORDER BY e.edge`;
const EDGE_LIST_SQL = {
  legacy: { source: edgeListSql('source', false), target: edgeListSql('target', false) },
  account: { source: edgeListSql('source', true), target: edgeListSql('target', true) },
} as const;

/** An item as the Pod's own code reads it: the wire form's fields, properties parsed. */
const itemOf = (row: ItemRow): Item => ({
  id: row.id,
  type: row.type,
  dateCreated: row.dateCreated,
  dateModified: row.dateModified,
  dateServerModified: row.dateServerModified,
  deleted: row.deleted !== 0,
  ...(JSON.parse(row.props) as Record<string, Value>),
});

/** The wire form of an item: base fields, then the stored properties, then `extra` (already JSON). */
export function itemJson(row: ItemRow, extra = ''): string {
  const props = row.props.length > 2 ? `,${row.props.slice(1, -1)}` : '';
  return (
    `{"id":${JSON.stringify(row.id)},"type":${JSON.stringify(row.type)},"dateCreated":${row.dateCreated},` +
    `"dateModified":${row.dateModified},"dateServerModified":${row.dateServerModified},` +
    `"deleted":${row.deleted ? 'true' : 'false'}${props}${extra}}`
  );
}

/** How long a bulk's batchId is remembered: far longer than any client retries a push. */
const BATCH_MEMORY_MS = 7 * 24 * 3600_000;

/**
 * An id the Pod makes: 32 hex digits as before, the first 12 the time in ms, so that the id index
 * takes them near its end rather than at random places all over it (issue 13); 80 random bits remain.
 */
const newId = () => Date.now().toString(16).padStart(12, '0') + randomHex();

/**
 * 80 random bits as hex, from a pool the system's generator fills for 4,096 ids at a time: a call
 * per id cost ~5 µs, a tenth of what a bulk spends on an item (issue 13).
 */
function randomHex(): string {
  if (idPoolUsed === idPool.length) {
    randomFillSync(idPool);
    idPoolUsed = 0;
  }
  idPoolUsed += ID_RANDOM_BYTES;
  return idPool.toString('hex', idPoolUsed - ID_RANDOM_BYTES, idPoolUsed);
}
const ID_RANDOM_BYTES = 10;
const idPool = Buffer.alloc(ID_RANDOM_BYTES * 4096);
let idPoolUsed = idPool.length;

function optionalInteger(fields: Fields, name: string, fallback: number): number {
  const value = fields[name];
  if (value === undefined || value === null) return fallback;
  if (!Number.isSafeInteger(value))
    throw badRequest(`"${name}" must be an integer (ms since 1970); got ${describe(value)}`);
  return value as number;
}

export class OwnerStore {
  readonly schema: Schema;
  private lastDateServerModified: number;
  private readonly statements = new Map<Db, Map<string, Statement>>();
  /** Chains the heavy reads of this owner: one read snapshot at a time on the reader connection. */
  private readQueue: Promise<unknown> = Promise.resolve();
  /** Set while a write transaction runs: its timestamp and what it created. */
  private pending: Commit | null = null;
  /** A rolled-back transaction that declared properties leaves the in-memory schema to re-read. */
  private schemaChangedInTransaction = false;
  /**
   * The main connection serves one operation at a time (`withMain`): turns that outlast one
   * synchronous step (a sliced write) are chained here; `mainTurns` counts those not yet settled.
   */
  private mainTail: Promise<unknown> = Promise.resolve();
  private mainTurns = 0;
  /**
   * True while a sliced write transaction is open and paused between slices: any use of the main
   * connection then would read its uncommitted rows or nest into it, so `sql` and `write` refuse it.
   */
  private writePaused = false;
  /** In a sliced write: long work a step asked for, done (in slices) before the next step. */
  private laterSteps: Generator<void>[] | null = null;
  /** Whether the owner registered an account (2023 §1.1), read once: it only ever goes from false to true. */
  private accountRegistered: boolean;

  /** How far the equality index is in its move to the ordered table (ordered-index.ts). */
  private orderPhase: OrderPhase;

  /** Properties whose equality index is being built now (`indexAnswers`). */
  private readonly indexing = new Set<string>();

  /** The reader connection, once opened (`reader`). */
  private readerDb: Db | undefined;
  private openReader: () => Db;

  /**
   * `reader`: a second connection to the same file, used only for reads that span several event
   * loop turns; in WAL mode its read transaction is a consistent snapshot while writes go on. Given
   * as a function, it is opened on first use: most first requests to a cold owner need none.
   * `onBackgroundCommit`: a step of an index build or move committed (the pool checkpoints a large WAL).
   */
  constructor(
    private readonly db: Db,
    private readonly onCommit: (commit: Commit) => void = () => {},
    reader: Db | (() => Db) = db,
    private readonly onBackgroundCommit: () => void = () => {},
  ) {
    this.openReader = typeof reader === 'function' ? reader : () => reader;
    this.orderPhase = orderPhase(db);
    this.schema = new Schema(db, () => this.equalityTable);
    const { last } = db.prepare('SELECT max(dateServerModified) AS last FROM items').get() as { last: number | null };
    this.lastDateServerModified = last ?? 0;
    this.accountRegistered = db.prepare("SELECT 1 FROM meta WHERE key = 'account'").get() !== undefined;
    const forget = db.prepare(
      'DELETE FROM applied_batches WHERE (principal, batchId) IN ' +
        '(SELECT principal, batchId FROM applied_batches WHERE dateServerModified < ? LIMIT 20)',
    );
    setImmediate(() => void this.forgetOldBatches(forget, Date.now() - BATCH_MEMORY_MS));
    // A build cut short (the owner closed meanwhile) goes on from its cursor.
    const building = db.prepare('SELECT name FROM properties WHERE indexState = ?').pluck().all(INDEX_BUILDING);
    for (const name of building as string[]) this.indexAnswers(this.schema.require(name));
    if (this.orderPhase !== 'done') setImmediate(() => void this.moveToOrderedIndex());
  }

  /** The table equality filters read: the old, unordered one until the ordered one is complete. */
  private get equalityTable(): string {
    return this.orderPhase === 'building' ? LEGACY_TABLE : ORDERED_TABLE;
  }

  /**
   * Moves the equality index to its ordered table (ordered-index.ts), one step per turn of the main
   * connection with a turn of the event loop between steps. Reads switch to the new table in an
   * `exclusive` turn: no read snapshot taken before it was complete is still running and reading it.
   * A step that fails (the owner closed meanwhile) is taken again when the owner opens.
   */
  private async moveToOrderedIndex(): Promise<void> {
    try {
      while (this.orderPhase === 'building') {
        await new Promise(setImmediate);
        const built = await this.withMain(() => orderStep(this.db));
        this.onBackgroundCommit();
        if (built)
          await this.exclusive(() => {
            this.orderPhase = 'draining';
          });
      }
      while (this.orderPhase === 'draining') {
        await new Promise(setImmediate);
        const drained = await this.withMain(() => drainStep(this.db));
        this.onBackgroundCommit();
        if (drained) this.orderPhase = 'done';
      }
    } catch {
      // the owner closed meanwhile
    }
  }

  /**
   * The condition that the equality index holds a value of property `?` comparing by `operator` with `?`
   * for item `i`: with the ordered table, a point lookup of the whole key.
   */
  private indexHolds(operator: string): string {
    const item = this.orderPhase === 'building' ? 'item = i.row' : 'dsm = i.dateServerModified AND item = i.row';
    return `EXISTS (SELECT 1 FROM ${this.equalityTable} WHERE prop = ? AND value ${operator} ? AND ${item})`;
  }

  /** An item's entries in the equality index: its values (a Bool as 1/0) of the properties indexed or being indexed. */
  private indexEntries(props: string): [number, unknown][] {
    const entries: [number, unknown][] = [];
    for (const [name, value] of Object.entries(JSON.parse(props) as Fields)) {
      const property = this.schema.get(name);
      if (property && property.index !== NOT_INDEXED)
        entries.push([property.prop, typeof value === 'boolean' ? Number(value) : value]);
    }
    return entries;
  }

  /** Adds an entry to the equality index (and to the old table while it is still read: ordered-index.ts). */
  private addEntry(prop: number, value: unknown, dsm: number, row: number): void {
    this.sql(`INSERT INTO ${ORDERED_TABLE} (prop, value, dsm, item) VALUES (?, ?, ?, ?)`).run(prop, value, dsm, row);
    if (this.orderPhase === 'building')
      this.sql(`INSERT INTO ${LEGACY_TABLE} (prop, value, item) VALUES (?, ?, ?)`).run(prop, value, row);
  }

  /** Removes an entry, found by its whole key: the item's date at its last write. */
  private dropEntry(prop: number, value: unknown, dsm: number, row: number): void {
    this.sql(`DELETE FROM ${ORDERED_TABLE} WHERE prop = ? AND value = ? AND dsm = ? AND item = ?`).run(
      prop,
      value,
      dsm,
      row,
    );
    if (this.orderPhase === 'building')
      this.sql(`DELETE FROM ${LEGACY_TABLE} WHERE prop = ? AND value = ? AND item = ?`).run(prop, value, row);
  }

  /**
   * Writes an item's row at this commit's dateServerModified (with `next`'s changes): its entries in
   * the equality index move along, as their key holds the date. The row is read here, so a caller
   * that changed it earlier in the transaction cannot pass a stale date.
   */
  private rewriteRow(row: number, next: { props?: string; deleted?: number; dateModified?: number }): void {
    const stored = this.sql(`SELECT ${ITEM_COLUMNS} FROM items WHERE row = ?`).get(row) as ItemRow;
    const props = next.props ?? stored.props;
    const moves = stored.dateServerModified !== this.now || props !== stored.props;
    if (moves)
      for (const [prop, value] of this.indexEntries(stored.props))
        this.dropEntry(prop, value, stored.dateServerModified, row);
    this.sql('UPDATE items SET dateModified = ?, dateServerModified = ?, deleted = ?, props = ? WHERE row = ?').run(
      next.dateModified ?? stored.dateModified,
      this.now,
      next.deleted ?? stored.deleted,
      props,
      row,
    );
    if (moves) for (const [prop, value] of this.indexEntries(props)) this.addEntry(prop, value, this.now, row);
  }

  /**
   * Forgets the batches applied before `before`, a few per turn of the main connection: a week after an
   * import of millions through the client (a batchId per bulk), their answers are hundreds of MiB to free,
   * seconds of work that must not pause the owner's requests. A sweep cut short goes on at the next open.
   */
  private async forgetOldBatches(step: Statement, before: number): Promise<void> {
    try {
      while ((await this.withMain(() => step.run(before))).changes > 0) await new Promise(setImmediate);
    } catch {
      // the owner closed meanwhile
    }
  }

  /**
   * Whether the equality index answers filters on `property` now. If not, its build is started in
   * the background (lazy-index.ts) and the caller filters on items.props meanwhile: slower on a
   * large owner, the same answer.
   */
  indexAnswers(property: Property): boolean {
    if (property.index === INDEXED) return true;
    if (!this.indexing.has(property.name)) {
      this.indexing.add(property.name);
      setImmediate(() => void this.buildIndex(property.name));
    }
    return false;
  }

  /**
   * Builds a property's index in steps, each in a turn of the main connection, with a turn of the
   * event loop between them. The index counts as complete only in an `exclusive` turn: no read
   * snapshot taken before it (which sees the index unfinished) is still running and driven from it.
   * A step that fails (the owner closed meanwhile) leaves it building, resumed when the owner opens.
   */
  private async buildIndex(name: string): Promise<void> {
    const current = () => this.schema.require(name);
    try {
      await this.withMain(() => {
        if (current().index === NOT_INDEXED)
          this.db.transaction(() => this.schema.setIndex(current(), INDEX_BUILDING))();
      });
      for (;;) {
        await new Promise(setImmediate);
        const done = await this.withMain(() => indexStep(this.db, current(), this.orderPhase === 'building'));
        this.onBackgroundCommit();
        if (done) break;
      }
      await this.exclusive(() => this.db.transaction(() => this.schema.setIndex(current(), INDEXED))());
    } catch {
      if (this.db.open) this.schema.reload();
    } finally {
      this.indexing.delete(name);
    }
  }

  private sql(text: string, db = this.db): Statement {
    if (this.writePaused && db === this.db) throw mainInUse();
    let cache = this.statements.get(db);
    if (!cache) {
      cache = new Map();
      this.statements.set(db, cache);
    }
    let statement = cache.get(text);
    if (!statement) {
      statement = db.prepare(text);
      cache.set(text, statement);
    }
    return statement;
  }

  /**
   * Runs `work` in a read snapshot of the reader connection, begun by `before` when given (a bulk
   * begins it right at its commit, so its searches see exactly its writes and nothing later).
   * Heavy reads of one owner take turns; other owners never wait for them.
   */
  private inSnapshot<T>(
    work: (db: Db) => Promise<T>,
    before?: (beginSnapshot: () => void) => Promise<void>,
  ): Promise<T> {
    const turn = this.readQueue.then(async () => {
      const db = this.reader;
      const separate = db !== this.db;
      let begun = false;
      const beginSnapshot = () => {
        if (separate) {
          this.sql('BEGIN', db).run();
          this.sql('SELECT 1 FROM items LIMIT 1', db).get(); // the snapshot starts at the first read
        }
        begun = true;
      };
      try {
        if (before) await before(beginSnapshot);
        else beginSnapshot();
        return await work(db);
      } finally {
        if (separate && begun) this.sql('COMMIT', db).run();
      }
    });
    this.readQueue = turn.catch(() => {});
    return turn;
  }

  /**
   * Runs `work` when the owner's main connection is free, and holds it until `work` (and the
   * promise it returns, if any) has settled: a same-owner request, feed or plugin launch waits
   * here while a sliced write of this owner is open. Every use of the main connection goes through
   * here (reads on the reader connection, `searchAnswer`, need not). A free connection runs `work`
   * at once, in the caller's step; a promise returned by `work` holds the connection, so wrap it
   * (`{ answer }`) to only start it.
   */
  withMain<T>(work: () => T): Promise<Awaited<T>> {
    if (this.mainTurns === 0) {
      let result: T;
      try {
        result = work();
      } catch (error) {
        return Promise.reject(error);
      }
      return result instanceof Promise ? this.holdMain(result) : Promise.resolve(result as Awaited<T>);
    }
    return this.holdMain(this.mainTail.then(work) as Promise<Awaited<T>>);
  }

  /**
   * Runs `work` once both connections are idle: in a turn of the main connection and of the read
   * queue, so no write is open and no read snapshot spans it (a key change closes the reader).
   */
  exclusive<T>(work: () => T): Promise<T> {
    return this.withMain(() => {
      const turn = this.readQueue.then(work);
      this.readQueue = turn.catch(() => {});
      return turn;
    });
  }

  private get reader(): Db {
    this.readerDb ??= this.openReader();
    return this.readerDb;
  }

  /**
   * Closes the reader connection if it is open (the owner closes, or its key changes: then inside
   * `exclusive`); a later snapshot opens one with `openReader`.
   */
  closeReader(openReader = this.openReader) {
    if (this.readerDb && this.readerDb !== this.db) {
      this.statements.delete(this.readerDb);
      this.readerDb.close();
    }
    this.readerDb = undefined;
    this.openReader = openReader;
  }

  private holdMain<T>(turn: Promise<T>): Promise<T> {
    this.mainTurns++;
    const settled = () => void this.mainTurns--;
    this.mainTail = turn.then(settled, settled);
    return turn;
  }

  private beginCommit(): Commit {
    if (this.writePaused) throw mainInUse();
    const commit: Commit = {
      dateServerModified: Math.max(Date.now(), this.lastDateServerModified + 1),
      created: [],
      updated: [],
      deleted: [],
    };
    this.pending = commit;
    return commit;
  }

  /**
   * Runs `work` in one write transaction. Its dateServerModified is taken here, once:
   * max(now, previous + 1), so it increases strictly across transactions (spec §3).
   */
  write<T>(work: () => T): T {
    const commit = this.beginCommit();
    try {
      const result = this.db.transaction(work)();
      this.lastDateServerModified = commit.dateServerModified;
      this.pending = null;
      this.onCommit(commit);
      return result;
    } catch (error) {
      if (this.schemaChangedInTransaction) this.schema.reload();
      throw error;
    } finally {
      this.pending = null;
      this.schemaChangedInTransaction = false;
    }
  }

  /**
   * `write` for work that may turn long (a declaration that erases a property): its long part runs
   * in slices (`writeInSlices`), in a turn of the main connection.
   */
  writeLong<T>(work: () => T): Promise<T> {
    return this.writeSteps(
      // biome-ignore lint/correctness/useYield: one step without a pause, so that a long write takes the same path
      (function* () {
        return work();
      })(),
    );
  }

  /** `write` for work in steps (a generator that yields between them): one transaction, paused between slices. */
  writeSteps<T>(steps: Generator<void, T>): Promise<T> {
    return this.withMain(() => this.writeInSlices(steps, () => {}));
  }

  /**
   * Like `write`, for a long one: `steps` does the work between its `yield`s, and whenever a slice
   * of the event loop has been used the transaction pauses so other owners are served; it stays ONE
   * transaction, rolled back whole if a step throws. Call inside `withMain`: while it is paused,
   * nothing else may touch the main connection (enforced by `sql`). `afterCommit` runs right after
   * the commit, before anything else can write.
   */
  private async writeInSlices<T>(steps: Generator<void, T>, afterCommit: () => void): Promise<T> {
    const commit = this.beginCommit();
    const slice = new TimeSlice();
    const later: Generator<void>[] = [];
    this.laterSteps = later;
    const pause = async () => {
      this.writePaused = true;
      try {
        await slice.pause();
      } finally {
        this.writePaused = false;
      }
    };
    let step: IteratorResult<void, T>;
    try {
      this.sql('BEGIN IMMEDIATE').run();
      for (step = steps.next(); ; step = steps.next()) {
        for (let work = later.shift(); work; work = later.shift()) for (const _ of work) if (slice.over) await pause();
        if (step.done) break;
        if (slice.over) await pause();
      }
      this.sql('COMMIT').run();
    } catch (error) {
      if (this.db.inTransaction) this.sql('ROLLBACK').run();
      if (this.schemaChangedInTransaction) this.schema.reload();
      throw error;
    } finally {
      this.pending = null;
      this.laterSteps = null;
      this.schemaChangedInTransaction = false;
    }
    this.lastDateServerModified = commit.dateServerModified;
    afterCommit();
    this.onCommit(commit);
    return step.value;
  }

  private get now(): number {
    if (this.writePaused) throw mainInUse();
    return this.openCommit.dateServerModified;
  }

  /** The commit the current write records its changes in. */
  private get openCommit(): Commit {
    if (!this.pending) throw new Error('a write outside OwnerStore.write');
    return this.pending;
  }

  /** The item `id`; with a view, one it hides is not found either (same answer, nothing revealed). */
  private rowById(id: unknown, view?: ReadView): ItemRow {
    if (typeof id !== 'string') throw badRequest(`an item id must be a string; got ${describe(id)}`);
    const row = this.sql(`SELECT ${ITEM_COLUMNS} FROM items WHERE id = ?`).get(id) as ItemRow | undefined;
    if (!row || (view && view.visible(row) === null)) throw notFound(`item ${JSON.stringify(id)} not found`);
    return row;
  }

  // ---- account and read mode (2023 §1) ---------------------------------------------------

  /** Whether an account is registered for this owner: the row meta('account', registration time in ms). */
  hasAccount(): boolean {
    return this.accountRegistered;
  }

  /**
   * Account mode (2023 §1.2): reads leave soft-deleted items, and edges to or from them, out, unless
   * a search asks for `deleted` itself. Legacy mode (no account) reads them as 2021 clients expect.
   */
  get hidesDeleted(): boolean {
    return this.hasAccount();
  }

  /** Whether a search leaves deleted items out: in account mode, unless it asks for them (`_includeDeleted`). */
  private hidesDeletedFor(query: Fields): boolean {
    return this.hidesDeleted && query._includeDeleted !== true;
  }

  /**
   * Registers the owner's account, outside the item space (no item is created); false when one was
   * registered already. From then on the database is in account mode, for good.
   */
  registerAccount(): boolean {
    const added = this.sql("INSERT INTO meta (key, value) VALUES ('account', ?) ON CONFLICT (key) DO NOTHING").run(
      Date.now(),
    ).changes;
    this.accountRegistered = true;
    return added > 0;
  }

  // ---- items ----------------------------------------------------------------------------

  getItemJson(id: string, view?: ReadView): Json<Item[]> {
    const row = this.sql(`SELECT ${ITEM_COLUMNS} FROM items WHERE id = ?`).get(id) as ItemRow | undefined;
    const json = row && !(row.deleted && this.hidesDeleted) ? this.render(row, view) : null;
    return jsonText(json === null ? '[]' : `[${json}]`);
  }

  /** An item as authorizers see it, with the run whose credential created it (null: the owner); undefined when there is none. */
  storedItem(id: string): (StoredItem & { creatorRun: string | null; deleted: number }) | undefined {
    return this.sql('SELECT id, type, creator, creatorRun, props, deleted FROM items WHERE id = ?').get(id) as
      | (StoredItem & { creatorRun: string | null; deleted: number })
      | undefined;
  }

  // ---- typed reads, for the Pod's own code (plugin runs); requests get JSON text instead ----

  /** The item `id` as the owner sees it, properties parsed; undefined when there is none. */
  item(id: string): Item | undefined {
    const row = this.sql(`SELECT ${ITEM_COLUMNS} FROM items WHERE id = ?`).get(id) as ItemRow | undefined;
    return row && itemOf(row);
  }

  /** The ids the item's outgoing edges named `name` point to (edges not deleted), oldest edge first. */
  edgeTargets(id: string, name: string): string[] {
    return this.sql(
      'SELECT o.id FROM items i JOIN edges e ON e.source = i.row JOIN items s ON s.row = e.self ' +
        'JOIN items o ON o.row = e.target WHERE i.id = ? AND e.name = ? AND s.deleted = 0 ORDER BY e.edge',
    )
      .pluck()
      .all(id, name) as string[];
  }

  /** `summary`'s answer: items not deleted, by type (read from the `items_by_type` index). */
  summaryJson(): Json<PodSummary> {
    const rows = this.sql(
      'SELECT type, count(*) AS n FROM items INDEXED BY items_by_type WHERE deleted = 0 GROUP BY type',
    ).all() as { type: string; n: number }[];
    const types = Object.fromEntries(rows.map(({ type, n }) => [type, n]));
    return toJson<PodSummary>({ items: rows.reduce((sum, { n }) => sum + n, 0), types });
  }

  /** Whether `view` shows any item matching `query` (a search's filters). */
  anyVisible(query: Fields, view: ReadView): boolean {
    for (const row of this.searchRows(query, this.db, view)) if (view.visible(row) !== null) return true;
    return false;
  }

  /** The items of `type` not deleted whose properties equal `filter`, newest first. */
  *latest(type: string, filter: Fields): Generator<Item> {
    const query = { ...filter, type, deleted: false, _sortOrder: 'Desc' };
    for (const row of this.searchRows(query, this.db)) yield itemOf(row);
  }

  /** An item's wire form as `view` lets its reader see it; null when hidden. */
  private render(row: ItemRow, view: ReadView | undefined, extra = ''): string | null {
    const visible = view ? view.visible(row) : 'all';
    if (visible === null) return null;
    if (visible === 'all') return itemJson(row, extra);
    const values = new Map<string, { json: string }>();
    for (const [name, value] of Object.entries(JSON.parse(row.props) as Fields))
      if (visible.has(name)) values.set(name, encodeValue(name, this.schema.require(name).valueType, value));
    return itemJson({ ...row, props: propsJson(values) }, extra);
  }

  createItem(fields: Fields, principal?: Principal): string {
    if (typeof fields.type !== 'string' || fields.type === '')
      throw badRequest('an item needs a non-empty "type" string');
    principal?.checkCreate(fields.type, fields);
    return this.insertItem(fields, principal);
  }

  private insertItem(fields: Fields, principal: Principal | undefined): string {
    const id = fields.id ?? newId();
    if (typeof id !== 'string' || !ITEM_ID.test(id))
      throw badRequest(`a given id must match ${ITEM_ID.source}; got ${describe(fields.id)}`);
    const type = fields.type as string; // checked by createItem, or the store's own "Edge"
    const now = this.now;
    const deleted = fields.deleted ?? false;
    if (typeof deleted !== 'boolean') throw badRequest(`"deleted" must be a boolean; got ${describe(deleted)}`);
    if (type === 'ItemPropertySchema') this.declareProperty(fields, principal);
    if (type === 'ItemEdgeSchema') this.recordEdge(fields);

    const values = new Map<string, { property: Property; index: string | number; json: string }>();
    for (const [name, value] of Object.entries(fields)) {
      if (isBaseField(name) || value === null || value === undefined) continue;
      const property = this.schema.require(name);
      values.set(name, { property, ...encodeValue(name, property.valueType, value) });
    }
    let row: number;
    try {
      row = Number(
        this.sql(
          'INSERT INTO items (id, type, dateCreated, dateModified, dateServerModified, deleted, props, creator, creatorRun) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ).run(
          id,
          type,
          optionalInteger(fields, 'dateCreated', Date.now()),
          optionalInteger(fields, 'dateModified', Date.now()),
          now,
          deleted ? 1 : 0,
          propsJson(values),
          principal?.creator ?? null,
          principal?.run ?? null,
        ).lastInsertRowid,
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new PodError('conflict', `an item with id ${JSON.stringify(id)} already exists`);
      throw error;
    }
    for (const { property, index: value } of values.values()) {
      if (property.index !== NOT_INDEXED) this.addEntry(property.prop, value, now, row);
      if (property.valueType === 'Text') this.sql(SET_TEXT).run(row, property.prop, value);
    }
    this.openCommit.created.push({ id, type });
    return id;
  }

  /** Applies a property declaration (an ItemPropertySchema item's fields) to the schema. */
  private declareProperty(fields: Fields, principal: Principal | undefined): void {
    const erase = (old: Property) => {
      // In a sliced write the erasure takes slices of its own, right after this item; else it runs now.
      if (this.laterSteps) this.laterSteps.push(this.eraseProperty(old));
      else for (const _ of this.eraseProperty(old));
    };
    if (this.schema.declare(fields, principal?.creator ?? null, erase)) this.schemaChangedInTransaction = true;
  }

  /** Records the edge declaration an ItemEdgeSchema item carries (spec 2023 §2.3); declarations are never removed. */
  private recordEdge(fields: Fields): void {
    const [name, source, target] = EDGE_DECLARATION_FIELDS.map((field) => {
      const value = fields[field];
      if (typeof value !== 'string' || value === '')
        throw badRequest(`an ItemEdgeSchema item needs a non-empty "${field}" string; got ${describe(value)}`);
      return value;
    });
    this.sql('INSERT OR IGNORE INTO edge_declarations (name, source, target) VALUES (?, ?, ?)').run(
      name,
      source,
      target,
    );
  }

  /**
   * `POST /v5/<owner>/schema` (spec 2023 §2.2), inside one write: each property follows the rules of
   * an ItemPropertySchema item and each edge those of an ItemEdgeSchema item, through the principal's
   * checks; a pair or triple not yet listed as a schema item gets one, so 2021 listings see it. An
   * error names the entry, and the write rolls back whole. One step per entry (`writeSteps`): a whole
   * central schema (some 600 properties and 300 edges) takes 50–200 ms.
   */
  *declareSchema({ nodes, edges, meta }: SchemaDeclaration, principal?: Principal): Generator<void> {
    for (const [itemType, { properties }] of Object.entries(nodes))
      for (const [propertyName, valueType] of Object.entries(properties))
        yield naming(`nodes.${itemType}.properties.${propertyName}`, () => {
          if (isBaseField(propertyName)) {
            // Accepted and ignored: a base field is never an ordinary property.
            if (BASE_FIELDS[propertyName] !== valueType)
              throw badRequest(`"${propertyName}" is a base field of type ${BASE_FIELDS[propertyName]}`);
            return;
          }
          const declaration = { type: 'ItemPropertySchema', itemType, propertyName, valueType };
          if (!this.listsDeclaration('ItemPropertySchema', { itemType, propertyName }))
            return void this.createItem(declaration, principal);
          principal?.checkCreate(declaration.type, declaration);
          this.declareProperty(declaration, principal);
        });
    for (const [edgeName, ends] of Object.entries(edges))
      for (const [index, { source, target }] of ends.entries())
        yield naming(`edges.${edgeName}[${index}]`, () => {
          // A listed triple is recorded (its item recorded it): a repeat changes nothing.
          const fields = { edgeName, sourceType: source, targetType: target };
          if (!this.listsDeclaration('ItemEdgeSchema', fields))
            this.createItem({ type: 'ItemEdgeSchema', ...fields }, principal);
        });
    this.sql(
      'INSERT INTO schema_meta (name, url, version, dateRecorded) VALUES (?, ?, ?, ?) ON CONFLICT (name) ' +
        'DO UPDATE SET url = excluded.url, version = excluded.version, dateRecorded = excluded.dateRecorded',
    ).run(meta.name, meta.url ?? null, meta.version ?? null, this.now);
  }

  /** Whether a schema item of `type` (not deleted) holds exactly these values. */
  private listsDeclaration(type: string, values: Record<string, string>): boolean {
    const filters = Object.entries(values).map(([name, value]) => [this.schema.require(name).prop, value]);
    const sql =
      `SELECT 1 FROM items i WHERE i.type = ? AND i.deleted = 0` +
      ` AND ${this.indexHolds('=')}`.repeat(filters.length);
    return this.sql(sql).get(type, ...filters.flat()) !== undefined;
  }

  /** The edge declarations (spec 2023 §2.4), and per /v5 meta name its latest url and version. */
  schemaDeclarations(): {
    edges: { name: string; source: string; target: string }[];
    meta: { name: string; url: string | null; version: string | null; dateRecorded: number }[];
  } {
    return {
      edges: this.sql('SELECT name, source, target FROM edge_declarations ORDER BY name, source, target').all() as {
        name: string;
        source: string;
        target: string;
      }[],
      meta: this.sql('SELECT name, url, version, dateRecorded FROM schema_meta ORDER BY name').all() as {
        name: string;
        url: string | null;
        version: string | null;
        dateRecorded: number;
      }[],
    };
  }

  /**
   * Applies changed properties; `null` erases one. With `_expectedDateServerModified` (ours, not
   * the original Pod's) the update applies only if the item is still at that version, else 409.
   */
  updateItem(patch: Fields, principal?: Principal): void {
    const row = this.rowById(patch.id, principal);
    principal?.checkUpdate(row, patch);
    const expected = patch._expectedDateServerModified;
    if (expected !== undefined && expected !== row.dateServerModified)
      throw new PodError(
        'conflict',
        `item ${JSON.stringify(row.id)} was changed since version ${describe(expected)} (now ${row.dateServerModified}); read it again and re-apply the change`,
      );
    const deleted = patch.deleted;
    if (deleted !== undefined && deleted !== null && typeof deleted !== 'boolean')
      throw badRequest(`"deleted" must be a boolean or null; got ${describe(deleted)}`);
    const stored = new Map(Object.entries(JSON.parse(row.props) as Fields));
    for (const [name, value] of Object.entries(patch)) {
      if (isBaseField(name) || value === undefined || name === '_expectedDateServerModified') continue;
      const property = this.schema.require(name);
      if (row.type === 'ItemPropertySchema' && ['itemType', 'propertyName', 'valueType'].includes(name))
        throw badRequest('a schema declaration cannot be changed; declare a new property instead');
      if (row.type === 'ItemEdgeSchema' && EDGE_DECLARATION_FIELDS.includes(name))
        throw badRequest('an edge declaration cannot be changed; declare a new edge instead');
      if (value === null) {
        if (stored.delete(name) && property.valueType === 'Text') this.sql(DROP_TEXT).run(row.row, property.prop);
        continue;
      }
      const { index } = encodeValue(name, property.valueType, value);
      if (property.valueType === 'Text') this.sql(SET_TEXT).run(row.row, property.prop, index);
      stored.set(name, value);
    }
    const values = new Map<string, { json: string }>();
    for (const [name, value] of stored) values.set(name, encodeValue(name, this.schema.require(name).valueType, value));
    this.rewriteRow(row.row, {
      dateModified: optionalInteger(patch, 'dateModified', Date.now()),
      deleted: typeof deleted === 'boolean' ? Number(deleted) : row.deleted,
      props: propsJson(values),
    });
    this.openCommit.updated.push({ id: row.id, type: row.type });
  }

  deleteItem(id: unknown, principal?: Principal): void {
    const row = this.rowById(id, principal);
    principal?.checkDelete(row);
    this.softDelete(row);
  }

  private softDelete(row: ItemRow): void {
    this.rewriteRow(row.row, { deleted: 1, dateModified: Date.now() });
    this.openCommit.deleted.push({ id: row.id, type: row.type });
  }

  // ---- edges ----------------------------------------------------------------------------

  createEdge(edge: Fields, principal?: Principal): string {
    const { _source, _target, _name, _self, ...properties } = edge;
    const source = this.rowById(_source, principal);
    const target = this.rowById(_target, principal);
    if (typeof _name !== 'string' || _name === '') throw badRequest('an edge needs a non-empty "_name" string');
    const given = _self !== undefined && _self !== null ? this.rowById(_self, principal) : undefined;
    if (given && Object.keys(properties).length > 0)
      throw badRequest('an edge with "_self" takes its properties from that item; update it instead');
    principal?.checkEdge(source, target, given, properties);
    const self = given ?? this.rowById(this.insertItem({ ...properties, type: 'Edge' }, principal));
    this.sql('INSERT INTO edges (self, source, target, name) VALUES (?, ?, ?, ?)').run(
      self.row,
      source.row,
      target.row,
      _name,
    );
    this.rewriteRow(source.row, {});
    this.openCommit.updated.push({ id: source.id, type: source.type });
    return self.id;
  }

  /**
   * 2023 §5.1: soft-deletes every live edge from `_source` to `_target` (named `_name`, or any
   * name) and bumps the source, as `create_edge` does; 404 when there is none. A principal must
   * be allowed to change the source and to delete each edge item.
   */
  deleteEdges(ends: { _source: string; _target: string; _name?: string | undefined }, principal?: Principal): void {
    const source = this.rowById(ends._source, principal);
    const target = this.rowById(ends._target, principal);
    const name = ends._name ?? null;
    const selves = this.sql(
      `SELECT ${columnsOf('s')} FROM edges e JOIN items s ON s.row = e.self ` +
        'WHERE e.source = ? AND e.target = ? AND (? IS NULL OR e.name = ?) AND s.deleted = 0 ORDER BY e.edge',
    ).all(source.row, target.row, name, name) as ItemRow[];
    if (selves.length === 0)
      throw notFound(
        `no edge${name === null ? '' : ` named ${JSON.stringify(name)}`} from item ${JSON.stringify(source.id)} ` +
          `to item ${JSON.stringify(target.id)}`,
      );
    principal?.checkUpdate(source, {});
    for (const self of selves) {
      principal?.checkDelete(self);
      this.softDelete(self);
    }
    this.rewriteRow(source.row, {});
    this.openCommit.updated.push({ id: source.id, type: source.type });
  }

  getEdgesJson(
    query: { item: string; direction: 'Outgoing' | 'Incoming'; expandItems: boolean },
    view?: ReadView,
  ): Json<EdgeEntry[]> {
    const item = this.rowById(query.item, view);
    const { hidesDeleted } = this;
    if (item.deleted && hidesDeleted) throw notFound(`item ${JSON.stringify(query.item)} not found`);
    const [near, far] = query.direction === 'Outgoing' ? ['source', 'target'] : ['target', 'source'];
    const rows = this.sql(
      `SELECT e.name AS edgeName, ${columnsOf('o')} FROM edges e JOIN items s ON s.row = e.self ` +
        `JOIN items o ON o.row = e.${far} WHERE e.${near} = ? AND s.deleted = 0${otherEnd(hidesDeleted)} ORDER BY e.edge`,
    ).all(item.row) as (ItemRow & { edgeName: string })[];
    const entries: string[] = [];
    for (const row of rows) {
      const other = this.render(row, view);
      if (other === null) continue;
      entries.push(
        `{"name":${JSON.stringify(row.edgeName)},"item":${query.expandItems ? other : `{"id":${JSON.stringify(row.id)}}`}}`,
      );
    }
    return jsonText(`[${entries.join(',')}]`);
  }

  /** `[[edges]]` entries: the edge item plus `_edge` (its name) and `_item` (the other end). */
  private edgeListJson(
    row: number,
    direction: 'source' | 'target',
    view: ReadView | undefined,
    db: Db,
    hidesDeleted: boolean,
  ): string {
    const rows = this.sql(EDGE_LIST_SQL[hidesDeleted ? 'account' : 'legacy'][direction], db).all(row) as (ItemRow & {
      edgeName: string;
    } & Record<string, unknown>)[];
    const entries: string[] = [];
    for (const r of rows) {
      const otherRow = {
        row: r.o_row,
        id: r.o_id,
        type: r.o_type,
        dateCreated: r.o_dateCreated,
        dateModified: r.o_dateModified,
        dateServerModified: r.o_dateServerModified,
        deleted: r.o_deleted,
        props: r.o_props,
      };
      const other = this.render(otherRow as ItemRow, view);
      if (other === null) continue;
      // An edge shows when its other end does; a reader not granted Edge items sees its base fields only.
      const extra = `,"_edge":${JSON.stringify(r.edgeName)},"_item":${other}`;
      entries.push(this.render(r, view, extra) ?? itemJson({ ...r, props: '{}' }, extra));
    }
    return `[${entries.join(',')}]`;
  }

  // ---- search ---------------------------------------------------------------------------

  /**
   * Items matching every filter, ordered by (dateServerModified, insertion); with `_limit` N the
   * first N plus every further match sharing the N-th's dateServerModified (spec §3), so a client
   * paging with `dateServerModified>=` never skips an item; with `_offset` (2023 §3.1) a strict
   * skip and limit instead. Synchronous: for the Pod's own small lookups; requests go through `searchAnswer`.
   */
  searchJson(query: Fields, view?: ReadView): string {
    return `[${[...this.searchItems(query, view, this.db)].join(',')}]`;
  }

  /** A request's search: read from a snapshot in time slices, within the request's answer budget. */
  searchAnswer(query: Fields, view: ReadView | undefined, budget: AnswerBudget): Promise<JsonChunks<ReceivedItem[]>> {
    return this.inSnapshot(async (db) => jsonChunks(await collectArray(this.searchItems(query, view, db), budget)));
  }

  /**
   * A GraphQL query (checked by `parseQuery`) read from a snapshot in time slices, within the answer
   * budget; in account mode (`hidesDeleted`) deleted items are left out of every list.
   */
  graphqlAnswer(
    query: GraphqlQuery,
    view: ReadView | undefined,
    budget: AnswerBudget,
  ): Promise<JsonChunks<GraphqlAnswer>> {
    const options = {
      hideDeleted: this.hidesDeleted,
      types: (name: string) => this.schema.get(name),
      indexed: (name: string) => this.indexAnswers(this.schema.require(name)),
      equalityTable: this.equalityTable,
    };
    return this.inSnapshot(async (db) =>
      jsonChunks(await answerGraphql(db, query, view, budget, { ...options, pausable: db !== this.db })),
    );
  }

  /**
   * A page of everything changed from `cursor` on (tie rule included), and where the next page
   * starts. Deletions included in both modes: the feed is how a syncing client learns of them.
   */
  changesSince(cursor: number, pageSize: number): { itemsJson: string; nextCursor: number } | undefined {
    const query = { 'dateServerModified>=': cursor, _limit: pageSize, _includeDeleted: true };
    const rows = [...this.searchRows(query, this.db)];
    const last = rows.at(-1);
    if (!last) return undefined;
    return {
      itemsJson: `[${rows.map((row) => itemJson(row)).join(',')}]`,
      nextCursor: last.dateServerModified + 1,
    };
  }

  /** The wire form of each item a search answers, `[[edges]]` expanded, as `view` lets its reader see them. */
  private *searchItems(query: Fields, view: ReadView | undefined, db: Db): Generator<string> {
    const outgoing = query['[[edges]]'] !== undefined;
    const incoming = query['~[[edges]]'] !== undefined;
    const hidesDeleted = this.hidesDeletedFor(query);
    for (const row of this.searchRows(query, db, view)) {
      if (view && view.visible(row) === null) continue;
      const edges =
        (outgoing ? `,"[[edges]]":${this.edgeListJson(row.row, 'source', view, db, hidesDeleted)}` : '') +
        (incoming ? `,"~[[edges]]":${this.edgeListJson(row.row, 'target', view, db, hidesDeleted)}` : '');
      const json = this.render(row, view, edges);
      if (json !== null) yield json;
    }
  }

  /**
   * The matching rows in order. The selection is read first as row numbers only (index work, no
   * property text), then the rows themselves page by page, so a caller can stop or pause between pages.
   */
  private *searchRows(query: Fields, db: Db, view?: ReadView): Generator<ItemRow> {
    const { from, condition, params, descending, limit, offset, order: by } = this.searchPlan(query, view);
    if (limit === 0) return;
    const order = descending ? 'DESC' : 'ASC';
    const ordering = ` ORDER BY ${by.dsm} ${order}, ${by.row} ${order}`;
    const select = `SELECT i.row AS row, i.dateServerModified AS dsm FROM ${from}`;
    // With `_offset`, a strict window (LIMIT -1: no limit); without it, `_limit` and the tie rule below.
    const window = offset !== undefined ? ' LIMIT ? OFFSET ?' : limit ? ' LIMIT ?' : '';
    const windowParams = offset !== undefined ? [limit ?? -1, offset] : limit ? [limit] : [];
    const selected = this.sql(select + condition + ordering + window, db)
      .raw()
      .all(...params, ...windowParams) as [number, number][];
    const last = selected.at(-1);
    if (offset === undefined && limit && selected.length === limit && last) {
      const [lastRow, lastDsm] = last;
      const ties = `${by.dsm} = ? AND ${by.row} ${descending ? '<' : '>'} ?`;
      const more = this.sql(select + (condition ? `${condition} AND ${ties}` : ` WHERE ${ties}`) + ordering, db)
        .raw()
        .all(...params, lastDsm, lastRow) as [number, number][];
      selected.push(...more);
    }
    const page = this.sql(`SELECT ${ITEM_COLUMNS} FROM items WHERE row IN (SELECT value FROM json_each(?))`, db);
    for (let start = 0; start < selected.length; start += SEARCH_PAGE_ROWS) {
      const rows = selected.slice(start, start + SEARCH_PAGE_ROWS).map(([row]) => row);
      const byRow = new Map((page.all(JSON.stringify(rows)) as ItemRow[]).map((item) => [item.row, item]));
      for (const row of rows) {
        // read in the same snapshot as its row number, so it is there
        const item = byRow.get(row);
        if (item) yield item;
      }
    }
  }

  /**
   * The SQL of a search's filters, checked against the schema (400 for an unknown property or a
   * wrong value type). A property filter drives the query from the equality index (an
   * equality first, else a range), else `_text` drives it from the full-text index; the rest are
   * checked per row. A comparison never matches an item without the property. In account mode,
   * deleted items are left out unless the query names `deleted` or `_includeDeleted`.
   */
  private searchPlan(query: Fields, view?: ReadView) {
    const where: string[] = [];
    const params: unknown[] = [];
    const indexed: { prop: number; operator: string; index: string | number }[] = [];
    for (const [key, value] of Object.entries(query)) {
      if (SEARCH_KEYS.has(key) || value === undefined) continue;
      const { name, comparison } = searchFilter(key);
      if (value === null) throw badRequest(`search filter "${key}" is null; filter on a value, or leave it out`);
      let valueType = isBaseField(name) ? BASE_FIELDS[name] : undefined;
      let property: Property | undefined;
      if (valueType === undefined) {
        property = this.schema.require(name);
        valueType = property.valueType;
      }
      const { index } = encodeValue(name, valueType, value);
      if (valueType === 'Bool' && comparison !== '=' && comparison !== '!=')
        throw badRequest(`search filter "${key}": "${name}" is Bool, which compares only with "!=" (or equals)`);
      if (property && this.indexAnswers(property)) indexed.push({ prop: property.prop, operator: comparison, index });
      else if (property) {
        // not indexed yet: the value as items.props holds it (a Bool as 1/0, absent as NULL: no match)
        where.push(`(i.props ->> ?) ${comparison} ?`);
        params.push(jsonPath(name), index);
      } else {
        where.push(`i.${name} ${comparison} ?`);
        params.push(index);
      }
    }
    const text = typeof query._text === 'string' ? query._text : undefined;
    const textScope = text === undefined ? undefined : this.textScope(query.type, view);
    indexed.sort((a, b) => Number(b.operator === '=') - Number(a.operator === '='));
    const [driver, ...others] = indexed;
    let from = 'items i';
    // The wire order: (dateServerModified, row), read from the ordered index's key when it drives the
    // query by one value, so that its matches come in order and a limit stops the scan.
    let order = { dsm: 'i.dateServerModified', row: 'i.row' };
    if (driver) {
      // Drive the query from the index, not from a scan of items in date order.
      from = `${this.equalityTable} f CROSS JOIN items i`;
      if (driver.operator === '=' && this.equalityTable === ORDERED_TABLE) order = { dsm: 'f.dsm', row: 'f.item' };
      where.unshift(`f.prop = ? AND f.value ${driver.operator} ? AND i.row = f.item`);
      params.unshift(driver.prop, driver.index);
    } else if (text !== undefined) {
      const rows = fullTextRows(text, textScope);
      from = `(${rows.sql}) t CROSS JOIN items i`;
      where.unshift('i.row = t.item');
      params.unshift(...rows.params);
    }
    for (const { prop, operator, index } of others) {
      where.push(this.indexHolds(operator));
      params.push(prop, index);
    }
    if (text !== undefined && driver) {
      const condition = fullTextCondition(text, textScope);
      where.push(condition.sql);
      params.push(...condition.params);
    }
    if (typeof query.id === 'string') {
      where.push('i.id = ?');
      params.push(query.id);
    }
    if (typeof query.type === 'string') {
      where.push('i.type = ?');
      params.push(query.type);
    }
    if (typeof query.deleted === 'boolean') {
      where.push('i.deleted = ?');
      params.push(Number(query.deleted));
    } else if (this.hidesDeletedFor(query)) where.push('i.deleted = 0');
    return {
      from,
      condition: where.length ? ` WHERE ${where.join(' AND ')}` : '',
      params,
      order,
      descending: query._sortOrder === 'Desc',
      limit: typeof query._limit === 'number' ? query._limit : undefined,
      offset: typeof query._offset === 'number' ? query._offset : undefined,
    };
  }

  /** The properties a search's `_text` may match for `view`'s reader (undefined: every Text property). */
  private textScope(type: unknown, view: ReadView | undefined): Property[] | undefined {
    const scope = view?.textScope(typeof type === 'string' ? type : undefined) ?? 'all';
    return scope === 'all' ? undefined : [...scope].flatMap((name) => this.schema.get(name) ?? []);
  }

  // ---- bulk -----------------------------------------------------------------------------

  /**
   * Creates, updates, deletes, edges, then searches, as one transaction (spec §3). The writes run
   * in slices (`writeInSlices`) holding the owner's main connection; the searches then read a
   * snapshot taken right at the commit, before anything else can write, so they answer exactly what
   * the transaction left, in time slices.
   * Their filters are checked before the commit: a bad search rolls the writes back. A search
   * answer over the budget comes after the commit: its 400 says the writes were kept. The
   * `batchId` check runs in the same turn as the writes, so two concurrent retries apply once.
   */
  bulkJson(
    bulk: {
      batchId?: string;
      createItems?: Fields[];
      updateItems?: Fields[];
      deleteItems?: string[];
      createEdges?: Fields[];
      search?: Fields[];
    },
    principal: Principal | undefined,
    budget: AnswerBudget,
  ): Promise<JsonChunks<BulkResult>> {
    const searches = bulk.search ?? [];
    const sender = principal?.run ?? '';
    let writesJson = '';
    let replayed = false;
    let recorded = false;
    const store = this;
    function* writes(): Generator<void, string> {
      const created: string[] = [];
      const edges: string[] = [];
      for (const item of bulk.createItems ?? []) yield void created.push(store.createItem(item, principal));
      for (const patch of bulk.updateItems ?? []) yield store.updateItem(patch, principal);
      for (const id of bulk.deleteItems ?? []) yield store.deleteItem(id, principal);
      for (const edge of bulk.createEdges ?? []) yield void edges.push(store.createEdge(edge, principal));
      for (const query of searches) store.searchPlan(query, principal);
      const answer = `{"createItems":${JSON.stringify(created)},"createEdges":${JSON.stringify(edges)}`;
      const count = created.length + edges.length + (bulk.updateItems?.length ?? 0) + (bulk.deleteItems?.length ?? 0);
      // Only a batch that wrote needs replaying; searches alone are as safe to run again.
      if (bulk.batchId !== undefined && count > 0) {
        store
          .sql('INSERT INTO applied_batches (principal, batchId, answer, dateServerModified) VALUES (?, ?, ?, ?)')
          .run(sender, bulk.batchId, answer, store.now);
        recorded = true;
      }
      return answer;
    }
    const applyWrites = (beginSnapshot: () => void) =>
      this.withMain(async () => {
        // A retried batch (same batchId, same sender) applies nothing and answers what the first attempt answered.
        const applied =
          bulk.batchId === undefined
            ? undefined
            : (this.sql('SELECT answer FROM applied_batches WHERE principal = ? AND batchId = ?')
                .pluck()
                .get(sender, bulk.batchId) as string | undefined);
        if (applied !== undefined) {
          writesJson = applied;
          replayed = true;
          beginSnapshot();
          return;
        }
        writesJson = await this.writeInSlices(writes(), beginSnapshot);
      });
    return this.inSnapshot(async (db) => {
      // The whole first answer is stored once its searches are read; only a crash in between leaves
      // the writes' part alone, and then a retry runs the searches again.
      if (replayed && writesJson.includes('"search":')) return jsonChunks([writesJson]);
      const slice = new TimeSlice();
      const answer: AnswerChunks = [`${writesJson},"search":[`];
      try {
        for (const [index, query] of searches.entries())
          answer.push(
            ...(index ? [','] : []),
            ...(await collectArray(this.searchItems(query, principal, db), budget, slice)),
          );
      } catch (error) {
        if (
          error instanceof PodError &&
          error.kind === 'invalid' &&
          (bulk.createItems?.length || bulk.updateItems?.length || bulk.deleteItems?.length || bulk.createEdges?.length)
        )
          throw new PodError('invalid', `the writes of this bulk were applied; its searches failed: ${error.message}`);
        throw error;
      }
      answer.push(']}');
      if (recorded)
        await this.withMain(() =>
          this.sql('UPDATE applied_batches SET answer = ? WHERE principal = ? AND batchId = ?').run(
            answer.join(''),
            sender,
            bulk.batchId,
          ),
        );
      return jsonChunks(merged(answer));
    }, applyWrites);
  }

  /**
   * The owner re-declared a property only plugins had declared, with another value type: every
   * value stored under the old type is erased (those items' dateServerModified advances, so syncing
   * clients see it), and the plugins' ItemPropertySchema items for it are marked deleted.
   */
  private *eraseProperty(property: Property): Generator<void> {
    const propertyName = this.schema.require('propertyName');
    const declarations = this.sql(
      "SELECT row FROM items WHERE type = 'ItemPropertySchema' AND creator IS NOT NULL " +
        `AND row IN (SELECT item FROM ${this.equalityTable} WHERE prop = ? AND value = ?)`,
    )
      .pluck()
      .all(propertyName.prop, property.name) as number[];
    for (const row of declarations) this.rewriteRow(row, { deleted: 1 });
    const path = jsonPath(property.name);
    const rows = (
      property.index === INDEXED
        ? this.sql(`SELECT item FROM ${this.equalityTable} WHERE prop = ?`).pluck().all(property.prop)
        : this.sql('SELECT row FROM items WHERE props ->> ? IS NOT NULL').pluck().all(path)
    ) as number[];
    const erased = this.sql('SELECT json_remove(props, ?) FROM items WHERE row = ?').pluck();
    for (const row of rows) {
      this.rewriteRow(row, { props: erased.get(path, row) as string });
      if (property.valueType === 'Text') this.sql(DROP_TEXT).run(row, property.prop);
      yield;
    }
  }

  // ---- files ----------------------------------------------------------------------------

  /** Whether an item announces the file; in account mode a deleted one does not (it is gone to every read). */
  hasFileItem(sha256: string): boolean {
    return this.namesFile(sha256, this.hidesDeleted);
  }

  /** Whether an item (only a live one, when `live`) holds `sha256`. */
  private namesFile(sha256: string, live: boolean): boolean {
    const property = this.schema.require('sha256');
    return (
      this.sql(
        `SELECT 1 FROM ${this.equalityTable} f JOIN items i ON i.row = f.item ` +
          `WHERE f.prop = ? AND f.value = ?${live ? ' AND i.deleted = 0' : ''} LIMIT 1`,
      ).get(property.prop, sha256) !== undefined
    );
  }

  /**
   * 2023 §5.2: soft-deletes the File item `id`, or every live File item holding `sha256` that the
   * principal sees (each must be one it may delete). Once no live item names the hash, its file
   * record and its thumbnails' go too; the answer is their blobs, which the caller removes after the commit.
   */
  deleteFiles(
    file: { id?: string | undefined; sha256?: string | undefined },
    principal?: Principal,
  ): Pick<SealedBlob, 'blob'>[] {
    let rows: ItemRow[];
    let sha256: string;
    if (file.id !== undefined) {
      const row = this.rowById(file.id, principal);
      const quoted = JSON.stringify(row.id);
      if (row.deleted) throw notFound(`File item ${quoted} is already deleted`);
      if (row.type !== 'File')
        throw badRequest(`item ${quoted} is of type ${JSON.stringify(row.type)}, not File; delete it with delete_item`);
      const held = (JSON.parse(row.props) as Fields).sha256;
      if (typeof held !== 'string') throw badRequest(`File item ${quoted} has no sha256, so no file to delete`);
      rows = [row];
      sha256 = held.toLowerCase();
    } else if (file.sha256 !== undefined) {
      sha256 = file.sha256.toLowerCase();
      const property = this.schema.require('sha256');
      rows = (
        this.sql(
          `SELECT ${columnsOf('i')} FROM ${this.equalityTable} f JOIN items i ON i.row = f.item ` +
            "WHERE f.prop = ? AND f.value = ? AND i.type = 'File' AND i.deleted = 0 ORDER BY i.row",
        ).all(property.prop, sha256) as ItemRow[]
      ).filter((row) => !principal || principal.visible(row) !== null);
      if (rows.length === 0) throw notFound(`no live File item has sha256 ${sha256}`);
    } else throw badRequest('give the File item\'s "id" or the file\'s "sha256"');
    for (const row of rows) {
      principal?.checkDelete(row);
      this.softDelete(row);
    }
    const stored = this.storedFile(sha256);
    if (!stored || this.namesFile(sha256, true)) return [];
    this.sql('DELETE FROM files WHERE sha256 = ?').run(sha256);
    const thumbnails = this.sql('SELECT blob FROM thumbnails WHERE sha256 = ?').all(sha256) as { blob: string }[];
    this.sql('DELETE FROM thumbnails WHERE sha256 = ?').run(sha256);
    return [stored, ...thumbnails];
  }

  storedThumbnail(sha256: string, size: number): StoredThumbnail | undefined {
    return this.sql('SELECT sha256, size, blob, key, nonce, bytes FROM thumbnails WHERE sha256 = ? AND size = ?').get(
      sha256,
      size,
    ) as StoredThumbnail | undefined;
  }

  /** Records a thumbnail made of a stored file; 404 if the file was deleted meanwhile (the caller removes the blob). */
  recordThumbnail(thumbnail: StoredThumbnail): void {
    const { sha256, size, blob, key, nonce, bytes } = thumbnail;
    if (!this.storedFile(sha256)) throw notFound(`no file with sha256 ${sha256} is stored (it was just deleted)`);
    this.sql('INSERT INTO thumbnails (sha256, size, blob, key, nonce, bytes) VALUES (?, ?, ?, ?, ?, ?)').run(
      sha256,
      size,
      blob,
      key,
      nonce,
      bytes,
    );
  }

  storedFile(sha256: string): StoredFile | undefined {
    return this.sql('SELECT sha256, blob, key, nonce, tag, size, format FROM files WHERE sha256 = ?').get(sha256) as
      | StoredFile
      | undefined;
  }

  /** The OAuth 2 tokens kept for a platform (oauth/): a table of their own, never an item. */
  oauth2Tokens(platform: string): StoredOAuth2Tokens | undefined {
    return this.sql('SELECT accessToken, refreshToken, expiresAt FROM oauth2_tokens WHERE platform = ?').get(
      platform,
    ) as StoredOAuth2Tokens | undefined;
  }

  saveOAuth2Tokens(platform: string, tokens: StoredOAuth2Tokens): void {
    this.sql(
      'INSERT OR REPLACE INTO oauth2_tokens (platform, accessToken, refreshToken, expiresAt) VALUES (?, ?, ?, ?)',
    ).run(platform, tokens.accessToken, tokens.refreshToken, tokens.expiresAt);
  }

  /** Records a stored blob and writes its key and nonce onto the File items announcing it. */
  recordFile(file: StoredFile): void {
    this.write(() => {
      if (this.storedFile(file.sha256)) throw new PodError('conflict', `file ${file.sha256} is already stored`);
      this.sql('INSERT INTO files (sha256, blob, key, nonce, tag, size, format) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        file.sha256,
        file.blob,
        file.key,
        file.nonce,
        file.tag,
        file.size,
        file.format,
      );
      const sha = this.schema.require('sha256');
      const ids = this.sql(
        `SELECT i.id FROM ${this.equalityTable} f JOIN items i ON i.row = f.item WHERE f.prop = ? AND f.value = ?`,
      )
        .pluck()
        .all(sha.prop, file.sha256) as string[];
      for (const id of ids) this.updateItem({ id, key: file.key.toString('hex'), nonce: file.nonce.toString('hex') });
    });
  }
}

/** The fields of an ItemEdgeSchema item, in the order of an edge_declarations row. */
const EDGE_DECLARATION_FIELDS = ['edgeName', 'sourceType', 'targetType'];

/** Runs `work`; an error it throws names `entry` first (which part of a larger request failed). */
function naming(entry: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    if (error instanceof PodError) throw new PodError(error.kind, `${entry}: ${error.message}`, error.headers);
    throw error;
  }
}

function propsJson(values: Map<string, { json: string }>): string {
  let text = '';
  for (const [name, value] of values) text += `${text ? ',' : ''}${JSON.stringify(name)}:${value.json}`;
  return `{${text}}`;
}

const mainInUse = () =>
  new Error(
    "the owner's main connection was used while a sliced write transaction is open; go through OwnerStore.withMain",
  );
