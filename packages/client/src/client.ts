/**
 * `PodClient`: the Pod v4 API as methods over `fetch`, for Node 20+ and browsers. Payload and
 * answer types come from `@pod/protocol`'s endpoint table; items travel as the classes of
 * `items.ts`.
 */
import { HEX_KEY, SHA256_HEX, type Answer, type Auth, type Endpoint, type Payload } from '@pod/protocol';
import { splitBulk, type Entry } from './bulk.js';
import { PodError } from './errors.js';
import { imageInfo, sha256Hex, toBytes, verifiedFile, type Bytes } from './files.js';
import { randomHex } from './hex.js';
import { answerError, exchange, type Policy, type RequestOptions, type Retry } from './http.js';
import {
  Item,
  ItemClasses,
  changes,
  idOf,
  linkLocally,
  markDeleted,
  toSave,
  type ItemClass,
  type PropertyFilter,
  type ReceivedItem,
} from './items.js';
import { SseParser } from './sync/sse.js';
import { File, Photo, builtinItemClasses, schemaDeclarations } from './types.js';

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

export interface ChangesOptions {
  /** Items per event (the Pod adds every item sharing the last one's dateServerModified); default 1,000. */
  pageSize?: number;
  /** Milliseconds to wait for the feed to answer; default the client's `timeout`. */
  timeout?: number;
  /** Milliseconds without a byte (the Pod sends a heartbeat every 15 s) before the connection counts as broken; default 45,000. */
  idleTimeout?: number;
  /** Ends the feed; the abort comes back as the `AbortError` it is. */
  signal?: AbortSignal;
}

/** A page of the change feed: changed items, oldest first, and the cursor that follows them. */
export interface ChangePage {
  items: ReceivedItem[];
  cursor: number;
}

const FEED_IDLE_TIMEOUT_MS = 45_000;

/** Endpoints answering JSON; `get_file` answers bytes (`getFile`). */
export type JsonEndpoint = Exclude<Endpoint, 'get_file'>;

/** Search keys besides property filters, as the protocol declares them. */
export type QueryKeys = Pick<
  Payload<'search'>,
  'id' | 'deleted' | 'dateServerModified>=' | 'dateServerModified<' | '_sortOrder' | '_limit'
>;
/** A typed search: values of the class's properties, and the protocol's query keys. */
export type Filter<C extends ItemClass> = PropertyFilter<C['properties']> & QueryKeys;

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

export interface UploadOptions extends RequestOptions {
  /** Required for a stream; computed for bytes. */
  sha256?: string;
  /**
   * The File item to create when none has this sha256 yet, with its filename, size… (declare File
   * with `addToSchema` first: the Pod's own schema has only `sha256`); its `sha256` is filled in.
   */
  file?: File;
}

export interface PhotoOptions extends RequestOptions {
  /** Pixels; read from a PNG or JPEG header when not given. */
  width?: number;
  height?: number;
  filename?: string;
}

export interface PhotoRead {
  photo: Photo;
  /** The File the bytes come from: the one `size` picked. */
  file: File;
  data: Uint8Array;
}

/** `GET /version`. */
export interface PodVersion {
  cargo: string;
  git_describe: string | null;
}

/**
 * Which failed calls may be repeated. Writes only when the connection was refused; a bulk
 * carrying a batchId (every request of `bulk()`, and a `call('bulk')` that sets one) after any
 * failure, as the Pod applies it once.
 */
const RETRY: { readonly [E in Endpoint]: Retry } = {
  get_item: 'safe',
  get_edges: 'safe',
  search: 'safe',
  get_file: 'safe',
  plugin_run_logs: 'safe',
  create_item: 'refused',
  update_item: 'refused',
  delete_item: 'refused',
  create_edge: 'refused',
  bulk: 'refused',
  send_email: 'refused',
  abort_plugin_run: 'refused',
};

const JSON_HEADERS = { 'content-type': 'application/json' };

export class PodClient implements Policy {
  readonly url: string;
  readonly ownerKey: string;
  /** Undefined for a plugin, which authenticates with `pluginAuth`. */
  readonly databaseKey?: string;
  readonly timeout: number;
  readonly retries: number;
  readonly bulkLimit: number;
  /** Which class each item type is read back into: the built-in ones, `classes`, and those given to `addToSchema`. */
  readonly classes: ItemClasses;
  /** `https://host/v4/<ownerKey>`: every call is a POST below it. */
  private readonly base: string;
  private readonly authJson: string;

