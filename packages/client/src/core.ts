/**
 * `PodCore`: the Pod v4 API's item calls as methods over `fetch` (schema, items, edges, search,
 * bulk, email), for Node 22+ and browsers. Payload and answer types come from `@pod/protocol`'s
 * endpoint table; items travel as the classes of `items.ts`. The change feed (`changes.ts`) and
 * files and photos (`photos.ts`) build on it in `PodClient`.
 */
import { HEX_KEY } from '@pod/protocol';
import type { Answer, Auth, Endpoint, JsonEndpoint, Payload, PodSummary, PodVersion } from '@pod/protocol';
import { splitBulk, type Entry } from './bulk.js';
import { PodError } from './errors.js';
import { randomHex } from './hex.js';
import type { Policy, RequestOptions, Retry } from './http.js';
import {
  Item,
  ItemClasses,
  changes,
  idOf,
  linkLocally,
  unlinkLocally,
  markDeleted,
  toSave,
  type ItemClass,
  type PropertyComparisons,
  type PropertyFilter,
} from './items.js';
import { Transport } from './transport.js';
import { builtinItemClasses, schemaDeclarations, schemaPayload, type SchemaMeta } from './types.js';

export type { JsonEndpoint, PodVersion } from '@pod/protocol';

/** Where a Pod started with `npm start` listens. */
export const DEFAULT_URL = 'http://localhost:3030';
/** The original client cut bulks at 5 million characters; the Pod accepts 64 MiB by default. */
export const DEFAULT_BULK_LIMIT = 5_000_000;

export type PodClientOptions = {
  /** The Pod's address, no path: default `http://localhost:3030`. */
  url?: string;
  /** 64 hex characters naming the owner's database; generated when not given. */
  ownerKey?: string;
  /** Milliseconds to wait for an answer, per attempt; default 30,000. */
  timeout?: number;
  /** How often a failed call is repeated where that is safe (see `Retry`); default 2. */
  retries?: number;
  /** Largest bulk request in characters; a larger bulk is sent as several requests. */
  bulkLimit?: number;
  /**
   * Classes to read items of their types into, besides `builtinItemClasses` (a class for a
   * built-in type replaces it); this client's own, not shared with other clients.
   */
  classes?: Iterable<ItemClass>;
} & (
  | {
      /** 64 hex characters: the key that encrypts the owner's database; generated when not given. */
      databaseKey?: string;
      pluginAuth?: undefined;
    }
  | {
      /** For a plugin: the object under `data` in the `POD_AUTH_JSON` the Pod started it with. */
      pluginAuth: Record<string, unknown>;
      databaseKey?: undefined;
    }
);

/** Search keys besides property filters, as the protocol declares them (`_text`: full-text search). */
export type QueryKeys = Pick<
  Payload<'search'>,
  'id' | 'deleted' | 'dateServerModified>=' | 'dateServerModified<' | '_sortOrder' | '_limit' | '_offset' | '_text'
>;
/** A typed search: values of the class's properties, comparisons on them and on dates, and the protocol's query keys. */
export type Filter<C extends ItemClass> = PropertyFilter<C['properties']> &
  PropertyComparisons<C['properties'] & DateFields> &
  QueryKeys;
type DateFields = { dateCreated: 'DateTime'; dateModified: 'DateTime'; dateServerModified: 'DateTime' };

export interface SearchOptions extends RequestOptions {
  /** Also read each item's outgoing edges into its edge fields (`"[[edges]]": {}`). */
  edges?: boolean;
}

export interface IterateOptions extends SearchOptions {
  /** Items per request; default 1,000. A page can hold more: every item sharing the last one's dateServerModified. */
  pageSize?: number;
}

export interface EdgeSpec {
  source: Item | string;
  name: string;
  target: Item | string;
}

