/**
 * The HTTP API of spec §1–5, under /v4 and /v3: JSON calls `POST /<v>/<owner>/<endpoint>` and the
 * two upload routes. Bodies are parsed whatever their Content-Type says (clients send none on
 * uploads) and validated against the shapes declared in @pod/protocol.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import secureJson from 'secure-json-parse';
import { API_VERSIONS, ChangesQuery, Envelope, SHA256_HEX, describeIssues, endpoints, type Auth, type Endpoint, type Payload } from '@pod/protocol';
import type { z } from 'zod';
import { badRequest, notFound } from '../errors.js';
import { ROUTES_HELP } from './loggable-url.js';
import type { Mailer } from '../email/mailer.js';
import { readFile, receiveFile } from '../storage/files.js';
import type { Owner, OwnerPool } from '../storage/owners.js';
import type { ChangeFeed } from '../sync/feed.js';
import type { PluginCredentials } from '../plugins/credentials.js';
import type { Grant } from '../plugins/permissions.js';
import type { PodConfig } from '../config.js';
import { AnswerBudget } from '../storage/answer.js';
import type { PluginRuns } from '../plugins/trigger.js';

/** A comment line every so often keeps proxies and clients from timing out an idle feed. */
const FEED_HEARTBEAT_MS = 15_000;

export interface ApiDeps {
  owners: OwnerPool;
  credentials: PluginCredentials;
  runs: PluginRuns;
  feed: ChangeFeed;
  mailer: Mailer;
  jsonBodyLimit: number;
  uploadLimit: number;
  limits: Pick<PodConfig['limits'], 'maxAnswerBytes' | 'maxBulkSearches'>;
}

/** Who is calling: the owner (ClientAuth), or a plugin run acting within its grant (PluginAuth). */
interface Caller {
  owner: Owner;
  grant?: Grant;
}

type Handler<E extends Endpoint> = (caller: Caller, payload: z.output<(typeof endpoints)[E]['payload']>, deps: ApiDeps, reply: FastifyReply) => unknown;

/** One line per endpoint: the store call, and the JSON text it answers with. Reads and writes go through the caller's grant. */
const handlers: { [E in Endpoint]: Handler<E> } = {
  get_item: ({ owner: { store }, grant }, id) => store.getItemJson(id, grant),
  create_item: async ({ owner: { store }, grant }, item) => JSON.stringify(await store.writeLong(() => store.createItem(item, grant))),
  update_item: ({ owner: { store }, grant }, patch) => (store.write(() => store.updateItem(patch, grant)), '{}'),
  delete_item: ({ owner: { store }, grant }, id) => (store.write(() => store.deleteItem(id, grant)), '{}'),
  create_edge: ({ owner: { store }, grant }, edge) => JSON.stringify(store.write(() => store.createEdge(edge, grant))),
  get_edges: ({ owner: { store }, grant }, query) => store.getEdgesJson(query, grant),
  search: ({ owner: { store }, grant }, query, { limits }) => store.searchAnswer(query, grant, new AnswerBudget(limits.maxAnswerBytes)),
  bulk: ({ owner: { store }, grant }, bulk, { limits }) => {
    if ((bulk.search?.length ?? 0) > limits.maxBulkSearches)
      throw badRequest(`a bulk may carry at most ${limits.maxBulkSearches} searches (see --max-bulk-searches); split them over several requests`);
    return store.bulkJson(bulk, grant, new AnswerBudget(limits.maxAnswerBytes));
  },
  send_email: async ({ owner }, email, { mailer }) => (await mailer.send(owner, email), '{}'),
  get_file: ({ owner }, { sha256 }, _deps, reply) => {
    const file = readFile(owner, sha256.toLowerCase());
    return reply.type('application/octet-stream').header('content-length', file.size).send(file.stream);
  },
  abort_plugin_run: async ({ owner }, id, { runs }) => (await runs.abort(owner, id), '{}'),
  plugin_run_logs: async ({ owner }, id, { runs }) => JSON.stringify(await runs.logs(owner, id)),
};

const isEndpoint = (name: string): name is Endpoint => Object.hasOwn(endpoints, name);

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(describeIssues(result.error, where));
  return result.data;
}

/**
 * The caller, and for a plugin the checks of its grant that need no stored item (403 before
 * anything runs); the store checks each change against the grant as it applies it. `then` starts
 * the request's work in the same turn of the owner's main connection as the checks (`withMain`);
 * only that synchronous start holds it, so a search or a bulk does not (a bulk takes it for its writes).
 */
async function authorize<T>(
  deps: ApiDeps,
  ownerKey: string,
  auth: Auth,
  endpoint: Endpoint | 'changes' | 'upload',
  payload: unknown,
  then: (caller: Caller) => T,
): Promise<T> {
  // Mail through a relay only for owners that existed before this request: inventing one sends nothing.
  const mustExist = endpoint === 'send_email' && deps.mailer.relays;
  const caller: Caller =
    auth.type === 'ClientAuth' ? { owner: deps.owners.authenticate(ownerKey, auth.databaseKey, { mustExist }) } : deps.credentials.resolve(ownerKey, auth.data);
  const { started } = await caller.owner.store.withMain(() => {
    caller.grant?.authorize(endpoint, payload, caller.owner.store);
    return { started: then(caller) };
  });
  return started;
}