  /** 32 random bytes as 64 hex characters, from a CSPRNG: a new owner key or database key. */
  static generateKey(): string {
    return randomHex(32);
  }

  constructor(options: PodClientOptions = {}) {
    this.url = (options.url ?? DEFAULT_URL).replace(/\/+$/, '');
    this.ownerKey = options.ownerKey ?? PodClient.generateKey();
    if (!HEX_KEY.test(this.ownerKey)) throw new TypeError('ownerKey must be 64 hexadecimal characters');
    let auth: Auth;
    if (options.pluginAuth) {
      auth = { type: 'PluginAuth', data: options.pluginAuth };
    } else {
      this.databaseKey = options.databaseKey ?? PodClient.generateKey();
      if (!HEX_KEY.test(this.databaseKey)) throw new TypeError('databaseKey must be 64 hexadecimal characters');
      auth = { type: 'ClientAuth', databaseKey: this.databaseKey };
    }
    this.authJson = JSON.stringify(auth);
    this.base = `${this.url}/v4/${this.ownerKey}`;
    this.timeout = options.timeout ?? 30_000;
    this.retries = options.retries ?? 2;
    this.bulkLimit = options.bulkLimit ?? DEFAULT_BULK_LIMIT;
    this.classes = new ItemClasses([...builtinItemClasses, ...(options.classes ?? [])]);
  }

  // ---- transport ----------------------------------------------------------------------------

  /** Any JSON endpoint with its protocol payload and answer: what the methods below are built on. */
  call<E extends JsonEndpoint>(endpoint: E, payload: Payload<E>, options?: RequestOptions): Promise<Answer<E>> {
    const once = endpoint === 'bulk' && (payload as Payload<'bulk'>).batchId !== undefined;
    return this.postJson(endpoint, JSON.stringify(payload), once ? 'safe' : RETRY[endpoint], options);
  }

