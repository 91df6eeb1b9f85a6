/**
 * Owners and their open databases. A database stays open between requests (opening costs
 * ~0.3 ms, but re-reading the schema and statements each time would not be free), and every
 * request proves the key again: an HMAC of it is compared in constant time with the one that
 * opened the handle. Idle handles are checkpointed and closed.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HEX_KEY } from '@pod/protocol';
import { ownerHash, type PodConfig } from '../config.js';
import { MovedError, PodError } from '../errors.js';
import { MovedOwners } from '../moved-owners.js';
import { holdLock, lockWaiting, STALE_MS, tryLock, unlock } from './checkpoint-lock.js';
import { Checkpointer, type Attachment } from './checkpointer.js';
import { openEncrypted, rekey, type Db } from './database.js';
import { PageCacheBudget } from './page-cache.js';
import { OwnerQuota } from './quota.js';
import { OwnerStore, type Commit } from './store.js';
import { importOwner, type ArchiveManifest } from '../owner-archive.js';

export interface Owner {
  /** SHA-256 of the owner key: names the owner's folder and appears in logs instead of the key. */
  readonly hash: string;
  /** The owner key itself: an identifier (it is in every URL), not a secret; plugins get it as POD_OWNER. */
  readonly key: string;
  readonly store: OwnerStore;
  /** The owner's folder: pod.db, its WAL, `files/`. */
  readonly dir: string;
  readonly filesDir: string;
}

interface OpenOwner extends Owner {
  readonly db: Db;
  /** Replaced, not mutated, when the owner changes the key (`changeKey`). */
  keyDigest: Buffer;
  lastUsed: number;
  /** Requests still using the handle after their synchronous part (uploads). */
  busy: number;
  /** Its connection on the checkpoint thread; replaced when the key changes. */
  checkpoints: Attachment;
  /** Work of this owner on the checkpoint thread that holds its checkpoint lock (released when none is left). */
  lockHolds: number;
}

export type CommitListener = (owner: Owner, commit: Commit) => void;

