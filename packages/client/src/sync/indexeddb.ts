/**
 * The replica in the browser's IndexedDB, from `@pod/client/browser`. Chromium's IndexedDB pays per
 * record, not per byte (bench/indexeddb-layouts.ts), so items and edge ends are kept in pages: each
 * write that brings any stores them as one record per 2,000 (a pulled page is one record, a live
 * update or a local edit a record of one), and opening folds every page into memory, where reads
 * are answered (paged-replica.ts). Pages are never changed, only replaced by compaction, which
 * rewrites the live entries of small or mostly superseded pages into full ones in one transaction.
 * Pending changes, the engine's state and the application's meta keep a record each. Each `write`
 * is one transaction whose requests are all issued at once, so a page closed mid-sync leaves
 * either all of a pulled batch or none of it.
 */
import { type Page, PagedReplica } from './paged-replica.js';
import type { EdgeEnds, LocalStore, Outbox, PendingChange, PodItem, StoreWrite } from './store.js';

export interface IndexedDbStoreOptions {
  /**
   * `normal` (default): a write is done once the browser has it, as `relaxed` IndexedDB durability;
   * `full` also waits for the disk (`strict`), at the cost of a flush per write.
   */
  durability?: 'normal' | 'full';
  /** The IndexedDB factory; the page's `indexedDB` by default. */
  factory?: IDBFactory;
}

/** 1: a record per item and per edge; 2: pages. */
const VERSION = 2;
/** Object stores: pages of items and edge ends, pending changes by id, the engine's state and the application's meta. */
const PAGES = 'pages';
const PENDING = 'pending';
const STATE = 'state';
const META = 'meta';
const ALL = [PAGES, PENDING, STATE, META];
/** Items (and edge ends) a page holds at most: as many as a pull's page in the bench. */
const PAGE_SIZE = 2_000;
/** A page with fewer live entries than this is sparse: compaction rewrites the live entries of all sparse pages. */
const SPARSE = PAGE_SIZE / 2;
/** Sparse pages that start a compaction: each small write adds one, and opening reads each. */
const COMPACT_AT = 32;

/** One request's answer as a promise. */
function answer<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * A transaction's end: resolves once committed, after `then` (what the commit makes true in memory,
 * done before anyone awaiting the write reads), rejects with the error that aborted it.
 */
function committed(transaction: IDBTransaction, then: () => void = () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => {
      then();
      resolve();
    };
    // A request's error that nobody prevents aborts the transaction: abort says it all.
    transaction.onabort = () => reject(transaction.error ?? new Error('the IndexedDB transaction was aborted'));
  });
}

/** Items and edge ends as pages of at most PAGE_SIZE of each. */
function paginate(items: PodItem[], edges: EdgeEnds[]): Page[] {
  const pages: Page[] = [];
  for (let first = 0; first < Math.max(items.length, edges.length); first += PAGE_SIZE)
    pages.push({ items: items.slice(first, first + PAGE_SIZE), edges: edges.slice(first, first + PAGE_SIZE) });
  return pages;
}

/** Adds `pages` to the pages object store; each added one goes into `written` with its key, in order. */
function addPages(store: IDBObjectStore, pages: Page[], written: [key: number, page: Page][]): void {
  for (const page of pages) {
    const added = store.add(page);
    added.onsuccess = () => written.push([added.result as number, page]);
  }
}

/**
 * Creates the stores of layout 2, or moves layout 1's items and edges (a record each) into pages,
 * so nothing is pulled again; pending changes, the state and meta keep their stores as they are.
 */
function upgrade(db: IDBDatabase, transaction: IDBTransaction, from: number): void {
  if (from < 1) {
    db.createObjectStore(PENDING, { keyPath: 'id' }).createIndex('seq', 'seq');
    db.createObjectStore(STATE);
    db.createObjectStore(META);
  }
  const pages = db.createObjectStore(PAGES, { autoIncrement: true });
  if (from !== 1) return;
  const items = transaction.objectStore('items').getAll();
  const edges = transaction.objectStore('edges').getAll();
  // Requests answer in order: once the edges are read, so are the items.
  edges.onsuccess = () => {
    addPages(pages, paginate(items.result as PodItem[], edges.result as EdgeEnds[]), []);
    db.deleteObjectStore('items');
    db.deleteObjectStore('edges');
    // Layout 1's shortcut for newest-wins; the pages' fold needs none.
    transaction.objectStore(STATE).delete('newestItem');
  };
}

/** Pages read by one request on open: the browser reads the next while the page folds these. */
const LOAD_CHUNK = 5;

