/**
 * The live change feed, `POST /<v>/<owner>/changes` (protocol's `changes`): Server-Sent Events,
 * one `items` event per page of changes with its cursor as the SSE id, held open until the client
 * leaves or the Pod shuts down.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ChangesQuery, Envelope, type ChangeEvent } from '@pod/protocol';
import { authorize, parse, parseJsonBodies, type ApiDeps } from './caller.js';

/** A comment line every so often keeps proxies and clients from timing out an idle feed. */
const FEED_HEARTBEAT_MS = 15_000;
const ITEMS: ChangeEvent = 'items';

export const changes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  parseJsonBodies(app, deps.jsonBodyLimit);
  app.post<{ Params: { owner: string } }>('/:owner/changes', async (request, reply) => {
    const envelope = parse(Envelope, request.body, 'body');
    const query = parse(ChangesQuery, envelope.payload ?? {}, 'payload');
    const owner = await authorize(deps, request.params.owner, envelope.auth, 'changes', query, ({ owner }) => owner);
    deps.feed.checkRoom(owner);
    reply.hijack();
    const response = reply.raw;
    // Headers set so far (CORS), without the ones a hook left unset.
    const set = Object.entries(reply.getHeaders()).filter(
      (entry): entry is [string, string | number | string[]] => entry[1] !== undefined,
    );
    response.writeHead(200, {
      ...Object.fromEntries(set),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      // a feed's socket is never reused: ending the stream ends the connection, so shutdown is prompt
      connection: 'close',
    });
    response.write(`: changes since ${query['dateServerModified>=']}\n\n`);
    const subscription = deps.feed.subscribe({
      owner,
      cursor: query['dateServerModified>='],
      pageSize: query._limit,
      send: async (itemsJson, nextCursor) => {
        if (response.destroyed) return false;
        // A socket destroyed while full never drains: its close must end the wait too.
        if (!response.write(`id: ${nextCursor}\nevent: ${ITEMS}\ndata: ${itemsJson}\n\n`))
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
};
