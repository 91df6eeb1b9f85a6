/**
 * The sync engine: a local replica of the owner's Pod, kept in a `LocalStore`, that the
 * application reads and changes at once while the engine exchanges changes with the Pod.
 *
 * - Schema first: the bundled item classes are declared before any other request whenever their
 *   hash differs from the one the store remembers (first install, upgrade).
 * - Pod to client: every new or changed item, oldest first, by dateServerModified from a cursor
 *   kept in the store; schema items among them extend `schema` as they come.
 * - Client to Pod: local changes are recorded with the version they were made on and pushed in
 *   batches through `bulk`, changed properties only, each update stating that version
 *   (`_expectedDateServerModified`). A 409 means someone else changed an item: the engine pulls,
 *   settles every conflicting change by the policy, and pushes again. The batch in flight is kept
 *   in the store with its batchId until answered, so a retry after a lost answer, or after a
 *   restart, is applied once.
 * - Live: a `LiveFeed` brings changes as they commit; polling (`syncOnce`) works as well.
 */
import type { Answer, Payload, ValueType } from '@pod/protocol';
import type { ChangePage, PodClient } from '../client.js';
import { PodError } from '../errors.js';
import { sha256Hex } from '../files.js';
import { randomHex } from '../hex.js';
import { Item, changes, toSave, type ItemClass, type ReceivedItem, type WireForm } from '../items.js';
import { LiveFeed, type FeedStatus, type LiveFeedOptions } from './feed.js';
import type { EdgeEnds, LocalStore, Outbox, Patch, PendingChange, PodItem } from './store.js';

/**
 * What to do with a local change when the Pod's item changed since the version it was made on:
 * `local-wins` pushes it onto the newer version, `remote-wins` drops it, `newest-wins` keeps the
 * one with the later dateModified (the Pod's on a tie), `report` asks `onConflict`.
 */
export type ConflictPolicy = 'local-wins' | 'remote-wins' | 'newest-wins' | 'report';

export interface Conflict {
  /** The local change: its base is the version it was made on (null: made as a new item). */
  local: PendingChange;
  /** The Pod's item, changed since that version (or, for a new item, already there). */
  remote: PodItem;
}

/** `local`: push the change onto the remote version; `remote`: drop it; a patch: push that instead. */
export type Resolution = 'local' | 'remote' | { patch: Patch };

/** How an automatic push goes: how long to wait for more changes first, and the batch size. */
export interface PushPlan {
  delayMs?: number;
  batchSize?: number;
}

export interface SyncEngineOptions {
  client: PodClient;
  store: LocalStore;
  /** The application's item classes: declared to the Pod first whenever they changed, and read back as instances. */
  schema?: ItemClass[];
  /** Default `newest-wins`. */
  conflicts?: ConflictPolicy;
  /** Decides conflicts under `report`; may be async. Must not wait for this engine's own pushes. */
  onConflict?: (conflict: Conflict) => Resolution | Promise<Resolution>;
  /** Items per pull request; default 1,000. */
  pullPageSize?: number;
  /** Changes per push request; default 500. */
  pushBatchSize?: number;
  /** While live, how long after a local change to push (more changes gather meanwhile); default 10 ms. */
  pushDelayMs?: number;
  /**
   * Consulted before each automatic push while live, to follow network conditions: a plan, or
   * false to hold back (call `push()` once conditions allow).
   */
  pushPolicy?: () => PushPlan | false;
  /** The live feed's page size and reconnection backoff. */
  feed?: Pick<LiveFeedOptions, 'pageSize' | 'backoffMs' | 'maxBackoffMs' | 'idleTimeout'>;
}

export interface SyncEvents {
  /** Items whose local view changed: by the application (`local`) or from the Pod (`remote`). */
  change: { ids: string[]; origin: 'local' | 'remote' };
  /** A conflict and how it was settled. */
  conflict: Conflict & { resolution: Resolution };
  /** A batch the Pod applied, in one transaction at `dateServerModified`. */
  pushed: { changes: PendingChange[]; dateServerModified: number };
  /** A change the Pod refused (400, 404, 413…): dropped; the item reverts to the Pod's version. */
  rejected: { change: PendingChange; error: PodError };
  /** Properties declared since the engine opened, from pulled schema items or `fetchSchema`. */
  schema: { declared: [name: string, valueType: ValueType][] };
  feed: { status: FeedStatus; error?: unknown };
  /** A failure of work the engine does by itself while live; it retries. */
  error: { error: unknown; during: 'push' | 'feed' };
}