export class OwnerPool {
  /** In order of last use, least recent first (a hit moves an owner to the end). */
  private readonly open = new Map<string, OpenOwner>();
  /** Keys are compared by HMAC under a secret of this process, never kept or compared raw. */
  private readonly digestSecret = randomBytes(32);
  private readonly sweeper: NodeJS.Timeout;
  private readonly commitListeners: CommitListener[] = [];
  private readonly openListeners: ((owner: Owner) => void)[] = [];
  /** Every open connection's page cache comes out of this one budget. */
  readonly pageCache: PageCacheBudget;
  /** What each owner may store on disk (`--owner-quota`). */
  readonly quota: OwnerQuota;
  /** Owners in the last step of a move: nothing may open them meanwhile (`freeze`). */
  private readonly frozen = new Set<string>();
  /** Runs checkpoints off the event loop. */
  private readonly checkpointer = new Checkpointer();
  /** Closes and checkpoints still running on the checkpoint thread, each releasing its lock when done. */
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly config: Pick<PodConfig, 'dataDir' | 'owners' | 'idleCloseMs'> & {
      limits: Pick<PodConfig['limits'], 'maxOpenOwners' | 'pageCacheBytes' | 'ownerQuotaBytes'>;
    },
    /** Owners that moved to another Pod: their requests get a 307 there, never a new database here. */
    readonly moved = new MovedOwners(config.dataDir),
    /** Hears what went wrong off the request path (a failed background checkpoint); never a key. */
    private readonly warn: (message: string) => void = () => {},
  ) {
    this.pageCache = new PageCacheBudget(config.limits.pageCacheBytes);
    this.quota = new OwnerQuota(config.limits.ownerQuotaBytes);
    mkdirSync(config.dataDir, { recursive: true, mode: PRIVATE_DIR });
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(config.idleCloseMs, 60_000)).unref();
  }

  /** `listener` hears every commit of every owner, right after it (the change feed, plugin runs). */
  onCommit(listener: CommitListener) {
    this.commitListeners.push(listener);
  }

  /** `listener` hears each existing owner database as it opens (plugin runs left from before a restart). */
  onOpen(listener: (owner: Owner) => void) {
    this.openListeners.push(listener);
  }

  /**
   * The owner's store, once the owner is allowed (else 403) and the key is right (else 401).
   * A new owner's database is created, unless `mustExist` (then 403 and nothing is created).
   */
  authenticate(ownerKey: string, databaseKey: string, { mustExist = false } = {}): Owner {
    if (!HEX_KEY.test(ownerKey))
      throw new PodError('invalid', 'the owner key in the path must be 64 hexadecimal characters');
    const hash = ownerHash(ownerKey);
    if (this.config.owners !== 'ANY' && !this.config.owners.has(hash))
      throw new PodError('forbidden', 'this owner is not allowed on this Pod (see --owners)');
    const movedTo = this.moved.to(hash);
    if (movedTo) throw new MovedError(movedTo);
    if (this.frozen.has(hash))
      throw new PodError('unavailable', 'this owner is being moved to another Pod; try again in a few seconds', {
        'retry-after': '2',
      });
    const key = Buffer.from(databaseKey, 'hex');
    const digest = this.digestOf(key);
    const known = this.open.get(hash);
    if (known) {
      if (!timingSafeEqual(known.keyDigest, digest))
        throw new PodError('unauthorized', 'wrong database key for this owner');
      known.lastUsed = Date.now();
      this.open.delete(hash);
      this.open.set(hash, known);
      return known;
    }
    return this.openOwner(ownerKey.toLowerCase(), hash, key, digest, mustExist);
  }

  /** Owner databases open now. */
  get openCount(): number {
    return this.open.size;
  }

  /**
   * Installs an owner's archive (owner-archive.ts) for an allowed owner with no data yet; the archive's
   * database must open with `databaseKey`. Creates nothing when refused.
   */
  async importArchive(ownerKey: string, databaseKey: string, archive: Readable): Promise<ArchiveManifest> {
    const hash = ownerHash(ownerKey);
    if (this.config.owners !== 'ANY' && !this.config.owners.has(hash))
      throw new PodError('forbidden', 'this owner is not allowed on this Pod (see --owners)');
    const movedTo = this.moved.to(hash);
    if (movedTo) throw new MovedError(movedTo);
    if (this.exists(ownerKey))
      throw new PodError('conflict', 'this owner already has data on this Pod: import only into an empty one');
    return importOwner(archive, this.config.dataDir, hash, (databasePath) => {
      try {
        openEncrypted(databasePath, Buffer.from(databaseKey, 'hex'), false).close();
      } catch (error) {
        if (error instanceof PodError && error.kind === 'unauthorized')
          throw new PodError('unauthorized', "the archive's database does not open with this database key");
        throw error;
      }
    });
  }

  private digestOf(key: Buffer): Buffer {
    return createHmac('sha256', this.digestSecret).update(key).digest();
  }

  /**
   * Re-encrypts the owner's database under `newDatabaseKey` (its files keep their own keys, stored in
   * it), once no write or read snapshot of the owner is going; from then on only the new key opens it.
   */
  async changeKey(owner: Owner, newDatabaseKey: string): Promise<void> {
    const key = Buffer.from(newDatabaseKey, 'hex');
    const digest = this.digestOf(key);
    // The rekey rewrites pod.db itself: never while a backup or an export is copying it.
    const release = await holdLock(owner.dir, STALE_MS);
    try {
      await this.rekeyExclusive(owner, key, digest);
    } finally {
      release();
    }
  }

  private async rekeyExclusive(owner: Owner, key: Buffer, digest: Buffer): Promise<void> {
    await owner.store.exclusive(async () => {
      const open = this.openOf(owner);
      if (timingSafeEqual(open.keyDigest, digest))
        throw new PodError('invalid', 'newDatabaseKey is the current database key; choose a new random one');
      const path = join(this.config.dataDir, owner.hash, 'pod.db');
      // the thread's connection goes too (the caller holds the checkpoint lock); it comes back with the key that works
      await this.settleCheckpoint(open);
      await this.checkpointer.detach(open.checkpoints, { checkpoint: false }).catch(() => {});
      // the switch out of WAL mode for the rekey needs the file alone
      owner.store.closeReader(() => this.pageCache.add(openReader(path, key)));
      try {
        rekey(open.db, key);
      } catch (error) {
        // This process keeps no key to reopen the reader with: close the owner; the next request
        // opens it with the key that works (the old one: the failed rekey was one transaction).
        this.open.delete(owner.hash);
        open.db.close();
        this.pageCache.rebalance();
        throw error;
      }
      open.keyDigest = digest;
      open.checkpoints = this.checkpointer.attach(path, key, this.warn);
    });
  }

  /** Closes the owner's databases and removes its folder: the database, its WAL, its files, everything. */
  async deleteOwner(owner: Owner): Promise<void> {
    // Not under a backup's or an export's copy: they finish first (the lock goes with the folder).
    const release = await holdLock(owner.dir, STALE_MS);
    try {
      await owner.store.exclusive(async () => {
        const open = this.openOf(owner);
        this.open.delete(owner.hash);
        await this.settleCheckpoint(open);
        owner.store.closeReader();
        open.db.close();
        this.pageCache.rebalance();
        // its close (then the last) may checkpoint: before the folder goes
        await this.checkpointer.detach(open.checkpoints, { checkpoint: false }).catch(() => {});
        rmSync(owner.dir, { recursive: true, force: true });
      });
    } finally {
      release();
    }
  }

  /**
   * Checkpoints the owner's WAL into its database if it is open (a move starts from a short WAL);
   * skipped while a backup holds the checkpoint lock.
   */
  checkpoint(hash: string) {
    const open = this.open.get(hash);
    if (!open || !tryLock(open.dir)) return;
    try {
      open.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      unlock(open.dir);
    }
  }

  /**
   * Runs `work` while the owner's connections are idle and stay so (no write transaction open, no read
   * snapshot; the owner's own uses wait), if it is open; else at once.
   */
  async whileIdle<T>(hash: string, work: () => Promise<T>): Promise<T> {
    const open = this.open.get(hash);
    return open ? await open.store.exclusive(work) : await work();
  }

  /** Runs `work` in a turn of the owner's main connection if it is open (no sliced write open then); else now. */
  async inMainTurn<T>(hash: string, work: () => T): Promise<T> {
    const open = this.open.get(hash);
    return open ? await open.store.withMain(work) : work();
  }

  /** While an owner's last part is sent to another Pod: a caller the move's gate does not hold gets 503. */
  freeze(hash: string) {
    this.frozen.add(hash);
  }

  thaw(hash: string) {
    this.frozen.delete(hash);
  }

  /** Closes the owner without a checkpoint and forgets it: its data moved away (call inside `whileIdle`). */
  async dropMoved(hash: string): Promise<void> {
    const open = this.open.get(hash);
    if (!open) return;
    this.open.delete(hash);
    await this.settleCheckpoint(open);
    open.store.closeReader();
    open.db.close();
    this.pageCache.rebalance();
    await this.checkpointer.detach(open.checkpoints, { checkpoint: false }).catch(() => {});
  }

  /** Whether the owner (by hash) may have a database here (see --owners). */
  allows(hash: string): boolean {
    return this.config.owners === 'ANY' || this.config.owners.has(hash);
  }

  /** Whether the owner (by hash) has a database here, open or on disk. */
  hasData(hash: string): boolean {
    return this.open.has(hash) || existsSync(join(this.config.dataDir, hash, 'pod.db'));
  }

  /** Whether `owner` is still its owner's open handle: not closed, deleted or reopened since it was authenticated. */
  isOpen(owner: Owner): boolean {
    return this.open.get(owner.hash)?.store === owner.store;
  }

  /** The owner as open now: a request holds it open (`using`), so it was not closed meanwhile. */
  private openOf(owner: Owner): OpenOwner {
    const open = this.open.get(owner.hash);
    if (!open || open.store !== owner.store)
      throw new PodError('unavailable', "the owner's database was closed meanwhile; try again");
    return open;
  }

  /** Whether the owner has a database (open, or on disk); creates nothing. */
  exists(ownerKey: string): boolean {
    const hash = ownerHash(ownerKey);
    return this.open.has(hash) || existsSync(join(this.config.dataDir, hash, 'pod.db'));
  }

  private openOwner(ownerKey: string, hash: string, key: Buffer, keyDigest: Buffer, mustExist: boolean): OpenOwner {
    this.makeRoom();
    const dir = join(this.config.dataDir, hash);
    const path = join(dir, 'pod.db');
    const create = !existsSync(path);
    if (create && mustExist)
      throw new PodError('forbidden', 'this owner has no database yet; this call needs one (create an item first)');
    const filesDir = join(dir, 'files');
    if (create) mkdirSync(filesDir, { recursive: true, mode: PRIVATE_DIR });
    const db = this.pageCache.add(openEncrypted(path, key, create));
    restrictModes(dir, path);
    removeUnfinishedUploads(filesDir, Date.now()).catch((error: Error) =>
      this.warn(`owner ${hash}: unfinished uploads not removed (${error.message})`),
    );
    const owner: OpenOwner = {
      hash,
      key: ownerKey,
      dir,
      db,
      keyDigest,
      filesDir,
      lastUsed: Date.now(),
      busy: 0,
      checkpoints: this.checkpointer.attach(path, key, this.warn),
      lockHolds: 0,
      store: new OwnerStore(
        db,
        (commit) => {
          this.checkpointIfLarge(owner);
          for (const listen of this.commitListeners) listen(owner, commit);
        },
        // opened on the first read snapshot; the key stays in memory only while the owner is open,
        // as it does inside SQLCipher's own connection
        () => this.pageCache.add(openReader(path, key)),
        () => this.checkpointIfLarge(owner),
      ),
    };
    this.open.set(hash, owner);
    if (!create) for (const listen of this.openListeners) listen(owner);
    return owner;
  }

  /** Keeps an owner's handle open across the asynchronous part of a request. */
  async using<T>(owner: Owner, work: () => Promise<T>): Promise<T> {
    // Closed meanwhile (a plugin launch that started after its owner made room for others): the
    // work then fails on the closed database, with its own error, not here.
    const open = this.open.get(owner.hash);
    if (open) open.busy++;
    try {
      return await work();
    } finally {
      if (open) {
        open.busy--;
        open.lastUsed = Date.now();
      }
    }
  }

  /** At the cap, closes the least recently used owner that no request is using; 503 when every one is in use. */
  private makeRoom() {
    const max = this.config.limits.maxOpenOwners;
    if (this.open.size < max) return;
    for (const owner of this.open.values())
      if (owner.busy === 0 && this.closeOwner(owner) && this.open.size < max) return;
    throw new PodError(
      'unavailable',
      `the Pod has ${max} owner databases open and all are in use (see --max-open-owners); try again in a moment`,
    );
  }

  private closeIdle() {
    const cutoff = Date.now() - this.config.idleCloseMs;
    for (const owner of this.open.values()) if (owner.busy === 0 && owner.lastUsed < cutoff) this.closeOwner(owner);
  }

  /**
   * Closes the owner under the checkpoint lock; false, and the owner stays open, while a backup is copying
   * its files. Its connections close here, at once and cheaply: the checkpoint thread's is still open, so
   * neither is the last, which SQLite checkpoints in. That one then checkpoints and closes on the thread,
   * which releases the lock when done (`settled`). Without it (opened a moment ago, or the thread failed)
   * the owner is checkpointed and closed here, as before.
   */
  private closeOwner(owner: OpenOwner, { waitForBackup = false } = {}): boolean {
    // A checkpoint of it running on the thread holds the lock already: the thread's close follows it.
    const lockHeld = owner.lockHolds > 0;
    if (lockHeld && !owner.checkpoints.ready) return false;
    if (!lockHeld && !(waitForBackup ? lockWaiting(owner.dir, STALE_MS) : tryLock(owner.dir))) return false;
    this.open.delete(owner.hash);
    const offThread = owner.checkpoints.ready;
    try {
      owner.store.closeReader();
      if (!offThread) owner.db.pragma('wal_checkpoint(TRUNCATE)');
      owner.db.close();
    } finally {
      // the lock goes once the thread's connection is closed too (it may be the last, then it writes pod.db)
      this.settleLater(owner, this.checkpointer.detach(owner.checkpoints, { checkpoint: offThread }));
    }
    this.pageCache.rebalance();
    return true;
  }

  /**
   * Work on the checkpoint thread that writes pod.db, under the lock the caller took (or that work of the
   * owner sent before still holds): the lock is released once no such work is left, and a failure reported.
   * `settled` waits for all of it.
   */
  private settleLater(owner: OpenOwner, work: Promise<void>) {
    owner.lockHolds++;
    const done = work
      .catch((error: Error) => this.warn(`a checkpoint of owner ${owner.hash} failed: ${error.message}`))
      .finally(() => {
        if (--owner.lockHolds === 0) unlock(owner.dir);
        this.settling.delete(done);
      });
    this.settling.add(done);
  }

  /** Resolves once everything sent to the checkpoint thread so far is done: opens, checkpoints, closes. */
  async settled(): Promise<void> {
    await this.checkpointer.flush();
    while (this.settling.size > 0) await Promise.all(this.settling);
  }

  /** Waits for the owner's running checkpoint, if any (it holds the lock the caller may need). */
  private async settleCheckpoint(owner: OpenOwner) {
    while (owner.lockHolds > 0) await Promise.all(this.settling);
  }

  /**
   * A WAL larger than CHECKPOINT_WAL_BYTES is checkpointed after a commit, on the checkpoint thread,
   * under the lock a backup takes (SQLite's automatic checkpoints are off: database.ts), so pod.db never
   * changes while a backup copies it. Skipped while a backup holds the lock or one is running already.
   */
  private checkpointIfLarge(owner: OpenOwner) {
    if (owner.lockHolds > 0) return;
    const walBytes = statSync(join(owner.dir, 'pod.db-wal'), { throwIfNoEntry: false })?.size ?? 0;
    if (walBytes <= CHECKPOINT_WAL_BYTES) return;
    if (!tryLock(owner.dir)) return;
    if (owner.checkpoints.failed) {
      // no thread connection: inline, as before the thread (one still opening runs it next: messages keep order)
      try {
        owner.db.pragma('wal_checkpoint(PASSIVE)');
      } finally {
        unlock(owner.dir);
      }
      return;
    }
    this.settleLater(owner, this.checkpointer.checkpoint(owner.checkpoints));
  }

  /** On shutdown: waits for a backup copying an owner (at most until its lock would be stale), then for the thread. */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await this.settled();
    for (const owner of this.open.values()) this.closeOwner(owner, { waitForBackup: true });
    await this.settled();
    await this.checkpointer.stop();
  }
}