  /**
   * One connection to the live change feed (`POST /v4/<owner>/changes`): pages of changed items
   * from `from` on, oldest first, each with the cursor to resume from, as they commit; first an
   * empty page once the connection is open. Ends with
   * a `PodError` (status 0 when the connection broke or stayed silent past `idleTimeout`), or
   * when the Pod closes it; `LiveFeed` reconnects from the cursor.
   */
  async *changes(from: number, options: ChangesOptions = {}): AsyncGenerator<ChangePage> {
    const { pageSize = 1_000, idleTimeout = FEED_IDLE_TIMEOUT_MS, timeout = this.timeout, signal } = options;
    const payload = { 'dateServerModified>=': from, _limit: pageSize }; // protocol's ChangesQuery
    const controller = new AbortController();
    const abort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    let silence: ReturnType<typeof setTimeout> | undefined;
    const wait = (ms: number) => {
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(new PodError(0, `the change feed was silent for ${ms} ms`, { endpoint: 'changes' })), ms);
    };
    try {
      wait(timeout);
      const response = await fetch(`${this.base}/changes`, { method: 'POST', ...this.envelope(JSON.stringify(payload)), signal: controller.signal });
      if (response.status !== 200) throw await answerError(response, 'changes');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      // An abort does not always end a read of the piped body (not when data was buffered): cancel it.
      controller.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
      const parser = new SseParser();
      clearTimeout(silence);
      yield { items: [], cursor: from }; // the feed is open: whatever commits from now on will come
      for (;;) {
        wait(idleTimeout); // heartbeats come every 15 s
        const { value, done } = await reader.read();
        clearTimeout(silence); // the consumer may take its time with a page
        controller.signal.throwIfAborted();
        if (done) return;
        for (const event of parser.push(value)) {
          if (event.event === 'items') yield { items: JSON.parse(event.data) as ReceivedItem[], cursor: Number(event.id) };
          controller.signal.throwIfAborted(); // stopped while the consumer had the page
        }
      }
    } catch (cause) {
      if (signal?.aborted || cause instanceof PodError) throw cause;
      if (controller.signal.reason instanceof PodError) throw controller.signal.reason;
      throw new PodError(0, `the change feed broke (${(cause as Error).message})`, { endpoint: 'changes', cause });
    } finally {
      clearTimeout(silence);
      signal?.removeEventListener('abort', abort);
      controller.abort();
    }
  }

  private postJson<T>(endpoint: Endpoint, payloadJson: string, retry: Retry, options?: RequestOptions): Promise<T> {
    return this.post(endpoint, endpoint, this.envelope(payloadJson), retry, (response) => response.json() as Promise<T>, options);
  }

  private envelope(payloadJson: string): RequestInit {
    return { headers: JSON_HEADERS, body: `{"auth":${this.authJson},"payload":${payloadJson}}` };
  }

  private post<T>(
    path: string,
    endpoint: string,
    init: RequestInit,
    retry: Retry,
    read: (response: Response) => Promise<T>,
    options?: RequestOptions,
  ): Promise<T> {
    return exchange({ url: `${this.base}/${path}`, init: { method: 'POST', ...init }, endpoint, retry, read }, this, options);
  }

  /** The Pod's version; a cheap way to see that it is up. */
  version(options?: RequestOptions): Promise<PodVersion> {
    return exchange(
      { url: `${this.url}/version`, init: {}, endpoint: 'version', retry: 'safe', read: (r) => r.json() as Promise<PodVersion> },
      this,
      options,
    );
  }

  // ---- schema and items ---------------------------------------------------------------------

  /**
   * Declares every property of these classes (one ItemPropertySchema item each, in one bulk) and
   * adds the classes to this client's `classes`, so items of their types are read back as their instances. Send it
   * first, at every start: declaring a property again with the same type is accepted.
   */
  async addToSchema(...classes: ItemClass[]): Promise<void> {
    this.classes.add(...classes);
    await this.call('bulk', { createItems: schemaDeclarations(classes) });
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
    if (!item) throw new PodError(404, `item ${JSON.stringify(id)} not found`, { endpoint: edges ? 'search' : 'get_item' });
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
  async createEdge(source: Item | string, name: string, target: Item | string, options?: RequestOptions): Promise<string> {
    const id = await this.call('create_edge', edgePayload({ source, name, target }), options);
    linkLocally(source, name, target);
    return id;
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

  private async find(query: Payload<'search'>, preferred: ItemClass | undefined, options: SearchOptions = {}): Promise<Item[]> {
    const { edges, ...request } = options;
    const received = (await this.call('search', edges ? { ...query, '[[edges]]': {} } : query, request)) as ReceivedItem[];
    return received.map((item) => this.classes.decode(item, preferred));
  }

  /**
   * The item of this type with the highest dateServerModified (the last created or changed), or
   * undefined: where an incremental import continues from.
   */
  searchLastAdded<C extends ItemClass>(type: C, filter?: Filter<C>, options?: SearchOptions): Promise<InstanceType<C> | undefined>;
  searchLastAdded(type: string, filter?: Payload<'search'>, options?: SearchOptions): Promise<Item | undefined>;
  async searchLastAdded(type: ItemClass | string, filter: Payload<'search'> = {}, options?: SearchOptions): Promise<Item | undefined> {
    const query = { ...filter, type: typeof type === 'string' ? type : type.itemType, _sortOrder: 'Desc' as const, _limit: 1 };
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
      cursor = page[page.length - 1]!.dateServerModified! + 1;
    }
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
    const envelopeLength = `{"auth":${this.authJson},"payload":}`.length;
    const parts = splitBulk(entries, this.bulkLimit - envelopeLength, () => randomHex(16));
    for (const [index, part] of parts.entries()) {
      let answer: Answer<'bulk'>;
      try {
        answer = await this.postJson<Answer<'bulk'>>('bulk', part.json, 'safe', options);
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
      result.search.push(
        ...answer.search.map((items) => items.map((item) => this.classes.decode(item as ReceivedItem))),
      );
      for (const entry of part.entries) entry.committed?.();
    }
    return result;
  }

  // ---- files and photos ---------------------------------------------------------------------

  /**
   * Stores a file: creates its File item unless one with its sha256 exists, then uploads the
   * bytes (a file the Pod already has, 409, counts as stored). Bytes are hashed here with
   * WebCrypto; a stream needs `sha256` and is sent as it is read, and never retried.
   */
  async uploadFile(data: Bytes | ReadableStream<Uint8Array>, options: UploadOptions = {}): Promise<File> {
    const { sha256: given, file: wanted, ...request } = options;
    const stream = data instanceof ReadableStream ? data : undefined;
    const bytes = stream ? undefined : await toBytes(data as Bytes);
    const sha256 = given?.toLowerCase() ?? (bytes && (await sha256Hex(bytes)));
    if (!sha256 || !SHA256_HEX.test(sha256)) throw new TypeError('uploadFile: give the sha256 of a stream, as 64 hex characters');

    const [existing] = await this.search(File, { sha256 }, request);
    let file = existing;
    if (!file) {
      file = wanted ?? new File();
      file.sha256 = sha256;
      await this.create(file, request);
    }
    const path = this.databaseKey
      ? `upload_file/${this.databaseKey}/${sha256}`
      : `upload_file_b/${encodeURIComponent(this.authJson)}/${sha256}`;
    // No Content-Type: the Pod takes the body as the file whatever it says, and clients send none.
    const init = { body: (bytes ?? stream) as BodyInit, duplex: 'half' } as RequestInit;
    try {
      await this.post(path, 'upload_file', init, stream ? 'never' : 'safe', (response) => response.arrayBuffer(), request);
    } catch (error) {
      if (!(error instanceof PodError && error.status === 409)) throw error;
    }
    return file;
  }

  /**
   * The bytes of a stored file, exactly as uploaded: checked against their sha256, else a
   * FileIntegrityError (a download cut short is tried again like a dropped connection).
   */
  async getFile(file: File | string, options?: RequestOptions): Promise<Uint8Array> {
    const sha256 = (typeof file === 'string' ? file : file.sha256)?.toLowerCase();
    if (!sha256) throw new TypeError('getFile: the File item has no sha256');
    const payload: Payload<'get_file'> = { sha256 };
    const init = this.envelope(JSON.stringify(payload));
    return this.post('get_file', 'get_file', init, RETRY.get_file, (response) => verifiedFile(response, sha256), options);
  }

  /**
   * Uploads an image and creates a Photo item with a `file` edge to its File, both with width and
   * height when given or readable from a PNG or JPEG header. Nothing is resized.
   */
  async createPhoto(data: Bytes, options: PhotoOptions = {}): Promise<Photo> {
    const { width: givenWidth, height: givenHeight, filename, ...request } = options;
    const bytes = await toBytes(data);
    const info = imageInfo(bytes);
    const width = givenWidth ?? info?.width;
    const height = givenHeight ?? info?.height;
    const file = await this.uploadFile(bytes, { ...request, file: new File({ filename, mimeType: info?.mimeType, width, height }) });
    const photo = new Photo({ width, height });
    await this.bulk({ createItems: [photo], createEdges: [{ source: photo, name: 'file', target: file }] }, request);
    return photo;
  }

  /**
   * A photo, the File picked and its bytes. A Photo may have several `file` edges (the original,
   * and smaller versions made elsewhere, each File with its width and height): `size` picks the
   * smallest whose longer side is at least `size` pixels, else the largest; without `size`, the
   * largest. A File without dimensions counts as the original. The Pod never resizes, so with
   * the single file `createPhoto` stores, every size gets the original.
   */
  async getPhoto(id: string, options: RequestOptions & { size?: number } = {}): Promise<PhotoRead> {
    const { size, ...request } = options;
    const photo = await this.get(id, { ...request, edges: true });
    if (!(photo instanceof Photo)) throw new PodError(404, `item ${JSON.stringify(id)} is a ${photo.type}, not a Photo`, { endpoint: 'search' });
    const file = pickSize(photo, size);
    if (!file) throw new PodError(404, `photo ${JSON.stringify(id)} has no file edge`, { endpoint: 'search' });
    return { photo, file, data: await this.getFile(file, request) };
  }

  // ---- email --------------------------------------------------------------------------------

  /** Sends an email through the Pod's SMTP relay (or its log, when it has none). Never repeated. */
  async sendEmail(email: Payload<'send_email'>, options?: RequestOptions): Promise<void> {
    await this.call('send_email', email, options);
  }
}

type SearchArguments =
  | [type: ItemClass, filter?: Payload<'search'>, options?: IterateOptions]
  | [query?: Payload<'search'>, options?: IterateOptions];

/** The two forms of search and iterate: (class, filter, options) or (query, options). */
function searchArguments(args: SearchArguments): { query: Payload<'search'>; preferred?: ItemClass; options: IterateOptions } {
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

/** The File of a photo for `size` (see `getPhoto`); unknown dimensions are the photo's own. */
function pickSize(photo: Photo, size: number | undefined): File | undefined {
  const original = Math.max(photo.width ?? 0, photo.height ?? 0) || Number.MAX_SAFE_INTEGER;
  const longer = (file: File) => (file.width != null && file.height != null ? Math.max(file.width, file.height) : original);
  const files = [...photo.file].sort((a, b) => longer(a) - longer(b));
  return (size === undefined ? undefined : files.find((file) => longer(file) >= size)) ?? files.at(-1);
}