/** A bulk as items: each list is optional; `updateItems` sends what changed in each item. */
export interface BulkRequest {
  createItems?: Item[];
  updateItems?: Item[];
  deleteItems?: (Item | string)[];
  createEdges?: EdgeSpec[];
  search?: Payload<'search'>[];
}
export type BulkResult = Omit<Answer<'bulk'>, 'search'> & { search: Item[][] };
/** What `graphql` gives: the root items, and `count`/`total` when the query selects them. */
export type GraphqlResult<I extends Item = Item> = Omit<Answer<'graphql'>, 'data'> & { items: I[] };

/**
 * Which failed calls may be repeated. Writes only when the connection was refused; a bulk
 * carrying a batchId (every request of `bulk()`, and a `call('bulk')` that sets one) after any
 * failure, as the Pod applies it once.
 */
export const RETRY: { readonly [E in Endpoint]: Retry } = {
  get_item: 'safe',
  get_edges: 'safe',
  search: 'safe',
  graphql: 'safe',
  get_file: 'safe',
  thumbnail: 'safe',
  export: 'safe',
  plugin_run_logs: 'safe',
  plugin_images: 'safe',
  'oauth2/auth_url': 'safe',
  'plugin/status': 'safe',
  'plugin/api': 'safe',
  // a relayed call may change the plugin's state: repeated only if it never reached the Pod
  'plugin/api/call': 'refused',
  'trigger/status': 'refused',
  create_item: 'refused',
  update_item: 'refused',
  delete_item: 'refused',
  create_edge: 'refused',
  delete_edge_by_source_target: 'refused',
  delete_file: 'refused',
  bulk: 'refused',
  send_email: 'refused',
  abort_plugin_run: 'refused',
  summary: 'safe',
  change_database_key: 'refused',
  delete_owner: 'refused',
  // A provider takes a temporary token, a code or a rotated refresh token once.
  oauth: 'refused',
  oauth1_request_token: 'refused',
  oauth1_access_token: 'refused',
  'oauth2/authorize': 'refused',
  'oauth2/access_token': 'refused',
};

const isQueryFirst = (
  args: [ItemClass, string, RequestOptions?] | [string, RequestOptions?],
): args is [string, RequestOptions?] => typeof args[0] === 'string';

export class PodCore implements Policy {
  readonly ownerKey: string;
  /** Undefined for a plugin, which authenticates with `pluginAuth`. */
  readonly databaseKey?: string;
  readonly timeout: number;
  readonly retries: number;
  readonly bulkLimit: number;
  /** Which class each item type is read back into: the built-in ones, `classes`, and those given to `addToSchema`. */
  readonly classes: ItemClasses;
  /** @internal How requests reach the Pod: for the parts of `PodClient` built on this core. */
  readonly transport: Transport;

  /** 32 random bytes as 64 hex characters, from a CSPRNG: a new owner key or database key. */
  static generateKey(): string {
    return randomHex(32);
  }

  constructor(options: PodClientOptions = {}) {
    const url = (options.url ?? DEFAULT_URL).replace(/\/+$/, '');
    this.ownerKey = options.ownerKey ?? PodCore.generateKey();
    if (!HEX_KEY.test(this.ownerKey)) throw new TypeError('ownerKey must be 64 hexadecimal characters');
    let auth: Auth;
    if (options.pluginAuth) {
      auth = { type: 'PluginAuth', data: options.pluginAuth };
    } else {
      this.databaseKey = options.databaseKey ?? PodCore.generateKey();
      if (!HEX_KEY.test(this.databaseKey)) throw new TypeError('databaseKey must be 64 hexadecimal characters');
      auth = { type: 'ClientAuth', databaseKey: this.databaseKey };
    }
    this.timeout = options.timeout ?? 30_000;
    this.retries = options.retries ?? 2;
    this.bulkLimit = options.bulkLimit ?? DEFAULT_BULK_LIMIT;
    this.classes = new ItemClasses([...builtinItemClasses, ...(options.classes ?? [])]);
    this.transport = new Transport(url, this.ownerKey, auth, this);
  }

  /** The Pod's URL, no trailing slash; it follows the owner when the Pod answers that it moved (307). */
  get url(): string {
    return this.transport.url;
  }

