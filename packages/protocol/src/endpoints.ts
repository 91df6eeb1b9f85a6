/**
 * Every route of the Pod v4 HTTP API with its request and its answer: the JSON calls (`endpoints`),
 * the live change feed (`changes`), the two uploads (`uploads`) and `version`. The server validates
 * requests against these schemas; the client derives its calls and their answer types from them.
 */
import { z } from 'zod';
import { Bulk, EdgeEnds, EdgeQuery, ItemId, ItemPatch, NewEdge, NewItem, SearchQuery } from './items.js';
import type { BulkResult, EdgeEntry, GraphqlAnswer, Item, ReceivedItem } from './items.js';
import { HEX_KEY, PROPERTY_NAME, VALUE_TYPES } from './values.js';
import type { PluginImage } from './plugin-dir.js';
import {
  OAuth1AccessTokenQuery,
  OAuth1RequestTokenQuery,
  OAuth2AccessTokenQuery,
  OAuth2AuthUrlQuery,
  OAuth2AuthorizeQuery,
} from './oauth.js';
import type { OAuth1Token, OAuth2AccessToken, OAuth2AuthUrl } from './oauth.js';
import { PluginApiCall, PluginApiQuery, PluginStatusQuery, TriggerStatus } from './plugin-web.js';
import type { PluginApi, PluginStatuses } from './plugin-web.js';

/** An answer's type, carried by the table and never checked at run time (the Pod builds it). */
export interface AnswerOf<T> {
  readonly __answer?: T;
}
export const answer = <T>(): AnswerOf<T> => ({});
/** The answer of a write that has nothing to say. */
export type Empty = Record<string, never>;

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

export const Email = z.object({ to: z.string().min(1), subject: z.string(), body: z.string() });
export const Sha256 = z.string().regex(HEX_KEY, 'sha256 must be 64 hexadecimal characters');
export const FileQuery = z.object({ sha256: Sha256 });
/** `thumbnail`'s payload: the stored file (as `get_file` names it) and the longest side wanted, in pixels. */
export const ThumbnailQuery = z.object({
  sha256: Sha256,
  size: z
    .number({ error: 'size must be a number of pixels (the longest side wanted)' })
    .int('size must be a whole number of pixels')
    .min(1, 'size must be at least 1 pixel'),
});
/** 2023 (§5.2): one File item by id, or every live File item holding the hash. */
export const FileToDelete = z
  .object({ id: ItemId.optional(), sha256: Sha256.optional() })
  .refine((file) => (file.id === undefined) !== (file.sha256 === undefined), {
    error: 'give either the File item\'s "id" or the file\'s "sha256", not both',
  });

/** `change_database_key`'s payload. */
export const NewDatabaseKey = z.object(
  { newDatabaseKey: z.string().regex(HEX_KEY, 'newDatabaseKey must be 64 hexadecimal characters') },
  { error: 'the payload must be {"newDatabaseKey": "<64 hex>"}' },
);
/** `delete_owner`'s payload: the owner key again, so that no stray or mistyped call erases a Pod. */
export const OwnerDeletion = z.object(
  { confirm: z.string().regex(HEX_KEY, 'confirm must be the owner key (64 hexadecimal characters)') },
  { error: 'the payload must be {"confirm": "<the owner key>"}' },
);

/**
 * The JSON calls, `POST /<v>/<owner>/<endpoint>` with an `Envelope`: payload shape and answer type.
 * `get_file` answers the file's bytes (`application/octet-stream`), `thumbnail` an image, every other one JSON.
 */
