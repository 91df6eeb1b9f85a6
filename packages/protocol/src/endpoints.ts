/**
 * Every route of the Pod v4 HTTP API with its request and its answer: the JSON calls (`endpoints`),
 * the live change feed (`changes`), the two uploads (`uploads`) and `version`. The server validates
 * requests against these schemas; the client derives its calls and their answer types from them.
 */
import { z } from 'zod';
import { Bulk, EdgeQuery, ItemId, ItemPatch, NewEdge, NewItem, SearchQuery } from './items.js';
import type { BulkResult, EdgeEntry, GraphqlAnswer, Item, ReceivedItem } from './items.js';
import { HEX_KEY } from './values.js';
import type { PluginImage } from './plugin-dir.js';

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

/**
 * The JSON calls, `POST /<v>/<owner>/<endpoint>` with an `Envelope`: payload shape and answer type.
 * `get_file` answers the file's bytes (`application/octet-stream`), every other one JSON.
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
  /** Ours: sets a PluginRun to `aborted` and stops its container or process. */
  abort_plugin_run: { payload: ItemId, answer: answer<Empty>() },
  /** Ours: what a run's plugin printed (the last MiB), credentials masked. */
  plugin_run_logs: { payload: ItemId, answer: answer<string>() },
  /** Ours, the owner's only: the images this Pod can launch now (docker: local images labelled `pod.plugin`). */
  plugin_images: { payload: z.object({}), answer: answer<PluginImage[]>() },
} as const;
export type Endpoint = keyof typeof endpoints;
/** Endpoints answering JSON; `get_file` answers bytes. */
export type JsonEndpoint = Exclude<Endpoint, 'get_file'>;
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

/** `GET /version`: the original Pod's answer shape. */
export const PodVersion = z.object({ cargo: z.string(), git_describe: z.string().nullable() });
export type PodVersion = z.infer<typeof PodVersion>;
