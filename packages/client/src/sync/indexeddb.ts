/**
 * The replica in the browser's IndexedDB, from `@pod/client/browser`. Each `write` is one
 * transaction whose requests are all issued at once (no round trip per item), so a page closed
 * mid-sync leaves either all of a pulled batch or none of it. Reads use the store's indexes:
 * items by type, edges by source, pending changes by seq.
 */
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

const VERSION = 1;
/** Object stores: items by id, edges by id, pending changes by id, the engine's state and the application's meta. */
const ITEMS = 'items';
const EDGES = 'edges';
const PENDING = 'pending';
const STATE = 'state';
const META = 'meta';
const ALL = [ITEMS, EDGES, PENDING, STATE, META];
/** The key in STATE of the highest dateServerModified of any item held. */
const NEWEST = 'newestItem';

/** One request's answer as a promise. */
function answer<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** A transaction's end: resolves once committed, rejects with the error that aborted it. */
function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    // A request's error that nobody prevents aborts the transaction: abort says it all.
    transaction.onabort = () => reject(transaction.error ?? new Error('the IndexedDB transaction was aborted'));
  });
}

/** Puts `item` unless the store holds a newer version of it; the same version replaces. */
function putIfNotOlder(items: IDBObjectStore, item: PodItem): void {
  const held = items.get(item.id);
  held.onsuccess = () => {
    const current = held.result as PodItem | undefined;
    if (!current || current.dateServerModified <= item.dateServerModified) items.put(item);
  };
}

export class IndexedDbStore implements LocalStore {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly durability: IDBTransactionDurability,
  ) {}

  /** Opens or creates the store named `name` (one per owner and Pod, say). */
  static async open(name: string, options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
    const factory = options.factory ?? globalThis.indexedDB;
    if (!factory) throw new Error('IndexedDbStore needs IndexedDB: it runs in a browser (or a worker)');
    const request = factory.open(name, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore(ITEMS, { keyPath: 'id' }).createIndex('type', 'type');
      db.createObjectStore(EDGES, { keyPath: 'id' }).createIndex('source', 'source');
      db.createObjectStore(PENDING, { keyPath: 'id' }).createIndex('seq', 'seq');
      db.createObjectStore(STATE);
      db.createObjectStore(META);
    };
    const db = await answer(request);
    // Another tab deleting or upgrading the database: let it, this handle fails from then on.
    db.onversionchange = () => db.close();
    return new IndexedDbStore(db, options.durability === 'full' ? 'strict' : 'relaxed');
  }

  /** Removes the store named `name` and everything in it (signing out, say). */
  static async delete(name: string, factory: IDBFactory = globalThis.indexedDB): Promise<void> {
    await answer(factory.deleteDatabase(name));
  }

  private read<T>(store: string, ask: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    return answer(ask(this.db.transaction(store, 'readonly').objectStore(store)));
  }

  item(id: string): Promise<PodItem | undefined> {
    return this.read<PodItem | undefined>(ITEMS, (items) => items.get(id));
  }
  items(): Promise<PodItem[]> {
    return this.read<PodItem[]>(ITEMS, (items) => items.getAll());
  }
  itemsOfType(type: string): Promise<PodItem[]> {
    return this.read<PodItem[]>(ITEMS, (items) => items.index('type').getAll(type));
  }
  edge(id: string): Promise<EdgeEnds | undefined> {
    return this.read<EdgeEnds | undefined>(EDGES, (edges) => edges.get(id));
  }
  edgesFrom(source: string): Promise<EdgeEnds[]> {
    return this.read<EdgeEnds[]>(EDGES, (edges) => edges.index('source').getAll(source));
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
    const transaction = this.db.transaction(ALL, 'readwrite', { durability: this.durability });
    const done = committed(transaction);
    try {
      this.apply(transaction, changes);
    } catch (error) {
      // A value that cannot be stored throws as it is put: undo whatever this write already put.
      transaction.abort();
      await done.catch(() => {});
      throw error;
    }
    await done;
  }

  /**
   * Issues every request of one write. Items wait for one read: the newest version (dateServerModified)
   * the store holds of any item. An item at least that new replaces whatever is held without
   * reading it, as every item of a pull does; only an older one is compared with its own.
   */
  private apply(transaction: IDBTransaction, changes: StoreWrite): void {
    const state = transaction.objectStore(STATE);
    const received = changes.items ?? [];
    if (received.length > 0) {
      const items = transaction.objectStore(ITEMS);
      const newest = state.get(NEWEST);
      newest.onsuccess = () => {
        const held = (newest.result as number | undefined) ?? -Infinity;
        // Requests run in order, so an item is also compared with those this write put before it.
        let highest = held;
        for (const item of received)
          if (item.dateServerModified >= highest) {
            items.put(item);
            highest = item.dateServerModified;
          } else putIfNotOlder(items, item);
        if (highest > held) state.put(highest, NEWEST);
      };
    }
    const edges = transaction.objectStore(EDGES);
    for (const edge of changes.edges ?? []) {
      // Ends never change: a known edge keeps its ends; the refused add must not abort the write.
      edges.add(edge).onerror = (event) => {
        event.preventDefault();
        event.stopPropagation();
      };
    }
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

  close(): void {
    this.db.close();
  }
}
