/**
 * The JSON calls of spec §1–4: `POST /<v>/<owner>/<endpoint>` with an `Envelope` body, validated
 * against the endpoint's payload schema in @pod/protocol and answered with the store's JSON text,
 * typed by the brand as the endpoint's answer (`get_file` streams the file's bytes, `thumbnail` an image).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { Envelope, THUMBNAIL_TYPE, endpoints, toJson } from '@pod/protocol';
import type { Answer, Empty, Endpoint, Json, JsonChunks, ParsedPayload, Payload, StreamEndpoint } from '@pod/protocol';
import type { z } from 'zod';
import { badRequest, notFound } from '../errors.js';
import { ROUTES_HELP } from './loggable-url.js';
import { eraseBlobs, readFile } from '../storage/files.js';
import { exportOwner } from '../owner-archive.js';
import { AnswerBudget } from '../storage/answer.js';
import { parseQuery } from '../storage/graphql/query.js';
import { authorize, parse, parseJsonBodies, type ApiDeps, type Caller } from './caller.js';

/**
 * What a handler gives back: the answer's JSON text (whole or in pieces), or bytes (a file, a
 * thumbnail, an archive), with an ETag when the same request always gets the same bytes.
 */
type Answered<E extends Endpoint> = E extends StreamEndpoint
  ? { size?: number; type: string; stream: Readable; etag?: string }
  : Json<Answer<E>> | JsonChunks<Answer<E>>;
type Handler<E extends Endpoint> = (
  caller: Caller,
  payload: ParsedPayload<E>,
  deps: ApiDeps,
) => Answered<E> | Promise<Answered<E>>;

const empty = toJson<Empty>({});
/** The answer `{}` of a call that only says it is done, once `work` has run. */
function done(work: () => void): Json<Empty> {
  work();
  return empty;
}
/** The same, once the promise of `work` has settled. */
async function doneAsync(work: () => Promise<void>): Promise<Json<Empty>> {
  await work();
  return empty;
}

/**
 * One line per endpoint: the store call, and the JSON text it answers with, typed as the endpoint's
 * answer. Reads and writes go through the caller's grant.
 */
const handlers: { [E in Endpoint]: Handler<E> } = {
  get_item: ({ owner: { store }, grant }, id) => store.getItemJson(id, grant),
  create_item: async ({ owner: { store }, grant }, item) =>
    toJson(await store.writeLong(() => store.createItem(item, grant))),
  update_item: ({ owner: { store }, grant }, patch) => done(() => store.write(() => store.updateItem(patch, grant))),
  delete_item: ({ owner: { store }, grant }, id) => done(() => store.write(() => store.deleteItem(id, grant))),
  create_edge: ({ owner: { store }, grant }, edge) => toJson(store.write(() => store.createEdge(edge, grant))),
  get_edges: ({ owner: { store }, grant }, query) => store.getEdgesJson(query, grant),
  delete_edge_by_source_target: ({ owner: { store }, grant }, ends) =>
    done(() => store.write(() => store.deleteEdges(ends, grant))),
  // The blobs go once the deletion is committed: a rolled-back one leaves every byte in place.
  delete_file: ({ owner, grant }, file, deps) => {
    const erased = owner.store.write(() => owner.store.deleteFiles(file, grant));
    return doneAsync(async () => {
      await eraseBlobs(owner, erased);
      deps.owners.quota.erased(owner);
    });
  },
  search: ({ owner: { store }, grant }, query, { limits }) =>
    store.searchAnswer(query, grant, new AnswerBudget(limits.maxAnswerBytes)),
  bulk: ({ owner: { store }, grant }, bulk, { limits }) => {
    if ((bulk.search?.length ?? 0) > limits.maxBulkSearches)
      throw badRequest(
        `a bulk may carry at most ${limits.maxBulkSearches} searches (see --max-bulk-searches); ` +
          'split them over several requests',
      );
    return store.bulkJson(bulk, grant, new AnswerBudget(limits.maxAnswerBytes));
  },
  graphql: ({ owner: { store }, grant }, text, { limits }) =>
    store.graphqlAnswer(
      parseQuery(text, (name) => store.schema.get(name)),
      grant,
      new AnswerBudget(limits.maxAnswerBytes),
    ),
  send_email: ({ owner }, email, { mailer }) => doneAsync(() => mailer.send(owner, email)),
  get_file: async ({ owner }, { sha256 }) => ({
    type: 'application/octet-stream',
    ...(await readFile(owner, sha256.toLowerCase())),
  }),
  // Content-addressed: a file's thumbnail of one size never changes, so its ETag is the two.
  thumbnail: async ({ owner }, { sha256, size }, { thumbnails }) => {
    const thumbnail = await thumbnails.get(owner, sha256.toLowerCase(), size);
    const etag = `"${sha256.toLowerCase()}-${thumbnail.size}"`;
    return { type: THUMBNAIL_TYPE, size: thumbnail.bytes, stream: thumbnail.stream, etag };
  },
  export: ({ owner }) => ({ type: 'application/x-tar', stream: exportOwner(owner.dir, owner.hash) }),
  abort_plugin_run: ({ owner }, id, { runs }) => doneAsync(() => runs.abort(owner, id)),
  plugin_run_logs: async ({ owner }, id, { runs }) => toJson(await runs.logs(owner, id)),
  plugin_images: async (_caller, _payload, { runs }) => toJson(await runs.images()),
  oauth: async ({ owner }, query, { oauth }) => toJson(await oauth.requestToken(owner, query)),
  oauth1_request_token: async ({ owner }, query, { oauth }) => toJson(await oauth.requestToken(owner, query)),
  oauth1_access_token: async ({ owner, grant }, query, { oauth }) =>
    toJson(await oauth.accessToken(owner, grant, query)),
  'oauth2/auth_url': async (_caller, query, { oauth }) => toJson(await oauth.authUrl(query)),
  'oauth2/authorize': async ({ owner }, query, { oauth }) => toJson(await oauth.authorize(owner, query)),
  'oauth2/access_token': async ({ owner }, query, { oauth }) => toJson(await oauth.currentToken(owner, query)),
  'plugin/status': async ({ owner }, { plugins }, { runs }) => toJson(await runs.statuses(owner, plugins)),
  'plugin/api': ({ owner }, { id }, { runs }) => runs.api(owner, id),
  'plugin/api/call': ({ owner }, { id, ...call }, { runs }) => runs.callApi(owner, id, call),
  'trigger/status': ({ owner, grant }, report, { runs }) => done(() => runs.reportTrigger(owner, report, grant)),
  // Plugin runs go on: their credentials name the open owner, not the key. Live feeds end.
  summary: ({ owner: { store } }) => store.summaryJson(),
  change_database_key: ({ owner }, { newDatabaseKey }, { owners, feed }) =>
    doneAsync(async () => {
      await owners.changeKey(owner, newDatabaseKey);
      feed.closeOwner(owner);
    }),
  delete_owner: ({ owner }, { confirm }, { owners, feed, runs }) => {
    if (confirm.toLowerCase() !== owner.key)
      throw badRequest("confirm must be this owner's key, as in the path: deleting a Pod cannot be undone");
    return doneAsync(async () => {
      feed.closeOwner(owner);
      await runs.stopOwner(owner);
      await owners.deleteOwner(owner);
    });
  },
};

