/**
 * The sync engine: a local replica of the owner's Pod, kept in a `LocalStore`, that the
 * application reads and changes at once while the engine exchanges changes with the Pod. This
 * class records local changes and orchestrates its parts:
 * - `schema.ts`: the bundled item classes are declared before any other request whenever they changed;
 * - `pull.ts`: Pod to client, by a cursor kept in the store;
 * - `push.ts`: client to Pod in batches through `bulk`, each update stating its base version;
 * - `conflicts.ts`: the policy that settles a change made on a version the Pod has replaced;
 * - live: a `LiveFeed` (`feed.ts`) brings changes as they commit; polling (`syncOnce`) works as well.
 */
import type { ValueType } from '@pod/protocol';
import { backoffDelay } from '../backoff.js';
import type { PodClient } from '../client.js';
import { randomHex } from '../hex.js';
import { type Item, ItemClasses, changes, toSave, type ItemClass, type WireForm } from '../items.js';
import { ConflictRules, type ConflictPolicy, type OnConflict } from './conflicts.js';
import { LiveFeed, type LiveFeedOptions } from './feed.js';
import { Pull } from './pull.js';
import { Push } from './push.js';
import { Replica, compose, localPatch, type SyncEvents } from './replica.js';
import { SchemaSync } from './schema.js';
import type { EdgeEnds, LocalStore, Patch, PendingChange } from './store.js';

export type { ConflictPolicy, Conflict, Resolution } from './conflicts.js';
export type { SyncEvents } from './replica.js';

/** How an automatic push goes: how long to wait for more changes first, and the batch size. */
export interface PushPlan {
  delayMs?: number;
  batchSize?: number;
}

export interface SyncEngineOptions {
  client: PodClient;
  store: LocalStore;
  /**
   * The application's item classes: declared to the Pod first whenever they changed, and read
   * back as instances by `get` (with the client's `classes`; these win). The client's own reading is left as it is.
   */
  schema?: ItemClass[];
  /** Default `newest-wins`. */
  conflicts?: ConflictPolicy;
  /** Decides conflicts under `report`; may be async. Must not wait for this engine's own pushes. */
  onConflict?: OnConflict;
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

/** Waits before pushing again after failed pushes while live: from 100 ms, doubling, at most 10 s. */
const PUSH_RETRY_BACKOFF = { firstMs: 100, maxMs: 10_000 };

export class SyncEngine {
  private readonly replica: Replica;
  private readonly store: LocalStore;
  /** This engine's reading of item types: the client's classes, then the schema's. */
  private readonly classes: ItemClasses;
  private readonly schemaSync: SchemaSync;
  private readonly pulls: Pull;
  private readonly pushes: Push;
  private seq = 0;
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
    const { client, store, schema = [] } = options;
    this.replica = new Replica(client, store);
    this.store = store;
    this.classes = new ItemClasses([...client.classes, ...schema]);
    const conflicts = new ConflictRules(this.replica, options.conflicts ?? 'newest-wins', options.onConflict);
    this.schemaSync = new SchemaSync(this.replica, schema);
    this.pulls = new Pull(this.replica, this.schemaSync, options.pullPageSize ?? 1_000);
    this.pushes = new Push(this.replica, this.pulls, conflicts, options.pushBatchSize ?? 500);
  }

  private async load(): Promise<void> {
    this.schemaSync.learn(await this.store.itemsOfType('ItemPropertySchema'));
    this.replica.cursor = await this.store.cursor();
    const outbox = await this.store.outbox();
    this.replica.outbox = outbox;
    const last = (await this.store.pendingChanges()).at(-1);
    this.seq = Math.max(last?.seq ?? 0, ...(outbox?.changes ?? []).map((change) => change.seq));
  }

  /** Property name → value type, as declared by the application's classes and every schema item seen. */
  get schema(): ReadonlyMap<string, ValueType> {
    return this.schemaSync.declared;
  }

  on<K extends keyof SyncEvents>(event: K, listener: (event: SyncEvents[K]) => void): () => void {
    return this.replica.on(event, listener);
  }

  // ---- reading the replica ------------------------------------------------------------------

  /** The item as the application sees it: the Pod's version with local changes on top. */
  async view(id: string): Promise<WireForm | undefined> {
    const { replica, store } = this;
    return replica.exclusive(async () => compose(await store.item(id), replica.inFlight(id), await store.pending(id)));
  }

  /**
   * The item as an instance of `cls`, or of the class this engine reads its type into (unknown
   * properties left out), ready for `update`. An item of another type than `cls` is a TypeError.
   */
  async get<C extends ItemClass>(id: string, cls: C): Promise<InstanceType<C> | undefined>;
  async get(id: string): Promise<Item | undefined>;
  async get(id: string, cls?: ItemClass): Promise<Item | undefined> {
    const view = await this.view(id);
    return view && this.classes.decode(view, cls);
  }

  /** Every item as the application sees it, deleted ones included. */
  async all(): Promise<WireForm[]> {
    const { replica, store } = this;
    return replica.exclusive(async () => {
      const remote = new Map((await store.items()).map((item) => [item.id, item]));
      const local = new Map<string, PendingChange[]>();
      for (const change of [...(replica.outbox?.changes ?? []), ...(await store.pendingChanges())])
        local.set(change.id, [...(local.get(change.id) ?? []), change]);
      const ids = new Set([...remote.keys(), ...local.keys()]);
      // Every id is known to one side at least, so each composes to a view.
      return [...ids].flatMap((id) => compose(remote.get(id), ...(local.get(id) ?? [])) ?? []);
    });
  }

