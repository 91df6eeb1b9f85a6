/**
 * Opening an owner's encrypted SQLite file, and the versioned migrations of its layout.
 * See docs/storage.md for why the layout looks like this.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { CENTRAL_PROPERTIES } from '@pod/protocol';
import { PodError } from '../errors.js';
import { createFullTextIndex } from './fulltext.js';
import { createOrderedIndex } from './ordered-index.js';
import { isBaseField } from './schema.js';

export type Db = Database.Database;

/** What a WAL file is cut back to when SQLite restarts it (well under the owner pool's checkpoint size). */
const WAL_SIZE_AFTER_RESTART = 4 * 1024 * 1024;

/**
 * Opens (or, with `create`, creates) a database with a raw 32-byte SQLCipher key: no key
 * derivation, so opening costs well under a millisecond. A wrong key fails before anything is
 * written: SQLCipher cannot even read the header, so the file is left exactly as it was.
 * `migrateLayout` false: a second connection (the checkpoint thread's) that must not change the layout
 * the owner's own connection opened with, even if the thread's code is newer than the Pod's.
 */
export function openEncrypted(path: string, key: Buffer, create: boolean, migrateLayout = true): Db {
  const db = new Database(path, { fileMustExist: !create });
  try {
    db.pragma("cipher='sqlcipher'");
    db.pragma('legacy=4');
    db.pragma(`key="x'${key.toString('hex')}'"`);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB')
      throw new PodError('unauthorized', 'wrong database key for this owner');
    throw error;
  }
  db.pragma('journal_mode=WAL');
  // FULL: a commit is on disk before the answer; costs ~0.2 ms per transaction here.
  db.pragma('synchronous=FULL');
  // No automatic checkpoints: the owner pool checkpoints under the lock backups take (checkpoint-lock.ts),
  // when the WAL file outgrows a size. A checkpoint leaves the file as large as it was; this limit
  // truncates it when SQLite restarts the log after a complete checkpoint, so that the size tells
  // what was written since (else every commit after the first large WAL would checkpoint again).
  db.pragma('wal_autocheckpoint=0');
  db.pragma(`journal_size_limit=${WAL_SIZE_AFTER_RESTART}`);
  db.pragma('temp_store=MEMORY');
  if (migrateLayout) migrate(db);
  return db;
}

/**
 * Re-encrypts every page under `newKey` (SQLite3 Multiple Ciphers' `rekey`). It refuses WAL mode,
 * so the WAL is checkpointed and the database goes through a rollback journal for the rekey: one
 * transaction, so a crash in the middle leaves the journal, and the old key rolls it back on the
 * next open (tested by killing a process mid-rekey). No other connection may be open (the switch
 * out of WAL mode needs the file alone).
 */
export function rekey(db: Db, newKey: Buffer) {
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('journal_mode=DELETE');
  try {
    db.pragma(`rekey="x'${newKey.toString('hex')}'"`);
  } finally {
    db.pragma('journal_mode=WAL');
    // Back in WAL mode only from the next transaction; a checkpoint before it fails (SQLITE_LOCKED).
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  }
}