/** Rounds of pull-resolve-push one push makes before it gives up (a writer racing it every time). */
const MAX_CONFLICT_ROUNDS = 20;
/** Base fields a local change does not set: the Pod owns them, or they never change. */
const NOT_CHANGED_LOCALLY = new Set(['id', 'type', 'dateServerModified', 'dateModified', 'dateCreated']);

export class SyncEngine {
  private readonly store: LocalStore;
  private readonly client: PodClient;
  private readonly policy: ConflictPolicy;
  private cursor = 0;
  private seq = 0;
  /** The batch in flight, mirrored from the store. */
  private outbox?: Outbox;
  private readonly declared = new Map<string, ValueType>();
  private readonly listeners = new Map<keyof SyncEvents, Set<(event: never) => void>>();
  /** Store reads and writes that must not interleave (an async store would let them). */
  private queue: Promise<unknown> = Promise.resolve();
  private schemaSent?: Promise<void>;
  private readonly pulls = new Rerun(() => this.pullPages());
  private readonly pushes = new Rerun((batchSize?: number) => this.pushBatches(batchSize));
  private feed?: LiveFeed;
  private live = false;
  private pushTimer?: ReturnType<typeof setTimeout>;
  private pushFailures = 0;

  /** Opens an engine over a store, picking up where the last one stopped. */
  static async open(options: SyncEngineOptions): Promise<SyncEngine> {
    const engine = new SyncEngine(options);
    await engine.load();
    return engine;
  }

  private constructor(private readonly options: SyncEngineOptions) {
    this.store = options.store;
    this.client = options.client;
    this.policy = options.conflicts ?? 'newest-wins';
    if (this.policy === 'report' && !options.onConflict) throw new TypeError('the "report" conflict policy needs onConflict');
  }

  private async load(): Promise<void> {
    const classes = this.options.schema ?? [];
    Item.register(...classes);
    for (const cls of classes) for (const [name, valueType] of Object.entries(cls.properties)) this.declared.set(name, valueType);
    this.learn(await this.store.itemsOfType('ItemPropertySchema'));
    this.cursor = await this.store.cursor();
    this.outbox = await this.store.outbox();
    const last = (await this.store.pendingChanges()).at(-1);
    this.seq = Math.max(last?.seq ?? 0, ...(this.outbox?.changes ?? []).map((change) => change.seq));
  }

  /** Property name → value type, as declared by the application's classes and every schema item seen. */
  get schema(): ReadonlyMap<string, ValueType> {
    return this.declared;
  }

  on<K extends keyof SyncEvents>(event: K, listener: (event: SyncEvents[K]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set.add(listener as (event: never) => void));
    return () => set.delete(listener as (event: never) => void);
  }