/**
 * Every page, folded in key order (the order they were written in). They are asked for in chunks,
 * all at once, so that reading the next chunk overlaps with folding this one.
 */
async function load(db: IDBDatabase): Promise<PagedReplica> {
  const pages = db.transaction(PAGES, 'readonly').objectStore(PAGES);
  const keys = (await answer(pages.getAllKeys())) as number[];
  const replica = new PagedReplica();
  const chunks: Promise<void>[] = [];
  for (let first = 0; first < keys.length; first += LOAD_CHUNK) {
    const chunk = keys.slice(first, first + LOAD_CHUNK);
    const read = pages.getAll(IDBKeyRange.bound(chunk[0], chunk.at(-1)));
    // Requests answer in order, so the chunks fold in key order.
    chunks.push(
      answer(read).then((values) => {
        for (const [i, key] of chunk.entries()) replica.add(key, values[i] as Page);
      }),
    );
  }
  await Promise.all(chunks);
  return replica;
}

export class IndexedDbStore implements LocalStore {
  /** Writes not yet committed or aborted: compaction waits for them, so that it moves only what is settled. */
  private readonly writing = new Set<Promise<void>>();
  /** The end of the last compaction asked for: one runs at a time, each after the one before. */
  private compacted: Promise<void> = Promise.resolve();
  /** Whether a background compaction is asked for or running. */
  private compacting = false;
  private closed = false;

  private constructor(
    private readonly db: IDBDatabase,
    private readonly durability: IDBTransactionDurability,
    private readonly replica: PagedReplica,
  ) {}

  /** Opens or creates the store named `name` (one per owner and Pod, say), upgrading one of layout 1. */
  static async open(name: string, options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
    const factory = options.factory ?? globalThis.indexedDB;
    if (!factory) throw new Error('IndexedDbStore needs IndexedDB: it runs in a browser (or a worker)');
    const request = factory.open(name, VERSION);
    request.onupgradeneeded = (event) => {
      const transaction = request.transaction;
      if (transaction) upgrade(request.result, transaction, event.oldVersion);
    };
    const db = await answer(request);
    // Another tab deleting or upgrading the database: let it, this handle fails from then on.
    db.onversionchange = () => db.close();
    let replica: PagedReplica;
    try {
      replica = await load(db);
    } catch (error) {
      db.close();
      throw error;
    }
    const store = new IndexedDbStore(db, options.durability === 'full' ? 'strict' : 'relaxed', replica);
    store.compactWhenDue();
    return store;
  }

