/**
 * Where a sync engine keeps its replica between runs: the Pod's items as last seen, edge ends,
 * the pull cursor, local changes not yet acknowledged and the batch being pushed. Every write
 * goes through `write`, which applies one `StoreWrite` atomically, so an interrupted sync
 * resumes from a consistent state. `MemoryStore` here is browser-safe; `SqliteStore` (from
 * `@pod/client/node`) keeps it in a file.
 */
import type { Item as PodItem, Value } from '@pod/protocol';

export type { PodItem };
export type Awaitable<T> = T | Promise<T>;
/** Changed properties: a value sets one, `null` erases it. */
export type Patch = Record<string, Value>;

/** An edge's ends; the edge itself is an item (usually of type Edge) with this id. */
export interface EdgeEnds {
  id: string;
  source: string;
  target: string;
  name: string;
}

/** A local change not yet acknowledged by the Pod: one per item, later changes merged in. */
export interface PendingChange {
  id: string;
  type: string;
  /** For a new item every property; else only the changed ones (`null` erases). */
  patch: Patch;
  /** The version (dateServerModified) the change was made on; null for an item the Pod lacks. */
  base: number | null;
  /** When the change was last made (ms): sent as dateModified, compared by `newest-wins`. */
  dateModified: number;
  /** Set for a new edge: the change creates it with these ends. */
  edge?: Omit<EdgeEnds, 'id'>;
  /** Push order: a change goes after every change with a lower seq. */
  seq: number;
}

/** The batch being pushed, kept until answered so that a retry reuses its batchId. */
export interface Outbox {
  batchId: string;
  changes: PendingChange[];
}

/** One atomic write; every field is optional. */
export interface StoreWrite {
  /** Versions from the Pod; one older than the version held (by dateServerModified) is ignored. */
  items?: PodItem[];
  /** Edge ends learned; ends never change, so known ones are kept. */
  edges?: EdgeEnds[];
  cursor?: number;
  /** Ids whose pending change is gone (pushed, merged into the outbox, or dropped); applied before `pending`. */
  settled?: string[];
  /** Pending changes to keep, each replacing the one of its id. */
  pending?: PendingChange[];
  /** The batch in flight, or null once it is answered. */
  outbox?: Outbox | null;
  schemaHash?: string;
  /** Key/value pairs for the application; null deletes. */
  meta?: Record<string, string | null>;
}

export interface LocalStore {
  item(id: string): Awaitable<PodItem | undefined>;
  /** Every item held, in no particular order. */
  items(): Awaitable<PodItem[]>;
  itemsOfType(type: string): Awaitable<PodItem[]>;
  edge(id: string): Awaitable<EdgeEnds | undefined>;
  edgesFrom(source: string): Awaitable<EdgeEnds[]>;
  /** Where the next pull starts: 0 at first. */
  cursor(): Awaitable<number>;
  pending(id: string): Awaitable<PendingChange | undefined>;
  /** Pending changes by seq, the first `limit` of them (all without). */
  pendingChanges(limit?: number): Awaitable<PendingChange[]>;
  pendingCount(): Awaitable<number>;
  outbox(): Awaitable<Outbox | undefined>;
  /** The hash of the schema last sent to the Pod. */
  schemaHash(): Awaitable<string | undefined>;
  meta(key: string): Awaitable<string | undefined>;
  write(changes: StoreWrite): Awaitable<void>;
  close(): Awaitable<void>;
}

/** The replica in memory: for browsers, tests, and clients that pull everything at each start. */
export class MemoryStore implements LocalStore {
  private readonly itemsById = new Map<string, PodItem>();
  private readonly edgesById = new Map<string, EdgeEnds>();
  /** Kept in seq order: a replaced change keeps its place, a new one goes last. */
  private readonly pendingById = new Map<string, PendingChange>();
  private pullCursor = 0;
  private sending?: Outbox;
  private hash?: string;
  private readonly values = new Map<string, string>();

  item(id: string) {
    return this.itemsById.get(id);
  }
  items() {
    return [...this.itemsById.values()];
  }
  itemsOfType(type: string) {
    return this.items().filter((item) => item.type === type);
  }
  edge(id: string) {
    return this.edgesById.get(id);
  }
  edgesFrom(source: string) {
    return [...this.edgesById.values()].filter((edge) => edge.source === source);
  }
  cursor() {
    return this.pullCursor;
  }
  pending(id: string) {
    const change = this.pendingById.get(id);
    return change && structuredClone(change);
  }
  pendingChanges(limit = Infinity) {
    return [...this.pendingById.values()]
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((change) => structuredClone(change));
  }
  pendingCount() {
    return this.pendingById.size;
  }
  outbox() {
    return this.sending && structuredClone(this.sending);
  }
  schemaHash() {
    return this.hash;
  }
  meta(key: string) {
    return this.values.get(key);
  }

  write(changes: StoreWrite) {
    // Pending changes and the outbox are copied in and out, as a database would, and first: one
    // that cannot be copied fails the write before anything changed. Items are not copied (that
    // would cost every pull); nobody changes an item object once received.
    const pending = (changes.pending ?? []).map((change) => structuredClone(change));
    const outbox = changes.outbox && structuredClone(changes.outbox);
    for (const item of changes.items ?? []) {
      const held = this.itemsById.get(item.id);
      if (!held || held.dateServerModified <= item.dateServerModified) this.itemsById.set(item.id, item);
    }
    for (const edge of changes.edges ?? []) if (!this.edgesById.has(edge.id)) this.edgesById.set(edge.id, edge);
    if (changes.cursor !== undefined) this.pullCursor = changes.cursor;
    for (const id of changes.settled ?? []) this.pendingById.delete(id);
    for (const change of pending) this.pendingById.set(change.id, change);
    if (outbox !== undefined) this.sending = outbox ?? undefined;
    if (changes.schemaHash !== undefined) this.hash = changes.schemaHash;
    for (const [key, value] of Object.entries(changes.meta ?? {}))
      if (value === null) this.values.delete(key);
      else this.values.set(key, value);
  }

  close() {}
}