export const endpoints = {
  get_item: { payload: ItemId, answer: answer<Item[]>() },
  create_item: { payload: NewItem, answer: answer<string>() },
  update_item: { payload: ItemPatch, answer: answer<Empty>() },
  delete_item: { payload: ItemId, answer: answer<Empty>() },
  create_edge: { payload: NewEdge, answer: answer<string>() },
  get_edges: { payload: EdgeQuery, answer: answer<EdgeEntry[]>() },
  search: { payload: SearchQuery, answer: answer<ReceivedItem[]>() },
  bulk: { payload: Bulk, answer: answer<BulkResult>() },
  /** 2023 (spec §4): the query text as a JSON string; the Pod never sees variables. */
  graphql: {
    payload: z.string({ error: 'the payload of graphql is the query text, as a JSON string' }),
    answer: answer<GraphqlAnswer>(),
  },
  send_email: { payload: Email, answer: answer<Empty>() },
  get_file: { payload: FileQuery, answer: answer<Uint8Array>() },
  /**
   * Ours (issue 14): a thumbnail of a stored image (`THUMBNAIL_TYPE`) whose longest side is the stored size
   * nearest to `size` (`thumbnailSize`), upright, without metadata; made once, then kept encrypted like a file.
   */
  thumbnail: { payload: ThumbnailQuery, answer: answer<Uint8Array>() },
  /** 2023: deletes the live edges between two items (answers 404 when there is none). */
  delete_edge_by_source_target: { payload: EdgeEnds, answer: answer<Empty>() },
  /** 2023: deletes File items and, once no live item names its hash, the stored bytes. */
  delete_file: { payload: FileToDelete, answer: answer<Empty>() },
  /** Ours: sets a PluginRun to `aborted` and stops its container or process. */
  abort_plugin_run: { payload: ItemId, answer: answer<Empty>() },
  /** Ours: what a run's plugin printed (the last MiB), credentials masked. */
  plugin_run_logs: { payload: ItemId, answer: answer<string>() },
  /** Ours, the owner's only: the images this Pod can launch now (docker: local images labelled `pod.plugin`). */
  plugin_images: { payload: z.object({}), answer: answer<PluginImage[]>() },
  /** 2023 (spec §7): OAuth exchanges the Pod performs with a configured provider; `oauth` is the Aug 2022 name. */
  oauth: { payload: OAuth1RequestTokenQuery, answer: answer<OAuth1Token>() },
  oauth1_request_token: { payload: OAuth1RequestTokenQuery, answer: answer<OAuth1Token>() },
  oauth1_access_token: { payload: OAuth1AccessTokenQuery, answer: answer<OAuth1Token>() },
  'oauth2/auth_url': { payload: OAuth2AuthUrlQuery, answer: answer<OAuth2AuthUrl>() },
  'oauth2/authorize': { payload: OAuth2AuthorizeQuery, answer: answer<OAuth2AccessToken>() },
  'oauth2/access_token': { payload: OAuth2AccessTokenQuery, answer: answer<OAuth2AccessToken>() },
  /** 2023 §6.1: each run's own `GET /v1/health`, or `unreachable`. */
  'plugin/status': { payload: PluginStatusQuery, answer: answer<PluginStatuses>() },
  /** 2023 §6.2: the endpoints a run's web server exposes (its `GET /v1/api`). */
  'plugin/api': { payload: PluginApiQuery, answer: answer<PluginApi>() },
  /** 2023 §6.2: one request relayed to a run's web server; the answer is the plugin's JSON. */
  'plugin/api/call': { payload: PluginApiCall, answer: answer<unknown>() },
  /** 2023 §6.3: a trigger plugin reports how its work on the items went. */
  'trigger/status': { payload: TriggerStatus, answer: answer<Empty>() },
  /**
   * Ours (issue 15), the owner's only: the whole Pod as one streamed tar (`application/x-tar`): pod.db, its
   * WAL and the files as stored (still encrypted), then `manifest.json` with counts and each entry's SHA-256.
   */
  export: { payload: z.object({}).strict(), answer: answer<Uint8Array>() },
  /**
   * Ours, the owner's only: what the Pod holds, by type (items not deleted). Never creates a database:
   * 403 for an owner with none, 401 for a wrong key, so an app can tell "no such Pod" from "wrong key".
   */
  summary: { payload: z.object({}).strict(), answer: answer<PodSummary>() },
  /** Ours, the owner's only: re-encrypts the database under a new key; the old key gets 401 from the answer on. */
  change_database_key: { payload: NewDatabaseKey, answer: answer<Empty>() },
  /** Ours, the owner's only: erases the owner's database and files for good. */
  delete_owner: { payload: OwnerDeletion, answer: answer<Empty>() },
} as const;
export type Endpoint = keyof typeof endpoints;
/** Endpoints answering bytes: a file, a thumbnail, an export archive. */
export type StreamEndpoint = 'get_file' | 'thumbnail' | 'export';
/** Endpoints answering JSON. */
export type JsonEndpoint = Exclude<Endpoint, StreamEndpoint>;
/** What a caller sends (defaults not yet applied). */
export type Payload<E extends Endpoint> = z.input<(typeof endpoints)[E]['payload']>;
/** What the Pod works with (defaults applied). */
export type ParsedPayload<E extends Endpoint> = z.output<(typeof endpoints)[E]['payload']>;
export type Answer<E extends Endpoint> = (typeof endpoints)[E]['answer'] extends AnswerOf<infer T> ? T : never;

/**
 * Ours: the live change feed, `POST /<v>/<owner>/changes` with an `Envelope`, answering
 * Server-Sent Events. Each event `items` carries a page of changed items (tie rule included) and,
 * as its SSE id, the cursor to resume from after a disconnect; comment lines keep it alive.
 */
export const changes = {
  payload: z.object({
    'dateServerModified>=': z.number().int().min(0).default(0),
    _limit: z.number().int().min(1).max(10_000).default(1_000),
  }),
  events: { items: answer<Item[]>() },
} as const;
/** The payload of `changes`. */
export const ChangesQuery = changes.payload;
export type ChangesQuery = z.input<typeof ChangesQuery>;
export type ChangeEvent = keyof typeof changes.events;
export type ChangeEventData<K extends ChangeEvent> = (typeof changes.events)[K] extends AnswerOf<infer T> ? T : never;

/**
 * The two uploads (spec §5): the body is the file's bytes, unparsed; the path carries the auth.
 * `upload_file/<databaseKey>/<sha256>` for the owner, `upload_file_b/<percent-encoded Auth JSON>/<sha256>`
 * for a plugin. A file the Pod already has answers 409.
 */