  /** Any JSON endpoint with its protocol payload and answer: what the methods below are built on. */
  call<E extends JsonEndpoint>(endpoint: E, payload: Payload<E>, options?: RequestOptions): Promise<Answer<E>> {
    const once =
      endpoint === 'bulk' && typeof payload === 'object' && 'batchId' in payload && payload.batchId !== undefined;
    return this.transport.json(endpoint, JSON.stringify(payload), once ? 'safe' : RETRY[endpoint], options);
  }

  /** The Pod's version; a cheap way to see that it is up. */
  version(options?: RequestOptions): Promise<PodVersion> {
    return this.transport.version(options);
  }

  /**
   * Registers an account for this owner (2023 API), creating its database when there is none.
   * From then on the Pod hides deleted items from reads (`get` of one is a 404; a search leaves
   * them out unless it filters on `deleted`). True when registered now, false when it already was.
   */
  async registerAccount(options?: RequestOptions): Promise<boolean> {
    if (this.databaseKey === undefined) throw new TypeError('a plugin cannot register an account; its owner does');
    try {
      await this.transport.account({ ownerKey: this.ownerKey, databaseKey: this.databaseKey }, options);
      return true;
    } catch (error) {
      if (error instanceof PodError && error.status === 409) return false;
      throw error;
    }
  }

  /**
   * What the Pod holds: items not deleted, in all and by type. Creates nothing: a 403 `PodError` says
   * the Pod has no data for this owner key, a 401 that the database key is wrong.
   */
  summary(options?: RequestOptions): Promise<PodSummary> {
    return this.call('summary', {}, options);
  }

  /**
   * Re-encrypts the owner's database under `newDatabaseKey` (64 hex, e.g. `PodCore.generateKey()`).
   * From the answer on the Pod refuses this client's key (401) and ends its live feeds: go on with a
   * new client made with the new key. Files stay readable; plugin runs keep going.
   */
  async changeDatabaseKey(newDatabaseKey: string, options?: RequestOptions): Promise<void> {
    await this.call('change_database_key', { newDatabaseKey }, options);
  }

  /**
   * Deletes this owner's Pod for good: its plugin runs stop, its live feeds end, its database and
   * files leave the disk. A later request with the same keys starts an empty Pod, if the Pod admits the owner.
   */
  async deleteOwner(options?: RequestOptions): Promise<void> {
    await this.call('delete_owner', { confirm: this.ownerKey }, options);
  }

  // ---- schema and items ---------------------------------------------------------------------

  /**
   * Declares every property of these classes (one ItemPropertySchema item each, in one bulk) and
   * adds the classes to this client's `classes`, so items of their types are read back as their
   * instances. Send it first, at every start: declaring a property again with the same type is accepted.
   */
  async addToSchema(...classes: ItemClass[]): Promise<void> {
    this.classes.add(...classes);
    await this.call('bulk', { createItems: schemaDeclarations(classes) });
  }

  /**
   * Declares these classes the 2023 way, in one call (`POST /v5/<owner>/schema`): their properties,
   * their edges (each to its target class's type), under `meta` (who declares, at which version).
   * Adds them to this client's `classes` like `addToSchema`. The Pod applies all of it or nothing,
   * and accepts it again unchanged; it answers 404 until the owner has registered an account.
   */
  async declareSchema(meta: SchemaMeta, classes: ItemClass[], options?: RequestOptions): Promise<void> {
    this.classes.add(...classes);
    await this.transport.v5('schema', JSON.stringify(schemaPayload(meta, classes)), 'safe', options);
  }

  /** Creates the item with its id (chosen at construction) and its properties; edges are separate. */
  async create<I extends Item>(item: I, options?: RequestOptions): Promise<I> {
    const { wire, commit } = toSave(item);
    await this.call('create_item', wire, options);
    commit();
    return item;
  }

