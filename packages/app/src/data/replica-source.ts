/**
 * The data views' source on the local replica: a `SyncEngine` over an `IndexedDbStore` (one database per
 * owner) that pulls, follows the live feed and pushes, so the views keep working offline. One tab per
 * owner keeps the replica (a Web Lock); the others read and write the Pod over HTTP (`PodSource`) until
 * the lock passes to them. Until the replica has caught up once, reads and writes go to the Pod as well:
 * its answers are exact at once, while a first pull of a big Pod takes a while.
 *
 * Answers are built in memory from the store's reads: each type's live items, kept in the Pod's order
 * (dateServerModified; items not pushed yet last), updated from the engine's change events, sorted and
 * filtered in memory. Edits keep the no-silent-overwrite promise twice over: a save names the version it
 * was made on, and a change that meets a newer version on the Pod (offline edits, say) is set aside under
 * the engine's `report` policy as an open conflict for the owner to settle.
 */
import { Item, type Patch, type PodClient, PodError, SyncEngine, sha256Hex } from '@pod/client';
import { IndexedDbStore } from '@pod/client/browser';
import type { PodSummary } from '@pod/protocol';
import { PodSource, schemaOf } from './pod-source.js';
import type {
  Count,
  DataItem,
  DataSource,
  EdgeLink,
  Filter,
  ItemWithEdges,
  PropertyDeclaration,
  RowQuery,
  Saved,
  Schema,
  TypeCount,
  Value,
} from './source.js';
import { initialSyncState, type OpenConflict, syncState, updateSync } from './sync-state.js';

/** Meta keys of the app in the store: the first pull finished; the open conflicts. */
const CAUGHT_UP = 'app.caughtUp';
const CONFLICTS = 'app.conflicts';
/** How long a write waits for the Pod's answer when online, before it counts as waiting here. */
const PUSH_WAIT_MS = 10_000;
/** Change events with more ids than this reload the lists instead of reading item by item. */
const RELOAD_OVER = 200;
/**
 * Meta key prefix of a type's head: its first rows in the Pod's order and its count, as of a cursor. Reading
 * a big type whole from IndexedDB takes seconds (a cost per record); the head answers the first paint after
 * a reload at once when the replica is exactly as it was then (same cursor, no local change waiting).
 */
const HEAD = 'app.head.';
const HEAD_ROWS = 200;
/** How long a type's list stays unchanged before its head is written. */
const HEAD_DELAY_MS = 1_000;

interface Head {
  cursor: number;
  count: number;
  items: DataItem[];
}

type Listener = (changed: DataItem[]) => void;
type Fields = { id: string; type: string; [field: string]: unknown };

const number = (value: unknown) => (typeof value === 'number' ? value : 0);

/** An item of the store or of the engine's view as the views see it (a new local item has no versions yet). */
function dataItem(fields: Fields): DataItem {
  return {
    ...fields,
    dateCreated: number(fields.dateCreated),
    dateModified: number(fields.dateModified),
    dateServerModified: number(fields.dateServerModified),
    deleted: fields.deleted === true,
  };
}

/** The Pod's order: by change time (not pushed yet: last), then creation, then id where the Pod uses its row. */
const podOrder = (a: DataItem, b: DataItem) =>
  (a.dateServerModified || Number.POSITIVE_INFINITY) - (b.dateServerModified || Number.POSITIVE_INFINITY) ||
  a.dateCreated - b.dateCreated ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The words of a text, lower case (letters and digits). */
const wordsOf = (text: string) =>
  text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

/** A full-text query as word tests: every word must be found, `prefix*` matches the start of one. */
function wordQuery(text: string): (values: string[]) => boolean {
  const terms = text
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((term) => {
      const prefix = term.endsWith('*');
      return wordsOf(term).map((word) => ({ word, prefix }));
    });
  return (values) => {
    const words = values.flatMap(wordsOf);
    return (
      terms.length > 0 &&
      terms.every(({ word, prefix }) => words.some((found) => (prefix ? found.startsWith(word) : found === word)))
    );
  };
}

const BASE_FIELDS = new Set(['id', 'type', 'dateCreated', 'dateModified', 'dateServerModified', 'deleted']);
const textsOf = (item: DataItem) =>
  Object.entries(item).flatMap(([name, value]) => (typeof value === 'string' && !BASE_FIELDS.has(name) ? [value] : []));