  /** Removes the store named `name` and everything in it (signing out, say). */
  static async delete(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<void> {
    await answer(factory.deleteDatabase(name));
  }

  private read<T>(store: string, ask: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    return answer(ask(this.db.transaction(store, 'readonly').objectStore(store)));
  }

  /** Items are answered from memory and shared, not copied: nobody changes an item once received. */
  item(id: string): PodItem | undefined {
    return this.replica.item(id);
  }
  items(): PodItem[] {
    return this.replica.items();
  }
  itemsOfType(type: string): PodItem[] {
    return this.replica.itemsOfType(type);
  }
  edge(id: string): EdgeEnds | undefined {
    return this.replica.edge(id);
  }
  edgesFrom(source: string): EdgeEnds[] {
    return this.replica.edgesFrom(source);
  }

  async cursor(): Promise<number> {
    return (await this.read<number | undefined>(STATE, (state) => state.get('cursor'))) ?? 0;
  }
  pending(id: string): Promise<PendingChange | undefined> {
    return this.read<PendingChange | undefined>(PENDING, (pending) => pending.get(id));
  }
  pendingChanges(limit?: number): Promise<PendingChange[]> {
    return this.read<PendingChange[]>(PENDING, (pending) => pending.index('seq').getAll(null, limit));
  }
  pendingCount(): Promise<number> {
    return this.read(PENDING, (pending) => pending.count());
  }
  outbox(): Promise<Outbox | undefined> {
    return this.read<Outbox | undefined>(STATE, (state) => state.get('outbox'));
  }
  schemaHash(): Promise<string | undefined> {
    return this.read<string | undefined>(STATE, (state) => state.get('schemaHash'));
  }
  meta(key: string): Promise<string | undefined> {
    return this.read<string | undefined>(META, (meta) => meta.get(key));
  }

  async write(changes: StoreWrite): Promise<void> {
    const written = this.issue(changes);
    this.writing.add(written);
    try {
      await written;
    } finally {
      this.writing.delete(written);
    }
    this.compactWhenDue();
  }

  /**
   * Issues every request of one write, at once. Only items that would replace what is held (the
   * newest of their id in this write) and edges not known yet are stored: one new page for every
   * 2,000 of them. The commit folds those pages in as opening would, the same rules again.
   */
  private async issue(changes: StoreWrite): Promise<void> {
    const { replica } = this;
    const items = new Map<string, PodItem>();
    for (const item of changes.items ?? []) {
      const earlier = items.get(item.id);
      if (earlier ? earlier.dateServerModified <= item.dateServerModified : replica.replaces(item))
        items.set(item.id, item);
    }
    const edges = new Map<string, EdgeEnds>();
    for (const edge of changes.edges ?? [])
      if (!edges.has(edge.id) && !replica.knows(edge.id)) edges.set(edge.id, edge);

    const transaction = this.db.transaction(ALL, 'readwrite', { durability: this.durability });
    const written: [key: number, page: Page][] = [];
    const done = committed(transaction, () => {
      for (const [key, page] of written) replica.add(key, page);
    });
    try {
      addPages(transaction.objectStore(PAGES), paginate([...items.values()], [...edges.values()]), written);
      this.put(transaction, changes);
    } catch (error) {
      // A value that cannot be stored throws as it is put: undo whatever this write already put.
      transaction.abort();
      await done.catch(() => {});
      throw error;
    }
    await done;
  }

  /** The requests of a write but its items and edges. */
  private put(transaction: IDBTransaction, changes: StoreWrite): void {
    const state = transaction.objectStore(STATE);
    if (changes.cursor !== undefined) state.put(changes.cursor, 'cursor');
    const pending = transaction.objectStore(PENDING);
    for (const id of changes.settled ?? []) pending.delete(id);
    for (const change of changes.pending ?? []) pending.put(change);
    if (changes.outbox === null) state.delete('outbox');
    else if (changes.outbox !== undefined) state.put(changes.outbox, 'outbox');
    if (changes.schemaHash !== undefined) state.put(changes.schemaHash, 'schemaHash');
    const meta = transaction.objectStore(META);
    for (const [key, value] of Object.entries(changes.meta ?? {}))
      if (value === null) meta.delete(key);
      else meta.put(value, key);
  }

  /** Starts a compaction in the background once COMPACT_AT pages are sparse; a failed one loses nothing and is tried again. */
  private compactWhenDue(): void {
    if (this.closed || this.compacting || this.replica.sparse(SPARSE).length < COMPACT_AT) return;
    this.compacting = true;
    this.compact()
      .catch(() => {})
      .finally(() => {
        this.compacting = false;
      });
  }

  /**
   * Rewrites the live entries of every sparse page (small, or mostly superseded since) into full
   * pages and deletes the sparse ones, in one transaction: interrupted or aborted (`signal`), it
   * leaves the pages as they were. It runs by itself once 32 pages are sparse, after the writes
   * in flight; call it to compact now.
   */
  compact(options: { signal?: AbortSignal } = {}): Promise<void> {
    const run = this.compacted.then(() => this.compactNow(options));
    this.compacted = run.catch(() => {});
    return run;
  }

  private async compactNow({ signal }: { signal?: AbortSignal }): Promise<void> {
    while (this.writing.size > 0) await Promise.allSettled(this.writing);
    signal?.throwIfAborted();
    const { replica } = this;
    const sparse = replica.sparse(SPARSE);
    if (sparse.length === 0) return;
    const live = replica.liveIn(sparse);
    const transaction = this.db.transaction(PAGES, 'readwrite', { durability: this.durability });
    const written: [key: number, page: Page][] = [];
    const done = committed(transaction, () => replica.moved(new Set(sparse), written));
    let aborted = false;
    const abort = () => {
      if (aborted) return;
      aborted = true;
      transaction.abort();
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      try {
        const pages = transaction.objectStore(PAGES);
        for (const key of sparse) pages.delete(key);
        addPages(pages, paginate(live.items, live.edges), written);
      } catch (error) {
        // A page that cannot be stored (no room left, say) throws as it is added: the deletes must not commit.
        abort();
        throw error;
      }
      await done;
    } catch (error) {
      await done.catch(() => {});
      throw signal?.aborted ? signal.reason : error;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Pages held, entries stored in them, and entries live (what the store would hold compacted). */
  layout(): { pages: number; stored: number; live: number } {
    return this.replica.totals();
  }

  close(): void {
    this.closed = true;
    this.db.close();
  }
}