  /**
   * The item with this id (deleted ones too), as an instance of its registered class; with
   * `edges`, its outgoing edges fill its edge fields. Unknown id: PodError 404.
   */
  async get(id: string, options: SearchOptions = {}): Promise<Item> {
    const { edges, ...request } = options;
    const [item] = edges
      ? await this.find({ id }, undefined, options)
      : (await this.call('get_item', id, request)).map((received) => this.classes.decode(received));
    if (!item)
      throw new PodError(404, `item ${JSON.stringify(id)} not found`, { endpoint: edges ? 'search' : 'get_item' });
    return item;
  }

  /**
   * Sends the properties changed since the item was read or last saved; a property set to
   * `undefined` or `null` is erased. Sends nothing when nothing changed.
   */
  async update(item: Item, options?: RequestOptions): Promise<void> {
    const changed = changes(item);
    if (!changed) return;
    await this.call('update_item', changed.patch, options);
    changed.commit();
  }

  /** Soft delete: the item stays readable with `deleted: true`. */
  async delete(item: Item | string, options?: RequestOptions): Promise<void> {
    await this.call('delete_item', idOf(item), options);
    if (typeof item !== 'string') markDeleted(item);
  }

  /**
   * A directed edge `name` from source to target (both must exist); returns the edge item's id.
   * When the source is an item with an edge field of that name, the target is added to it.
   */
  async createEdge(
    source: Item | string,
    name: string,
    target: Item | string,
    options?: RequestOptions,
  ): Promise<string> {
    const id = await this.call('create_edge', edgePayload({ source, name, target }), options);
    linkLocally(source, name, target);
    return id;
  }

  /**
   * Deletes the edges `name` (or, without a name, every edge) from source to target: their edge
   * items become deleted, and a source item's edge fields no longer hold the target. A PodError
   * 404 when there is none.
   */
  async deleteEdge(
    source: Item | string,
    name: string | undefined,
    target: Item | string,
    options?: RequestOptions,
  ): Promise<void> {
    const ends = { _source: idOf(source), _target: idOf(target), ...(name === undefined ? {} : { _name: name }) };
    await this.call('delete_edge_by_source_target', ends, options);
    unlinkLocally(source, name, target);
  }

  /**
   * Deletes a File item (or, given `{ sha256 }`, every File item holding that hash); the stored
   * bytes are erased once no live item names them. A PodError 404 when there is no such live item.
   */
  async deleteFile(file: Item | string | { sha256: string }, options?: RequestOptions): Promise<void> {
    const payload =
      typeof file === 'string' ? { id: file } : file instanceof Item ? { id: file.id } : { sha256: file.sha256 };
    await this.call('delete_file', payload, options);
    if (file instanceof Item) markDeleted(file);
  }

  // ---- search -------------------------------------------------------------------------------

  /** Items of a class matching property values: `search(Dog, { name: 'max' })`. */
  search<C extends ItemClass>(type: C, filter?: Filter<C>, options?: SearchOptions): Promise<InstanceType<C>[]>;
  /** Items matching a protocol query: `search({ type: 'Dog', deleted: false })`. */
  search(query: Payload<'search'>, options?: SearchOptions): Promise<Item[]>;
  search(...args: SearchArguments): Promise<Item[]> {
    const { query, preferred, options } = searchArguments(args);
    return this.find(query, preferred, options);
  }

  private async find(
    query: Payload<'search'>,
    preferred: ItemClass | undefined,
    options: SearchOptions = {},
  ): Promise<Item[]> {
    const { edges, ...request } = options;
    const received = await this.call('search', edges ? { ...query, '[[edges]]': {} } : query, request);
    return received.map((item) => this.classes.decode(item, preferred));
  }

  /**
   * The item of this type with the highest dateServerModified (the last created or changed), or
   * undefined: where an incremental import continues from.
   */
  searchLastAdded<C extends ItemClass>(
    type: C,
    filter?: Filter<C>,
    options?: SearchOptions,
  ): Promise<InstanceType<C> | undefined>;
  searchLastAdded(type: string, filter?: Payload<'search'>, options?: SearchOptions): Promise<Item | undefined>;
  async searchLastAdded(
    type: ItemClass | string,
    filter: Payload<'search'> = {},
    options?: SearchOptions,
  ): Promise<Item | undefined> {
    const query = {
      ...filter,
      type: typeof type === 'string' ? type : type.itemType,
      _sortOrder: 'Desc' as const,
      _limit: 1,
    };
    const [last] = await this.find(query, typeof type === 'string' ? undefined : type, options);
    return last;
  }