export const uploads = {
  upload_file: { params: z.object({ key: z.string(), sha256: z.string() }), answer: answer<Empty>() },
  upload_file_b: { params: z.object({ auth: z.string(), sha256: z.string() }), answer: answer<Empty>() },
} as const;
export type Upload = keyof typeof uploads;

/** What an import installed. */
/** `summary`'s answer. */
export interface PodSummary {
  /** Items not deleted. */
  items: number;
  /** Items not deleted, by type. */
  types: Record<string, number>;
}

export interface Imported {
  files: number;
  bytes: number;
}
/**
 * Ours (issue 15): `POST /<v>/<owner>/import`, the body an archive from `export`, the owner's database key
 * in `Authorization: Bearer <64 hex>` (the archive's database must open with it). Refused (409) when the
 * owner already has data; a truncated, damaged or other owner's archive (400) leaves nothing behind.
 */
export const ownerImport = {
  headers: z.object({
    authorization: z
      .string({ error: 'send the database key as "Authorization: Bearer <64 hex>"' })
      .regex(/^Bearer [0-9a-fA-F]{64}$/, 'send the database key as "Authorization: Bearer <64 hex>"'),
  }),
  answer: answer<Imported>(),
} as const;

/**
 * 2023 (§1.1): `POST /<v>/account` registers an account for an owner, creating its database if
 * needed. The body is bare (no `Envelope`); the owner key is in it, not in the path.
 */
export const account = {
  payload: z.object({
    ownerKey: z
      .string({ error: 'ownerKey must be a string' })
      .regex(HEX_KEY, 'ownerKey must be 64 hexadecimal characters'),
    databaseKey: z
      .string({ error: 'databaseKey must be a string' })
      .regex(HEX_KEY, 'databaseKey must be 64 hexadecimal characters'),
  }),
  answer: answer<Empty>(),
} as const;
export const AccountRegistration = account.payload;
export type AccountRegistration = z.input<typeof AccountRegistration>;

/** `GET /version`: the original Pod's answer shape. */
export const PodVersion = z.object({ cargo: z.string(), git_describe: z.string().nullable() });
export type PodVersion = z.infer<typeof PodVersion>;

/** A type name in a `/v5` schema (spec 2023 §2.2). */
export const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** A schema's `meta.name`: letters and digits starting with a letter must pass; `_` is accepted too. */
export const META_NAME = /^[A-Za-z][A-Za-z0-9_]{0,254}$/;

/** A record's error for a key that fails its rule, or for a value that is not an object. */
const recordError =
  (key: string) =>
  (issue: { code: string }): string | undefined =>
    issue.code === 'invalid_key' ? key : issue.code === 'invalid_type' ? 'must be an object' : undefined;
const TypeName = z
  .string({ error: 'a type name must be a string' })
  .regex(TYPE_NAME, `a type name must match ${TYPE_NAME.source}`);
const valueTypes = VALUE_TYPES.join(', ');

/** `POST /v5/<owner>/schema`'s payload: types with their properties, edge declarations, and who sends them. */
export const SchemaDeclaration = z.object(
  {
    nodes: z.record(
      z.string().regex(TYPE_NAME),
      z.object(
        {
          properties: z.record(
            z.string().regex(PROPERTY_NAME),
            z.enum(VALUE_TYPES, { error: `a value type must be one of ${valueTypes}` }),
            { error: recordError(`a property name must match ${PROPERTY_NAME.source}`) },
          ),
        },
        { error: 'a node must be {"properties": {name: valueType}}' },
      ),
      { error: recordError(`a type name must match ${TYPE_NAME.source}`) },
    ),
    edges: z
      .record(
        z.string().regex(PROPERTY_NAME),
        z.array(
          z.object({ source: TypeName, target: TypeName }, { error: 'an edge is {"source": type, "target": type}' }),
          { error: 'an edge name maps to a list of {"source", "target"}' },
        ),
        { error: recordError(`an edge name must match ${PROPERTY_NAME.source}`) },
      )
      .default({}),
    meta: z.object(
      {
        name: z
          .string({ error: 'meta.name must be a string' })
          .regex(META_NAME, 'meta.name must be letters and digits, starting with a letter'),
        url: z.string().optional(),
        version: z.string().optional(),
      },
      { error: 'meta must be {"name", "url", "version"}' },
    ),
  },
  { error: 'the payload must be {"nodes", "edges", "meta"}' },
);
export type SchemaDeclaration = z.output<typeof SchemaDeclaration>;

/** The `/v5` calls: `POST /v5/<owner>/<endpoint>` with an `Envelope`. Only `schema` (spec 2023 §2.2). */
export const v5Endpoints = {
  /** Declares types, properties and edges at once; never creates a database (404 without an account). */
  schema: { payload: SchemaDeclaration, answer: answer<Empty>() },
} as const;
export type V5Endpoint = keyof typeof v5Endpoints;
/** What a `/v5` caller sends. */
export type V5Payload<E extends V5Endpoint> = z.input<(typeof v5Endpoints)[E]['payload']>;
export type V5Answer<E extends V5Endpoint> = (typeof v5Endpoints)[E]['answer'] extends AnswerOf<infer T> ? T : never;