/** Compares as the Pod does: a missing property matches no condition; values of another kind never match. */
function matches(item: DataItem, { property, op, value }: Filter): boolean {
  const held = item[property];
  if (held === undefined || held === null) return false;
  if (op === 'words') return typeof held === 'string' && wordQuery(String(value))([held]);
  if (op === 'eq') return held === value;
  if (op === 'ne') return held !== value;
  if (typeof held !== typeof value) return false;
  const order = held < value ? -1 : held > value ? 1 : 0;
  return op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
}

/** Orders by a property as the Pod's SQL does (missing values first going up), then in the Pod's order. */
function byProperty(property: string, descending: boolean) {
  const rank = (value: unknown) => (value === undefined || value === null ? 0 : typeof value === 'number' ? 1 : 2);
  return (a: DataItem, b: DataItem) => {
    const x = a[property];
    const y = b[property];
    let order = rank(x) - rank(y);
    if (order === 0 && rank(x) > 0) order = (x as number | string) < (y as number | string) ? -1 : x === y ? 0 : 1;
    return (descending ? -order : order) || podOrder(a, b);
  };
}

/** The database (and Web Lock) name of an owner's replica: a hash, so the owner key shows nowhere. */
export async function replicaName(ownerKey: string): Promise<string> {
  return `pod-replica-${(await sha256Hex(new TextEncoder().encode(`pod-app:${ownerKey}`))).slice(0, 32)}`;
}

/**
 * Opening offline: the counts by type from this browser's replica of the owner, when it caught up once
 * (read whole: only when the Pod cannot be reached); undefined without one.
 */
export async function replicaSummary(ownerKey: string): Promise<PodSummary | undefined> {
  const name = await replicaName(ownerKey);
  if (!globalThis.indexedDB || !(await indexedDB.databases()).some((database) => database.name === name))
    return undefined;
  const store = await IndexedDbStore.open(name);
  try {
    if ((await store.meta(CAUGHT_UP)) !== '1') return undefined;
    const types: Record<string, number> = {};
    let items = 0;
    for (const item of await store.items())
      if (!item.deleted) {
        types[item.type] = (types[item.type] ?? 0) + 1;
        items++;
      }
    return { items, types };
  } finally {
    store.close();
  }
}

/** Which way reads and writes go: not known yet, to the Pod over HTTP, or to the replica. */
type Mode = 'undecided' | 'pod' | 'replica';