  /**
   * Every matching item, oldest change first, fetched page by page: each page asks from the last
   * page's dateServerModified + 1, which skips nothing because the Pod returns every item sharing
   * a page's last dateServerModified in that page, and gives later writes larger ones. An item
   * changed while the iteration runs comes again at its new place; it is yielded only the first time.
   */
  iterate<C extends ItemClass>(type: C, filter?: Filter<C>, options?: IterateOptions): AsyncGenerator<InstanceType<C>>;
  iterate(query?: Payload<'search'>, options?: IterateOptions): AsyncGenerator<Item>;
  async *iterate(...args: SearchArguments): AsyncGenerator<Item> {
    const { query, preferred, options } = searchArguments(args);
    const { pageSize = 1_000 } = options as IterateOptions;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
    if (query._sortOrder === 'Desc') throw new RangeError('iterate goes oldest to newest; leave _sortOrder out');
    const seen = new Set<string>();
    let cursor = query['dateServerModified>='];
    for (;;) {
      const page = await this.find({ ...query, 'dateServerModified>=': cursor, _limit: pageSize }, preferred, options);
      for (const item of page) {
        if (seen.has(item.id)) continue;
        seen.add(item.id);
        yield item;
      }
      if (page.length < pageSize) return;
      const last = page.at(-1)?.dateServerModified;
      if (last === undefined) throw new Error('the Pod sent an item without dateServerModified: iterate cannot go on');
      cursor = last + 1;
    }
  }

  // ---- GraphQL ------------------------------------------------------------------------------

  /**
   * A GraphQL query (the Pod's dialect: filters, `~reverse` edges, limit/offset/order_asc): the
   * root items as instances of their registered classes, or of `cls` (an item of another type is
   * a TypeError); each selected edge fills the edge field its class declares, a plain `Item` takes
   * every edge under its field as written (`sender`, `~owner`). `count`/`total` when the query asks.
   */
  graphql<C extends ItemClass>(
    cls: C,
    query: string,
    options?: RequestOptions,
  ): Promise<GraphqlResult<InstanceType<C>>>;
  graphql(query: string, options?: RequestOptions): Promise<GraphqlResult>;
  async graphql(...args: [ItemClass, string, RequestOptions?] | [string, RequestOptions?]): Promise<GraphqlResult> {
    const [cls, query, options] = isQueryFirst(args) ? [undefined, ...args] : args;
    const { data, ...aggregates } = await this.call('graphql', query, options);
    return { items: data.map((item) => this.classes.decodeGraph(item, cls)), ...aggregates };
  }

  // ---- bulk ---------------------------------------------------------------------------------