/** The table seen per endpoint: indexed by a generic `E`, its payload schema parses to `ParsedPayload<E>`. */
type PayloadSchemas = { readonly [E in Endpoint]: { readonly payload: z.ZodType<ParsedPayload<E>, Payload<E>> } };
const schemas: PayloadSchemas = endpoints;

const isEndpoint = (name: string): name is Endpoint => Object.hasOwn(endpoints, name);

/** One call: its payload checked, its caller authorized, its handler run while the owner is in use. */
async function run<E extends Endpoint>(
  deps: ApiDeps,
  endpoint: E,
  ownerKey: string,
  body: unknown,
): Promise<Answered<E>> {
  const envelope = parse(Envelope, body, 'body');
  const payload = parse(schemas[endpoint].payload, envelope.payload, 'payload');
  const handler = handlers[endpoint];
  return authorize(deps, ownerKey, envelope.auth, endpoint, payload, (caller) =>
    deps.owners.using(caller.owner, async () => handler(caller, payload, deps)),
  );
}

export const calls: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  parseJsonBodies(app, deps.jsonBodyLimit);
  // Endpoint names may hold a `/` (2023 API: `plugin/status`, `oauth2/access_token`).
  app.post<{ Params: { owner: string; '*': string } }>('/:owner/*', async (request, reply) => {
    const { owner, '*': endpoint } = request.params;
    if (!isEndpoint(endpoint)) throw notFound(`unknown endpoint; ${ROUTES_HELP}`);
    if (endpoint === 'get_file' || endpoint === 'thumbnail' || endpoint === 'export') {
      const bytes = await run(deps, endpoint, owner, request.body);
      const { size, etag } = bytes;
      if (etag !== undefined) {
        // private: only the owner's own browser keeps it; immutable: no need to ask again.
        reply.header('etag', etag).header('cache-control', 'private, max-age=31536000, immutable');
        // The call is a read sent as POST (its auth rides in the body), so a match is a 304 as for a GET.
        if (matchesEtag(request.headers['if-none-match'], etag)) {
          bytes.stream.destroy();
          return reply.code(304).send();
        }
      }
      if (size !== undefined) reply.header('content-length', size);
      // a file is counted once sent in full: a download cut off is not
      if (endpoint === 'get_file' && size !== undefined) reply.raw.once('finish', () => deps.traffic.downloaded(size));
      return reply.type(bytes.type).send(bytes.stream);
    }
    const answer = await run(deps, endpoint, owner, request.body);
    reply.type('application/json; charset=utf-8');
    if (typeof answer === 'string') return reply.send(answer);
    // A small answer is one piece, sent with a Content-Length; a large one streams.
    return reply.send(answer.length === 1 ? answer[0] : Readable.from(answer));
  });
};

/** Whether an If-None-Match header names `etag` (or is `*`); a weak tag matches as well (RFC 9110 §13.1.2). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}