export class ReplicaSource implements DataSource {
  private readonly pod: PodSource;
  private readonly listeners = new Set<Listener>();
  private mode: Mode = 'undecided';
  private decided!: () => void;
  /** Resolves once `mode` is known: reads wait for it, so a caught-up replica answers the very first read. */
  private readonly ready = new Promise<void>((resolve) => (this.decided = resolve));
  private engine?: SyncEngine;
  private store?: IndexedDbStore;
  private name?: string;
  private release?: () => void;
  private readonly closing = new AbortController();
  /** The Pod's feed while reading the Pod; the engine's events and the network's while keeping the replica. */
  private readonly cleanups: (() => void)[] = [];
  private engineOffs: (() => void)[] = [];
  /** Where the tab keeping the replica tells the other tabs of this owner of changes. */
  private channel?: BroadcastChannel;
  /** Live items by type, then id; a type is here once loaded. */
  private readonly lists = new Map<string, Map<string, DataItem>>();
  private allLoaded = false;
  /** Ordered and filtered lists by type and query, valid while the type's version is the same. */
  private readonly versions = new Map<string, number>();
  private readonly ordered = new Map<string, { version: number; items: DataItem[] }>();
  private readonly edgeEnds = new Map<string, { source: string; target: string; name: string }>();
  /** Loads and change events, one after another, so a list never takes an older state after a newer one. */
  private serial: Promise<unknown> = Promise.resolve();
  /** Heads read since the replica opened, by type; none is used once any change came in. */
  private readonly heads = new Map<string, Promise<Head | undefined>>();
  private headsValid = true;
  private readonly headTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly client: PodClient,
    ownerKey: string,
  ) {
    this.pod = new PodSource(client);
    syncState.value = initialSyncState();
    void this.claim(ownerKey);
  }

  // ---- which tab keeps the replica --------------------------------------------------------------

  /** Keeps the replica if no other tab of this owner does; else reads the Pod and waits its turn. */
  private async claim(ownerKey: string): Promise<void> {
    if (!globalThis.indexedDB || !navigator.locks) return this.usePod('unavailable');
    const name = await replicaName(ownerKey);
    this.name = name;
    const held = new Promise<void>((resolve) => (this.release = resolve));
    const granted = await new Promise<boolean>((resolve) => {
      void navigator.locks.request(name, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        if (!lock) return undefined;
        void this.lead(name);
        return held;
      });
    });
    if (granted) return;
    this.usePod('elsewhere');
    // The tab keeping the replica tells of changes: no feed of this tab's own (a browser gives an origin six
    // connections, and each feed holds one for good).
    const channel = new BroadcastChannel(name);
    channel.onmessage = (event: MessageEvent<DataItem[]>) => this.mode === 'pod' && this.tell(event.data);
    this.cleanups.push(() => channel.close());
    navigator.locks
      .request(name, { signal: this.closing.signal }, () => {
        void this.lead(name);
        return held;
      })
      .catch(() => {}); // closed before the lock came
  }

  /** Reads and writes go to the Pod; changes come from the tab keeping the replica, else the Pod's feed. */
  private usePod(phase: 'elsewhere' | 'unavailable'): void {
    updateSync({ phase });
    this.mode = 'pod';
    this.decided();
    if (phase === 'unavailable') this.followPod();
  }

  /** The Pod's live feed tells the views of changes while they read the Pod. */
  private followPod(): void {
    this.cleanups.push(this.pod.subscribe((items) => this.mode === 'pod' && this.emit(items)));
  }

  /** This tab keeps the replica: opens it, pulls once if it never caught up, then follows the Pod. */
  private async lead(name: string): Promise<void> {
    if (this.closing.signal.aborted) return;
    // Another tab's replica told this one of changes until now: from now on this tab tells the others.
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.channel = new BroadcastChannel(name);
    try {
      const store = await IndexedDbStore.open(name);
      this.store = store;
      this.engine = await SyncEngine.open({
        client: this.client,
        store,
        conflicts: 'report',
        onConflict: ({ local, remote }) => this.setAside(local.id, local.type, local.patch, dataItem(remote)),
        pushPolicy: () => (navigator.onLine ? {} : false),
      });
    } catch (error) {
      console.error('the local copy could not be opened', error);
      this.usePod('unavailable');
      return;
    }
    if (this.closing.signal.aborted) return void this.shut();
    const conflicts = JSON.parse((await this.store.meta(CONFLICTS)) ?? '[]') as OpenConflict[];
    updateSync({ conflicts });
    this.listen(this.engine);
    if ((await this.store.meta(CAUGHT_UP)) === '1') this.useReplica();
    else await this.copy(this.engine);
    if (this.closing.signal.aborted) return;
    this.engine.start();
  }

  /** The first pull, while the views read the Pod; retried until it succeeds. */
  private async copy(engine: SyncEngine): Promise<void> {
    this.mode = 'pod';
    this.decided();
    this.followPod();
    const types = await this.pod.types().catch((): TypeCount[] => []);
    updateSync({ phase: 'copying', expected: types.reduce((sum, { count }) => sum + count, 0), received: 0 });
    for (let wait = 500; !this.closing.signal.aborted; wait = Math.min(wait * 2, 10_000)) {
      try {
        await engine.pull();
        break;
      } catch {
        updateSync({ phase: navigator.onLine ? 'copying' : 'offline' });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    if (this.closing.signal.aborted || !this.store) return;
    await this.store.write({ meta: { [CAUGHT_UP]: '1' } });
    this.useReplica();
    updateSync({ upToDate: true });
  }

  private useReplica(): void {
    this.mode = 'replica';
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    void this.pod.close();
    updateSync({ phase: navigator.onLine ? 'live' : 'offline' });
    this.decided();
  }

  /** Follows the engine's events into the sync state and the views. */
  private listen(engine: SyncEngine): void {
    let received = 0;
    const counted = () => void engine.pendingCount().then((waiting) => updateSync({ waiting }));
    const offs = [
      engine.on('change', ({ ids, origin }) => {
        if (this.mode !== 'replica') {
          if (origin !== 'remote') return;
          received += ids.length;
          updateSync({ received });
          return;
        }
        void this.refresh(ids);
        if (origin === 'local') counted();
      }),
      engine.on('pushed', () => {
        updateSync({ problem: undefined });
        counted();
      }),
      engine.on('rejected', ({ change, error }) => {
        updateSync({
          problem: `The Pod refused a change to ${change.type} ${change.id}: ${error.message}. It was undone here.`,
        });
        counted();
      }),
      engine.on('error', ({ error, during }) => {
        if (during !== 'push' || !navigator.onLine) return;
        if (error instanceof PodError && error.status === 0) return; // the feed's status says offline
        updateSync({
          problem: `Sending your changes failed (${error instanceof Error ? error.message : String(error)}). They are kept here and sent again by themselves.`,
        });
      }),
      engine.on('feed', ({ status }) => {
        if (this.mode !== 'replica' || status === 'stopped') return;
        const offline = !navigator.onLine || status === 'waiting';
        updateSync({
          phase: offline ? 'offline' : 'live',
          upToDate: status === 'open' ? true : syncState.value.upToDate && !offline,
        });
      }),
    ];
    const online = () => {
      updateSync({ phase: this.mode === 'replica' ? 'live' : syncState.value.phase });
      // Reconnect now rather than after the feed's backoff, and send what waited.
      void engine.stop().then(() => {
        if (this.closing.signal.aborted) return;
        engine.start();
        void engine.push().catch(() => {});
      });
    };
    const offline = () => {
      if (this.mode === 'replica') updateSync({ phase: 'offline', upToDate: false });
      engine.interruptFeed();
    };
    addEventListener('online', online);
    addEventListener('offline', offline);
    this.engineOffs = [
      ...offs,
      () => removeEventListener('online', online),
      () => removeEventListener('offline', offline),
    ];
    counted();
  }

  // ---- conflicts --------------------------------------------------------------------------------

  /** Under `report`: the Pod keeps its version, the owner's change is kept aside (persisted) until settled. */
  private async setAside(id: string, type: string, patch: Patch, theirs: DataItem): Promise<'remote'> {
    const held = syncState.value.conflicts.find((conflict) => conflict.id === id);
    const conflict: OpenConflict = { id, type, mine: { ...held?.mine, ...patch }, theirs, found: Date.now() };
    await this.saveConflicts([...syncState.value.conflicts.filter((open) => open.id !== id), conflict]);
    return 'remote';
  }

  private async saveConflicts(conflicts: OpenConflict[]): Promise<void> {
    updateSync({ conflicts });
    await this.store?.write({ meta: { [CONFLICTS]: JSON.stringify(conflicts) } });
  }

  /** Settles an open conflict: `mine` puts the owner's change on top of the Pod's version; `theirs` drops it. */
  async settle(id: string, keep: 'mine' | 'theirs'): Promise<void> {
    const conflict = syncState.value.conflicts.find((open) => open.id === id);
    if (!conflict) return;
    if (keep === 'mine') {
      const engine = this.replicaEngine();
      await this.afterPush(id, () => engine.patch(id, conflict.mine));
    }
    await this.saveConflicts(syncState.value.conflicts.filter((open) => open.id !== id));
  }

  // ---- reading ----------------------------------------------------------------------------------

  async types(signal?: AbortSignal): Promise<TypeCount[]> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.types(signal);
    await this.loadAll();
    return [...this.lists]
      .filter(([, items]) => items.size > 0)
      .map(([type, items]) => ({ type, count: items.size }))
      .sort((a, b) => a.type.localeCompare(b.type));
  }

  async schema(signal?: AbortSignal): Promise<Schema> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.schema(signal);
    return schemaOf([...(await this.list('ItemPropertySchema')).values()]);
  }

  async rows(query: RowQuery, offset: number, limit: number, signal?: AbortSignal): Promise<DataItem[]> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.rows(query, offset, limit, signal);
    const head = await this.headOf(query);
    const end = head && Math.min(offset + limit, head.count);
    if (head && end !== undefined && end <= head.items.length) return head.items.slice(offset, end);
    return (await this.query(query)).slice(offset, offset + limit);
  }

  async count(query: RowQuery, signal?: AbortSignal): Promise<Count> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.count(query, signal);
    const head = await this.headOf(query);
    if (head) return { count: head.count, estimate: !syncState.value.upToDate };
    return { count: (await this.query(query)).length, estimate: !syncState.value.upToDate };
  }

  async item(id: string, signal?: AbortSignal): Promise<ItemWithEdges | undefined> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.item(id, signal);
    const engine = this.replicaEngine();
    const item = await this.view(id);
    if (!item) return undefined;
    const link = async (edgeId: string, name: string, otherEnd: string): Promise<EdgeLink[]> => {
      const [edge, other] = await Promise.all([this.view(edgeId), this.view(otherEnd)]);
      return edge && other ? [{ name, edgeId, item: other }] : [];
    };
    const outgoing = await Promise.all(
      (await engine.edges(id)).map(({ id: edgeId, name, target }) => link(edgeId, name, target)),
    );
    const incoming = await Promise.all(
      [...(await this.edgesTo(id))].map(([edgeId, { name, source }]) => link(edgeId, name, source)),
    );
    return { item, outgoing: outgoing.flat(), incoming: incoming.flat() };
  }

  /**
   * Words across every type's Text properties, in the Pod's order. Unlike the Pod's full-text index there
   * is no stemming and no ranking: a word matches itself (any case), `word*` any word it starts.
   */
  async search(text: string, limit: number, signal?: AbortSignal): Promise<DataItem[]> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.search(text, limit, signal);
    await this.loadAll();
    const found = wordQuery(text);
    return [...this.lists.values()]
      .flatMap((items) => [...items.values()].filter((item) => found(textsOf(item))))
      .sort(podOrder)
      .slice(0, limit);
  }

  // ---- writing ----------------------------------------------------------------------------------

  async create(type: string, values: Record<string, Value>): Promise<DataItem> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.create(type, values);
    const engine = this.replicaEngine();
    const item = new Item(type, values);
    await this.afterPush(item.id, () => engine.create(item));
    const created = await this.view(item.id);
    if (!created) throw new Error('the new item is not in the local copy');
    return created;
  }

  async update(id: string, changes: Record<string, Value>, expected: number): Promise<Saved> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.update(id, changes, expected);
    const engine = this.replicaEngine();
    const current = await this.view(id);
    if (!current) throw new PodError(404, `item ${JSON.stringify(id)} not found`, { endpoint: 'update_item' });
    if (current.dateServerModified !== expected) return { conflict: current };
    const outcome = await this.afterPush(id, () => engine.patch(id, changes));
    const now = await this.view(id);
    if (!now) throw new PodError(404, `item ${JSON.stringify(id)} not found`, { endpoint: 'update_item' });
    if (outcome !== 'conflict') return { saved: now };
    // The owner is looking at it: settled right there, not in the list of open conflicts.
    await this.saveConflicts(syncState.value.conflicts.filter((open) => open.id !== id));
    return { conflict: now };
  }

  async delete(id: string): Promise<void> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.delete(id);
    const engine = this.replicaEngine();
    await this.afterPush(id, () => engine.delete(id));
  }

  async addProperty(declaration: PropertyDeclaration): Promise<void> {
    await this.ready;
    if (this.mode !== 'replica') return this.pod.addProperty(declaration);
    const engine = this.replicaEngine();
    const { itemType, name, valueType } = declaration;
    const item = new Item('ItemPropertySchema', { itemType, propertyName: name, valueType });
    await this.afterPush(item.id, () => engine.create(item));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Ends the feed and pushes, closes the store, and lets another tab keep the replica. */
  async close(): Promise<void> {
    this.closing.abort();
    this.listeners.clear();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    await this.pod.close();
    await this.shut();
    this.channel?.close();
  }

  /** Signs out for good on this browser: closes, then deletes the replica's database. */
  async forget(): Promise<void> {
    await this.close();
    if (this.name) await IndexedDbStore.delete(this.name);
  }

  private async shut(): Promise<void> {
    for (const timer of this.headTimers.values()) clearTimeout(timer);
    for (const off of this.engineOffs.splice(0)) off();
    await this.engine?.stop();
    await this.store?.close();
    this.release?.();
  }

  // ---- the replica in memory --------------------------------------------------------------------

  private replicaEngine(): SyncEngine {
    if (!this.engine) throw new Error('the local copy is not open');
    return this.engine;
  }

  /** Tells this tab's views, and the other tabs of this owner when this one keeps the replica. */
  private emit(items: DataItem[]): void {
    this.tell(items);
    this.channel?.postMessage(items);
  }

  private tell(items: DataItem[]): void {
    for (const listener of this.listeners) listener(items);
  }

  private queue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work);
    this.serial = run.catch(() => {});
    return run;
  }

  /** The item as the owner sees it here (local changes on top); undefined when there is none or it is deleted. */
  private async view(id: string): Promise<DataItem | undefined> {
    const view = await this.replicaEngine().view(id);
    return view && view.deleted !== true ? dataItem(view) : undefined;
  }

  /**
   * Runs a local change and, when online, waits for the Pod's answer to it (so what the owner sees saved
   * is on the Pod): a refusal throws the Pod's words; a conflict says so. Offline, the change waits here.
   */
  private async afterPush(id: string, change: () => Promise<unknown>): Promise<'pushed' | 'waiting' | 'conflict'> {
    const engine = this.replicaEngine();
    let done!: (outcome: 'pushed' | 'waiting' | 'conflict' | PodError) => void;
    const answered = new Promise<'pushed' | 'waiting' | 'conflict' | PodError>((resolve) => (done = resolve));
    const offs = [
      engine.on('pushed', ({ changes }) => changes.some((sent) => sent.id === id) && done('pushed')),
      engine.on('rejected', ({ change, error }) => change.id === id && done(error)),
      engine.on('conflict', ({ local }) => local.id === id && done('conflict')),
      engine.on('error', ({ during }) => during === 'push' && done('waiting')),
    ];
    const timer = setTimeout(() => done('waiting'), PUSH_WAIT_MS);
    try {
      await change();
      if (!navigator.onLine) return 'waiting';
      const outcome = await answered;
      if (outcome instanceof PodError) throw outcome;
      return outcome;
    } finally {
      clearTimeout(timer);
      for (const off of offs) off();
    }
  }

  /** A type's live items, loaded from the store once, with local changes on top. */
  private list(type: string): Promise<Map<string, DataItem>> {
    const held = this.lists.get(type);
    if (held) return Promise.resolve(held);
    return this.queue(async () => {
      const again = this.lists.get(type);
      if (again) return again;
      const [items, local] = await Promise.all([this.storeOf().itemsOfType(type), this.localViews()]);
      const list = new Map<string, DataItem>();
      for (const item of items) if (!item.deleted) list.set(item.id, dataItem(item));
      for (const item of local.values()) if (item.type === type) this.place(list, item);
      this.lists.set(type, list);
      return list;
    });
  }

  /** Every type's items (types, search). */
  private loadAll(): Promise<void> {
    if (this.allLoaded) return Promise.resolve();
    return this.queue(async () => {
      if (this.allLoaded) return;
      const [items, local] = await Promise.all([this.storeOf().items(), this.localViews()]);
      const lists = new Map<string, Map<string, DataItem>>();
      const listOf = (type: string) => lists.get(type) ?? lists.set(type, new Map()).get(type) ?? new Map();
      for (const item of items) if (!item.deleted) listOf(item.type).set(item.id, dataItem(item));
      for (const item of local.values()) this.place(listOf(item.type), item);
      for (const [type, list] of lists) if (!this.lists.has(type)) this.lists.set(type, list);
      this.allLoaded = true;
    });
  }

  /** The items with local changes not yet acknowledged, as the owner sees them (deleted ones too). */
  private async localViews(): Promise<Map<string, DataItem>> {
    const store = this.storeOf();
    const [pending, outbox] = await Promise.all([store.pendingChanges(), store.outbox()]);
    const ids = new Set([...pending, ...(outbox?.changes ?? [])].map((change) => change.id));
    const views = new Map<string, DataItem>();
    for (const id of ids) {
      const view = await this.replicaEngine().view(id);
      if (view) views.set(id, dataItem(view));
    }
    return views;
  }

  private place(list: Map<string, DataItem>, item: DataItem): void {
    if (item.deleted) list.delete(item.id);
    else list.set(item.id, item);
    this.versions.set(item.type, (this.versions.get(item.type) ?? 0) + 1);
  }

  /** Items changed by the owner or the Pod: read again, placed in their lists, told to the views. */
  private refresh(ids: string[]): Promise<void> {
    this.headsValid = false;
    this.heads.clear();
    return this.queue(async () => {
      const unique = [...new Set(ids)];
      let changed: DataItem[];
      if (unique.length > RELOAD_OVER) {
        // A page of a catch-up pull: the lists are read again, whole, when next asked (local changes on top).
        this.lists.clear();
        this.allLoaded = false;
        for (const type of this.versions.keys()) this.versions.set(type, (this.versions.get(type) ?? 0) + 1);
        const store = this.storeOf();
        const items = await Promise.all(unique.map((id) => store.item(id)));
        changed = items.flatMap((item) => (item ? [dataItem(item)] : []));
      } else {
        const engine = this.replicaEngine();
        const views = await Promise.all(unique.map((id) => engine.view(id)));
        changed = views.flatMap((view) => (view ? [dataItem(view)] : []));
        for (const item of changed) {
          const list = this.lists.get(item.type);
          if (list) this.place(list, item);
          else if (this.allLoaded) this.lists.set(item.type, new Map(item.deleted ? [] : [[item.id, item]]));
        }
      }
      for (const type of new Set(changed.map((item) => item.type))) if (this.lists.has(type)) this.keepHead(type);
      this.emit(changed);
    });
  }

  /**
   * The head of a query in the Pod's order while its type is not loaded yet, if the replica is still exactly
   * as when the head was written. The type loads whole only when asked beyond its head (rows further on, an
   * order, a filter, search) or once a change came in: not while the page may be left at once, as a read of
   * the whole type holds IndexedDB (the next page's open waits for it).
   */
  private headOf(query: RowQuery): Promise<Head | undefined> {
    const { type } = query;
    if (query.sort || query.filters.length > 0 || this.lists.has(type) || !this.headsValid)
      return Promise.resolve(undefined);
    let head = this.heads.get(type);
    if (!head) {
      const store = this.storeOf();
      head = Promise.all([store.meta(HEAD + type), store.cursor(), store.pendingCount(), store.outbox()]).then(
        ([text, cursor, waiting, outbox]) => {
          const held = text === undefined ? undefined : (JSON.parse(text) as Head);
          return held && held.cursor === cursor && waiting === 0 && !outbox ? held : undefined;
        },
      );
      this.heads.set(type, head);
    }
    return head;
  }

  /** Writes a type's head again once its list has stayed unchanged for a moment. */
  private keepHead(type: string): void {
    clearTimeout(this.headTimers.get(type));
    this.headTimers.set(
      type,
      setTimeout(() => {
        this.headTimers.delete(type);
        void this.queue(async () => {
          if (this.lists.has(type) && !this.closing.signal.aborted)
            await this.writeHead(type, await this.query({ type, properties: [], filters: [] }));
        });
      }, HEAD_DELAY_MS),
    );
  }

  private async writeHead(type: string, ordered: DataItem[]): Promise<void> {
    const store = this.storeOf();
    const [cursor, waiting, outbox] = await Promise.all([store.cursor(), store.pendingCount(), store.outbox()]);
    if (waiting > 0 || outbox) return; // a head is only used when nothing waits: none to write
    const head: Head = { cursor, count: ordered.length, items: ordered.slice(0, HEAD_ROWS) };
    await store.write({ meta: { [HEAD + type]: JSON.stringify(head) } });
  }

  /** The query's items in its order, kept until the type changes. */
  private async query(query: RowQuery): Promise<DataItem[]> {
    const list = await this.list(query.type);
    const key = JSON.stringify([query.type, query.sort, query.filters]);
    const version = this.versions.get(query.type) ?? 0;
    const held = this.ordered.get(key);
    if (held?.version === version && this.lists.get(query.type) === list) return held.items;
    const items = [...list.values()].filter((item) => query.filters.every((filter) => matches(item, filter)));
    items.sort(query.sort ? byProperty(query.sort.property, query.sort.descending) : podOrder);
    this.ordered.set(key, { version, items });
    // The first time a type is ordered, its head is written before the answer (a reload may follow at once).
    if (!held && !query.sort && query.filters.length === 0) await this.writeHead(query.type, items).catch(() => {});
    return items;
  }

  /** The edges whose target is `id` (ends are learned once per edge: they never change). */
  private async edgesTo(id: string): Promise<[string, { source: string; name: string }][]> {
    const store = this.storeOf();
    for (const edgeId of (await this.list('Edge')).keys())
      if (!this.edgeEnds.has(edgeId)) {
        const ends = await store.edge(edgeId);
        if (ends) this.edgeEnds.set(edgeId, ends);
      }
    return [...this.edgeEnds].filter(([edgeId, ends]) => ends.target === id && this.lists.get('Edge')?.has(edgeId));
  }

  private storeOf(): IndexedDbStore {
    if (!this.store) throw new Error('the local copy is not open');
    return this.store;
  }
}