  /**
   * Creates, updates (changed properties only), deletes, edges and searches in one request, which
   * the Pod applies atomically in that order. A bulk larger than `bulkLimit` characters is sent
   * as several requests, one after another: each is atomic, the whole is not — if one fails, the
   * ones before it stay applied (the error says which). Each request carries a batchId, so one
   * whose answer was lost is repeated without being applied twice.
   */
  async bulk(request: BulkRequest, options?: RequestOptions): Promise<BulkResult> {
    const entries: Entry[] = [];
    for (const item of request.createItems ?? []) {
      const { wire, commit } = toSave(item);
      entries.push({ section: 'createItems', value: wire, committed: commit });
    }
    for (const item of request.updateItems ?? []) {
      const changed = changes(item);
      if (changed) entries.push({ section: 'updateItems', value: changed.patch, committed: changed.commit });
    }
    for (const item of request.deleteItems ?? [])
      entries.push({
        section: 'deleteItems',
        value: idOf(item),
        committed: () => typeof item !== 'string' && markDeleted(item),
      });
    for (const edge of request.createEdges ?? [])
      entries.push({
        section: 'createEdges',
        value: edgePayload(edge),
        committed: () => linkLocally(edge.source, edge.name, edge.target),
      });
    for (const query of request.search ?? []) entries.push({ section: 'search', value: query });

    const result: BulkResult = { createItems: [], createEdges: [], search: [] };
    if (entries.length === 0) return result;
    const envelopeLength = this.transport.envelopeLength;
    const parts = splitBulk(entries, this.bulkLimit - envelopeLength, () => randomHex(16));
    for (const [index, part] of parts.entries()) {
      let answer: Answer<'bulk'>;
      try {
        answer = await this.transport.json('bulk', part.json, 'safe', options);
      } catch (error) {
        if (index === 0 || !(error instanceof PodError)) throw error;
        throw new PodError(
          error.status,
          `${error.message} (request ${index + 1} of ${parts.length} of a split bulk; the ${index} before it stay applied)`,
          { error: error.error, endpoint: 'bulk', cause: error },
        );
      }
      result.createItems.push(...answer.createItems);
      result.createEdges.push(...answer.createEdges);
      result.search.push(...answer.search.map((items) => items.map((item) => this.classes.decode(item))));
      for (const entry of part.entries) entry.committed?.();
    }
    return result;
  }

  // ---- email --------------------------------------------------------------------------------

  /** Sends an email through the Pod's SMTP relay (or its log, when it has none). Never repeated. */
  async sendEmail(email: Payload<'send_email'>, options?: RequestOptions): Promise<void> {
    await this.call('send_email', email, options);
  }

  // ---- OAuth: the Pod talks to the provider and keeps the app's secret (spec §7) ---------------

  /** OAuth 1.0a, step 1: a temporary token; send the owner to the provider's authorize URL with it. */
  oauth1RequestToken(query: Payload<'oauth1_request_token'>, options?: RequestOptions) {
    return this.call('oauth1_request_token', query, options);
  }

  /** OAuth 1.0a, step 2: the token credentials for an authorized temporary token and its verifier. */
  oauth1AccessToken(query: Payload<'oauth1_access_token'>, options?: RequestOptions) {
    return this.call('oauth1_access_token', query, options);
  }

  /** OAuth 2: where to send the owner, and the PKCE verifier to hand to `oauth2Authorize` (check `state` on return). */
  oauth2AuthUrl(query: Payload<'oauth2/auth_url'>, options?: RequestOptions) {
    return this.call('oauth2/auth_url', query, options);
  }

  /** OAuth 2: exchanges the code; the Pod keeps the tokens for `oauth2AccessToken`. */
  oauth2Authorize(query: Payload<'oauth2/authorize'>, options?: RequestOptions) {
    return this.call('oauth2/authorize', query, options);
  }

  /** OAuth 2: the stored access token of a platform, refreshed by the Pod when it has expired. */
  oauth2AccessToken(platform: string, options?: RequestOptions) {
    return this.call('oauth2/access_token', { platform }, options);
  }
}

type SearchArguments =
  | [type: ItemClass, filter?: Payload<'search'>, options?: IterateOptions]
  | [query?: Payload<'search'>, options?: IterateOptions];

/** The two forms of search and iterate: (class, filter, options) or (query, options). */
function searchArguments(args: SearchArguments): {
  query: Payload<'search'>;
  preferred?: ItemClass;
  options: IterateOptions;
} {
  if (typeof args[0] === 'function') {
    const [type, filter, options] = args as [ItemClass, Payload<'search'>?, IterateOptions?];
    return { query: { ...filter, type: type.itemType }, preferred: type, options: options ?? {} };
  }
  const [query, options] = args as [Payload<'search'>?, IterateOptions?];
  return { query: query ?? {}, options: options ?? {} };
}

const edgePayload = ({ source, name, target }: EdgeSpec): Payload<'create_edge'> => ({
  _source: idOf(source),
  _target: idOf(target),
  _name: name,
});