  private emit<K extends keyof SyncEvents>(event: K, payload: SyncEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (event: SyncEvents[K]) => void)(payload);
  }

  private exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---- reading the replica ------------------------------------------------------------------

  /** The item as the application sees it: the Pod's version with local changes on top. */
  async view(id: string): Promise<WireForm | undefined> {
    return this.exclusive(async () => compose(await this.store.item(id), this.inFlight(id), await this.store.pending(id)));
  }

  /** The item as an instance of its registered class (unknown properties left out), ready for `update`. */
  async get(id: string): Promise<Item | undefined> {
    const view = await this.view(id);
    return view && Item.fromJSON(view);
  }

  /** Every item as the application sees it, deleted ones included. */
  async all(): Promise<WireForm[]> {
    return this.exclusive(async () => {
      const remote = new Map((await this.store.items()).map((item) => [item.id, item]));
      const local = new Map<string, PendingChange[]>();
      for (const change of [...(this.outbox?.changes ?? []), ...(await this.store.pendingChanges())])
        local.set(change.id, [...(local.get(change.id) ?? []), change]);
      const ids = new Set([...remote.keys(), ...local.keys()]);
      return [...ids].map((id) => compose(remote.get(id), ...(local.get(id) ?? []))!);
    });
  }

  /** The edges going out of an item, new local ones included. */
  async edges(source: string): Promise<EdgeEnds[]> {
    return this.store.edgesFrom(source);
  }

  /** Local changes not yet acknowledged by the Pod, the batch in flight included. */
  async pendingCount(): Promise<number> {
    return this.exclusive(async () => (await this.store.pendingCount()) + (this.outbox?.changes.length ?? 0));
  }

  private inFlight(id: string): PendingChange | undefined {
    return this.outbox?.changes.find((change) => change.id === id);
  }

  // ---- changing it --------------------------------------------------------------------------

  /** Records a new item (id chosen at construction); pushed with the next batch. */
  async create<I extends Item>(item: I): Promise<I> {
    item.dateCreated ??= Date.now();
    const { wire, commit } = toSave(item);
    await this.record(item.id, item.type, { ...localPatch(wire), dateCreated: item.dateCreated }, { create: true });
    commit(); // a later `update(item)` sends only what changed after this
    return item;
  }

  /** Records what changed in the item since it was read (`get`) or created here. */
  async update(item: Item): Promise<void> {
    const changed = changes(item);
    if (!changed) return;
    await this.patch(item.id, changed.patch);
    changed.commit();
  }

  /** Records changed properties of an item (`null` erases one). */
  async patch(id: string, patch: Patch): Promise<void> {
    const changed = localPatch(patch);
    if (Object.keys(changed).length > 0) await this.record(id, undefined, changed, {});
  }

  /** Soft delete, as on the Pod: the item stays, with `deleted: true`. */
  async delete(item: Item | string): Promise<void> {
    await this.patch(typeof item === 'string' ? item : item.id, { deleted: true });
  }

  /** Records a new edge (an Edge item with `properties`); returns its id. */
  async createEdge(source: Item | string, name: string, target: Item | string, properties: Patch = {}): Promise<string> {
    const id = randomHex(16);
    const edge = { source: typeof source === 'string' ? source : source.id, target: typeof target === 'string' ? target : target.id, name };
    await this.record(id, 'Edge', { ...localPatch(properties), dateCreated: Date.now() }, { create: true, edge });
    return id;
  }

  private async record(id: string, type: string | undefined, patch: Patch, how: { create?: boolean; edge?: PendingChange['edge'] }) {
    await this.exclusive(async () => {
      const [pending, remote] = await Promise.all([this.store.pending(id), this.store.item(id)]);
      const inFlight = this.inFlight(id);
      const held = remote ?? pending ?? inFlight;
      if (how.create && held) throw new Error(`an item with id ${JSON.stringify(id)} exists already`);
      if (!how.create && !held) throw new Error(`no item ${JSON.stringify(id)} in this replica`);
      const dateModified = Date.now();
      const change: PendingChange = pending
        ? { ...pending, patch: { ...pending.patch, ...patch }, dateModified }
        : {
            id,
            type: type ?? held!.type,
            patch,
            // Behind a change in flight, a change is based on what that one makes: it is rebased when it is answered.
            base: inFlight ? inFlight.base : (remote?.dateServerModified ?? null),
            dateModified,
            seq: ++this.seq,
            ...(how.edge && { edge: how.edge }),
          };
      await this.store.write({ pending: [change], ...(how.edge && { edges: [{ id, ...how.edge }] }) });
    });
    this.emit('change', { ids: [id], origin: 'local' });
    this.schedulePush();
  }

  // ---- schema -------------------------------------------------------------------------------

  /** Declares the application's classes to the Pod if they changed since the store last did; every sync does it first. */
  ensureSchema(): Promise<void> {
    return (this.schemaSent ??= this.sendSchema().catch((error: unknown) => {
      this.schemaSent = undefined;
      throw error;
    }));
  }

  private async sendSchema(): Promise<void> {
    const classes = this.options.schema ?? [];
    if (classes.length === 0) return;
    const declarations = classes
      .flatMap((cls) => Object.entries(cls.properties).map(([name, valueType]) => `${cls.itemType}.${name}:${valueType}`))
      .sort();
    const hash = await sha256Hex(new TextEncoder().encode(declarations.join('\n')));
    if (hash === (await this.store.schemaHash())) return;
    await this.client.addToSchema(...classes);
    await this.exclusive(() => this.store.write({ schemaHash: hash }));
  }

  /** The quick path: the Pod's whole schema, into `schema` only (nothing stored, the cursor untouched). */
  async fetchSchema(): Promise<ReadonlyMap<string, ValueType>> {
    this.learn(await this.client.call('search', { type: 'ItemPropertySchema' }));
    return this.declared;
  }

  /** Takes declarations from schema items; tells of new ones. */
  private learn(items: readonly { type: string; [field: string]: unknown }[]): void {
    const declared: [string, ValueType][] = [];
    for (const item of items) {
      const { type, propertyName: name, valueType } = item;
      if (type !== 'ItemPropertySchema' || typeof name !== 'string' || typeof valueType !== 'string') continue;
      if (this.declared.get(name) === valueType) continue;
      this.declared.set(name, valueType as ValueType);
      declared.push([name, valueType as ValueType]);
    }
    if (declared.length > 0) this.emit('schema', { declared });
  }

  // ---- Pod to client ------------------------------------------------------------------------

  /**
   * Fetches every item changed since the cursor, oldest first, in pages (each asked while the
   * previous one is stored). A call while a pull runs gets one more pull after it, so what
   * committed before the call is in. Resolves to the number of items received.
   */
  async pull(): Promise<number> {
    await this.ensureSchema();
    return this.pulls.run();
  }

  private async pullPages(): Promise<number> {
    const size = this.options.pullPageSize ?? 1_000;
    const fetchPage = (from: number) =>
      this.client.call('search', { 'dateServerModified>=': from, _limit: size, '[[edges]]': {} });
    let from = this.cursor;
    let next = fetchPage(from);
    for (let received = 0; ; ) {
      const page = await next;
      const more = page.length >= size;
      const cursor = page.length > 0 ? page[page.length - 1]!.dateServerModified + 1 : from;
      if (more) {
        next = fetchPage(cursor);
        next.catch(() => {}); // handled when awaited; storing this page may fail first
        // Let the request go out before storing, which may block (SQLite): the Pod reads the next page meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await this.applyRemote(page, cursor);
      received += page.length;
      if (!more) return received;
      from = cursor;
    }
  }

  /** Stores items from the Pod (with their outgoing edges, when the page has them) and the cursor after them. */
  private async applyRemote(received: ReceivedItem[], cursor: number): Promise<void> {
    const items: PodItem[] = [];
    const edges: EdgeEnds[] = [];
    for (const { '[[edges]]': outgoing, ...item } of received) {
      for (const edge of outgoing ?? []) edges.push({ id: edge.id, source: item.id, target: edge._item.id, name: edge._edge });
      items.push(item as PodItem);
    }
    await this.exclusive(async () => {
      const next = Math.max(this.cursor, cursor);
      if (items.length === 0 && next === this.cursor) return; // nothing new: no write at all
      await this.store.write({ items, edges, cursor: next });
      this.cursor = next;
    });
    this.learn(items);
    if (items.length > 0) this.emit('change', { ids: items.map((item) => item.id), origin: 'remote' });
  }

  /**
   * A page from the live feed. The feed carries no edge ends: a page with an edge this replica
   * does not know yet is fetched again through `pull`, whose pages do.
   */
  private async onFeedPage(page: ChangePage): Promise<void> {
    for (const item of page.items)
      if (item.type === 'Edge' && !(await this.store.edge(item.id))) {
        await this.pulls.run();
        return;
      }
    await this.applyRemote(page.items, page.cursor);
  }

  // ---- client to Pod ------------------------------------------------------------------------

  /**
   * Pushes local changes in batches until none is left. A call while a push runs gets one more
   * push after it. Fails, keeping the batch for the next push, when the Pod cannot be reached.
   * Resolves to the number of changes the Pod applied.
   */
  async push(options: { batchSize?: number } = {}): Promise<number> {
    await this.ensureSchema();
    return this.pushes.run(options.batchSize);
  }

  private async pushBatches(batchSize = this.options.pushBatchSize ?? 500): Promise<number> {
    let pushed = 0;
    let conflictRounds = 0;
    /** After a batch was refused as a whole, its changes go one by one to find the culprit. */
    let alone = 0;
    for (;;) {
      const outbox = this.outbox ?? (await this.fillOutbox(alone > 0 ? 1 : batchSize));
      if (!outbox) return pushed;
      let answer: Answer<'bulk'>;
      try {
        answer = await this.client.call('bulk', bulkPayload(outbox));
      } catch (error) {
        // No answer, or a fault of the Pod: the batch stays, and goes again with its batchId.
        if (!(error instanceof PodError) || error.status === 0 || error.status >= 500) throw error;
        await this.unpack(outbox);
        if (error.status === 409 && ++conflictRounds <= MAX_CONFLICT_ROUNDS) {
          await this.pulls.run();
          await this.resolveConflicts();
        } else if (error.status === 409) {
          throw error;
        } else if (outbox.changes.length > 1) {
          alone = outbox.changes.length;
        } else {
          await this.reject(outbox.changes[0]!.id, error);
        }
        continue;
      }
      await this.settle(outbox, answer.search[0] as PodItem[]);
      pushed += outbox.changes.length;
      if (alone > 0) alone--;
    }
  }

  private fillOutbox(limit: number): Promise<Outbox | undefined> {
    return this.exclusive(async () => {
      const changes = await this.store.pendingChanges(limit);
      if (changes.length === 0) return undefined;
      const outbox = { batchId: randomHex(16), changes };
      await this.store.write({ settled: changes.map((change) => change.id), outbox });
      return (this.outbox = outbox);
    });
  }

  /** Puts a refused batch back among the pending changes, merged with what was changed meanwhile. */
  private unpack(outbox: Outbox): Promise<void> {
    return this.exclusive(async () => {
      const merged: PendingChange[] = [];
      for (const sent of outbox.changes) {
        const later = await this.store.pending(sent.id);
        merged.push(later ? { ...sent, patch: { ...sent.patch, ...later.patch }, dateModified: later.dateModified } : sent);
      }
      await this.store.write({ outbox: null, pending: merged });
      this.outbox = undefined;
    });
  }

  /**
   * The batch is applied: `written` is every item its transaction wrote (the bulk's own search
   * for the newest items returns exactly those). Changes made meanwhile on top of a sent one,
   * or on an item the batch only touched (an edge's source), are now based on that version.
   */
  private async settle(outbox: Outbox, written: PodItem[]): Promise<void> {
    const sent = new Map(outbox.changes.map((change) => [change.id, change]));
    await this.exclusive(async () => {
      const rebased: PendingChange[] = [];
      for (const item of written) {
        const pending = await this.store.pending(item.id);
        if (!pending) continue;
        const change = sent.get(item.id);
        const before = change ? undefined : await this.store.item(item.id);
        const basedOnIt = change
          ? pending.base === change.base
          : before !== undefined && pending.base === before.dateServerModified && sameFields(before, item);
        if (basedOnIt) rebased.push({ ...pending, base: item.dateServerModified });
      }
      await this.store.write({ items: written, pending: rebased, outbox: null });
      this.outbox = undefined;
    });
    this.emit('pushed', { changes: outbox.changes, dateServerModified: written[0]?.dateServerModified ?? 0 });
    this.emit('change', { ids: written.map((item) => item.id), origin: 'remote' });
  }

  /** Settles every pending change whose item changed on the Pod since the change's base, by the policy. */
  private async resolveConflicts(): Promise<void> {
    for (const local of await this.exclusive(() => this.store.pendingChanges())) {
      const remote = await this.store.item(local.id);
      if (!remote || remote.dateServerModified === local.base) continue;
      const resolution = await this.decide({ local, remote });
      const settled = await this.exclusive(async () => {
        const now = await this.store.pending(local.id);
        const current = await this.store.item(local.id);
        // Changed again meanwhile: the next push finds out and asks again.
        if (!now || now.base !== local.base || current?.dateServerModified !== remote.dateServerModified) return false;
        if (resolution === 'remote') await this.store.write({ settled: [local.id] });
        else {
          const patch = resolution === 'local' ? now.patch : localPatch(resolution.patch);
          await this.store.write({ pending: [{ ...now, patch, base: remote.dateServerModified }] });
        }
        return true;
      });
      if (!settled) continue;
      this.emit('conflict', { local, remote, resolution });
      if (resolution !== 'local') this.emit('change', { ids: [local.id], origin: 'remote' });
    }
  }

  private decide(conflict: Conflict): Resolution | Promise<Resolution> {
    switch (this.policy) {
      case 'local-wins':
        return 'local';
      case 'remote-wins':
        return 'remote';
      case 'newest-wins':
        return conflict.local.dateModified > conflict.remote.dateModified ? 'local' : 'remote';
      case 'report':
        return this.options.onConflict!(conflict);
    }
  }

  private async reject(id: string, error: PodError): Promise<void> {
    const change = await this.exclusive(async () => {
      const refused = await this.store.pending(id);
      await this.store.write({ settled: [id] });
      return refused!;
    });
    this.emit('rejected', { change, error });
    this.emit('change', { ids: [id], origin: 'remote' });
  }

  // ---- together -----------------------------------------------------------------------------

  /** One round of polling: the schema if it changed, local changes up, then the Pod's changes down. */
  async syncOnce(): Promise<{ pushed: number; pulled: number }> {
    const pushed = await this.push();
    const pulled = await this.pull();
    return { pushed, pulled };
  }

  /**
   * Goes live: follows the change feed from the cursor (reconnecting after failures) and pushes
   * local changes shortly after they are made, retrying with backoff. Failures come as `error` events.
   */
  start(): void {
    if (this.live) return;
    this.live = true;
    this.feed = new LiveFeed(this.client, {
      ...this.options.feed,
      from: this.cursor,
      onPage: (page) => this.ensureSchema().then(() => this.onFeedPage(page)),
      onStatus: (status, error) => {
        if (error) this.emit('error', { error, during: 'feed' });
        this.emit('feed', { status, error });
      },
    });
    this.feed.start();
    this.schedulePush();
  }

  /** Stops following the feed and pushing by itself; waits for the work under way. */
  async stop(): Promise<void> {
    this.live = false;
    clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
    await this.feed?.stop();
    this.feed = undefined;
    await Promise.allSettled([this.pushes.idle(), this.pulls.idle()]);
  }

  /** Drops the feed's connection as a network failure would (it reconnects): for tests and "retry now" buttons. */
  interruptFeed(): void {
    this.feed?.interrupt();
  }

  private schedulePush(delay?: number): void {
    if (!this.live || this.pushTimer !== undefined) return;
    const plan = this.options.pushPolicy?.() ?? {};
    if (plan === false) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.push({ batchSize: plan.batchSize }).then(
        () => (this.pushFailures = 0),
        (error: unknown) => {
          this.emit('error', { error, during: 'push' });
          this.schedulePush(Math.min(10_000, 100 * 2 ** this.pushFailures++));
        },
      );
    }, delay ?? plan.delayMs ?? this.options.pushDelayMs ?? 10);
  }
}