export async function apiRoutes(app: FastifyInstance, deps: ApiDeps) {
  for (const version of API_VERSIONS) {
    await app.register(
      async (json) => {
        json.removeAllContentTypeParsers();
        json.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.jsonBodyLimit }, (_request, body, done) => {
          try {
            // secure-json-parse: a "__proto__" or "constructor.prototype" key is refused, not applied.
            done(null, secureJson.parse((body as Buffer).toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' }));
          } catch (error) {
            // V8's message quotes the body, which may hold a key: keep only the position.
            const message = (error as Error).message;
            const position = /position (\d+)/.exec(message)?.[1];
            const detail = /prototype/.test(message) ? ' (it has a "__proto__" or "constructor.prototype" key)' : position ? ` (at position ${position})` : '';
            done(badRequest(`the body is not valid JSON${detail}`), undefined);
          }
        });
        json.post<{ Params: { owner: string } }>('/:owner/changes', async (request, reply) => {
          const envelope = parse(Envelope, request.body, 'body');
          const query = parse(ChangesQuery, envelope.payload ?? {}, 'payload');
          const owner = await authorize(deps, request.params.owner, envelope.auth, 'changes', query, ({ owner }) => owner);
          deps.feed.checkRoom(owner);
          reply.hijack();
          const response = reply.raw;
          response.writeHead(200, {
            ...(reply.getHeaders() as Record<string, string>),
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            'x-accel-buffering': 'no',
            // a feed's socket is never reused: ending the stream ends the connection, so shutdown is prompt
            connection: 'close',
          });
          response.write(': changes since ' + query['dateServerModified>='] + '\n\n');
          const subscription = deps.feed.subscribe({
            owner,
            cursor: query['dateServerModified>='],
            pageSize: query._limit,
            send: async (itemsJson, nextCursor) => {
              if (response.destroyed) return false;
              // A socket destroyed while full never drains: its close must end the wait too.
              if (!response.write(`id: ${nextCursor}\nevent: items\ndata: ${itemsJson}\n\n`))
                await new Promise((resolve) => {
                  response.once('drain', resolve);
                  response.once('close', resolve);
                });
              return !response.destroyed;
            },
          });
          const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), FEED_HEARTBEAT_MS);
          response.once('close', () => subscription.close());
          await deps.owners.using(owner, () => subscription.closed);
          clearInterval(heartbeat);
          response.end();
        });
        json.post<{ Params: { owner: string; endpoint: string } }>('/:owner/:endpoint', async (request, reply) => {
          const { owner: ownerKey, endpoint } = request.params;
          if (!isEndpoint(endpoint)) throw notFound(`unknown endpoint; ${ROUTES_HELP}`);
          const envelope = parse(Envelope, request.body, 'body');
          const payload = parse(endpoints[endpoint].payload, envelope.payload, 'payload') as Payload<typeof endpoint>;
          const handler = handlers[endpoint] as Handler<typeof endpoint>;
          const answer = await authorize(deps, ownerKey, envelope.auth, endpoint, payload, (caller) =>
            deps.owners.using(caller.owner, async () => handler(caller, payload as never, deps, reply)),
          );
          if (typeof answer === 'string') return reply.type('application/json; charset=utf-8').send(answer);
          if (Array.isArray(answer)) return reply.type('application/json; charset=utf-8').send(answer.length === 1 ? answer[0] : Readable.from(answer));
          return answer;
        });
      },
      { prefix: `/${version}` },
    );

    await app.register(
      async (uploads) => {
        // Leave the body unread: the handler streams it through hashing and encryption.
        uploads.removeAllContentTypeParsers();
        uploads.addContentTypeParser('*', (_request, _payload, done) => done(null));
        const upload = async (ownerKey: string, auth: Auth, sha256: string, request: { raw: NodeJS.ReadableStream }) => {
          if (!SHA256_HEX.test(sha256)) throw badRequest('the sha256 in the path must be 64 hexadecimal characters');
          await authorize(deps, ownerKey, auth, 'upload', undefined, ({ owner }) =>
            deps.owners.using(owner, () => receiveFile(owner, sha256.toLowerCase(), request.raw as never, deps.uploadLimit)),
          );
          return '{}';
        };
        uploads.post<{ Params: { owner: string; key: string; sha256: string } }>(
          '/:owner/upload_file/:key/:sha256',
          async (request, reply) => {
            const { owner, key, sha256 } = request.params;
            const auth = parse(Envelope.shape.auth, { type: 'ClientAuth', databaseKey: key }, 'path');
            return reply.type('application/json; charset=utf-8').send(await upload(owner, auth, sha256, request));
          },
        );
        uploads.post<{ Params: { owner: string; auth: string; sha256: string } }>(
          '/:owner/upload_file_b/:auth/:sha256',
          async (request, reply) => {
            const { owner, sha256 } = request.params;
            let decoded: unknown;
            try {
              decoded = JSON.parse(request.params.auth);
            } catch {
              throw badRequest('the auth segment of upload_file_b must be percent-encoded JSON');
            }
            const auth = parse(Envelope.shape.auth, decoded, 'auth');
            return reply.type('application/json; charset=utf-8').send(await upload(owner, auth, sha256, request));
          },
        );
      },
      { prefix: `/${version}` },
    );
  }
}
