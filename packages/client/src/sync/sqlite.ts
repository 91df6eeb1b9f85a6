/**
 * The replica in a SQLite file, plain or encrypted (SQLCipher, raw 32-byte key): Node only, from
 * `@pod/client/node`. Each `write` is one transaction, so a crash leaves either all of it or none.
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3-multiple-ciphers';
import { HEX_KEY } from '@pod/protocol';
import type { EdgeEnds, LocalStore, Outbox, PendingChange, PodItem, StoreWrite } from './store.js';

export interface SqliteStoreOptions {
  /** 64 hex characters: encrypts the file (SQLCipher). Without it the file is plain SQLite. */
  key?: string;
  /**
   * `normal` (default) survives the process crashing at any point; `full` also a power loss,
   * at the cost of a disk flush per write.
   */
  durability?: 'normal' | 'full';
}

const LAYOUT = `
  CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, type TEXT NOT NULL, dsm INTEGER NOT NULL, json TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS items_by_type ON items (type);
  CREATE TABLE IF NOT EXISTS edges (id TEXT PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, name TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS edges_by_source ON edges (source);
  CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, json TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS pending_by_seq ON pending (seq);
  -- the engine's own state (cursor, outbox, schemaHash) apart from the application's meta
  CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

const SQLITE = 'better-sqlite3-multiple-ciphers';

/**
 * The SQLite binding, loaded on first use: it is an optional peer dependency (native code, compiled
 * at install), so that `@pod/client/node` loads where only its other helpers are wanted.
 */
function openDatabase(path: string): Database.Database {
  let Sqlite: typeof Database;
  try {
    Sqlite = createRequire(import.meta.url)(SQLITE) as typeof Database;
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(`SqliteStore needs the package ${SQLITE}: \`npm install ${SQLITE}\``, { cause: error });
  }
  return new Sqlite(path);
}

export class SqliteStore implements LocalStore {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly apply: (changes: StoreWrite) => void;

  /** Opens or creates the store at `path` (`:memory:` for none). A wrong key throws. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.db = openDatabase(path);
    try {
      if (options.key !== undefined) {
        if (!HEX_KEY.test(options.key))
          throw new TypeError('the key of a SqliteStore must be 64 hexadecimal characters');
        this.db.pragma("cipher='sqlcipher'");
        this.db.pragma('legacy=4');
        this.db.pragma(`key="x'${options.key}'"`);
      }
      this.db.pragma('journal_mode=WAL');
      this.db.pragma(`synchronous=${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(LAYOUT);
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code === 'SQLITE_NOTADB')
        throw new Error(`${path} is not a sync store, or its key is wrong`, { cause: error });
      throw error;
    }
    this.apply = this.db.transaction((changes: StoreWrite) => this.applyNow(changes));
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private state<T>(key: string): T | undefined {
    return this.sql('SELECT value FROM state WHERE key = ?').pluck().get(key) as T | undefined;
  }

  item(id: string): PodItem | undefined {
    const json = this.sql('SELECT json FROM items WHERE id = ?').pluck().get(id) as string | undefined;
    return json === undefined ? undefined : (JSON.parse(json) as PodItem);
  }
  items(): PodItem[] {
    return (this.sql('SELECT json FROM items').pluck().all() as string[]).map((json) => JSON.parse(json) as PodItem);
  }
  itemsOfType(type: string): PodItem[] {
    return (this.sql('SELECT json FROM items WHERE type = ?').pluck().all(type) as string[]).map(
      (json) => JSON.parse(json) as PodItem,
    );
  }
  edge(id: string): EdgeEnds | undefined {
    return this.sql('SELECT id, source, target, name FROM edges WHERE id = ?').get(id) as EdgeEnds | undefined;
  }
  edgesFrom(source: string): EdgeEnds[] {
    return this.sql('SELECT id, source, target, name FROM edges WHERE source = ?').all(source) as EdgeEnds[];
  }
  cursor(): number {
    return this.state<number>('cursor') ?? 0;
  }
  pending(id: string): PendingChange | undefined {
    const json = this.sql('SELECT json FROM pending WHERE id = ?').pluck().get(id) as string | undefined;
    return json === undefined ? undefined : (JSON.parse(json) as PendingChange);
  }
  pendingChanges(limit = -1): PendingChange[] {
    return (this.sql('SELECT json FROM pending ORDER BY seq LIMIT ?').pluck().all(limit) as string[]).map(
      (json) => JSON.parse(json) as PendingChange,
    );
  }
  pendingCount(): number {
    return this.sql('SELECT count(*) FROM pending').pluck().get() as number;
  }
  outbox(): Outbox | undefined {
    const json = this.state<string>('outbox');
    return json === undefined ? undefined : (JSON.parse(json) as Outbox);
  }
  schemaHash(): string | undefined {
    return this.state<string>('schemaHash');
  }
  meta(key: string): string | undefined {
    return this.sql('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
  }

  write(changes: StoreWrite): void {
    this.apply(changes);
  }

  private applyNow(changes: StoreWrite): void {
    if (changes.items?.length) {
      const upsert = this.sql(
        'INSERT INTO items (id, type, dsm, json) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE ' +
          'SET type = excluded.type, dsm = excluded.dsm, json = excluded.json WHERE excluded.dsm >= items.dsm',
      );
      for (const item of changes.items) upsert.run(item.id, item.type, item.dateServerModified, JSON.stringify(item));
    }
    if (changes.edges?.length) {
      const insert = this.sql('INSERT OR IGNORE INTO edges (id, source, target, name) VALUES (?, ?, ?, ?)');
      for (const edge of changes.edges) insert.run(edge.id, edge.source, edge.target, edge.name);
    }
    const setState = this.sql('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)');
    if (changes.cursor !== undefined) setState.run('cursor', changes.cursor);
    for (const id of changes.settled ?? []) this.sql('DELETE FROM pending WHERE id = ?').run(id);
    for (const change of changes.pending ?? [])
      this.sql('INSERT OR REPLACE INTO pending (id, seq, json) VALUES (?, ?, ?)').run(
        change.id,
        change.seq,
        JSON.stringify(change),
      );
    if (changes.outbox === null) this.sql('DELETE FROM state WHERE key = ?').run('outbox');
    else if (changes.outbox !== undefined) setState.run('outbox', JSON.stringify(changes.outbox));
    if (changes.schemaHash !== undefined) setState.run('schemaHash', changes.schemaHash);
    for (const [key, value] of Object.entries(changes.meta ?? {}))
      if (value === null) this.sql('DELETE FROM meta WHERE key = ?').run(key);
      else this.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  close(): void {
    this.db.close();
  }
}