/** One run of a task at a time; a call while it runs gets one more run after it, shared by every such call. */
class Rerun<A, T> {
  private running?: Promise<T>;
  private next?: Promise<T>;

  constructor(private readonly task: (argument?: A) => Promise<T>) {}

  run(argument?: A): Promise<T> {
    if (!this.running) return (this.running = this.task(argument).finally(() => (this.running = undefined)));
    return (this.next ??= this.running
      .catch(() => {})
      .then(() => {
        this.next = undefined;
        return this.run(argument);
      }));
  }

  idle(): Promise<unknown> {
    return this.next ?? this.running ?? Promise.resolve();
  }
}

/** The Pod's version with local changes on top, in order. */
function compose(remote: PodItem | undefined, ...local: (PendingChange | undefined)[]): WireForm | undefined {
  let view: WireForm | undefined = remote && { ...remote };
  for (const change of local) {
    if (!change) continue;
    view ??= { id: change.id, type: change.type, deleted: false };
    for (const [name, value] of Object.entries(change.patch))
      if (value === null) delete view[name];
      else view[name] = value;
    view.dateModified = change.dateModified;
  }
  return view;
}

/** The fields of a local change: no base field the Pod sets or that never changes. */
function localPatch(fields: Readonly<Patch>): Patch {
  const patch: Patch = {};
  for (const [name, value] of Object.entries(fields)) if (!NOT_CHANGED_LOCALLY.has(name) && value !== undefined) patch[name] = value;
  return patch;
}

/** Whether two versions of an item differ only in their dateServerModified. */
function sameFields(a: PodItem, b: PodItem): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const name of names) if (name !== 'dateServerModified' && a[name] !== b[name]) return false;
  return true;
}

/**
 * A batch as one bulk: new items, updates stating their base version, new edges, and a search
 * for the newest items — every item this bulk's transaction writes, as it wrote them.
 */
function bulkPayload({ batchId, changes }: Outbox): Payload<'bulk'> {
  const createItems: Payload<'bulk'>['createItems'] = [];
  const updateItems: NonNullable<Payload<'bulk'>['updateItems']> = [];
  const createEdges: NonNullable<Payload<'bulk'>['createEdges']> = [];
  for (const change of changes) {
    const fields = { ...change.patch, id: change.id, dateModified: change.dateModified };
    if (change.base !== null) updateItems.push({ ...fields, _expectedDateServerModified: change.base });
    else if (change.edge) createEdges.push({ ...fields, _source: change.edge.source, _target: change.edge.target, _name: change.edge.name });
    else createItems.push({ ...fields, type: change.type });
  }
  return { batchId, createItems, updateItems, createEdges, search: [{ _sortOrder: 'Desc', _limit: 1 }] };
}
