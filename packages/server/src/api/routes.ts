/**
 * The HTTP API of spec §1–5, under /v4 and /v3: JSON calls `POST /<v>/<owner>/<endpoint>` and the
 * two upload routes. Bodies are parsed whatever their Content-Type says (clients send none on
 * uploads) and validated against the shapes declared in @pod/protocol.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { API_VERSIONS, ChangesQuery, Envelope, SHA256_HEX, describeIssues, endpoints, type Auth, type Endpoint, type Payload } from '@pod/protocol';
import type { z } from 'zod';
import { PodError, badRequest, notFound } from '../errors.js';
import type { Mailer } from '../email/mailer.js';
import { readFile, receiveFile } from '../storage/files.js';
import type { Owner, OwnerPool } from '../storage/owners.js';
import type { ChangeFeed } from '../sync/feed.js';

/** A comment line every so often keeps proxies and clients from timing out an idle feed. */
const FEED_HEARTBEAT_MS = 15_000;

export interface ApiDeps {
  owners: OwnerPool;
  feed: ChangeFeed;
  mailer: Mailer;
  jsonBodyLimit: number;
  uploadLimit: number;
}

type Handler<E extends Endpoint> = (owner: Owner, payload: z.output<(typeof endpoints)[E]['payload']>, deps: ApiDeps, reply: FastifyReply) => unknown;

/** One line per endpoint: the store call, and the JSON text it answers with. */
const handlers: { [E in Endpoint]: Handler<E> } = {
  get_item: ({ store }, id) => store.getItemJson(id),
  create_item: ({ store }, item) => JSON.stringify(store.write(() => store.createItem(item))),
  update_item: ({ store }, patch) => (store.write(() => store.updateItem(patch)), '{}'),
  delete_item: ({ store }, id) => (store.write(() => store.deleteItem(id)), '{}'),
  create_edge: ({ store }, edge) => JSON.stringify(store.write(() => store.createEdge(edge))),
  get_edges: ({ store }, query) => store.getEdgesJson(query),
  search: ({ store }, query) => store.searchJson(query),
  bulk: ({ store }, bulk) => store.bulkJson(bulk),
  send_email: async (_owner, email, { mailer }) => (await mailer(email), '{}'),
  get_file: (owner, { sha256 }, _deps, reply) => {
    const file = readFile(owner, sha256.toLowerCase());
    return reply.type('application/octet-stream').header('content-length', file.size).send(file.stream);
  },
};

const isEndpoint = (name: string): name is Endpoint => Object.hasOwn(endpoints, name);

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(describeIssues(result.error, where));
  return result.data;
}

function authenticate(owners: OwnerPool, ownerKey: string, auth: Auth): Owner {
  if (auth.type === 'ClientAuth') return owners.authenticate(ownerKey, auth.databaseKey);
  // Plugin credentials are issued by plugin runners; none is configured yet (see plugins/runner.ts).
  throw new PodError(401, 'invalid plugin auth: this credential was not issued by this Pod, or its run has ended');
}

export async function apiRoutes(app: FastifyInstance, deps: ApiDeps) {
  for (const version of API_VERSIONS) {
    await app.register(
      async (json) => {
        json.removeAllContentTypeParsers();
        json.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.jsonBodyLimit }, (_request, body, done) => {
          try {
            done(null, JSON.parse((body as Buffer).toString('utf8')));
          } catch (error) {
            // V8's message quotes the body, which may hold a key: keep only the position.
            const position = /position (\d+)/.exec((error as Error).message)?.[1];
            done(badRequest(`the body is not valid JSON${position ? ` (at position ${position})` : ''}`), undefined);
          }
        });
        json.post<{ Params: { owner: string } }>('/:owner/changes', async (request, reply) => {
          const envelope = parse(Envelope, request.body, 'body');
          const query = parse(ChangesQuery, envelope.payload ?? {}, 'payload');
          const owner = authenticate(deps.owners, request.params.owner, envelope.auth);
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
              if (!response.write(`id: ${nextCursor}\nevent: items\ndata: ${itemsJson}\n\n`))
                await new Promise((resolve) => response.once('drain', resolve));
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
          if (!isEndpoint(endpoint)) throw notFound(`unknown endpoint "${endpoint}"`);
          const envelope = parse(Envelope, request.body, 'body');
          const payload = parse(endpoints[endpoint].payload, envelope.payload, 'payload') as Payload<typeof endpoint>;
          const owner = authenticate(deps.owners, ownerKey, envelope.auth);
          const handler = handlers[endpoint] as Handler<typeof endpoint>;
          const answer = await deps.owners.using(owner, async () => handler(owner, payload as never, deps, reply));
          if (typeof answer === 'string') return reply.type('application/json; charset=utf-8').send(answer);
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
          const owner = authenticate(deps.owners, ownerKey, auth);
          await deps.owners.using(owner, () => receiveFile(owner, sha256.toLowerCase(), request.raw as never, deps.uploadLimit));
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