  /** The edges going out of an item, new local ones included. */
  async edges(source: string): Promise<EdgeEnds[]> {
    return this.store.edgesFrom(source);
  }

  /** Local changes not yet acknowledged by the Pod, the batch in flight included. */
  async pendingCount(): Promise<number> {
    const { replica } = this;
    return replica.exclusive(async () => (await this.store.pendingCount()) + (replica.outbox?.changes.length ?? 0));
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
  async createEdge(
    source: Item | string,
    name: string,
    target: Item | string,
    properties: Patch = {},
  ): Promise<string> {
    const id = randomHex(16);
    const edge = {
      source: typeof source === 'string' ? source : source.id,
      target: typeof target === 'string' ? target : target.id,
      name,
    };
    await this.record(id, 'Edge', { ...localPatch(properties), dateCreated: Date.now() }, { create: true, edge });
    return id;
  }

  private async record(
    id: string,
    type: string | undefined,
    patch: Patch,
    how: { create?: boolean; edge?: PendingChange['edge'] },
  ): Promise<void> {
    const { replica, store } = this;
    await replica.exclusive(async () => {
      const [pending, remote] = await Promise.all([store.pending(id), store.item(id)]);
      const inFlight = replica.inFlight(id);
      const held = remote ?? pending ?? inFlight;
      if (how.create && held) throw new Error(`an item with id ${JSON.stringify(id)} exists already`);
      if (!how.create && !held) throw new Error(`no item ${JSON.stringify(id)} in this replica`);
      const itemType = type ?? held?.type;
      if (itemType === undefined) throw new Error(`a new item ${JSON.stringify(id)} needs a type`);
      const dateModified = Date.now();
      const change: PendingChange = pending
        ? { ...pending, patch: { ...pending.patch, ...patch }, dateModified }
        : {
            id,
            type: itemType,
            patch,
            // Behind a change in flight, a change is based on what that one makes: it is rebased when it is answered.
            base: inFlight ? inFlight.base : (remote?.dateServerModified ?? null),
            dateModified,
            seq: ++this.seq,
            ...(how.edge && { edge: how.edge }),
          };
      await store.write({ pending: [change], ...(how.edge && { edges: [{ id, ...how.edge }] }) });
    });
    replica.emit('change', { ids: [id], origin: 'local' });
    this.schedulePush();
  }

  // ---- exchanging with the Pod --------------------------------------------------------------

  /** Declares the application's classes to the Pod if they changed since the store last did; syncs do it first. */
  ensureSchema(): Promise<void> {
    return this.schemaSync.ensure();
  }

  /** The quick path: the Pod's whole schema, into `schema` only (nothing stored, the cursor untouched). */
  async fetchSchema(): Promise<ReadonlyMap<string, ValueType>> {
    await this.schemaSync.fetch();
    return this.schema;
  }

  /**
   * Fetches every item changed since the cursor, oldest first, in pages (each asked while the
   * previous one is stored). A call while a pull runs gets one more pull after it, so what
   * committed before the call is in. Resolves to the number of items received.
   */
  async pull(): Promise<number> {
    await this.ensureSchema();
    return this.pulls.run();
  }

  /**
   * Pushes local changes in batches until none is left. A call while a push runs gets one more
   * push after it. Fails, keeping the batch for the next push, when the Pod cannot be reached.
   * Resolves to the number of changes the Pod applied.
   */
  async push(options: { batchSize?: number } = {}): Promise<number> {
    await this.ensureSchema();
    return this.pushes.run(options.batchSize);
  }

  /** One round of polling: the schema if it changed, local changes up, then the Pod's changes down. */
  async syncOnce(): Promise<{ pushed: number; pulled: number }> {
    const pushed = await this.push();
    const pulled = await this.pull();
    return { pushed, pulled };
  }

  // ---- live ---------------------------------------------------------------------------------

  /**
   * Goes live: follows the change feed from the cursor (reconnecting after failures) and pushes
   * local changes shortly after they are made, retrying with backoff. Failures come as `error` events.
   */
  start(): void {
    if (this.live) return;
    this.live = true;
    const { replica } = this;
    this.feed = new LiveFeed(replica.client, {
      ...this.options.feed,
      from: replica.cursor,
      onPage: (page) => this.ensureSchema().then(() => this.pulls.feedPage(page)),
      onStatus: (status, error) => {
        if (error) replica.emit('error', { error, during: 'feed' });
        replica.emit('feed', { status, error });
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
    this.pushTimer = setTimeout(
      () => {
        this.pushTimer = undefined;
        this.push({ batchSize: plan.batchSize }).then(
          () => (this.pushFailures = 0),
          (error: unknown) => {
            this.replica.emit('error', { error, during: 'push' });
            this.schedulePush(backoffDelay(PUSH_RETRY_BACKOFF, this.pushFailures++));
          },
        );
      },
      delay ?? plan.delayMs ?? this.options.pushDelayMs ?? 10,
    );
  }
}