/** A WAL larger than this is checkpointed after a commit (~40 MiB: checkpoints stay rare on the write path). */
const CHECKPOINT_WAL_BYTES = 40 * 1024 * 1024;

/** The read-only second connection of an owner's store: the snapshots of reads that span several event-loop turns. */
function openReader(path: string, key: Buffer): Db {
  const reader = openEncrypted(path, key, false);
  reader.pragma('query_only=1');
  return reader;
}

/** Owner data is for the Pod's user alone: folders 0700, files 0600, whatever the umask. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * SQLite creates pod.db from the umask and its -wal and -shm with pod.db's mode; folders made by an
 * older Pod were 0755. Set every mode on open: a new database's files sit in a 0700 folder meanwhile.
 */
function restrictModes(dir: string, dbPath: string) {
  chmodSync(dir, PRIVATE_DIR);
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) if (existsSync(path)) chmodSync(path, PRIVATE_FILE);
  const filesDir = join(dir, 'files');
  if (existsSync(filesDir)) chmodSync(filesDir, PRIVATE_DIR);
}

/**
 * An upload cut off by a crash leaves only a temporary file: the blob is renamed into place last. Listed
 * off the event loop (a folder of 100,000 photos takes ~0.5 s to list), so uploads may start meanwhile:
 * only files unchanged since the owner opened are left from before.
 */
async function removeUnfinishedUploads(filesDir: string, openedAt: number) {
  if (!existsSync(filesDir)) return void mkdirSync(filesDir, { recursive: true, mode: PRIVATE_DIR });
  for (const name of await readdir(filesDir)) {
    if (!name.endsWith('.partial')) continue;
    const path = join(filesDir, name);
    const modified = (await stat(path).catch(() => undefined))?.mtimeMs;
    if (modified !== undefined && modified < openedAt) await rm(path, { force: true });
  }
}