/** Migrations by version (`PRAGMA user_version`); append, never edit a released one. */
const migrations: ((db: Db) => void)[] = [
  (db) =>
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;

      -- One row per item; properties as a JSON object in their wire form (Real keeps "33.0"),
      -- so reading a page of items is one range scan and no re-encoding.
      CREATE TABLE items (
        row INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        dateCreated INTEGER NOT NULL,
        dateModified INTEGER NOT NULL,
        dateServerModified INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        props TEXT NOT NULL
      );
      CREATE INDEX items_by_dsm ON items (dateServerModified);
      CREATE INDEX items_by_type ON items (type, dateServerModified);

      -- The schema: one value type per property name (spec §4), numbered for compact index keys.
      CREATE TABLE properties (
        prop INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        valueType TEXT NOT NULL
      );

      -- Equality index over every property value: (property number, value, item row).
      CREATE TABLE property_values (
        prop INTEGER NOT NULL,
        value NOT NULL,
        item INTEGER NOT NULL,
        PRIMARY KEY (prop, value, item)
      ) WITHOUT ROWID;

      -- Edges; each is also an item (self), usually of type Edge.
      CREATE TABLE edges (
        edge INTEGER PRIMARY KEY,
        self INTEGER NOT NULL,
        source INTEGER NOT NULL,
        target INTEGER NOT NULL,
        name TEXT NOT NULL
      );
      CREATE INDEX edges_out ON edges (source, edge);
      CREATE INDEX edges_in ON edges (target, edge);

      -- Stored files: encrypted blobs named at random, with their per-file key and nonce.
      CREATE TABLE files (
        sha256 TEXT PRIMARY KEY,
        blob TEXT NOT NULL,
        key BLOB NOT NULL,
        nonce BLOB NOT NULL,
        tag BLOB NOT NULL,
        size INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- Built-in properties of every new database (spec §4), plus the Pod's own launch record
      -- on PluginRun items (spec §7) and v3's StartPlugin.container.
      INSERT INTO properties (name, valueType) VALUES
        ('itemType', 'Text'), ('propertyName', 'Text'), ('valueType', 'Text'),
        ('containerImage', 'Text'), ('targetItemId', 'Text'), ('sha256', 'Text'),
        ('key', 'Text'), ('nonce', 'Text'), ('container', 'Text'),
        ('podLaunchStatus', 'Text'), ('podLaunchMessage', 'Text');
    `),
  (db) =>
    db.exec(`
      -- Bulk batches applied with a batchId, so a retried push is answered, not applied twice.
      CREATE TABLE applied_batches (
        batchId TEXT PRIMARY KEY,
        answer TEXT NOT NULL,
        dateServerModified INTEGER NOT NULL
      ) WITHOUT ROWID;
    `),
  (db) =>
    db.exec(`
      -- What the Pod writes on plugin runs (spec §7) and reads from Plugin items (their grant).
      -- OR IGNORE: a client may have declared them already.
      INSERT OR IGNORE INTO properties (name, valueType) VALUES
        ('status', 'Text'), ('podExitCode', 'Integer'), ('permissions', 'Text');
    `),
  (db) =>
    db.exec(`
      -- Blob formats (files.ts): 1 = one GCM stream, its tag here (every file stored before);
      -- 2 = segments that each carry their tag (tag NULL). SQLite cannot relax NOT NULL in place.
      CREATE TABLE files_by_format (
        sha256 TEXT PRIMARY KEY,
        blob TEXT NOT NULL,
        key BLOB NOT NULL,
        nonce BLOB NOT NULL,
        tag BLOB,
        size INTEGER NOT NULL,
        format INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO files_by_format SELECT sha256, blob, key, nonce, tag, size, 1 FROM files;
      DROP TABLE files;
      ALTER TABLE files_by_format RENAME TO files;
    `),
  (db) =>
    db.exec(`
      -- Who wrote what (issue 10). items.creator: NULL for the owner (every item written before this
      -- layout counts as the owner's), else the plugin that created it (its Plugin item's id, or its
      -- run's id when the run had no Plugin); creatorRun: the run whose credential created it.
      ALTER TABLE items ADD COLUMN creator TEXT;
      ALTER TABLE items ADD COLUMN creatorRun TEXT;
      -- properties.declaredBy: NULL when the owner (or the Pod) declared it, else the declaring
      -- plugin; an owner's declaration replaces a plugin's.
      ALTER TABLE properties ADD COLUMN declaredBy TEXT;
      -- A batchId belongs to whoever sent it: '' for the owner, else the plugin run's id.
      CREATE TABLE applied_batches_by_principal (
        principal TEXT NOT NULL,
        batchId TEXT NOT NULL,
        answer TEXT NOT NULL,
        dateServerModified INTEGER NOT NULL,
        PRIMARY KEY (principal, batchId)
      ) WITHOUT ROWID;
      INSERT INTO applied_batches_by_principal SELECT '', batchId, answer, dateServerModified FROM applied_batches;
      DROP TABLE applied_batches;
      ALTER TABLE applied_batches_by_principal RENAME TO applied_batches;
      -- The Pod's record, on a PluginRun, of the run whose credential created it.
      INSERT OR IGNORE INTO properties (name, valueType) VALUES ('podCreatedByRun', 'Text');
    `),
  (db) =>
    db.exec(`
      -- OAuth 2 tokens the Pod obtained for the owner, per platform (spec §7; oauth/): never an item,
      -- so never searched, synced or shown to a plugin's read; expiresAt in ms, NULL when unknown.
      CREATE TABLE IF NOT EXISTS oauth2_tokens (
        platform TEXT PRIMARY KEY,
        accessToken TEXT NOT NULL,
        refreshToken TEXT,
        expiresAt INTEGER
      ) WITHOUT ROWID;
    `),
  (db) =>
    db.exec(`
      -- The Pod's record, on a Trigger item, of the last outcome its plugin reported (trigger/status,
      -- 2023 §6.3): the status text and the JSON list of item ids it was about.
      INSERT OR IGNORE INTO properties (name, valueType) VALUES
        ('podTriggerStatus', 'Text'), ('podTriggerItemIds', 'Text');
    `),
  // Full-text index over every Text value (storage/fulltext.ts), built for the items already stored.
  createFullTextIndex,
  (db) => {
    db.exec(`
      -- The central schema (spec 2023 §2.1). properties.explicit: 1 for a name declared or built in
      -- (every row so far), 0 for a central default, which a declaration may still confirm or override.
      ALTER TABLE properties ADD COLUMN explicit INTEGER NOT NULL DEFAULT 1;
      -- The fields of an ItemEdgeSchema item (§2.3) are built in; OR IGNORE: a client may have declared them.
      INSERT OR IGNORE INTO properties (name, valueType) VALUES
        ('edgeName', 'Text'), ('sourceType', 'Text'), ('targetType', 'Text');
      -- Edge declarations (§2.3, §2.4): advisory, never removed.
      CREATE TABLE edge_declarations (
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (name, source, target)
      ) WITHOUT ROWID;
      -- Who declared schema through /v5 (§2.2): the latest url and version per meta name.
      CREATE TABLE schema_meta (
        name TEXT PRIMARY KEY,
        url TEXT,
        version TEXT,
        dateRecorded INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
    // Central names get their numbers (for the equality index) now; a name already declared keeps its row.
    // A name added to the central schema later is seeded by a migration of its own.
    const seed = db.prepare('INSERT OR IGNORE INTO properties (name, valueType, explicit) VALUES (?, ?, 0)');
    for (const [name, valueType] of CENTRAL_PROPERTIES) if (!isBaseField(name)) seed.run(name, valueType);
  },
  (db) =>
    db.exec(`
      -- Thumbnails of stored images (thumbnails.ts), one per file and size (the longest side), each a
      -- blob of segments under its own key like a file's; they go with their file (delete_file).
      CREATE TABLE IF NOT EXISTS thumbnails (
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        blob TEXT NOT NULL,
        key BLOB NOT NULL,
        nonce BLOB NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (sha256, size)
      ) WITHOUT ROWID;
    `),
  (db) =>
    db.exec(`
      -- Equality indexes on first use (issue 13, lazy-index.ts): indexState 0 = values only in
      -- items.props (filters read them there), 1 = building (writes keep the index; rows below
      -- indexCursor are done), 2 = complete. A property new from here on starts at 0. Properties
      -- that already hold values keep the index they have (complete: nothing moves, so the migration
      -- is instant on any size), and so do the ones the Pod itself looks up by value.
      ALTER TABLE properties ADD COLUMN indexState INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE properties ADD COLUMN indexCursor INTEGER NOT NULL DEFAULT 0;
      UPDATE properties SET indexState = 2
        WHERE name IN ('itemType', 'propertyName', 'valueType', 'sha256', 'edgeName', 'sourceType', 'targetType')
          OR EXISTS (SELECT 1 FROM property_values v WHERE v.prop = properties.prop);
    `),
  (db) =>
    db.exec(`
      -- Issue 13: forgetting old batches (store.ts) finds them here instead of reading every stored answer
      -- (a week of imports through the client: ~35 KB per bulk of 1,000, a 2 s scan per 2,000 bulks on open).
      CREATE INDEX IF NOT EXISTS applied_batches_by_date ON applied_batches (dateServerModified);
    `),
  // Issue 13: the equality index in the wire order within a value; an existing one moves in steps (ordered-index.ts).
  createOrderedIndex,
];

export const LAYOUT_VERSION = migrations.length;

function migrate(db: Db) {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length)
    throw new PodError(
      'internal',
      `database layout ${current} is newer than this Pod understands (${migrations.length}); upgrade the Pod`,
    );
  if (current === migrations.length) return;
  // All pending steps in one transaction: one sync to disk, not one per step (a new owner runs them all).
  db.transaction(() => {
    for (const migrate of migrations.slice(current)) migrate(db);
    db.pragma(`user_version=${migrations.length}`);
  })();
}
