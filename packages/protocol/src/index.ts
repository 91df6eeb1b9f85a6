/**
 * The Pod v4 HTTP API, declared once: request shapes (validated by the server, reused by the
 * client library) and the types of their answers. Rules that need the owner's schema (is a
 * property declared, does a value fit its type) live with the store, not here.
 */
import { z } from 'zod';

export const API_VERSIONS = ['v4', 'v3'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

export const HEX_KEY = /^[0-9a-fA-F]{64}$/;
export const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** A client-given id (spec §3); generated ids are 32 lowercase hex characters. */
export const ITEM_ID = /^[a-zA-Z0-9_-]{6,36}$/;
/** Property names: accepts at least the spec's `^[a-zA-Z][_a-zA-Z0-9]{0,30}[a-zA-Z0-9]$`. */
export const PROPERTY_NAME = /^[a-zA-Z][_a-zA-Z0-9]{0,63}$/;

export const VALUE_TYPES = ['Text', 'Integer', 'Real', 'Bool', 'DateTime'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export const ClientAuth = z.object({
  type: z.literal('ClientAuth'),
  databaseKey: z.string().regex(HEX_KEY, 'databaseKey must be 64 hexadecimal characters'),
});
export const PluginAuth = z.object({
  type: z.literal('PluginAuth'),
  data: z.record(z.string(), z.unknown()),
});
export const Auth = z.discriminatedUnion('type', [ClientAuth, PluginAuth], {
  error: 'auth must be {"type": "ClientAuth", "databaseKey": ...} or {"type": "PluginAuth", "data": ...}',
});
export type Auth = z.infer<typeof Auth>;

/** Every data call: `POST /v4/<ownerKey>/<endpoint>` with this body; unknown fields are ignored. */
export const Envelope = z.object({ auth: Auth, payload: z.unknown() });

const ItemId = z.string({ error: 'an item id must be a string' }).min(1, 'an item id must not be empty');
/** A scalar property value; arrays and objects are never values. */
export type Value = string | number | boolean | null;
/** An item as it travels: base fields plus declared properties. */
export type Item = {
  id: string;
  type: string;
  dateCreated: number;
  dateModified: number;
  dateServerModified: number;
  deleted: boolean;
  [property: string]: Value;
};

export const NewItem = z
  .looseObject({ type: z.string({ error: 'an item needs a "type" string' }).min(1, 'an item "type" must not be empty') });
export const ItemPatch = z.looseObject({
  id: ItemId,
  /** Ours: apply only if the item is still at this version (its dateServerModified), else 409. */
  _expectedDateServerModified: z.number().int().optional(),
});
export const NewEdge = z
  .looseObject({
    _source: ItemId,
    _target: ItemId,
    _name: z.string({ error: 'an edge needs a "_name" string' }).min(1, 'an edge "_name" must not be empty'),
    _self: ItemId.optional(),
  });
export const EdgeQuery = z.object({
  item: ItemId,
  direction: z.enum(['Outgoing', 'Incoming']).default('Outgoing'),
  expandItems: z.boolean().default(false),
});
/** Search: the special keys below; every other key is an equality filter on a declared property. */
export const SearchQuery = z
  .looseObject({
    id: ItemId.optional(),
    type: z.string().optional(),
    deleted: z.boolean().optional(),
    'dateServerModified>=': z.number().int().optional(),
    'dateServerModified<': z.number().int().optional(),
    _sortOrder: z.enum(['Asc', 'Desc']).optional(),
    _limit: z.number().int().min(0).optional(),
    '[[edges]]': z.object({}).optional(),
    '~[[edges]]': z.object({}).optional(),
  });
export type SearchQuery = z.infer<typeof SearchQuery>;
export const SEARCH_KEYS = new Set([
  'id', 'type', 'deleted', 'dateServerModified>=', 'dateServerModified<',
  '_sortOrder', '_limit', '[[edges]]', '~[[edges]]',
]);

export const Bulk = z.object({
  /** Ours: a client-chosen id that makes a retried bulk apply once (its first answer is replayed). */
  batchId: z.string().min(1).max(200).optional(),
  createItems: z.array(NewItem).optional(),
  updateItems: z.array(ItemPatch).optional(),
  deleteItems: z.array(ItemId).optional(),
  createEdges: z.array(NewEdge).optional(),
  search: z.array(SearchQuery).optional(),
});
/**
 * Ours: the live change feed, `POST /v4/<owner>/changes` answering Server-Sent Events. Each event
 * `items` carries a page of changed items (tie rule included) and, as its SSE id, the cursor to
 * resume from after a disconnect.
 */
export const ChangesQuery = z.object({
  'dateServerModified>=': z.number().int().min(0).default(0),
  _limit: z.number().int().min(1).max(10_000).default(1_000),
});
export const Email = z.object({ to: z.string().min(1), subject: z.string(), body: z.string() });
export const FileQuery = z.object({ sha256: z.string().regex(SHA256_HEX, 'sha256 must be 64 hexadecimal characters') });

export type EdgeEntry = { name: string; item: Item | { id: string } };
export type BulkResult = { createItems: string[]; createEdges: string[]; search: Item[][] };

/**
 * The JSON endpoints: payload shape and answer type. The server validates against `payload`;
 * the client library derives its method signatures from the same table.
 */
export const endpoints = {
  get_item: { payload: ItemId, answer: null as unknown as Item[] },
  create_item: { payload: NewItem, answer: null as unknown as string },
  update_item: { payload: ItemPatch, answer: null as unknown as Record<string, never> },
  delete_item: { payload: ItemId, answer: null as unknown as Record<string, never> },
  create_edge: { payload: NewEdge, answer: null as unknown as string },
  get_edges: { payload: EdgeQuery, answer: null as unknown as EdgeEntry[] },
  search: { payload: SearchQuery, answer: null as unknown as Item[] },
  bulk: { payload: Bulk, answer: null as unknown as BulkResult },
  send_email: { payload: Email, answer: null as unknown as Record<string, never> },
  get_file: { payload: FileQuery, answer: null as unknown as Uint8Array },
  /** Ours: sets a PluginRun to `aborted` and stops its container or process. */
  abort_plugin_run: { payload: ItemId, answer: null as unknown as Record<string, never> },
  /** Ours: what a run's plugin printed (the last MiB), credentials masked. */
  plugin_run_logs: { payload: ItemId, answer: null as unknown as string },
} as const;
export type Endpoint = keyof typeof endpoints;
export type Payload<E extends Endpoint> = z.input<(typeof endpoints)[E]['payload']>;
export type Answer<E extends Endpoint> = (typeof endpoints)[E]['answer'];

/** Turns a zod failure into one line that says what was wrong and where. */
export function describeIssues(error: z.ZodError, root: string): string {
  return error.issues
    .map((issue) => `${[root, ...issue.path].join('.')}: ${issue.message}`)
    .join('; ');
}

// ---- plugin permissions -------------------------------------------------------------------

/** `"*"` (every property) or a list of property names. */
export const PropertyList = z.union([z.literal('*'), z.array(z.string())], {
  error: 'must be "*" or an array of property names',
});
/** Property → the value an item must hold for the rule to apply to it (equality, like search). */
export const ValueFilter = z.record(
  z.string().regex(PROPERTY_NAME, 'a "where" key must be a property name'),
  z.union([z.string(), z.number(), z.boolean()]),
);
/**
 * What a plugin may do with one item type. The short forms `"*"` and `["a", "b"]` mean
 * `{"properties": <that>}`. `where` narrows the rule to items holding those values. On `write`,
 * `items` says whose items it may change and delete: `"own"` (the default: only items this plugin
 * created) or `"all"`; creating needs only the rule.
 */
export const AccessRule = z.union([
  PropertyList,
  z.strictObject({
    properties: PropertyList.default('*'),
    where: ValueFilter.optional(),
    items: z.enum(['own', 'all']).optional(),
  }),
]);
export type AccessRule = z.input<typeof AccessRule>;
export const Access = z.record(z.string(), AccessRule);
/** The JSON held in a Plugin item's `permissions` property (and `plugin.json`'s `permissions`). */
export const Permissions = z.strictObject({
  read: Access.optional(),
  write: Access.optional(),
  /** May call `send_email`. */
  email: z.boolean().optional(),
});
export type Permissions = z.input<typeof Permissions>;

/** One item type's rule in normal form. */
export interface TypeRule {
  properties: '*' | ReadonlySet<string>;
  where: ReadonlyMap<string, string | number | boolean>;
  items: 'own' | 'all';
}
/** Permissions in normal form: Maps keyed by type, so no type name ever resolves through a prototype. */
export interface ParsedPermissions {
  read: ReadonlyMap<string, TypeRule>;
  write: ReadonlyMap<string, TypeRule>;
  email: boolean;
}

/** Checks permissions (the parsed JSON of `Plugin.permissions`) and brings them to normal form; throws a message on bad input. */
export function parsePermissions(json: unknown): ParsedPermissions {
  const checked = Permissions.safeParse(json);
  if (!checked.success) throw new Error(describeIssues(checked.error, 'permissions'));
  // Entries come from `json` itself (own keys, "__proto__" included), not from a rebuilt object.
  const raw = json as { read?: Record<string, unknown>; write?: Record<string, unknown> };
  const rules = (access: Record<string, unknown> | undefined, defaultItems: 'own' | 'all') =>
    new Map(
      Object.entries(access ?? {}).map(([type, value]) => {
        const short = typeof value === 'string' || Array.isArray(value);
        const rule = (short ? { properties: value } : value) as { properties?: '*' | string[]; where?: Record<string, string | number | boolean>; items?: 'own' | 'all' };
        const { properties = '*', where = {}, items = defaultItems } = rule;
        return [type, { properties: properties === '*' ? '*' : new Set(properties), where: new Map(Object.entries(where)), items }] as const;
      }),
    );
  return { read: rules(raw.read, 'all'), write: rules(raw.write, 'own'), email: checked.data.email ?? false };
}
